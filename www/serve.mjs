// Serves the console page and the built package it loads, on localhost only.
//   node www/serve.mjs [port]      then open http://127.0.0.1:<port>/www/
//
// Only what the page needs is served: www/ and pkg/dist/. Nothing else of
// the repository (.git, sources, keyrings a developer left about) is reachable: a path
// is decoded, resolved, its symlinks followed, and only then matched against those
// folders by whole path segments. A malformed URL is a 400, not a crash.
import { createReadStream, realpathSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(fileURLToPath(new URL("..", import.meta.url)));
const SERVED = ["www", "pkg/dist"];
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

/** Whether `file` is `dir` or inside it (by path segments: `www-old` is not in `www`). */
const within = (file, dir) => file === dir || file.startsWith(dir + sep);

/** The file a request names, or the status that refuses it. */
function locate(root, url) {
  let path;
  try {
    path = decodeURIComponent(new URL(url, "http://localhost").pathname);
  } catch {
    return { status: 400 };
  }
  if (path.includes("\0")) return { status: 400 };
  const dirs = SERVED.map((d) => resolve(root, d));
  let file = resolve(root, `.${path}`);
  if (!dirs.some((d) => within(file, d))) return { status: 404 };
  try {
    file = realpathSync(file);
    if (statSync(file).isDirectory()) file = realpathSync(join(file, "index.html"));
  } catch {
    return { status: 404 };
  }
  // A symlink inside a served folder must not lead out of them.
  const real = dirs.map((d) => { try { return realpathSync(d); } catch { return d; } });
  return real.some((d) => within(file, d)) ? { file } : { status: 404 };
}

export function serve(port = 0, root = repoRoot) {
  const server = createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405, { allow: "GET, HEAD" }).end();
    const { file, status } = locate(root, req.url ?? "/");
    if (!file) return void res.writeHead(status).end();
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "x-content-type-options": "nosniff" });
    if (req.method === "HEAD") return void res.end();
    createReadStream(file).on("error", () => res.destroy()).pipe(res);
  });
  return new Promise((ok) => server.listen(port, "127.0.0.1", () => ok(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await serve(Number(process.argv[2] ?? 8080));
  console.log(`console page: http://127.0.0.1:${server.address().port}/www/`);
}
