// The package's KmsKeyProvider, and Alibaba's Node clients, against `kms-instance
// serve` (the native CLI) on loopback: in Node with v3 and v1 signatures, the cache,
// two keys, KMS's refusals as codes; messages opened by the native CLI and the reverse;
// in workerd (miniflare); and @alicloud/pop-core (RPC v1) and @alicloud/openapi-client
// (V3 and v2), clients no one here wrote.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import { Miniflare } from "miniflare";
import { DataKeyCache, decrypt, encrypt, inspectMessage, isKmsError, KmsApiClient, KmsKeyProvider } from "kms-instance";
import { cli, makeCertificates, pkgRoot } from "./helpers.mjs";
import { ACCESS_KEY_ID, arn, OWNER as OWNER_ID, INSTANCE, instanceSeed, options, PRINCIPAL, SECRET, startServe } from "./kms/serve.mjs";

const require = createRequire(import.meta.url);
let server;
before(async () => {
  server = await startServe();
});
after(async () => {
  assert.equal(await server?.stop(), 0, "serve stops on SIGTERM with status 0");
});

const code = (promise) => promise.then(() => "resolved", (e) => (isKmsError(e) ? e.code : `not a KmsError: ${e}`));
const text = (s) => new TextEncoder().encode(s);

test("seals and opens through KMS with v3 and v1 signatures, one key or two, with the cache", async () => {
  for (const signature of ["v3", "v1"]) {
    const kms = new KmsKeyProvider(options(server, { signature, keys: [arn("key-pkg-one"), arn("key-pkg-two")] }));
    assert.deepEqual(kms.arns(), [arn("key-pkg-one"), arn("key-pkg-two")]);
    const sealed = await encrypt([kms], text(`by ${signature}`), { context: { tenant: "t-1" } });
    assert.deepEqual(inspectMessage(sealed).dataKeys.map((k) => k.keyArn), [arn("key-pkg-one"), arn("key-pkg-two")]);
    const opened = await decrypt([kms], sealed, { requireContext: { tenant: "t-1" } });
    assert.equal(new TextDecoder().decode(opened.plaintext), `by ${signature}`);
    // Any key of the region opens when none is listed.
    const open = new KmsKeyProvider(options(server, { signature }));
    assert.equal(new TextDecoder().decode((await decrypt([open], sealed)).plaintext), `by ${signature}`);
  }
  const before = server.log.filter((l) => / Encrypt /.test(l)).length;
  const kms = new KmsKeyProvider(options(server, { keys: [arn("key-pkg-one")] }));
  const cache = new DataKeyCache({ maxMessages: 10, maxBytes: 1 << 20, maxAgeMs: 60_000 });
  for (let i = 0; i < 5; i++) await encrypt([kms], text(`cached ${i}`), { cache });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.log.filter((l) => / Encrypt /.test(l)).length - before, 1, "one Encrypt for five messages");
});

test("a KmsKeyProvider and a DataKeyCache of one entry work in another (each entry has its own module), and free() frees their twins", async () => {
  const envelope = await import("kms-instance/envelope");
  const kms = new envelope.KmsKeyProvider(options(server, { keys: [arn("key-pkg-one")] }));
  const cache = new envelope.DataKeyCache({ maxMessages: 10, maxBytes: 1 << 20, maxAgeMs: 60_000 });
  const before = server.log.filter((l) => / Encrypt /.test(l)).length;
  const sealed = [];
  for (let i = 0; i < 3; i++) sealed.push(await encrypt([kms], text(`across ${i}`), { cache }));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.log.filter((l) => / Encrypt /.test(l)).length - before, 1, "the cache's twin reused the data key");
  assert.equal(new TextDecoder().decode((await envelope.decrypt([kms], sealed[2])).plaintext), "across 2");
  kms.free();
  cache.free();
  assert.equal(await code(encrypt([kms], text("x"))), "Module.Freed");
  assert.equal(await code(encrypt([new KmsKeyProvider(options(server, { keys: [arn("key-pkg-one")] }))], text("x"), { cache })), "Module.Freed");
});

