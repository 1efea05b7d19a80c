// The packaging suite: the packed package (npm pack) in one small app per toolchain,
// each installed from its lockfile, built and run as its users would, with no
// package-specific configuration. Every app runs the same checks (app/checks.mjs: one
// call into each entry) and must give the same answers (app/inputs.mjs).
//
//   node test/toolchains/run.mjs [--only name,name]     (after pkg/build.sh)
//
// The groups (bundlers/, vite5/, next/) hold a package.json and its lockfile; their
// node_modules are installed when the lockfile changes, and kms-instance is extracted
// into them from the tarball at every run (the package has no dependencies).
import { execFile, spawn } from "node:child_process";
import { cpSync, createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as netServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual, promisify } from "node:util";
import { build, transform } from "esbuild";
import { Miniflare } from "miniflare";
import { chromium } from "playwright-core";
import { EXPECTED } from "./app/inputs.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const pkgRoot = resolve(here, "../..");
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1].split(",") : undefined;

/** Runs a command; its output, or an Error with the tail of it. */
async function run(cmd, args, { cwd, env } = {}) {
  try {
    const { stdout } = await promisify(execFile)(cmd, args, {
      cwd, env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env }, maxBuffer: 64 << 20, timeout: 600_000,
    });
    return stdout;
  } catch (e) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${`${e.stdout ?? ""}\n${e.stderr ?? ""}`.trim().slice(-3000)}`);
  }
}
const lastJson = (text) => JSON.parse(text.trim().split("\n").at(-1));

// The tarball, as npm would publish it.
const packDir = join(tmpdir(), `kms-instance-pack-${process.pid}`);
mkdirSync(packDir, { recursive: true });
const tarball = join(packDir, JSON.parse(await run("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: pkgRoot }))[0].filename);

/** Installs a group from its lockfile (when it changed), then the package and the shared app. */
async function prepare(group) {
  const dir = join(here, group);
  const lock = readFileSync(join(dir, "package-lock.json"));
  const stamp = join(dir, "node_modules/.lock-stamp");
  if (!existsSync(stamp) || !lock.equals(readFileSync(stamp))) {
    await run("npm", ["ci", "--no-fund", "--no-audit", "--loglevel=error"], { cwd: dir });
    writeFileSync(stamp, lock);
  }
  const target = join(dir, "node_modules/kms-instance");
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  await run("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"]);
  rmSync(join(dir, "shared"), { recursive: true, force: true });
  cpSync(join(here, "app"), join(dir, "shared"), { recursive: true });
  // The CommonJS twins of the shared modules, so that require() is tried as written.
  for (const name of ["checks", "inputs", "node"]) {
    const { code } = await transform(readFileSync(join(here, "app", `${name}.mjs`), "utf8"), { format: "cjs", target: "node20" });
    writeFileSync(join(dir, "shared", `${name}.cjs`), code.replaceAll('.mjs")', '.cjs")'));
  }
  writeFileSync(join(dir, "shared/jest.test.cjs"), readFileSync(join(dir, "shared/jest.test.mjs"), "utf8")
    .replace(/import \{ (\w+) \} from "\.\/(\w+)\.mjs";/g, 'const { $1 } = require("./$2.cjs");'));
  rmSync(join(dir, "out"), { recursive: true, force: true });
  return dir;
}

const MIME = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };

/** Serves a built app's folder on 127.0.0.1 (index.html at /). */
function serveDir(root) {
  const server = createServer((req, res) => {
    const path = join(root, decodeURIComponent(new URL(req.url, "http://x").pathname));
    const file = existsSync(path) && statSync(path).isDirectory() ? join(path, "index.html") : path;
    if (!file.startsWith(root) || !existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok({ url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() })));
}

function freePort() {
  return new Promise((ok) => {
    const s = netServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

/** A page's answer (window.__result), with any error the page threw. */
async function inChromium(url) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 30_000 });
    const result = await page.evaluate(() => window.__result);
    return errors.length ? { result, errors } : result;
  } catch (e) {
    throw new Error(`${url}: ${e.message}; page errors: ${errors.join("; ")}`);
  } finally {
    await page.close();
  }
}

/** A built browser app in a folder, with an index.html that loads `script`. */
async function pageOf(dir, script, type = "module") {
  const html = join(dir, "index.html");
  if (!existsSync(html)) writeFileSync(html, `<!doctype html><meta charset="utf-8"><script type="${type}" src="${script}"></script>`);
  const server = await serveDir(dir);
  try {
    return await inChromium(server.url);
  } finally {
    server.close();
  }
}

/** A dev server (`vite`), asked once it prints its address. */
async function devServer(dir, bin, args) {
  const port = await freePort();
  const child = spawn(join(dir, "node_modules/.bin", bin), [...args, "--port", String(port), "--strictPort", "--host", "127.0.0.1"], { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  try {
    const url = `http://127.0.0.1:${port}/`;
    for (let i = 0; ; i++) {
      if (await fetch(url).then((r) => r.ok, () => false)) break;
      if (i > 120 || child.exitCode !== null) throw new Error(`${bin} did not start:\n${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    return await inChromium(url);
  } finally {
    try { process.kill(-child.pid, "SIGTERM"); } catch {}
  }
}

/** Copies each imported .wasm beside the bundle, as wrangler does for a Worker. */
const wasmModules = (outdir) => ({
  name: "wasm-modules",
  setup(b) {
    b.onResolve({ filter: /\.wasm$/ }, (args) => {
      const file = resolve(args.resolveDir, args.path);
      mkdirSync(outdir, { recursive: true });
      cpSync(file, join(outdir, file.split("/").at(-1)));
      return { path: `./${file.split("/").at(-1)}`, external: true };
    });
  },
});

// TypeScript: every version from 5.0 to the newest, in each resolution mode, strict and
// without skipLibCheck; Node's types only where @types/node supports the version (5.3+).
const TS_VERSIONS = ["ts50", "ts54", "ts56", "ts57", "ts59", "ts60", "ts70"];
const TS_MODES = {
  bundler: { options: { module: "ESNext", moduleResolution: "Bundler", lib: ["ES2022", "DOM"] }, files: ["esm.ts", "dom.ts"] },
  node16: { options: { module: "Node16", moduleResolution: "Node16", lib: ["ES2022"] }, files: ["esm.ts", "cjs.cts"] },
  nodenext: { options: { module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022", "DOM"] }, files: ["esm.ts", "cjs.cts", "dom.ts"] },
  "node-types": { options: { module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022"], types: ["node"] }, files: ["esm.ts", "cjs.cts", "node.ts"], from: "ts54" },
};
async function typecheck(dir, version, mode) {
  const { options, files } = TS_MODES[mode];
  const config = join(dir, "out/ts", `${version}-${mode}.json`);
  mkdirSync(dirname(config), { recursive: true });
  const compilerOptions = { target: "ES2022", strict: true, noEmit: true, skipLibCheck: false, types: [], ...options };
  writeFileSync(config, JSON.stringify({ compilerOptions, files: files.map((f) => join(dir, "shared/types", f)) }));
  await run(join(dir, "node_modules", version, "bin/tsc"), ["-p", config], { cwd: dir });
  return EXPECTED;
}

const B = "bundlers";
const CHECKS = [
  ["node import", B, (d) => run("node", ["shared/node.mjs"], { cwd: d }).then(lastJson)],
  ["node require", B, (d) => run("node", ["shared/node.cjs"], { cwd: d }).then(lastJson)],
  ["webpack 5", B, async (d) => {
    await run("node_modules/.bin/webpack", ["--mode", "production", "--entry", "./shared/browser.mjs", "--output-path", "out/webpack", "--output-filename", "app.js"], { cwd: d });
    return pageOf(join(d, "out/webpack"), "app.js", "text/javascript");
  }],
  ["rollup 4 (node-resolve only)", B, async (d) => {
    await run("node_modules/.bin/rollup", ["-c", "shared/rollup.config.mjs"], { cwd: d });
    return pageOf(join(d, "out/rollup"), "browser.js");
  }],
  ["esbuild iife (browser)", B, async (d) => {
    await run("node_modules/.bin/esbuild", ["shared/browser.mjs", "--bundle", "--format=iife", "--platform=browser", "--outfile=out/esbuild/app.js"], { cwd: d });
    return pageOf(join(d, "out/esbuild"), "app.js", "text/javascript");
  }],
  ["esbuild cjs (node)", B, async (d) => {
    await run("node_modules/.bin/esbuild", ["shared/node.mjs", "--bundle", "--format=cjs", "--platform=node", "--outfile=out/esbuild-node/app.cjs"], { cwd: d });
    return run("node", ["out/esbuild-node/app.cjs"], { cwd: d }).then(lastJson);
  }],
  ["vite 8 build", B, async (d) => {
    await run("node_modules/.bin/vite", ["build", "shared", "--outDir", join(d, "out/vite"), "--emptyOutDir", "--logLevel", "warn"], { cwd: d });
    return pageOf(join(d, "out/vite"), "");
  }],
  ["vite 8 dev", B, (d) => devServer(d, "vite", ["shared"])],
  ["vite 5 build", "vite5", async (d) => {
    await run("node_modules/.bin/vite", ["build", "shared", "--outDir", join(d, "out/vite"), "--emptyOutDir", "--logLevel", "warn"], { cwd: d });
    return pageOf(join(d, "out/vite"), "");
  }],
  ["vite 5 dev", "vite5", (d) => devServer(d, "vite", ["shared"])],
  ["vitest", B, async (d) => {
    await run("node_modules/.bin/vitest", ["run", "shared/vitest.test.mjs"], { cwd: d });
    return EXPECTED;
  }],
  ["jest 30 (CommonJS)", B, async (d) => {
    await run("node_modules/.bin/jest", ["--ci", "shared/jest.test.cjs"], { cwd: d });
    return EXPECTED;
  }],
  ["jest 30 (ESM)", B, async (d) => {
    await run("node_modules/.bin/jest", ["--ci", "shared/jest.test.mjs"], { cwd: d, env: { NODE_OPTIONS: "--experimental-vm-modules --no-warnings" } });
    return EXPECTED;
  }],
  ["workerd (miniflare)", B, async (d) => {
    const outdir = join(d, "out/worker");
    await build({ entryPoints: [join(d, "shared/worker.mjs")], outfile: join(outdir, "worker.js"), bundle: true, format: "esm", conditions: ["workerd", "worker", "browser"], logLevel: "warning", plugins: [wasmModules(outdir)] });
    const mf = new Miniflare({
      modules: true, scriptPath: join(outdir, "worker.js"), modulesRoot: outdir, compatibilityDate: "2026-01-01",
      modulesRules: [{ type: "ESModule", include: ["**/*.js"] }, { type: "CompiledWasm", include: ["**/*.wasm"] }],
    });
    try {
      return await (await mf.dispatchFetch("http://worker.test/")).json();
    } finally {
      await mf.dispose();
    }
  }],
  ["bun import", B, (d) => run("node_modules/.bin/bun", ["shared/node.mjs"], { cwd: d }).then(lastJson)],
  ["bun require", B, (d) => run("node_modules/.bin/bun", ["shared/node.cjs"], { cwd: d }).then(lastJson)],
  ["deno", B, (d) => run("node_modules/.bin/deno", ["run", "--allow-read", "--allow-env", "shared/node.mjs"], { cwd: d, env: { DENO_NO_UPDATE_CHECK: "1" } }).then(lastJson)],
  ...TS_VERSIONS.flatMap((v) =>
    Object.entries(TS_MODES)
      .filter(([, m]) => !m.from || TS_VERSIONS.indexOf(v) >= TS_VERSIONS.indexOf(m.from))
      .map(([mode]) => [`typescript ${v.slice(2, 3)}.${v.slice(3)} ${mode}`, B, (d) => typecheck(d, v, mode)]),
  ),
  ...["turbopack", "webpack"].flatMap((bundler) => [
    [`next.js 16 ${bundler}`, "next", async (d) => {
      const { default: check } = await import(join(d, "check.mjs"));
      const { route, page } = await check({ dir: d, bundler, port: await freePort(), browser });
      return isDeepStrictEqual(route, page) ? route : { route, page };
    }],
  ]),
];

const selected = CHECKS.filter(([name]) => !only || only.some((o) => name.includes(o)));
const prepared = new Map();
const rows = [];
for (const [name, group, check] of selected) {
  const started = Date.now();
  let outcome;
  try {
    if (!prepared.has(group)) prepared.set(group, await prepare(group));
    const got = await check(prepared.get(group));
    outcome = isDeepStrictEqual(got, EXPECTED) ? "ok" : `wrong answer: ${JSON.stringify(got)}`;
  } catch (e) {
    outcome = String(e.message ?? e);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  rows.push([name, outcome, seconds]);
  console.log(`${outcome === "ok" ? "ok  " : "FAIL"} ${name} (${seconds} s)${outcome === "ok" ? "" : `\n${outcome}`}`);
}
await browser.close();
rmSync(packDir, { recursive: true, force: true });
const failed = rows.filter(([, o]) => o !== "ok");
console.log(`\n${rows.length - failed.length} of ${rows.length} toolchains pass`);
process.exitCode = failed.length ? 1 : 0;
