// The examples (examples/), each run as its user would run it: the Node service as a
// process spoken to over HTTP, the Worker bundled as wrangler bundles it and run in
// workerd (miniflare), the form in Chromium with the keyboard, the Rust service with
// `cargo run`. What is asserted is what each does, so a renamed option or export breaks
// here. Needs pkg/dist (bash pkg/build.sh) and the native CLI (cargo build, or $KMS_CLI).
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { build } from "esbuild";
import { decrypt, encrypt, inspectMessage, SoftwareKeyProvider } from "kms-instance/envelope";
import { Miniflare } from "miniflare";
import { chromium } from "playwright-core";
import { repoRoot, runCli, sharedRoot } from "./helpers.mjs";

const examples = join(repoRoot, "examples");
const work = mkdtempSync(join(tmpdir(), "kms-examples-"));
const ARN = "acs:kms:cn-hangzhou:1207089758810000:key/key-examples";
const bytes = (text) => new Uint8Array(Buffer.from(text));
const codeOf = (promise) => promise.then(() => "opened", (e) => e.code ?? String(e));

/** A keyring file made the way the examples tell their users to: `kms-instance keyring new`. */
function newKeyring(name) {
  const file = join(work, name);
  const made = runCli(["keyring", "new", file, "--key", ARN]);
  assert.equal(made.status, 0, made.stderr);
  return file;
}

before(() => {
  // The examples import the package by its name, from examples/node_modules: `npm install`
  // in examples/ links ../pkg there (examples/package.json); the same link, if missing.
  const link = join(examples, "node_modules/kms-instance");
  if (!existsSync(join(link, "package.json"))) {
    mkdirSync(join(examples, "node_modules"), { recursive: true });
    rmSync(link, { force: true });
    symlinkSync("../../pkg", link);
  }
});

after(() => rmSync(work, { recursive: true, force: true }));

describe("examples/node-service.mjs", () => {
  let child, url, keyring, exited;
  const post = (path, body, tenant) =>
    fetch(`${url}${path}`, { method: "POST", body, headers: tenant ? { "x-tenant": tenant } : {} });

  before(async () => {
    keyring = newKeyring("service-keys.json");
    child = spawn(process.execPath, [join(examples, "node-service.mjs"), keyring, "0"], { stdio: ["ignore", "pipe", "pipe"] });
    exited = new Promise((ok) => child.on("exit", (code, signal) => ok({ code, signal })));
    let out = "";
    url = await new Promise((ok, fail) => {
      child.stdout.on("data", (d) => {
        out += d;
        const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
        if (m) ok(m[1]);
      });
      child.stderr.on("data", (d) => (out += d));
      child.on("exit", () => fail(new Error(`the service exited: ${out}`)));
    });
  });

  after(() => child?.exitCode === null && child.kill("SIGKILL"));

  test("seals a body for a tenant; it opens through the service as that tenant only", async () => {
    const body = Buffer.concat([Buffer.from("invoice 1042 · 99.00 "), Buffer.from([0, 255, 128])]);
    const sealed = await post("/seal", body, "tenant-a");
    assert.equal(sealed.status, 200);
    const message = new Uint8Array(await sealed.arrayBuffer());
    assert.ok(!Buffer.from(message).includes(Buffer.from("invoice")), "the body is not in the message in clear");
    const header = inspectMessage(message);
    assert.deepEqual(header.context, { tenant: "tenant-a" });
    assert.deepEqual(header.dataKeys.map((k) => k.keyArn), [ARN]);

    const opened = await post("/open", message, "tenant-a");
    assert.equal(opened.status, 200);
    assert.deepEqual(Buffer.from(await opened.arrayBuffer()), body);
    const other = await post("/open", message, "tenant-b");
    assert.deepEqual([other.status, await other.json()], [403, { code: "InvalidCiphertext.ContextMismatch" }]);

    // The message is the Encryption SDK's format under the keyring's key: the package opens it, as does the CLI.
    const keys = new SoftwareKeyProvider(readFileSync(keyring, "utf8"));
    const direct = await decrypt([keys], message, { requireContext: { tenant: "tenant-a" } });
    assert.deepEqual(Buffer.from(direct.plaintext), body);
    assert.equal(await codeOf(decrypt([keys], message, { requireContext: { tenant: "tenant-b" } })), "InvalidCiphertext.ContextMismatch");
    const cli = runCli(["decrypt", "--keyring", keyring, "--require-context", "tenant=tenant-a"], Buffer.from(message));
    assert.equal(cli.status, 0, cli.stderr);
    assert.deepEqual(cli.stdout, body);

    // And the other way: what a back end seals with the same keyring, the service opens.
    const fromPackage = await encrypt([keys], bytes("sealed elsewhere"), { context: { tenant: "tenant-b" } });
    const back = await post("/open", fromPackage, "tenant-b");
    assert.deepEqual([back.status, await back.text()], [200, "sealed elsewhere"]);
    keys.free();
  });

  test("refuses what it cannot serve, with a code", async () => {
    const message = new Uint8Array(await (await post("/seal", "x", "tenant-a")).arrayBuffer());
    message[message.length - 1] ^= 1;
    const cases = [
      [post("/open", message, "tenant-a"), 400, "InvalidCiphertext"],
      [post("/open", "not a message", "tenant-a"), 400, "InvalidCiphertext.NotAMessage"],
      [post("/seal", "x"), 400, "MissingTenant"],
      [post("/seal", new Uint8Array((1 << 20) + 1), "tenant-a"), 413, "BodyTooLarge"],
      [fetch(`${url}/seal`), 404, "NotFound"],
    ];
    for (const [response, status, code] of cases) {
      const res = await response;
      assert.deepEqual([res.status, await res.json()], [status, { code }]);
    }
  });

  test("stops cleanly on SIGTERM", async () => {
    child.kill("SIGTERM");
    assert.deepEqual(await exited, { code: 0, signal: null });
  });

  test("without a keyring it says how to run it", async () => {
    const run = await promisify(execFile)(process.execPath, [join(examples, "node-service.mjs")], { env: { ...process.env, KMS_KEYRING: "" } }).catch((e) => e);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /usage: node node-service\.mjs KEYRING/);
  });
});