test("an endpoint with a CA of its own (a KMS instance's): trusted through caCertificate, refused without", async () => {
  const tls = await startServe({ tls: true });
  try {
    const ca = readFileSync(join(tls.dir, "ca.pem"), "utf8");
    const kms = new KmsKeyProvider(options(tls, { keys: [arn("key-pkg-one")], caCertificate: ca }));
    const sealed = await encrypt([kms], text("over TLS"), { context: { tenant: "t-1" } });
    assert.equal(new TextDecoder().decode((await decrypt([kms], sealed)).plaintext), "over TLS");
    // It went over TLS to the server: its log (read as it comes) has the Encrypt and the Decrypt.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(tls.log.filter((l) => / (Encrypt|Decrypt) /.test(l)).length, 2, tls.log.join("\n"));
    // The host's CAs alone, or another CA, do not trust it.
    const untrusted = new KmsKeyProvider(options(tls, { keys: [arn("key-pkg-one")] }));
    assert.equal(await code(encrypt([untrusted], text("x"))), "Bridge.Tls");
    const elsewhere = mkdtempSync(join(tmpdir(), "kms-other-ca-"));
    makeCertificates(elsewhere);
    const another = readFileSync(join(elsewhere, "ca.pem"), "utf8");
    rmSync(elsewhere, { recursive: true, force: true });
    const wrongCa = new KmsKeyProvider(options(tls, { keys: [arn("key-pkg-one")], caCertificate: another }));
    assert.equal(await code(encrypt([wrongCa], text("x"))), "Bridge.Tls");
    for (const caCertificate of [42, "not a certificate"]) {
      assert.throws(() => new KmsKeyProvider(options(tls, { caCertificate })), TypeError);
    }
  } finally {
    assert.equal(await tls.stop(), 0);
  }
});

test("KMS's refusals are codes, with KMS's code and RequestId in the message, and no secret", async () => {
  const wrong = new KmsKeyProvider(options(server, { accessKeySecret: "not-it", keys: [arn("key-pkg-one")] }));
  const e = await encrypt([wrong], text("x")).catch((e) => e);
  assert.equal(e.code, "Bridge.AuthenticationFailed");
  assert.match(e.message, /SignatureDoesNotMatch .*RequestId [0-9A-F-]{36}/);
  assert.ok(!e.message.includes("not-it") && !e.message.includes(SECRET));
  const off = new KmsKeyProvider(options(server, { keys: [arn("key-pkg-off")] }));
  assert.equal(await code(encrypt([off], text("x"))), "Bridge.KeyUnusable");
  const none = new KmsKeyProvider(options(server, { keys: [arn("key-pkg-none")] }));
  assert.equal(await code(encrypt([none], text("x"))), "Bridge.KeyNotFound");
  const sealed = await encrypt([new KmsKeyProvider(options(server, { keys: [arn("key-pkg-one")] }))], text("x"), { context: { a: "b" } });
  sealed[sealed.length - 1] ^= 1;
  assert.equal(await code(decrypt([none], sealed)), "InvalidCiphertext");
  assert.throws(() => new KmsKeyProvider(options(server, { endpoint: "http://kms.example.com" })), (e) => e.code === "InvalidParameter.Keyring");
  assert.throws(() => new KmsKeyProvider(options(server, { keys: [arn("key-pkg-one").replace("cn-hangzhou", "cn-beijing")] })), (e) => e.code === "InvalidParameter.Keyring");
  assert.throws(() => new KmsKeyProvider({ ...options(server), accessKeySecret: 7 }), TypeError);
});

