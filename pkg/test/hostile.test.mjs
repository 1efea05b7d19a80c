// Careless and hostile input at the JavaScript boundary: every export fed arbitrary JS
// values (fast-check), and the examples of the hostile-input review as regressions.
// What must hold: never a WebAssembly trap, never a throw that is not an Error, never a
// secret in a message, an Instance unchanged after any failure, and the module healthy.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import * as kms from "kms-instance";
import { readJson, scenarioFiles } from "./helpers.mjs";

const RUNS = 200;
const SECRET = "U0VDUkVULWtleS1tYXRlcmlhbC0zMi1ieXRlcyEhISE="; // base64, like key material
const ARN = "acs:kms:cn-hangzhou:1207089758810000:key/key-hostile";
const material = Buffer.alloc(32, 7).toString("base64");
const start = readJson(scenarioFiles()[0]);
const state = { directory: start.directory, instance: start.instance };

const throwingProxy = new Proxy({}, Object.fromEntries(
  ["get", "ownKeys", "getOwnPropertyDescriptor"].map((t) => [t, () => { throw new Error("trap"); }]),
));
function cyclic() {
  const o = { a: 1 };
  o.self = o;
  return o;
}
function detached() {
  const bytes = new Uint8Array(16);
  structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
  return bytes;
}
const odd = [
  Symbol("s"), () => 1, 10n, throwingProxy, cyclic(), [cyclic()], detached(), new Uint8Array(new SharedArrayBuffer(8)),
  new Uint8Array(new ArrayBuffer(16), 3, 5), new ArrayBuffer(8), new Uint16Array(4), new DataView(new ArrayBuffer(4)),
  "hello", "", "\u0000\ud800", 2 ** 53 + 2, -0, NaN, Infinity, new Date(NaN), Object.create(null), new Map(), [],
  { toJSON() { throw new Error("toJSON"); } }, { get code() { throw new Error("getter"); } },
];
const hostile = fc.oneof(
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true }),
  fc.constantFrom(...odd),
);

/** Runs `call`; a throw (or rejection) must be an Error, not a trap, and show no secret. */
async function safely(call) {
  try {
    await call();
  } catch (e) {
    assert.ok(e instanceof Error, `threw a non-Error: ${typeof e}`);
    assert.ok(!(e instanceof WebAssembly.RuntimeError), `trapped: ${e.message}`);
    assert.ok(!String(e.message).includes(SECRET.slice(0, 16)), `secret in ${e.message}`);
    return e;
  }
}

function healthy() {
  assert.equal(kms.validateName("alias", "alias/still-fine").ok, true);
  const report = kms.validateBindVpcs("[]", { region: "cn-hangzhou" });
  assert.equal(report.ok, true);
}

const software = new kms.SoftwareKeyProvider({ keys: [{ arn: ARN, material }] });

test("every export, fed arbitrary JS values: an Error or a result, never a trap", async () => {
  const instance = kms.Instance.fromJSON(state);
  const exports = [
    (a, b) => kms.validateBindVpcs(a, b),
    (a, b) => kms.validateName(a, b),
    (a, b) => kms.validateId(a, b),
    (a) => kms.Instance.fromJSON(a),
    (a, b) => instance.apply(a, b),
    (a) => instance.check(a),
    (a) => kms.runPlan(a),
    (a) => new kms.SoftwareKeyProvider(a),
    (a, b, c) => kms.encrypt(a, b, c),
    (a, b) => kms.encrypt([software], a, b),
    (a, b, c) => kms.decrypt(a, b, c),
    (a, b) => kms.decrypt([software], a, b),
    (a) => kms.WebCryptoKeyProvider.importRaw(a),
    (a) => kms.WebCryptoKeyProvider.fromCryptoKeys(a),
  ];
  for (const call of exports) {
    await fc.assert(fc.asyncProperty(hostile, hostile, hostile, async (a, b, c) => {
      await safely(() => call(a, b, c));
    }), { numRuns: RUNS });
  }
  healthy();
});

test("validateBindVpcs keeps its promise: a report for any string or array", () => {
  const input = fc.oneof(fc.string({ unit: "binary" }), fc.json(), fc.array(hostile), fc.constantFrom([cyclic()], [10n], "x".repeat(3 << 20)));
  fc.assert(fc.property(input, (value) => {
    const report = kms.validateBindVpcs(value, { region: "cn-hangzhou" });
    assert.equal(typeof report.ok, "boolean");
    assert.equal(report.ok, report.errors.length === 0 && report.omitted === 0);
    assert.ok(report.errors.length <= 100);
  }), { numRuns: RUNS });
  assert.throws(() => kms.validateBindVpcs(42), TypeError);
  // A context of the wrong form or shape is a report, as any other mistake, its problem under /context.
  for (const [context, code, path] of [
    [{ region: "Hangzhou" }, "InvalidParameter.RegionId", "/context/region"],
    [{ owner: 1207089758810000 }, "InvalidParameter.Request", "/context/owner"],
    [{ quota: { purchased: "five", principals: 0 } }, "InvalidParameter.Request", "/context/quota/purchased"],
  ]) {
    const report = kms.validateBindVpcs("[]", context);
    assert.equal(report.ok, false);
    assert.deepEqual(report.errors.map((e) => [e.code, e.path]), [[code, path]]);
  }
  assert.throws(() => kms.validateBindVpcs("[]", 42), TypeError, "a context that is not an object");
});