describe("examples/worker (workerd, through miniflare)", () => {
  const dir = join(examples, "worker");
  const toml = readFileSync(join(dir, "wrangler.toml"), "utf8");
  const setting = (name, text = toml) => new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(text)?.[1];
  const vars = Object.fromEntries([...(toml.split(/^\[vars\]$/m)[1] ?? "").matchAll(/^(\w+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1], m[2]]));
  const material = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7));
  let mf, options;

  before(async () => {
    // What `wrangler deploy` does with wrangler.toml: bundle `main` with the workerd
    // condition, each .wasm import a compiled module beside the bundle (as
    // test/toolchains/run.mjs does); MASTER_KEY is the secret `wrangler secret put` sets.
    const outdir = join(work, "worker");
    await build({
      entryPoints: [join(dir, setting("main"))], outfile: join(outdir, "worker.js"), bundle: true, format: "esm",
      conditions: ["workerd", "worker", "browser"], logLevel: "warning",
      plugins: [{
        name: "wasm-modules",
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, (args) => {
            const file = join(args.resolveDir, args.path);
            const name = file.split(sep).at(-1);
            mkdirSync(outdir, { recursive: true });
            cpSync(file, join(outdir, name));
            return { path: `./${name}`, external: true };
          });
        },
      }],
    });
    options = {
      modules: true, scriptPath: join(outdir, "worker.js"), modulesRoot: outdir,
      modulesRules: [{ type: "ESModule", include: ["**/*.js"] }, { type: "CompiledWasm", include: ["**/*.wasm"] }],
      compatibilityDate: setting("compatibility_date"),
      bindings: { ...vars, MASTER_KEY: material.toString("base64") },
    };
    mf = new Miniflare(options);
    await mf.ready;
  });

  after(() => mf?.dispose());

  const post = (path, body, tenant) => mf.dispatchFetch(`http://worker.test${path}`, { method: "POST", body, headers: tenant ? { "x-tenant": tenant } : {} });

  test("wrangler.toml names the worker and the key", () => {
    assert.equal(setting("main"), "worker.js");
    assert.match(vars.MASTER_KEY_ARN, /^acs:kms:[a-z0-9-]+:\d+:key\/[\w-]+$/);
  });

  test("seals a body into the response and opens it back, for its tenant only, small and large", async () => {
    const keys = new SoftwareKeyProvider({ keys: [{ arn: vars.MASTER_KEY_ARN, material: material.toString("base64") }] });
    for (const size of [11, 100_000]) {
      const body = new Uint8Array(size).map((_, i) => i % 251);
      const sealed = await post("/seal", body, "tenant-a");
      assert.equal(sealed.status, 200);
      const message = new Uint8Array(await sealed.arrayBuffer());
      const header = inspectMessage(message);
      assert.deepEqual([header.context, header.dataKeys.map((k) => k.keyArn), header.bodyBytes], [{ tenant: "tenant-a" }, [vars.MASTER_KEY_ARN], size]);

      const opened = await post("/open", message, "tenant-a");
      assert.equal(opened.status, 200);
      assert.deepEqual(new Uint8Array(await opened.arrayBuffer()), body);
      const other = await post("/open", message, "tenant-b");
      assert.deepEqual([other.status, await other.json()], [403, { code: "InvalidCiphertext.ContextMismatch" }]);
      // The secret's key, held anywhere else (here a keyring in Node), opens what the Worker sealed.
      assert.deepEqual((await decrypt([keys], message, { requireContext: { tenant: "tenant-a" } })).plaintext, body);
    }
    // And the Worker opens what a back end sealed under the same key.
    const fromNode = await encrypt([keys], bytes("from the back end"), { context: { tenant: "tenant-c" } });
    const opened = await post("/open", fromNode, "tenant-c");
    assert.deepEqual([opened.status, await opened.text()], [200, "from the back end"]);
    keys.free();
  });

  test("refuses a changed message, a request without a tenant, another route", async () => {
    const message = new Uint8Array(await (await post("/seal", "x", "tenant-a")).arrayBuffer());
    message[message.length - 1] ^= 1;
    for (const [response, status, code] of [
      [post("/open", message, "tenant-a"), 400, "InvalidCiphertext"],
      [post("/seal", "x"), 400, "MissingTenant"],
      [mf.dispatchFetch("http://worker.test/seal"), 404, "NotFound"],
    ]) {
      const res = await response;
      assert.deepEqual([res.status, await res.json()], [status, { code }]);
    }
  });

  test("a secret that is not a 32-byte key is the deployment's fault: a 500 that does not echo it", async () => {
    for (const secret of [material.subarray(0, 16).toString("base64"), "not base64!", undefined]) {
      await mf.setOptions({ ...options, bindings: { ...vars, ...(secret && { MASTER_KEY: secret }) } });
      const res = await post("/seal", "x", "tenant-a");
      const text = await res.text();
      assert.deepEqual([res.status, JSON.parse(text)], [500, { code: "Misconfigured" }], String(secret));
      assert.ok(!secret || !text.includes(secret));
    }
  });
});