test("a message sealed by the package opens in the native CLI through KMS, and the reverse", () => {
  const kms = ["--kms-endpoint", server.url, "--kms-region", "cn-hangzhou", "--kms-access-key-id", ACCESS_KEY_ID];
  const env = { ...process.env, ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET };
  const sealed = spawnSync(cli(), ["encrypt", ...kms, "--key", arn("key-pkg-two"), "--context", "from=cli"], { input: "from the CLI", env });
  assert.equal(sealed.status, 0, sealed.stderr.toString());
  return decrypt([new KmsKeyProvider(options(server))], new Uint8Array(sealed.stdout), { requireContext: { from: "cli" } }).then(async (opened) => {
    assert.equal(new TextDecoder().decode(opened.plaintext), "from the CLI");
    const message = await encrypt([new KmsKeyProvider(options(server, { keys: [arn("key-pkg-one")] }))], text("from the package"));
    const out = spawnSync(cli(), ["decrypt", ...kms], { input: message, env });
    assert.equal(out.status, 0, out.stderr.toString());
    assert.equal(out.stdout.toString(), "from the package");
  });
});

test("a worker (workerd) seals and opens through KMS; the package opens it in Node", async () => {
  const mf = new Miniflare({
    modules: true,
    modulesRoot: pkgRoot,
    scriptPath: `${pkgRoot}/test/edge/kms-worker.mjs`,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-01-01",
  });
  try {
    const res = await mf.dispatchFetch("http://edge.test/", { method: "POST", body: JSON.stringify({ options: options(server), keys: [arn("key-pkg-one")] }) });
    const out = await res.json();
    assert.equal(res.status, 200, JSON.stringify(out));
    assert.deepEqual([out.plaintext, out.keyArn, out.refused], ["sealed in workerd through KMS", arn("key-pkg-one"), "Bridge.AuthenticationFailed"]);
    const opened = await decrypt([new KmsKeyProvider(options(server))], new Uint8Array(out.sealed), { requireContext: { runtime: "workerd" } });
    assert.equal(new TextDecoder().decode(opened.plaintext), "sealed in workerd through KMS");
  } finally {
    await mf.dispose();
  }
});

test("Alibaba's Node clients: @alicloud/pop-core (RPC v1) and @alicloud/openapi-client (V3, and v2)", async () => {
  const RPCClient = require("@alicloud/pop-core");
  const OpenApi = require("@alicloud/openapi-client");
  const Util = require("@alicloud/tea-util");
  const pop = new RPCClient({ accessKeyId: ACCESS_KEY_ID, accessKeySecret: SECRET, endpoint: server.url, apiVersion: "2016-01-20" });
  const context = JSON.stringify({ tenant: "t-9" });
  const generated = await pop.request("GenerateDataKey", { KeyId: "alias/one", EncryptionContext: context }, { method: "POST" });
  assert.equal(generated.KeyId, "key-pkg-one");
  const refused = await pop.request("DescribeKey", { KeyId: "key-none" }, { method: "POST" }).catch((e) => e);
  assert.equal(refused.code, "Forbidden.KeyNotFound");
  // What each request's Authorization header says (V3 signs there; v1 and v2 in the parameters).
  const http = require("node:http");
  const signatures = [];
  const request = http.request;
  http.request = function (...args) {
    const headers = args.find((a) => a && typeof a === "object" && !(a instanceof URL) && a.headers)?.headers ?? {};
    signatures.push(String(headers.authorization ?? headers.Authorization ?? "none").split(" ")[0]);
    return request.apply(this, args);
  };
  try {
    for (const algorithm of [undefined, "v2"]) {
      const config = new OpenApi.Config({ accessKeyId: ACCESS_KEY_ID, accessKeySecret: SECRET, endpoint: `127.0.0.1:${server.port}`, protocol: "http", regionId: "cn-hangzhou" });
      if (algorithm) config.signatureAlgorithm = algorithm;
      const client = new OpenApi.default(config);
      const params = (action) => new OpenApi.Params({ action, version: "2016-01-20", protocol: "HTTP", pathname: "/", method: "POST", authType: "AK", style: "RPC", bodyType: "json", reqBodyType: "formData" });
      const query = new OpenApi.OpenApiRequest({ query: { CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context } });
      const opened = await client.callApi(params("Decrypt"), query, new Util.RuntimeOptions({}));
      assert.equal(opened.body.Plaintext, generated.Plaintext, `openapi-client ${algorithm ?? "V3"}`);
      const wrong = new OpenApi.default(new OpenApi.Config({ ...config, accessKeySecret: "wrong" }));
      const e = await wrong.callApi(params("Decrypt"), query, new Util.RuntimeOptions({})).catch((e) => e);
      assert.equal(e.code, "SignatureDoesNotMatch", `openapi-client ${algorithm ?? "V3"}: ${e}`);
    }
  } finally {
    http.request = request;
  }
  assert.deepEqual(signatures, ["ACS3-HMAC-SHA256", "ACS3-HMAC-SHA256", "none", "none"], "openapi-client signs with V3 by default, v2 in the parameters");
});

