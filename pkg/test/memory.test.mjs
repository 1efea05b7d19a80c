// What a hostile caller or key provider can do to wasm memory (the third hostile-input
// review), one test per finding: bytes whose `length` lies, answers that lie or are
// detached, huge strings and lists, secrets left behind by free(), a cache shared
// across providers, `__proto__` keys, throwing getters. The module's memory is read
// directly: the package instantiates it with `new WebAssembly.Instance`, watched here.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import * as kms from "kms-instance";
import { readJson, scenarioFiles } from "./helpers.mjs";

const instances = [];
WebAssembly.Instance = new Proxy(WebAssembly.Instance, {
  construct(target, args) {
    const instance = Reflect.construct(target, args);
    instances.push(instance);
    return instance;
  },
});
kms.validateName("alias", "alias/load-now");
assert.equal(instances.length, 1, "the default entry instantiated its module once, here");
const memory = () => Buffer.from(instances[0].exports.memory.buffer);
const inMemory = (needle) => memory().includes(Buffer.from(needle));
const grownBy = (call) => {
  const before = instances[0].exports.memory.buffer.byteLength;
  call();
  return instances[0].exports.memory.buffer.byteLength - before;
};

const startState = () => {
  const { directory, instance } = readJson(scenarioFiles()[0]);
  return { directory, instance };
};
const ARN = "acs:kms:cn-hangzhou:1207089758810000:key/key-memory";
const keyring = (raw, arn = ARN) => ({ keys: [{ arn, material: Buffer.from(raw).toString("base64") }] });
const lying = (bytes, claims) => Object.defineProperty(bytes, "length", { value: claims });

/** A JavaScript provider over WebCrypto whose answers `answer` may tamper with. */
async function tampering(answer, raw = randomBytes(32)) {
  const inner = await kms.WebCryptoKeyProvider.importRaw([{ arn: ARN, material: raw }]);
  return {
    arns: () => [ARN],
    seal: async (...a) => answer(await inner.seal(...a)),
    open: async (...a) => answer(await inner.open(...a)),
  };
}

test("1: bytes are read by their real length, whatever `length` says: no other key or message changes", async () => {
  const keys = new kms.SoftwareKeyProvider(keyring(randomBytes(32)));
  const good = await kms.encrypt([keys], new TextEncoder().encode("kept"));
  const claims = fc.uint8Array({ minLength: 1, maxLength: 2048 }).chain((bytes) => fc.tuple(fc.constant(bytes), fc.nat(2 * bytes.length)));
  await fc.assert(fc.asyncProperty(claims, async ([bytes, claim]) => {
    const real = bytes.slice();
    const sealed = await kms.encrypt([keys], lying(bytes, claim));
    assert.deepEqual((await kms.decrypt([keys], lying(sealed.slice(), claim))).plaintext, real);
    assert.equal(kms.validateBindVpcs(lying(new TextEncoder().encode("[]"), 600)).ok, true);
  }), { numRuns: 100 });
  // byteLength, byteOffset and buffer lie too: the engine's record is read.
  const bytes = randomBytes(600);
  for (const name of ["byteLength", "byteOffset"]) Object.defineProperty(bytes, name, { value: 1 });
  Object.defineProperty(bytes, "buffer", { value: new ArrayBuffer(1) });
  assert.deepEqual((await kms.decrypt([keys], await kms.encrypt([keys], bytes))).plaintext, new Uint8Array(Buffer.from(bytes)));
  assert.equal(new TextDecoder().decode((await kms.decrypt([keys], good)).plaintext), "kept");
});

test("2: a provider's answer that claims to be longer is read as long as it is: no freed memory in the message", async () => {
  const raw = randomBytes(32);
  const freed = new kms.SoftwareKeyProvider(keyring(raw, `${ARN}-freed`));
  freed.free();
  const provider = await tampering((answer) => lying(answer, 4000));
  const message = await kms.encrypt([provider], new Uint8Array(16));
  assert.ok(!Buffer.from(message).includes(raw) && !Buffer.from(message).includes(Buffer.from(raw.toString("base64"))));
  assert.deepEqual((await kms.decrypt([provider], message)).plaintext, new Uint8Array(16));
});

test("3: a provider cannot end the process or leave the promise unsettled", async () => {
  const short = await tampering((answer) => lying(answer, 8));
  assert.deepEqual((await kms.decrypt([short], await kms.encrypt([short], new Uint8Array(3)))).plaintext, new Uint8Array(3));
  const detaching = await tampering((answer) => {
    structuredClone(answer.buffer, { transfer: [answer.buffer] });
    return answer;
  });
  await assert.rejects(kms.encrypt([detaching], new Uint8Array(3)), (e) => e.code === "Bridge.Hsm" && /Uint8Array/.test(e.message));
  const huge = { code: "C".repeat(20e6), message: "M".repeat(100e6) };
  const loud = { arns: () => [ARN], seal: () => Promise.reject(huge), open: () => Promise.reject(huge) };
  let rejection;
  assert.ok(grownBy(() => (rejection = kms.encrypt([loud], new Uint8Array(3)))) < 1 << 20);
  await assert.rejects(rejection, (e) => e.code === "Bridge.Hsm" && e.message.length < 600 && e.cause === huge);
});