describe("examples/browser-form (Chromium)", () => {
  const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8" };
  let server, browser, page;
  const errors = [];
  const texts = (selector) => page.$$eval(selector, (nodes) => nodes.map((n) => n.textContent.trim()));
  const problems = () => page.$$eval("#problems li", (items) => items.map((li) => `${li.querySelector(".where")?.textContent ?? "-"} ${li.dataset.code}`));

  before(async () => {
    // Served as any static server serves examples/ (the page's import map points into examples/node_modules).
    server = createServer((req, res) => {
      let path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
      if (path.endsWith("/")) path += "index.html";
      const file = join(examples, path);
      if (!file.startsWith(examples + sep) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      createReadStream(file).pipe(res);
    });
    await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
    });
    page = await browser.newPage();
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${server.address().port}/browser-form/`);
    await page.waitForSelector("body[data-ready=true]");
  });

  after(async () => {
    await browser?.close();
    server?.close();
  });

  test("a document is checked as it is typed: every problem, with its line:column and code", async () => {
    assert.equal(await page.textContent("#status"), "Paste or type the VPCs to bind, as JSON.");
    await page.click("#bindvpcs");
    // Halfway through typing, the place where the text stops being JSON.
    await page.keyboard.type('[\n  {"VpcId": "vpc-bp1go9qvmj78j4f4c0001", "VSwitchId": "vsw-1", "RegionId": "cn-shanghai",');
    assert.deepEqual(await problems(), ["2:89 InvalidParameter.BindVpcs.Malformed"]);
    await page.keyboard.type('\n   "VpcOwnerId": 1207089758810000, "VswitchId": "x"}\n]');
    assert.equal(await page.textContent("#status"), "3 problem(s)");
    assert.deepEqual(await problems(), [
      "2:55 InvalidParameter.BindVpcs.VSwitchId",
      "2:76 InvalidParameter.BindVpcs.CrossRegion",
      "3:36 InvalidParameter.BindVpcs.UnknownField",
    ]);
    assert.match((await texts("#problems li"))[2], /^3:36 InvalidParameter\.BindVpcs\.UnknownField .*VSwitchId/);

    // A place selects the text at fault in the field.
    await page.click("#problems li:nth-child(3) .where");
    const selected = await page.evaluate(() => {
      const f = document.activeElement;
      return [f.id, f.value.slice(f.selectionStart, f.selectionEnd)];
    });
    assert.deepEqual(selected, ["bindvpcs", '"VswitchId"']);

    // The instance's region is part of what the document is checked against.
    await page.fill("#region", "cn-shanghai");
    assert.deepEqual((await problems()).map((p) => p.split(" ")[1]), ["InvalidParameter.BindVpcs.VSwitchId", "InvalidParameter.BindVpcs.UnknownField"]);

    await page.fill("#bindvpcs", JSON.stringify([{ VpcId: "vpc-bp1go9qvmj78j4f4c0001", VSwitchId: "vsw-bp16c5pvvcf0fp5b90001", RegionId: "cn-shanghai", VpcOwnerId: 1207089758810000 }], null, 2));
    assert.deepEqual([await page.textContent("#status"), await problems()], ["Valid: 1 VPC(s) to bind.", []]);
  });

  test("no error reached the console", () => {
    assert.deepEqual(errors, []);
  });
});

describe("examples/rust_service.rs", () => {
  const cargoRun = (env) =>
    promisify(execFile)("cargo", ["run", "--quiet", "--example", "rust_service"], {
      cwd: repoRoot, maxBuffer: 16 << 20, timeout: 1_200_000,
      env: { ...process.env, CARGO_BUILD_JOBS: process.env.CARGO_BUILD_JOBS ?? "2", KMS_SCENARIOS: join(sharedRoot, "scenarios"), ...env },
    });
  const checked = [
    "state: instance kst-hzz62f4a5c2d7ab12cd in cn-hangzhou",
    "bindvpcs: ok=false problems=3",
    "  3:96 InvalidParameter.BindVpcs.CrossRegion at /1/RegionId",
    "  4:3 InvalidParameter.BindVpcs.MissingField at /2/VSwitchId",
    "  4:42 InvalidParameter.BindVpcs.UnknownField at /2/VswitchId",
    "check: owner CreateKey allowed",
    "check: app-team CreateKey denied Forbidden.NotShared (R-AZ-1)",
    "ready",
  ];

  test("with a keyring file: seals a record the package opens, checks a BindVpcs document, asks the rules", { timeout: 1_300_000 }, async () => {
    const keyring = newKeyring("rust-keys.json");
    const { stdout } = await cargoRun({ KMS_KEYRING: keyring });
    const lines = stdout.trimEnd().split("\n");
    assert.equal(lines[0], `keyring: 1 key(s) from ${keyring}`);
    assert.match(lines[1], new RegExp(`^sealed: \\d+ bytes under ${ARN}$`));
    const message = Buffer.from(/^message: (\S+)$/m.exec(stdout)[1], "base64");
    // What Rust sealed, the package opens with the same keyring, for tenant a only.
    const keys = new SoftwareKeyProvider(readFileSync(keyring, "utf8"));
    const opened = await decrypt([keys], message, { requireContext: { tenant: "a" } });
    assert.equal(Buffer.from(opened.plaintext).toString(), '{"invoice": 1042, "amount": "99.00"}');
    assert.equal(await codeOf(decrypt([keys], message, { requireContext: { tenant: "b" } })), "InvalidCiphertext.ContextMismatch");
    keys.free();
    assert.ok(lines.includes(`opened: {"invoice": 1042, "amount": "99.00"} as tenant a, key ${ARN}`), stdout);
    assert.ok(lines.includes("refused as tenant b: InvalidCiphertext.ContextMismatch"), stdout);
    const from = lines.findIndex((l) => l.startsWith("state: "));
    assert.deepEqual(lines.slice(from).map((l) => l.replace(/, from .*$/, "")), checked);
  });

  test("without one: a key made in memory, the same checks", { timeout: 1_300_000 }, async () => {
    const { stdout } = await cargoRun({ KMS_KEYRING: undefined });
    assert.equal(stdout.split("\n")[0], "keyring: 1 key made in memory (set KMS_KEYRING to keep one)");
    assert.match(stdout, /^refused as tenant b: InvalidCiphertext\.ContextMismatch$/m);
    const lines = stdout.trimEnd().split("\n");
    assert.deepEqual(lines.slice(lines.findIndex((l) => l.startsWith("state: "))).map((l) => l.replace(/, from .*$/, "")), checked);
  });

  test("a keyring that is not one stops it with the reason, and no key material", { timeout: 1_300_000 }, async () => {
    const bad = join(work, "bad-keys.json");
    const secret = "c2VjcmV0LW1hdGVyaWFsLW5vdC0zMi1ieXRlcw==";
    writeFileSync(bad, JSON.stringify({ keys: [{ arn: ARN, material: secret }] }));
    const run = await cargoRun({ KMS_KEYRING: bad }).catch((e) => e);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^rust_service: InvalidParameter\.Keyring at \/keys\/0\/material: /m);
    assert.ok(!run.stderr.includes(secret) && !run.stdout.includes("ready"));
  });
});
