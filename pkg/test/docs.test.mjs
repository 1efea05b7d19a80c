// Every code block of the READMEs (the repository's, the package's, the examples') and
// the guides runs, so a renamed
// option breaks the build and not the reader. Per page, in order, in one working
// directory (a reader follows a page from the top): ```sh blocks in bash with the built
// CLI on PATH, ```js blocks in Node against the built package (a Worker's `fetch` is
// called with a request), ```rust blocks as doctests (src/lib.rs includes the pages).
// ```text and ```json blocks are output and data. Any other block fails the test. A
// `// prints: X` comment is checked against what the block printed. A line
// `<!-- docs-test: with NAME[,NAME] (…) -->` before a block gives it fixtures (a running
// `kms-instance serve`, the proxy guide's files); `<!-- docs-test: skip (why) -->`
// leaves it out, and must say why.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { cli, pkgRoot, repoRoot, sharedRoot } from "./helpers.mjs";

const pages = [
  "README.md",
  "pkg/README.md",
  "examples/README.md",
  ...readdirSync(join(repoRoot, "docs"), { recursive: true }).filter((f) => f.endsWith(".md")).map((f) => join("docs", f)),
].sort();

/** A page's code blocks, each with its language, its code and the directive before it. */
function blocksOf(page) {
  const text = readFileSync(join(repoRoot, page), "utf8");
  const blocks = [];
  const fence = /(?:<!-- docs-test: (\w[\w-]*)(?: ([\w,-]+))?[^>]*-->\n)?^```(\S*)\n([\s\S]*?)^```$/gm;
  for (const m of text.matchAll(fence)) {
    const line = text.slice(0, m.index).split("\n").length + (m[1] ? 1 : 0);
    blocks.push({ page, line, directive: m[1], fixture: m[2], lang: m[3], code: m[4] });
  }
  return blocks;
}

const RUN = new Set(["sh", "js", "rust"]);
const DATA = new Set(["text", "json", "toml"]);

test("every code block of the docs is run, data or output; a skipped one says why", () => {
  for (const page of pages) {
    for (const b of blocksOf(page)) {
      assert.ok(RUN.has(b.lang) || DATA.has(b.lang), `${page}:${b.line}: a block of "${b.lang || "no language"}" is neither run nor data`);
      if (b.directive === "skip") {
        const raw = readFileSync(join(repoRoot, page), "utf8").split("\n")[b.line - 2];
        assert.match(raw, /skip \(.+\)/, `${page}:${b.line}: a skipped block says why`);
      }
      if (b.directive) assert.ok(["skip", "with"].includes(b.directive), `${page}:${b.line}: docs-test: ${b.directive}?`);
    }
  }
});

test("the rust blocks are doctests: src/lib.rs includes every page that has one", () => {
  const lib = readFileSync(join(repoRoot, "src/lib.rs"), "utf8");
  for (const page of pages) {
    if (blocksOf(page).some((b) => b.lang === "rust")) {
      assert.ok(lib.includes(`include_str!("../${page}")`), `${page} has Rust blocks: src/lib.rs must include it as doctests`);
    }
  }
});

/** A working directory that looks like the repository (its top level linked), `../shared` beside it. */
function workspace() {
  const root = mkdtempSync(join(tmpdir(), "kms-docs-"));
  const work = join(root, "work");
  mkdirSync(work);
  symlinkSync(sharedRoot, join(root, "shared"));
  for (const entry of ["examples", "pkg", "www", "tests", "benches", "src", ".ci", "Cargo.toml", "Cargo.lock", "target"]) {
    symlinkSync(join(repoRoot, entry), join(work, entry));
  }
  return { root, work };
}

/**
 * Runs bash `code` in `cwd`; resolves with its output and the environment it left (a
 * page's blocks share one shell's variables, as a reader's terminal does). Background
 * jobs are stopped after.
 */
function bash(code, cwd, env) {
  const envFile = join(cwd, `.env-${process.pid}`);
  return new Promise((resolve) => {
    const script = `set -euo pipefail\n${code}\nenv -0 > ${JSON.stringify(envFile)}\njobs -p | xargs -r kill 2>/dev/null || true\n`;
    const child = spawn("bash", ["-c", script], { cwd, env, detached: true });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => process.kill(-child.pid, "SIGKILL"), 120_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      let left = env;
      try {
        left = Object.fromEntries(readFileSync(envFile, "utf8").split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
        rmSync(envFile);
      } catch {}
      resolve({ status, out, env: left });
    });
  });
}

/** `kms-instance serve` on examples/seed.json, and the owner's credentials and key. */
async function serveFixture(work) {
  const child = spawn(cli(), ["serve", "--seed", join(repoRoot, "examples/seed.json")], { cwd: work });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on("exit", () => reject(new Error(`serve exited: ${out}`)));
  });
  const env = {
    KMS_URL: url,
    KMS_AK: "LTAI5tExampleOwner000001",
    KMS_SECRET: "example-secret-of-the-owner-account",
    KMS_ARN: "acs:kms:cn-hangzhou:1207089758810000:key/key-hzz6example0001",
  };
  return { env, stop: () => child.kill() };
}