test("an Instance is unchanged after any failure, and its state always saves", () => {
  const instance = kms.Instance.fromJSON(state);
  const before = JSON.stringify(instance.toJSON());
  const action = fc.constantFrom("CreateKey", "RenewKmsInstance", "UpdateKmsInstanceBindVpc", "CreateResourceShare", "TagResource");
  const request = fc.oneof(hostile, fc.record({ as: fc.oneof(fc.constant("owner"), fc.string()), action, params: hostile }));
  const env = fc.oneof(hostile, fc.record({ now: hostile, latencyMs: fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 53 + 2)), requestId: fc.string() }, { requiredKeys: [] }));
  fc.assert(fc.property(request, env, (r, e) => {
    const copy = kms.Instance.fromJSON(before);
    try {
      copy.apply(r, e);
    } catch (err) {
      assert.ok(err instanceof Error && !(err instanceof WebAssembly.RuntimeError), String(err));
      assert.equal(JSON.stringify(copy.toJSON()), before, "a failed apply changed the state");
    }
    kms.Instance.fromJSON(copy.toJSON()).free();
    copy.free();
  }), { numRuns: RUNS });
  assert.equal(JSON.stringify(instance.toJSON()), before);
});

test("no secret in any error, whatever shape the keyring or the request has", () => {
  const leaf = fc.oneof(fc.constant(SECRET), fc.constant(ARN), fc.integer(), fc.constant(null));
  const shape = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("node"), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom("keys", "arn", "material", SECRET), tie("node"), { maxKeys: 3 })),
  })).node;
  fc.assert(fc.property(shape, fc.boolean(), (keyring, asText) => {
    const e = (() => { try { new kms.SoftwareKeyProvider(asText ? JSON.stringify(keyring) : keyring); } catch (err) { return err; } })();
    if (e) {
      assert.ok(e instanceof Error);
      const shown = `${e.message} ${JSON.stringify(e.errors ?? [])} ${e.path ?? ""}`;
      assert.ok(!shown.includes(SECRET.slice(0, 16)), shown);
    }
  }), { numRuns: RUNS });
  const instance = kms.Instance.fromJSON({ ...state, instance: { ...state.instance, type: "hardware", status: "pendingEnable" } });
  fc.assert(fc.property(shape, (password) => {
    const params = { channel: "console", vpcId: "vpc-bp1primary0000001", hsmClusterId: "hsm-1", user: "kmsuser", password,
      certificate: "-----BEGIN CERTIFICATE-----",
      vSwitches: [{ id: "vsw-bp16c5pvvcf0fp5b90001", zone: "a", availableIps: 4 }, { id: "vsw-bp16c5pvvcf0fp5b90002", zone: "b", availableIps: 4 }] };
    try {
      instance.apply({ as: "owner", action: "ConnectKmsInstance", params });
    } catch (e) {
      const shown = `${e.message} ${JSON.stringify(e.errors)} ${JSON.stringify(e.audit)}`;
      assert.ok(!shown.includes(SECRET.slice(0, 16)), shown);
    }
  }), { numRuns: RUNS });
});

test("bytes are taken when encrypt is called: changing, transferring or sharing them afterwards changes nothing", async () => {
  // Keys that are waited for (WebCrypto) too: the body is sealed while they answer.
  const webcrypto = await kms.WebCryptoKeyProvider.importRaw([{ arn: ARN, material: Buffer.from(material, "base64") }]);
  for (const size of [10, 100_000, 2_000_000]) {
    const original = Uint8Array.from({ length: size }, (_, i) => i % 251);
    const mutated = original.slice();
    const pending = kms.encrypt([webcrypto], mutated);
    mutated.fill(0xee);
    assert.deepEqual((await kms.decrypt([webcrypto], await pending)).plaintext, original, `${size} bytes, WebCrypto keys`);
  }
  for (const size of [10, 100_000]) {
    const original = Uint8Array.from({ length: size }, (_, i) => i % 251);
    const mutated = original.slice();
    const pending = kms.encrypt([software], mutated);
    mutated.fill(0xee);
    const moved = original.slice();
    const pendingMoved = kms.encrypt([software], moved);
    structuredClone(moved.buffer, { transfer: [moved.buffer] });
    const shared = new Uint8Array(new SharedArrayBuffer(size));
    shared.set(original);
    const pendingShared = kms.encrypt([software], shared);
    shared.fill(1);
    for (const sealed of [await pending, await pendingMoved, await pendingShared]) {
      assert.deepEqual((await kms.decrypt([software], sealed)).plaintext, original, `${size} bytes`);
    }
  }
  const view = new Uint8Array(new ArrayBuffer(32), 8, 16).fill(9);
  assert.deepEqual((await kms.decrypt([software], await kms.encrypt([software], view))).plaintext, new Uint8Array(16).fill(9));
  assert.deepEqual((await kms.decrypt([software], await kms.encrypt([software], Buffer.from("buf")))).plaintext, new Uint8Array(Buffer.from("buf")));
});