test("KmsApiClient calls any operation, answers as they came: an instance's BindVpcs and its share, lists flattened as the SDKs do", async () => {
  const live = await startServe({ seed: instanceSeed });
  try {
    for (const signature of ["v3", "v1"]) {
      const api = new KmsApiClient(options(live, { signature }));
      const got = await api.call("GetKmsInstance", { KmsInstanceId: INSTANCE });
      assert.equal(got.ok, true, JSON.stringify(got.body));
      assert.equal(got.body.KmsInstance.Status, "Connected");
      assert.equal(got.body.KmsInstance.VpcNum, 4);
      api.free();
    }
    const api = new KmsApiClient(options(live));
    // Every problem of the validator, in Alibaba's error shape and in Errors.
    const bad = JSON.stringify([{ VpcId: "vpc-x", VSwitchId: "vsw-bp1bound00000001", RegionId: "cn-shanghai", VpcOwnerId: OWNER_ID }]);
    const refused = await api.call("UpdateKmsInstanceBindVpc", { KmsInstanceId: INSTANCE, BindVpcs: bad });
    assert.equal(refused.ok, false);
    assert.equal(refused.status, 400);
    assert.match(refused.body.Code, /^InvalidParameter\.BindVpcs\./);
    assert.ok(refused.body.Errors.length >= 2, JSON.stringify(refused.body));
    const good = JSON.stringify([{ VpcId: "vpc-bp1bound00000001", VSwitchId: "vsw-bp1bound00000001", RegionId: "cn-hangzhou", VpcOwnerId: OWNER_ID }]);
    const bound = await api.call("UpdateKmsInstanceBindVpc", { KmsInstanceId: INSTANCE, BindVpcs: good });
    assert.deepEqual([bound.ok, bound.body.AccessManagementQuota], [true, { Used: 1, Purchased: 4 }]);
    // Resource Sharing's version; Targets and Resources flattened (Targets.1, Resources.1.ResourceId).
    const shared = await api.call("CreateResourceShare", {
      ResourceShareName: "console-share", Targets: [PRINCIPAL],
      Resources: [{ ResourceId: INSTANCE, ResourceType: "KMSInstance" }],
      ResourceProperties: [{ ResourceArn: `acs:kms:cn-hangzhou:${OWNER_ID}:keystore/${INSTANCE}`, Property: JSON.stringify({ shareMode: "joint" }) }],
    }, { version: "2020-01-10" });
    assert.equal(shared.ok, true, JSON.stringify(shared.body));
    assert.deepEqual(shared.body.AccessManagementQuota, { Used: 2, Purchased: 4 });
    const unknown = await api.call("NoSuchAction");
    assert.deepEqual([unknown.status, unknown.body.Code], [404, "InvalidAction.NotFound"]);
    await assert.rejects(api.call("GetKmsInstance", { KmsInstanceId: { id: INSTANCE } }), TypeError);
    assert.throws(() => new KmsApiClient({ ...options(live), keys: [] }), TypeError);
    assert.throws(() => new KmsApiClient({ ...options(live), caCertificate: "-----BEGIN CERTIFICATE-----" }), (e) => isKmsError(e) && /caCertificate/.test(e.message));
    api.free();
    await assert.rejects(api.call("ListKmsInstances"), (e) => isKmsError(e) && e.code === "Module.Freed");
  } finally {
    assert.equal(await live.stop(), 0);
  }
});
