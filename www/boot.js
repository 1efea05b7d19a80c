// Loads the page's modules, and says so on the page when they cannot load (the
// package not built yet, or a browser too old for it) instead of staying at "loading…".
import("./app.js").catch((e) => {
  const status = document.getElementById("module-status");
  status.textContent = `The page did not load: ${e.message}. Build the package first (bash .ci/test, or bash pkg/build.sh).`;
  status.className = "status bad";
});