test("the review's examples: each fails loudly, with its code, and changes nothing", async () => {
  // A string or an ArrayBuffer used to seal the wrong bytes silently.
  await assert.rejects(kms.encrypt([software], "hello"), (e) => e instanceof TypeError && /TextEncoder/.test(e.message));
  await assert.rejects(kms.encrypt([software], new ArrayBuffer(5)), (e) => e instanceof TypeError && /new Uint8Array/.test(e.message));
  await assert.rejects(kms.encrypt([software], detached()), (e) => e instanceof TypeError && /detached/.test(e.message));
  await assert.rejects(kms.decrypt([software], "not bytes"), TypeError);
  // A malformed keyring's message carried the base64 material.
  for (const keyring of [{ keys: [{ arn: SECRET, material }] }, { keys: SECRET }, JSON.stringify(SECRET), { keys: [{ arn: ARN, material: { [SECRET]: 1 } }] }]) {
    assert.throws(() => new kms.SoftwareKeyProvider(keyring), (e) => e.code === "InvalidParameter.Keyring" && !e.message.includes(SECRET.slice(0, 16)));
  }
  // validateName with a boolean ended in a memory access out of bounds.
  assert.throws(() => kms.validateName("alias", true), TypeError);
  assert.throws(() => kms.validateName(7, "alias/x"), TypeError);
  healthy();
  // A plan whose clock ends near 9999 trapped (unreachable) in wasm.
  const late = { ...start, now: "9999-12-31T23:58:00Z" };
  assert.throws(() => kms.runPlan(late), (e) => e.code === "InvalidParameter.Plan" && /9999-12-31/.test(e.message));
  const renewal = { ...start, instance: { ...start.instance, expiresAt: "9999-12-20T00:00:00Z" },
    steps: [{ as: "owner", action: "RenewKmsInstance", params: { months: 1 }, expect: { error: "Rejected.LimitExceeded" } }] };
  assert.equal(kms.runPlan(renewal).matched, true);
  // A latency past 2^53 threw after the key was created.
  const instance = kms.Instance.fromJSON(state);
  const before = JSON.stringify(instance.toJSON());
  assert.throws(() => instance.apply({ as: "owner", action: "CreateKey", params: { alias: "alias/app" } }, { latencyMs: 2 ** 53 + 2 }),
    (e) => e.code === "InvalidParameter.TooLarge" && e.path === "/env/latencyMs");
  assert.equal(JSON.stringify(instance.toJSON()), before, "the key does not exist");
  assert.throws(() => instance.apply({ as: "owner", action: "DescribeKmsInstance" }, { now: new Date(NaN) }), TypeError);
  // Failures sometimes threw a bare string: a store's string rejection is a KmsError.
  const stringly = { arns: () => [ARN], seal: () => Promise.reject("boom"), open: () => Promise.reject("boom"), describe: async () => ({}) };
  await assert.rejects(kms.encrypt([stringly], new Uint8Array(4)), (e) => e instanceof kms.KmsError && e.code === "Bridge.Hsm");
  // What a provider threw is not lost: it is the KmsError's cause.
  const offline = new Error("hsm offline");
  const failing = { arns: () => [ARN], seal: () => Promise.reject(offline), open: () => Promise.reject(offline), describe: async () => ({}) };
  await assert.rejects(kms.encrypt([failing], new Uint8Array(4)), (e) => e.code === "Bridge.Hsm" && e.message.includes("hsm offline") && e.cause === offline);
});

test("a software provider's keys can be freed, and the provider is unusable afterwards", async () => {
  const provider = new kms.SoftwareKeyProvider({ keys: [{ arn: ARN, material }] });
  assert.deepEqual(provider.arns(), [ARN]);
  provider.free();
  assert.throws(() => provider.arns(), (e) => e.code === "Module.Freed");
  await assert.rejects(kms.encrypt([provider], new Uint8Array(4)), Error);
});

test("a key store whose promise never settles does not hang encrypt or decrypt", async () => {
  const never = { arns: () => [ARN], seal: () => new Promise(() => {}), open: () => new Promise(() => {}), describe: () => new Promise(() => {}) };
  const began = Date.now();
  await assert.rejects(kms.encrypt([never], new Uint8Array(8), { timeoutMs: 50 }), (e) => e.code === "Bridge.Timeout");
  const sealed = await kms.encrypt([software], new Uint8Array(8));
  await assert.rejects(kms.decrypt([never], sealed, { timeoutMs: 50 }), (e) => e.code === "Bridge.Timeout");
  assert.ok(Date.now() - began < 5_000, "both gave up at their timeout");
  await assert.rejects(kms.encrypt([never], new Uint8Array(8), { timeoutMs: 0 }), TypeError);
  assert.equal(kms.DEFAULT_TIMEOUT_MS, 10_000, "on by default");
});
