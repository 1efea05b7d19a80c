// Serves the console page, the built package it loads and the example change plans,
// on localhost only.
//   node www/serve.mjs [port]      then open http://127.0.0.1:<port>/www/
//
// Only what the page needs is served: www/, pkg/dist/ and, under /scenarios/, the
// shared example plans ($KMS_SCENARIOS, or ../shared/scenarios beside the repository;
// /scenarios/ lists them). Nothing else of the repository (.git, sources, keyrings a
// developer left about) is reachable: a path is decoded, resolved, its symlinks
// followed, and only then matched against those folders by whole path segments. A
// malformed URL is a 400, not a crash.
import { createReadStream, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(fileURLToPath(new URL("..", import.meta.url)));
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

/** Whether `file` is `dir` or inside it (by path segments: `www-old` is not in `www`). */
const within = (file, dir) => file === dir || file.startsWith(dir.endsWith(sep) ? dir : dir + sep);

const realOr = (dir) => {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
};

/** The example plans of a folder: each `.json` file in it, by file and by the plan's name. */
function plansIn(dir) {
  const files = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith(".json")).map((e) => e.name).sort();
  return files.map((file) => {
    try {
      return { file, name: String(JSON.parse(readFileSync(join(dir, file), "utf8")).name ?? file) };
    } catch {
      return { file, name: file };
    }
  });
}

/** What a request names: a file, a listing of example plans, or the status that refuses it. */
function locate(mounts, url) {
  let path;
  try {
    path = decodeURIComponent(new URL(url, "http://localhost").pathname);
  } catch {
    return { status: 400 };
  }
  if (path.includes("\0")) return { status: 400 };
  const mount = mounts.find((m) => path === m.prefix || path.startsWith(`${m.prefix}/`));
  if (!mount) return { status: 404 };
  let file = resolve(mount.dir, `.${path.slice(mount.prefix.length)}`);
  if (!within(file, mount.dir)) return { status: 404 };
  try {
    file = realpathSync(file);
    // A symlink inside a served folder must not lead out of it.
    if (!within(file, realOr(mount.dir))) return { status: 404 };
    if (mount.lists) {
      // Only the plans it lists: its own .json files, not what else is in or under it.
      if (file === realOr(mount.dir)) return { plans: plansIn(file) };
      return dirname(file) === realOr(mount.dir) && file.endsWith(".json") && statSync(file).isFile() ? { file } : { status: 404 };
    }
    if (!statSync(file).isDirectory()) return { file };
    file = realpathSync(join(file, "index.html"));
    return within(file, realOr(mount.dir)) ? { file } : { status: 404 };
  } catch {
    return { status: 404 };
  }
}

export function serve(port = 0, root = repoRoot, scenarios = undefined) {
  const plans = resolve(scenarios || process.env.KMS_SCENARIOS || join(root, "../shared/scenarios"));
  // A plans folder that holds the repository (a mistyped $KMS_SCENARIOS: ".", "/", a
  // symlink to a parent) would list beside it what is next to the repository: refused.
  if (within(realOr(resolve(root)), realOr(plans))) throw new Error(`the example plans' folder ${plans} holds the repository: not served`);
  const mounts = [
    { prefix: "/www", dir: resolve(root, "www") },
    { prefix: "/pkg/dist", dir: resolve(root, "pkg/dist") },
    { prefix: "/scenarios", dir: plans, lists: true },
  ];
  const server = createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405, { allow: "GET, HEAD" }).end();
    const { file, plans, status } = locate(mounts, req.url ?? "/");
    if (status) return void res.writeHead(status).end();
    const headers = { "content-type": plans ? types[".json"] : types[extname(file)] ?? "application/octet-stream", "x-content-type-options": "nosniff" };
    res.writeHead(200, headers);
    if (req.method === "HEAD") return void res.end();
    if (plans) return void res.end(JSON.stringify(plans));
    createReadStream(file).on("error", () => res.destroy()).pipe(res);
  });
  return new Promise((ok) => server.listen(port, "127.0.0.1", () => ok(server)));
}

// Run as a program (through a symlink too), not imported by a test.
if (process.argv[1] && realOr(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const server = await serve(Number(process.argv[2] ?? 8080));
  console.log(`console page: http://127.0.0.1:${server.address().port}/www/`);
}
