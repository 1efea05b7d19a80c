// The package's XksKeyProvider against `kms-instance xks-proxy` over SoftHSM2: in Node
// (TLS from a test CA) and in workerd (miniflare, plain HTTP on loopback), with software
// and WebCrypto keys beside it; a message sealed by the package opens in the native CLI
// through the proxy. Skipped without SoftHSM2 unless KMS_REQUIRE_SOFTHSM is set.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Miniflare } from "miniflare";
import { decrypt, encrypt, isKmsError, XksKeyProvider } from "../dist/index.js";
import { cli, pkgRoot } from "./helpers.mjs";
import { ACCESS_KEY_ID, arn, makeWorld, MODULE, options, PREFIX, PRINCIPAL, SECRET, startProxy } from "./xks/proxy.mjs";

const present = existsSync(MODULE) && spawnSync("softhsm2-util", ["--version"]).status === 0;
if (!present && process.env.KMS_REQUIRE_SOFTHSM) throw new Error("KMS_REQUIRE_SOFTHSM is set but SoftHSM2 is missing");
const skip = present ? false : "SoftHSM2 is not installed";

let world, tls, plain;
before(async () => {
  if (skip) return;
  world = makeWorld();
  [tls, plain] = await Promise.all([startProxy(world), startProxy(world, { plain: true })]);
});
after(async () => {
  assert.equal(await tls?.stop(), 0, "the proxy stops on SIGTERM with status 0");
  await plain?.stop();
  world?.remove();
});

const code = (promise) => promise.then(() => "resolved", (e) => (isKmsError(e) ? e.code : `not a KmsError: ${e}`));

test("Node seals through the proxy beside software keys, and the native CLI opens it through the proxy", { skip }, async () => {
  const out = join(world.dir, "from-node.kms");
  const run = spawnSync(process.execPath, [join(pkgRoot, "test/xks/node-client.mjs"), String(tls.port), out], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: join(world.dir, "ca.pem") },
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
  const seen = JSON.parse(run.stdout);
  assert.deepEqual(seen.byProxy, ["sealed in Node through the proxy", arn("k-proxy")]);
  assert.deepEqual(seen.bySoftware, ["sealed in Node through the proxy", arn("soft")]);
  assert.deepEqual(seen.arns, [arn("k-proxy"), arn("renamed")]);
  assert.equal(seen.wrongSecret, "Bridge.AuthenticationFailed");

  writeFileSync(join(world.dir, "provider.json"), JSON.stringify({
    proxy: { endpoint: `https://localhost:${tls.port}`, uriPrefix: PREFIX, accessKeyId: ACCESS_KEY_ID, principal: PRINCIPAL, keys: [arn("k-proxy")] },
    trust: { caFile: "ca.pem" },
  }));
  const opened = spawnSync(cli(), ["decrypt", "--require-context", "app=node", "--xks", join(world.dir, "provider.json"), "--xks-secret-env", "XKS_SECRET"], {
    input: readFileSync(out),
    env: { ...process.env, XKS_SECRET: SECRET },
  });
  assert.equal(opened.status, 0, opened.stderr.toString());
  assert.equal(opened.stdout.toString(), "sealed in Node through the proxy");
  // The proxy's log lines arrive on this process's event loop, which spawnSync held.
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(tls.log.some((line) => / Decrypt .* k-proxy .* Success$/.test(line)), tls.log.join("\n"));
  assert.ok(!tls.log.some((line) => line.includes(SECRET)));
});

test("a proxy whose certificate the host does not trust is Bridge.Tls; one that stalls, Bridge.Timeout", { skip }, async () => {
  // This process was not given the test CA.
  assert.equal(await code(encrypt([new XksKeyProvider(options(tls.port))], new Uint8Array(1))), "Bridge.Tls");
  const stall = createServer(() => {});
  await new Promise((r) => stall.listen(0, "127.0.0.1", r));
  const slow = new XksKeyProvider(options(stall.address().port, { scheme: "http", timeoutMs: 300 }));
  assert.equal(await code(encrypt([slow], new Uint8Array(1))), "Bridge.Timeout");
  stall.close();
  const closed = new XksKeyProvider(options(9, { scheme: "http" }));
  assert.equal(await code(encrypt([closed], new Uint8Array(1))), "Bridge.Unavailable");
});

test("the options are checked when the provider is made", { skip }, () => {
  const made = (o) => { try { new XksKeyProvider(o); return "made"; } catch (e) { return isKmsError(e) ? e.code : e.constructor.name; } };
  assert.equal(made(options(1)), "made");
  assert.equal(made({ ...options(1), secretAccessKey: undefined }), "TypeError");
  assert.equal(made({ ...options(1), endpoint: "http://kms.example.com" }), "InvalidParameter.Keyring", "plain HTTP to a host that is not loopback");
  assert.equal(made({ ...options(1), endpoint: "http://127.0.0.1.nip.io" }), "InvalidParameter.Keyring", "a name that only looks like a loopback address");
  assert.equal(made({ ...options(1), endpoint: "http://[::1]:8080" }), "made");
  assert.equal(made({ ...options(1), keys: [] }), "InvalidParameter.Keyring");
  assert.equal(made({ ...options(1), keys: ["not-an-arn"] }), "InvalidParameter.KeyId");
  assert.equal(made({ ...options(1), tls: "none" }), "InvalidParameter.Keyring", "an unknown option");
  assert.equal(made("settings"), "TypeError");
});

test("a worker (workerd) seals through the proxy beside a WebCrypto key; the package opens it in Node", { skip }, async () => {
  const mf = new Miniflare({
    modules: true,
    modulesRoot: pkgRoot,
    scriptPath: `${pkgRoot}/test/edge/xks-worker.mjs`,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-01-01",
  });
  try {
    const settings = options(plain.port, { scheme: "http" });
    const res = await mf.dispatchFetch("http://edge.test/", { method: "POST", body: JSON.stringify(settings) });
    const out = await res.json();
    assert.equal(res.status, 200, JSON.stringify(out));
    assert.equal(out.plaintext, "sealed in workerd through the proxy");
    assert.equal(out.keyArn, arn("k-proxy"));
    assert.equal(out.refused, "Bridge.Unavailable");
    const opened = await decrypt([new XksKeyProvider(settings)], new Uint8Array(out.sealed), { requireContext: { runtime: "workerd" } });
    assert.equal(new TextDecoder().decode(opened.plaintext), "sealed in workerd through the proxy");
  } finally {
    await mf.dispose();
  }
});