/** The proxy guide's first block: a token, a certificate, proxy.json and xks.json. */
async function proxyFilesFixture(work, env) {
  const first = blocksOf("docs/guides/proxy.md").find((b) => b.lang === "sh");
  const run = await bash(first.code, work, env);
  assert.equal(run.status, 0, `the proxy guide's first block, as a fixture: ${run.out}`);
  return { env: run.env, stop: () => {} };
}

/** `kms-instance xks-proxy` on the proxy guide's proxy.json, its CA trusted by Node, and where it is. */
async function proxyFixture(work, env) {
  const child = spawn(cli(), ["xks-proxy", "--config", "proxy.json"], { cwd: work, env });
  await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => ((out += d), /listening/.test(out) && resolve()));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", () => reject(new Error(`xks-proxy exited: ${out}`)));
  });
  const env2 = {
    NODE_EXTRA_CA_CERTS: join(work, "ca.pem"),
    XKS_ENDPOINT: "https://localhost:8443",
    XKS_URI_PREFIX: "/demo",
    XKS_ACCESS_KEY_ID: "AKIADEMOKEY000000000",
    XKS_KEY_ARN: "acs:kms:cn-hangzhou:1207089758810000:key/key-xks",
  };
  return { env: env2, stop: () => child.kill() };
}

const FIXTURES = { serve: serveFixture, "proxy-files": proxyFilesFixture, proxy: proxyFixture };

/** What `// prints: X` comments say the block prints. */
const printed = (code) => [...code.matchAll(/\/\/ prints: (.+)$/gm)].map((m) => m[1].trim());

function runJs(b, env) {
  if (/^export default \{/m.test(b.code)) {
    // A Worker: its fetch, called as the host would, with the secret it names.
    const file = join(pkgRoot, "test", `.docs-${b.line}-${process.pid}.mjs`);
    writeFileSync(file, b.code);
    try {
      const harness = `
        const worker = (await import(${JSON.stringify(file)})).default;
        const env = { MASTER_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64"), ...process.env };
        const headers = { "x-tenant": "t-1", "content-length": "5" };
        const response = await worker.fetch(new Request("https://edge.example/", { method: "POST", body: "hello", headers }), env);
        if (response.status !== 200 || (await response.text()) !== "hello") throw new Error("the Worker did not answer with the body");
        console.log("worker answered");`;
      return spawnSync(process.execPath, ["--input-type=module", "-e", harness], { cwd: pkgRoot, env, encoding: "utf8" });
    } finally {
      rmSync(file, { force: true });
    }
  }
  const commonjs = /\brequire\(/.test(b.code);
  return spawnSync(process.execPath, [`--input-type=${commonjs ? "commonjs" : "module"}`, "-e", b.code], { cwd: pkgRoot, env, encoding: "utf8" });
}

for (const page of pages) {
  const blocks = blocksOf(page).filter((b) => (b.lang === "sh" || b.lang === "js") && b.directive !== "skip");
  if (blocks.length === 0) continue;
  test(`${page}: every sh and js block runs, in order, and prints what it says`, async () => {
    const { root, work } = workspace();
    let env = { ...process.env, PATH: `${dirname(cli())}:${process.env.PATH}` };
    const running = [];
    try {
      for (const b of blocks) {
        const where = `${page}:${b.line}`;
        let blockEnv = env;
        if (b.directive === "with") {
          for (const name of b.fixture.split(",")) {
            const make = FIXTURES[name];
            assert.ok(make, `${where}: no fixture "${name}"`);
            const fixture = await make(work, blockEnv);
            running.push(fixture);
            blockEnv = { ...blockEnv, ...fixture.env };
          }
        }
        const run = b.lang === "sh" ? await bash(b.code, work, blockEnv) : runJs(b, blockEnv);
        const out = b.lang === "sh" ? run.out : `${run.stdout}${run.stderr}`;
        assert.equal(run.status, 0, `${where} (${b.lang}) failed:\n${out}`);
        // What a block exported stays for the next; a fixture's variables are its block's.
        if (b.lang === "sh") env = Object.fromEntries(Object.entries(run.env).filter(([k]) => k in env || !(k in blockEnv)));
        for (const said of printed(b.code)) assert.ok(out.includes(said), `${where} should print "${said}"; it printed:\n${out}`);
      }
    } finally {
      for (const f of running) f.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test("the pages link to files that exist", () => {
  for (const page of pages) {
    const text = readFileSync(join(repoRoot, page), "utf8");
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const path = join(repoRoot, dirname(page), target);
      assert.ok(spawnSync("test", ["-e", path]).status === 0, `${page} links to ${target}, which is not ${relative(repoRoot, path)}`);
    }
  }
});