test("4 and 8: the cache is per provider, bounded, and oldest-out", async () => {
  const [a, b] = [new kms.SoftwareKeyProvider(keyring(randomBytes(32))), new kms.SoftwareKeyProvider(keyring(randomBytes(32)))];
  const cache = new kms.DataKeyCache({ maxMessages: 100, maxBytes: 1 << 20, maxAgeMs: 60_000, maxEntries: 3 });
  const byA = await kms.encrypt([a], new Uint8Array(4), { cache });
  const byB = await kms.encrypt([b], new Uint8Array(4), { cache });
  assert.deepEqual((await kms.decrypt([b], byB)).plaintext, new Uint8Array(4), "B opens its own message");
  await assert.rejects(kms.decrypt([b], byA), (e) => e.code === "InvalidCiphertext");
  assert.equal(cache.size, 2);
  // JavaScript providers too: each object is one provider, however many calls wrap it.
  const [jsA, jsB] = [await tampering((x) => x), await tampering((x) => x)];
  let sealedByA = 0;
  const seal = jsA.seal;
  jsA.seal = (...a) => (sealedByA++, seal(...a));
  const jsByA = await kms.encrypt([jsA], new Uint8Array(4), { cache });
  await kms.encrypt([jsA], new Uint8Array(4), { cache });
  assert.equal(sealedByA, 1, "the second seal with jsA reused its data key");
  const jsByB = await kms.encrypt([jsB], new Uint8Array(4), { cache });
  assert.deepEqual((await kms.decrypt([jsB], jsByB)).plaintext, new Uint8Array(4));
  await assert.rejects(kms.decrypt([jsB], jsByA), (e) => e.code === "InvalidCiphertext");
  for (let i = 0; i < 10; i++) await kms.encrypt([a], new Uint8Array(4), { cache, context: { tenant: `t${i}` } });
  assert.equal(cache.size, 3);
  assert.throws(() => new kms.DataKeyCache({ maxMessages: 1, maxBytes: 1, maxAgeMs: 1, maxEntries: -1 }), (e) => e.code === "InvalidParameter.Request");
});

test("5: free() wipes every secret it held, and a refused XKS provider its secret", async () => {
  const raw = randomBytes(32);
  const base64 = raw.toString("base64");
  const keys = new kms.SoftwareKeyProvider(keyring(raw));
  await kms.encrypt([keys], new Uint8Array(40_000));
  assert.ok(inMemory(raw), "the key is in wasm memory while the provider lives (the scan can see it)");
  assert.ok(!inMemory(base64), "its base64 is wiped once read");
  keys.free();
  assert.ok(!inMemory(raw) && !inMemory(base64), "free() left the key in wasm memory");

  const secret = `xks-secret-${randomBytes(12).toString("hex")}`;
  const settings = { endpoint: "https://127.0.0.1:1", uriPrefix: "", accessKeyId: "AKIAEXAMPLE", principal: "p", keys: [ARN] };
  const proxy = new kms.XksKeyProvider({ ...settings, secretAccessKey: secret });
  assert.ok(inMemory(secret), "the secret is in wasm memory while the provider lives");
  proxy.free();
  assert.ok(!inMemory(secret), "free() left the XKS secret in wasm memory");
  const refusedSecret = `xks-secret-${randomBytes(12).toString("hex")}`;
  assert.throws(() => new kms.XksKeyProvider({ ...settings, timeoutMs: "soon", secretAccessKey: refusedSecret }), kms.KmsError);
  assert.throws(() => new kms.XksKeyProvider({ ...settings, endpoint: "ftp://x", secretAccessKey: refusedSecret }), kms.KmsError);
  assert.ok(!inMemory(refusedSecret), "a refused construction left its secret in wasm memory");
});

test("6: a WebCrypto keyring with its fields swapped does not show the key", async () => {
  const raw = randomBytes(32);
  const shown = (e) => `${e.message} ${e.stack}`;
  const leaks = (e) => [raw.join(","), raw.toString("hex"), raw.toString("base64")].some((s) => shown(e).includes(s));
  await assert.rejects(kms.WebCryptoKeyProvider.importRaw([{ arn: raw, material: ARN }]), (e) => e instanceof TypeError && !leaks(e));
  await assert.rejects(kms.WebCryptoKeyProvider.importRaw([{ arn: raw, material: new Uint8Array(7) }]), (e) => !leaks(e));
  assert.throws(() => kms.WebCryptoKeyProvider.fromCryptoKeys([{ arn: raw, key: {} }]), (e) => !leaks(e));
});

