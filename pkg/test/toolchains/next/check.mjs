// Next.js 16: build the app in this directory with Turbopack (the default) or webpack, serve it
// with `next start`, and return what the package answered on the server (the route handler
// app/api/checks) and in the browser (the client page app/page.jsx).
//
// The caller installs the dependencies, extracts the packed kms-instance into node_modules and
// copies the shared app code into shared/ first; this module only builds, serves and asks.
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const START_TIMEOUT_MS = 60_000;
const FETCH_TIMEOUT_MS = 60_000;
const RESULT_TIMEOUT_MS = 30_000;
const TAIL_LINES = 60;

// Only what Next needs to run: no tokens, no npm config, no NODE_OPTIONS from the caller.
function childEnv() {
  const env = {
    PATH: [dirname(process.execPath), process.env.PATH ?? "/usr/bin:/bin"].join(delimiter),
    NEXT_TELEMETRY_DISABLED: "1",
    NO_COLOR: "1",
  };
  for (const name of ["HOME", "TMPDIR", "LANG"]) if (process.env[name]) env[name] = process.env[name];
  return env;
}

// A child in its own process group, its stdout and stderr kept (the last part) for errors.
function run(dir, args) {
  const child = spawn(join(dir, "node_modules", ".bin", "next"), args, {
    cwd: dir,
    env: childEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const keep = (chunk) => {
    output += chunk;
    if (output.length > 256_000) output = output.slice(-128_000);
  };
  child.stdout.setEncoding("utf8").on("data", keep);
  child.stderr.setEncoding("utf8").on("data", keep);
  const exited = new Promise((resolve) => {
    child.on("error", (error) => resolve({ code: null, signal: null, error }));
    child.on("exit", (code, signal) => resolve({ code, signal, error: null }));
  });
  return { child, exited, tail: () => output.split("\n").slice(-TAIL_LINES).join("\n") };
}

async function killGroup({ child, exited }) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    signalGroup(child, "SIGKILL"); // leftovers of a group whose leader is gone
    return;
  }
  signalGroup(child, "SIGTERM");
  const done = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
  signalGroup(child, "SIGKILL");
  if (!done) await Promise.race([exited, sleep(5_000)]);
}

function signalGroup(child, signal) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (e) {
    if (e.code !== "ESRCH") throw e;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function failure(message, tail) {
  return new Error(`${message}\n--- next output (tail) ---\n${tail}`);
}

async function build(dir, bundler) {
  // A fresh .next each time: no cache or output shared between the two bundlers.
  await rm(join(dir, ".next"), { recursive: true, force: true });
  const args = bundler === "webpack" ? ["build", "--webpack"] : ["build"];
  const proc = run(dir, args);
  const timer = setTimeout(() => signalGroup(proc.child, "SIGKILL"), BUILD_TIMEOUT_MS);
  const { code, signal, error } = await proc.exited.finally(() => clearTimeout(timer));
  signalGroup(proc.child, "SIGKILL"); // build workers that outlived the CLI
  if (error) throw failure(`next ${args.join(" ")} could not start: ${error.message}`, proc.tail());
  if (code !== 0) {
    throw failure(`next ${args.join(" ")} (${bundler}) failed: exit ${code ?? signal}`, proc.tail());
  }
}

async function waitUntilServing(server, base) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exit = null;
  server.exited.then((e) => (exit = e));
  while (Date.now() < deadline) {
    if (exit) throw failure(`next start exited early: ${exit.error?.message ?? exit.code ?? exit.signal}`, server.tail());
    try {
      await fetch(base + "/", { signal: AbortSignal.timeout(2_000) });
      return;
    } catch {
      await sleep(250);
    }
  }
  throw failure(`next start did not answer on ${base} within ${START_TIMEOUT_MS / 1000} s`, server.tail());
}

async function routeResult(server, base) {
  const response = await fetch(base + "/api/checks", { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw failure(`GET /api/checks answered ${response.status} with no JSON: ${text.slice(0, 500)}`, server.tail());
  }
}

async function pageResult(server, base, browser) {
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console.error: ${m.text()}`));
  page.on("requestfailed", (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  try {
    const response = await page.goto(base + "/", { waitUntil: "load" });
    if (!response?.ok()) problems.push(`GET / answered ${response?.status()}`);
    let text;
    try {
      const result = await page.waitForSelector("#result", { timeout: RESULT_TIMEOUT_MS });
      text = await result.textContent();
    } catch (e) {
      throw failure(`the page showed no #result: ${e.message}\n${problems.join("\n")}`, server.tail());
    }
    try {
      return JSON.parse(text);
    } catch {
      throw failure(`#result is not JSON: ${text.slice(0, 500)}\n${problems.join("\n")}`, server.tail());
    }
  } finally {
    await page.close();
  }
}

export default async function check({ dir, bundler, port, browser, log = () => {} }) {
  if (bundler !== "turbopack" && bundler !== "webpack") throw new Error(`unknown bundler ${bundler}`);
  let started = Date.now();
  await build(dir, bundler);
  log(`next build (${bundler}): ${((Date.now() - started) / 1000).toFixed(1)} s`);

  started = Date.now();
  const base = `http://127.0.0.1:${port}`;
  const server = run(dir, ["start", "-p", String(port), "-H", "127.0.0.1"]);
  try {
    await waitUntilServing(server, base);
    const route = await routeResult(server, base);
    const page = await pageResult(server, base, browser);
    log(`next start + route + page (${bundler}): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { route, page };
  } finally {
    await killGroup(server);
  }
}
