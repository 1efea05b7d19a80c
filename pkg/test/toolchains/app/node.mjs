// A Node (or Bun, Deno) program: the checks' answer as one JSON line.
import { checks } from "./checks.mjs";

checks().then(
  (result) => console.log(JSON.stringify(result)),
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