test("7: sizes are checked before anything is copied into wasm memory", async () => {
  const keys = new kms.SoftwareKeyProvider(keyring(randomBytes(32)));
  const cases = [
    () => assert.throws(() => kms.validateName("é".repeat(50e6), "alias/x"), TypeError),
    () => assert.throws(() => kms.validateId("k".repeat(200e6), "x"), TypeError),
    () => assert.throws(() => kms.Instance.fromJSON(" ".repeat(40 << 20)), (e) => e.code === "InvalidParameter.TooLarge"),
    () => assert.throws(() => kms.runPlan(" ".repeat(40 << 20)), (e) => e.code === "InvalidParameter.TooLarge"),
  ];
  for (const call of cases) assert.ok(grownBy(call) < 1 << 20, String(call));
  const many = Array.from({ length: 1e6 }, (_, i) => `${ARN}${i}`);
  const huge = ["a".repeat(300e6), "b".repeat(300e6), "c".repeat(300e6)];
  for (const [arns, code] of [[many, "InvalidParameter.TooLarge"], [huge, "InvalidParameter.KeyId"]]) {
    const listing = { arns: () => arns, seal: async () => new Uint8Array(48), open: async () => new Uint8Array(32) };
    let call;
    assert.ok(grownBy(() => (call = kms.encrypt([listing], new Uint8Array(1)))) < 1 << 20);
    await assert.rejects(call, (e) => e.code === code);
  }
  assert.equal((await kms.decrypt([keys], await kms.encrypt([keys], new Uint8Array(2)))).plaintext.length, 2, "still healthy");
});

test("10: a buffer transferred right after the call changes nothing; during decrypt, the message does not open", async () => {
  const provider = await kms.WebCryptoKeyProvider.importRaw([{ arn: ARN, material: randomBytes(32) }]);
  const js = await tampering((answer) => answer);
  for (const keys of [provider, js]) {
    for (const size of [1024, 100_000]) {
      const original = randomBytes(size);
      const moved = new Uint8Array(original);
      const sealing = kms.encrypt([keys], moved);
      structuredClone(moved.buffer, { transfer: [moved.buffer] });
      const message = await sealing;
      assert.deepEqual((await kms.decrypt([keys], message)).plaintext, new Uint8Array(original));
      const opening = kms.decrypt([keys], message);
      structuredClone(message.buffer, { transfer: [message.buffer] });
      await assert.rejects(opening, (e) => e instanceof kms.KmsError && e.code === "InvalidCiphertext");
    }
  }
});

test("11: `__proto__` is an ordinary key in contexts, summaries and states", async () => {
  const keys = new kms.SoftwareKeyProvider(keyring(randomBytes(32)));
  const context = JSON.parse('{"__proto__": "tenant-1", "app": "docs"}');
  const message = await kms.encrypt([keys], new Uint8Array(1), { context });
  for (const returned of [(await kms.decrypt([keys], message, { requireContext: context })).context, kms.inspectMessage(message).context]) {
    assert.ok(Object.hasOwn(returned, "__proto__") && returned.__proto__ === "tenant-1" && returned.app === "docs", JSON.stringify(returned));
    assert.equal(Object.getPrototypeOf(returned), Object.prototype);
  }
  const instance = kms.Instance.fromJSON(startState());
  instance.apply({ as: "owner", action: "CreateKey", params: { alias: "alias/proto" } });
  instance.apply({ as: "owner", action: "TagResource", params: { key: "alias/proto", tags: JSON.parse('{"__proto__": "x"}') } });
  const tagged = instance.toJSON().instance.keys.find((k) => k.aliases?.includes("alias/proto") || k.alias === "alias/proto");
  assert.ok(tagged && Object.hasOwn(tagged.tags, "__proto__"), JSON.stringify(tagged));
});

test("12: throwing getters and proxies reach the caller as Errors; a freed Instance says so", async () => {
  const keys = new kms.SoftwareKeyProvider(keyring(randomBytes(32)));
  const getters = [{ get context() { throw "a string"; } }, { get timeoutMs() { throw 42; } }, { get cache() { throw undefined; } }];
  for (const options of getters) {
    await assert.rejects(kms.encrypt([keys], new Uint8Array(1), options), (e) => e instanceof Error);
    await assert.rejects(kms.decrypt([keys], new Uint8Array(1), options), (e) => e instanceof Error);
  }
  const trap = new Proxy({}, { get() { throw Symbol("trap"); }, ownKeys() { throw null; } });
  const instance = kms.Instance.fromJSON(startState());
  assert.throws(() => instance.apply({ as: "owner", action: "DescribeKmsInstance" }, trap), Error);
  assert.throws(() => kms.runPlan({}, trap), Error);
  assert.throws(() => new kms.DataKeyCache(trap), Error);
  instance.free();
  assert.throws(() => instance.toJSON(), (e) => e.code === "Module.Freed");
  assert.throws(() => instance.apply({ as: "owner", action: "DescribeKmsInstance" }), (e) => e.code === "Module.Freed");
  instance.free();
  keys.free();
  assert.throws(() => keys.arns(), (e) => e.code === "Module.Freed");
});
