// Envelope encryption through the package, in Node: the same bytes as the native
// build, both ways, on both body paths (wasm and WebCrypto), and the shared vectors.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { test } from "node:test";
import * as kms from "kms-instance";
import { readJson, runCli, vectorFiles } from "./helpers.mjs";

const ARN_A = "acs:kms:cn-hangzhou:1207089758810000:key/key-pkg-a";
const ARN_B = "acs:kms:cn-hangzhou:1207089758810000:key/key-pkg-b";
const materialA = Uint8Array.from({ length: 32 }, (_, i) => i);
const materialB = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const keyring = { keys: [{ arn: ARN_A, material: b64(materialA) }, { arn: ARN_B, material: b64(materialB) }] };
const keyringFile = join(mkdtempSync(join(tmpdir(), "kms-pkg-")), "keyring.json");
writeFileSync(keyringFile, JSON.stringify(keyring));

// Below and above the sizes at which the body moves to the host (node:crypto here).
const SIZES = [0, 1000, 1024, 4096, 100_000];
const payload = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 31) % 256);

test("wasm messages open with the native CLI, native ones open in wasm", async () => {
  const software = new kms.SoftwareKeyProvider(keyring);
  for (const size of SIZES) {
    const plaintext = payload(size);
    const sealed = await kms.encrypt([software], plaintext, { context: { purpose: "backup", 名前: "値" } });
    const opened = runCli(["decrypt", "--keyring", keyringFile, "--require-context", "purpose=backup"], sealed);
    assert.equal(opened.status, 0, opened.stderr);
    assert.deepEqual(new Uint8Array(opened.stdout), plaintext, `${size} bytes`);

    const native = runCli(["encrypt", "--keyring", keyringFile, "--key", ARN_B, "--key", ARN_A, "--context", "from=cli"], plaintext);
    assert.equal(native.status, 0, native.stderr);
    const onlyB = new kms.SoftwareKeyProvider({ keys: [keyring.keys[1]] });
    const fromNative = await kms.decrypt([onlyB], new Uint8Array(native.stdout), { requireContext: { from: "cli" } });
    assert.deepEqual(fromNative.plaintext, plaintext);
    assert.equal(fromNative.keyArn, ARN_B, "the copy under the key the provider holds");
    assert.deepEqual(fromNative.context, { from: "cli" });
  }
});

test("without node:crypto (browsers, workerd), large bodies go to WebCrypto: the same messages", () => {
  // A child Node without process.getBuiltinModule, as a host without node:crypto is.
  const script = `
    import * as kms from "kms-instance";
    const software = new kms.SoftwareKeyProvider(${JSON.stringify(keyring)});
    const out = [];
    for (const size of [1000, 100000]) {
      const plaintext = Uint8Array.from({ length: size }, (_, i) => (i * 31) % 256);
      const sealed = await kms.encrypt([software], plaintext, { context: { host: "webcrypto" } });
      const opened = await kms.decrypt([software], sealed);
      if (Buffer.compare(opened.plaintext, plaintext) !== 0) throw new Error("did not round-trip");
      // SM4 stays in wasm on such a host too: the CLI opens it below.
      const sm4 = await kms.encrypt([software], plaintext, { algorithm: "SM4_GCM_128", context: { host: "webcrypto" } });
      if (Buffer.compare((await kms.decrypt([software], sm4)).plaintext, plaintext) !== 0) throw new Error("SM4 did not round-trip");
      sm4[sm4.length - 1] ^= 1;
      const sm4Refused = await kms.decrypt([software], sm4).then(() => "opened", (e) => e.code);
      sm4[sm4.length - 1] ^= 1;
      out.push({ size, refused: sm4Refused, sealed: Buffer.from(sm4).toString("base64") });
      sealed[sealed.length - 1] ^= 1;
      const refused = await kms.decrypt([software], sealed).then(() => "opened", (e) => e.code);
      sealed[sealed.length - 1] ^= 1;
      out.push({ size, refused, sealed: Buffer.from(sealed).toString("base64") });
    }
    console.log(JSON.stringify(out));`;
  const child = spawnSync(process.execPath, ["--import", "data:text/javascript,delete process.getBuiltinModule", "--input-type=module", "-e", script], {
    cwd: new URL(".", import.meta.url),
    encoding: "utf8",
  });
  assert.equal(child.status, 0, child.stderr);
  const results = JSON.parse(child.stdout);
  assert.deepEqual(results.map(({ sealed }) => kms.inspectMessage(Buffer.from(sealed, "base64")).algorithm), ["SM4_GCM_128", "AES_GCM_256", "SM4_GCM_128", "AES_GCM_256"]);
  for (const { size, refused, sealed } of results) {
    assert.equal(refused, "InvalidCiphertext", `${size} bytes, a flipped tag`);
    const opened = runCli(["decrypt", "--keyring", keyringFile, "--require-context", "host=webcrypto"], Buffer.from(sealed, "base64"));
    assert.equal(opened.status, 0, opened.stderr);
    assert.deepEqual(new Uint8Array(opened.stdout), payload(size), `${size} bytes`);
  }
});

test("the WebCrypto provider seals what the software provider and the CLI open", async () => {
  const webcrypto = await kms.WebCryptoKeyProvider.importRaw([{ arn: ARN_A, material: materialA }]);
  const software = new kms.SoftwareKeyProvider(keyring);
  for (const size of SIZES) {
    const plaintext = payload(size);
    const sealed = await kms.encrypt([webcrypto], plaintext, { algorithm: "AES_GCM_128" });
    assert.deepEqual((await kms.decrypt([software], sealed)).plaintext, plaintext);
    assert.deepEqual(new Uint8Array(runCli(["decrypt", "--keyring", keyringFile], sealed).stdout), plaintext);
    const back = await kms.encrypt([software], plaintext, { keys: [ARN_A] });
    assert.deepEqual((await kms.decrypt([webcrypto], back)).plaintext, plaintext);
  }
});

test("SM4-GCM (algorithm 9) seals and opens in wasm, at every size, with each provider; the CLI opens it and the reverse", async () => {
  const software = new kms.SoftwareKeyProvider(keyring);
  const webcrypto = await kms.WebCryptoKeyProvider.importRaw([{ arn: ARN_A, material: materialA }]);
  for (const size of [0, 1, 16, 1024, (1 << 20) + 1]) {
    const plaintext = payload(size);
    for (const provider of [software, webcrypto]) {
      const sealed = await kms.encrypt([provider], plaintext, { algorithm: "SM4_GCM_128", context: { cipher: "sm4" } });
      assert.equal(kms.inspectMessage(sealed).algorithm, "SM4_GCM_128");
      assert.deepEqual((await kms.decrypt([provider], sealed)).plaintext, plaintext, `${size} bytes`);
      const opened = runCli(["decrypt", "--keyring", keyringFile, "--require-context", "cipher=sm4"], sealed);
      assert.equal(opened.status, 0, opened.stderr);
      assert.deepEqual(new Uint8Array(opened.stdout), plaintext, `${size} bytes, opened by the CLI`);
      if (size > 0) {
        // The body's last byte (the tag's TLV, 18 bytes, follows it).
        sealed[sealed.length - 19] ^= 1;
        assert.equal(await kms.decrypt([provider], sealed).then(() => "opened", (e) => e.code), "InvalidCiphertext");
      }
    }
    const byNumber = await kms.encrypt([software], plaintext, { algorithm: 9 });
    assert.equal(kms.inspectMessage(byNumber).algorithm, "SM4_GCM_128", "the algorithm by its number");
    const native = runCli(["encrypt", "--keyring", keyringFile, "--key", ARN_A, "--algorithm", "sm4-gcm-128"], plaintext);
    assert.equal(native.status, 0, native.stderr);
    assert.equal(kms.inspectMessage(new Uint8Array(native.stdout)).algorithm, "SM4_GCM_128");
    assert.deepEqual((await kms.decrypt([webcrypto], new Uint8Array(native.stdout))).plaintext, plaintext);
  }
});

test("an option serde refuses is named by its pointer", async () => {
  const software = new kms.SoftwareKeyProvider(keyring);
  for (const [options, path] of [[{ contxt: {} }, "/contxt"], [{ context: { a: 1 } }, "/context/a"]]) {
    const e = await kms.encrypt([software], payload(1), options).catch((e) => e);
    assert.ok(kms.isKmsError(e) && e.code === "InvalidParameter.Request" && e.path === path, `${path}: ${e}`);
  }
});

test("a legacy algorithm is never sealed, and its messages open only when allowed", async () => {
  const software = new kms.SoftwareKeyProvider(keyring);
  for (const algorithm of ["AES_CBC_PKCS5_128", 5, "SM4_CTR_128"]) {
    const e = await kms.encrypt([software], payload(10), { algorithm }).catch((e) => e);
    assert.equal(e.code, "Rejected.LegacyAlgorithm", String(algorithm));
    assert.match(e.message, /never sealed/);
  }
  for (const algorithm of [0, 13, "AES"]) {
    const e = await kms.encrypt([software], payload(10), { algorithm }).catch((e) => e);
    assert.ok(kms.isKmsError(e) && e.code !== "Rejected.LegacyAlgorithm", `${algorithm}: ${e}`);
  }
  const v = readJson(vectorFiles().find((f) => f.endsWith("legacy_aes_ctr_256.json")));
  const provider = new kms.SoftwareKeyProvider(v.keyring);
  // Past 1 KiB, where an AES-GCM body would go to node:crypto: a legacy one stays in wasm.
  for (const message of [Buffer.from(v.message, "base64")]) {
    assert.ok(message.length > 1024);
    assert.equal(kms.inspectMessage(message).algorithm, "AES_CTR_256", "read without a key, and without the option");
    const refused = await kms.decrypt([provider], message).catch((e) => e);
    assert.equal(refused.code, "Rejected.LegacyAlgorithm");
    assert.match(refused.message, /AES_CTR_256 \(algorithm 8\).*allowLegacyAlgorithms/);
    const opened = await kms.decrypt([provider], message, { allowLegacyAlgorithms: true });
    assert.equal(Buffer.from(opened.plaintext).toString("base64"), v.expect.plaintext);
  }
});

test("the WebCrypto provider's keys are non-extractable", async () => {
  for (const provider of [
    await kms.WebCryptoKeyProvider.generate([ARN_A, ARN_B]),
    await kms.WebCryptoKeyProvider.importRaw([{ arn: ARN_A, material: materialA }]),
  ]) {
    for (const [arn, key] of provider.cryptoKeys()) {
      assert.equal(key.extractable, false, arn);
      await assert.rejects(crypto.subtle.exportKey("raw", key));
    }
  }
  const extractable = await crypto.subtle.generateKey({ name: "AES-CBC", length: 256 }, true, ["encrypt", "decrypt"]);
  assert.throws(() => kms.WebCryptoKeyProvider.fromCryptoKeys([{ arn: ARN_A, key: extractable }]), (e) => e.code === "InvalidParameter.Keyring");
  await assert.rejects(kms.WebCryptoKeyProvider.importRaw([{ arn: ARN_A, material: new Uint8Array(16) }]), (e) => e.code === "InvalidParameter.Keyring");
});

test("a message's header is read without a key: algorithm, data keys by ARN, context, body length", async () => {
  const provider = new kms.SoftwareKeyProvider(keyring);
  for (const size of [0, 100_000]) {
    const message = await kms.encrypt([provider], payload(size), { context: { app: "pkg" }, algorithm: "AES_GCM_128" });
    const { dataKeys, ...rest } = kms.inspectMessage(message);
    assert.deepEqual(rest, { algorithm: "AES_GCM_128", context: { app: "pkg" }, bodyBytes: size });
    // Each of the keyring's master keys holds the data key, in the header's order.
    assert.deepEqual(dataKeys.map((k) => k.keyArn), [ARN_A, ARN_B]);
    assert.ok(dataKeys.every((k) => k.blobBytes > 32), JSON.stringify(dataKeys));
  }
  const message = await kms.encrypt([provider], payload(10));
  for (const bad of [message.subarray(0, message.length - 1), new Uint8Array(0), Uint8Array.of(0x30, 0x00)]) {
    assert.throws(() => kms.inspectMessage(bad), (e) => kms.isKmsError(e) && e.code === "InvalidCiphertext.NotAMessage" && e.message === NOT_A_MESSAGE);
  }
  assert.throws(() => kms.inspectMessage("a message"), TypeError);
});

test("several providers: the first key generates, any opens", async () => {
  const webcrypto = await kms.WebCryptoKeyProvider.generate([ARN_B]);
  const software = new kms.SoftwareKeyProvider({ keys: [keyring.keys[0]] });
  const sealed = await kms.encrypt([software, webcrypto], payload(50), { context: { a: "1" } });
  assert.equal((await kms.decrypt([webcrypto], sealed)).keyArn, ARN_B);
  assert.equal((await kms.decrypt([software], sealed)).keyArn, ARN_A);
});

test("failures are KmsErrors with their codes, on both body paths", async () => {
  const software = new kms.SoftwareKeyProvider(keyring);
  const stranger = new kms.SoftwareKeyProvider({ keys: [{ arn: ARN_A, material: b64(new Uint8Array(32)) }] });
  for (const size of SIZES) {
    const sealed = await kms.encrypt([software], payload(size), { context: { a: "1" }, keys: [ARN_A] });
    await assert.rejects(kms.decrypt([stranger], sealed), (e) => kms.isKmsError(e) && e.code === "InvalidCiphertext");
    // An authentic message of another context is told apart from a changed one.
    await assert.rejects(kms.decrypt([software], sealed, { requireContext: { a: "2" } }), (e) => e.code === "InvalidCiphertext.ContextMismatch");
    const changed = sealed.slice();
    changed[changed.length - 1] ^= 1;
    await assert.rejects(kms.decrypt([software], changed), (e) => e.code === "InvalidCiphertext");
  }
  await assert.rejects(kms.encrypt([software], payload(1), { keys: ["acs:kms:cn-hangzhou:1:key/absent"] }), (e) => e.code === "Bridge.KeyNotFound");
  await assert.rejects(kms.encrypt([software], payload(1), { keys: ["not-an-arn"] }), (e) => e.code === "InvalidParameter.KeyId");
  await assert.rejects(kms.encrypt([], payload(1)), (e) => e.code === "InvalidParameter.KeyId");
  assert.throws(() => new kms.SoftwareKeyProvider({ keys: [{ arn: ARN_A, material: "c2hvcnQ=" }] }), (e) => e.code === "InvalidParameter.Keyring" && !e.message.includes("c2hvcnQ"));
  // Bytes that are not a message, and a later format: each its code, one text on every body path.
  for (const bytes of [new Uint8Array([1, 2, 3]), Uint8Array.of(0x6e, 0x00), payload(200_000)]) {
    await assert.rejects(kms.decrypt([software], bytes), (e) => e.code === "InvalidCiphertext.NotAMessage" && e.message === NOT_A_MESSAGE);
  }
  // Version 2 with another layout, small and large (the large one's body on the host path), opened and inspected.
  for (const size of [0, 100_000]) {
    // DER: a tag, the length in its shortest form, the content.
    const der = (tag, content) => {
      const n = content.length;
      const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
      return [tag, ...length, ...content];
    };
    const header = der(0x30, [0x02, 0x01, 0x02, 0x05, 0x00]);
    const v2 = Uint8Array.from(der(0x30, [...header, ...der(0x04, new Uint8Array(size))]));
    const newer = (e) => e.code === "InvalidCiphertext.NewerVersion" && /format version 2/.test(e.message);
    await assert.rejects(kms.decrypt([software], v2), newer, `${v2.length} bytes`);
    assert.throws(() => kms.inspectMessage(v2), newer, `${v2.length} bytes, inspected`);
  }
});

/** The one text for bytes that are not a message, as the crate, the CLI and the page say it. */
const NOT_A_MESSAGE = "InvalidCiphertext.NotAMessage: the bytes are not a message of the Encryption SDK's format";

test("the shared golden vectors (written by Alibaba's SDK) give the same answers in wasm", async () => {
  const files = vectorFiles();
  assert.ok(files.length >= 15);
  for (const file of files) {
    const v = readJson(file);
    const provider = new kms.SoftwareKeyProvider(v.keyring);
    const message = new Uint8Array(Buffer.from(v.message, "base64"));
    const result = kms.decrypt([provider], message, { requireContext: v.requireContext ?? {}, allowLegacyAlgorithms: v.allowLegacyAlgorithms ?? false });
    if (v.expect.error) {
      await assert.rejects(result, (e) => e.code === v.expect.error, basename(file));
    } else {
      const opened = await result;
      assert.deepEqual(Buffer.from(opened.plaintext).toString("base64"), v.expect.plaintext, basename(file));
      assert.deepEqual(opened.context, v.expect.context, basename(file));
    }
  }
});

test("a DataKeyCache reuses a data key within its limits, as the Rust API does", async () => {
  const keys = await kms.WebCryptoKeyProvider.importRaw([{ arn: ARN_A, material: materialA }]);
  let seals = 0;
  const counting = { arns: () => keys.arns(), seal: (...a) => (seals++, keys.seal(...a)), open: (...a) => keys.open(...a) };
  const cache = new kms.DataKeyCache({ maxMessages: 3, maxBytes: 1_000_000, maxAgeMs: 60_000 });
  const messages = [];
  for (const size of [10, 20, 100_000, 30]) messages.push(await kms.encrypt([counting], payload(size), { cache, context: { c: "1" } }));
  assert.equal(seals, 2, "three messages on the first data key, the fourth on a new one");
  assert.equal(cache.size, 1);
  await kms.encrypt([counting], payload(10), { cache, context: { c: "2" } });
  assert.equal(seals, 3, "another context, another data key");
  await kms.encrypt([counting], payload(10));
  assert.equal(seals, 4, "no cache passed, no reuse");
  for (const [i, m] of messages.entries()) assert.equal((await kms.decrypt([keys], m)).plaintext.length, [10, 20, 100_000, 30][i]);

  const bytesBound = new kms.DataKeyCache({ maxMessages: 100, maxBytes: 25, maxAgeMs: 60_000 });
  seals = 0;
  for (let i = 0; i < 3; i++) await kms.encrypt([counting], payload(10), { cache: bytesBound });
  assert.equal(seals, 2, "10 + 10 bytes fit under 25, a third 10 does not");
  const expired = new kms.DataKeyCache({ maxMessages: 100, maxBytes: 1000, maxAgeMs: 0 });
  seals = 0;
  for (let i = 0; i < 2; i++) await kms.encrypt([counting], payload(10), { cache: expired });
  assert.equal(seals, 2, "an age of 0 keeps nothing");
  const short = new kms.DataKeyCache({ maxMessages: 100, maxBytes: 1000, maxAgeMs: 50 });
  await kms.encrypt([counting], payload(10), { cache: short });
  assert.equal(short.size, 1);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(short.size, 0, "past its age, the key is dropped when the cache is counted");

  cache.free();
  await assert.rejects(kms.encrypt([counting], payload(1), { cache }), (e) => kms.isKmsError(e) && e.code === "Module.Freed");
  await assert.rejects(kms.encrypt([counting], payload(1), { cache: {} }), TypeError);
  await assert.rejects(kms.decrypt([keys], messages[0], { cache: bytesBound }), TypeError);
  assert.throws(() => new kms.DataKeyCache({ maxMessages: -1, maxBytes: 1, maxAgeMs: 1 }), (e) => e.code === "InvalidParameter.Request");
  assert.throws(() => new kms.DataKeyCache({ maxMessages: 1, maxBytes: 1 }), (e) => e.code === "InvalidParameter.Request");
});

test("a SoftwareKeyProvider of one entry seals and opens in another, its keys never leaving its module; a freed one is Module.Freed", async () => {
  const envelope = await import("kms-instance/envelope");
  const cjs = createRequire(import.meta.url)("kms-instance");
  const lent = new envelope.SoftwareKeyProvider(keyring);
  const own = new kms.SoftwareKeyProvider(keyring);
  for (const size of [0, 100, 100_000]) {
    // Sealed by the full entry with the envelope entry's keys: the same blobs, so the
    // full entry's own provider of the same keyring opens it, and the reverse.
    const sealed = await kms.encrypt([lent], payload(size), { context: { across: "entries" } });
    assert.deepEqual((await kms.decrypt([own], sealed)).plaintext, payload(size), `${size} bytes`);
    assert.deepEqual((await envelope.decrypt([lent], sealed)).plaintext, payload(size), `${size} bytes`);
    const back = await envelope.encrypt([own], payload(size));
    assert.deepEqual((await cjs.decrypt([lent], back)).plaintext, payload(size), `${size} bytes, CommonJS`);
  }
  // A wrong key still does not open, and the codes are the entry's.
  const stranger = new envelope.SoftwareKeyProvider({ keys: [{ arn: ARN_A, material: b64(new Uint8Array(32)) }] });
  const sealed = await kms.encrypt([own], payload(10), { keys: [ARN_A] });
  await assert.rejects(kms.decrypt([stranger], sealed), (e) => kms.isKmsError(e) && e.code === "InvalidCiphertext");
  // What is lent seals data keys only, never twice under one IV.
  const store = lent[Symbol.for("kms-instance.twin")]();
  const iv = new Uint8Array(12).fill(7);
  await store.seal(ARN_A, iv, new Uint8Array(0), new Uint8Array(32));
  await assert.rejects(store.seal(ARN_A, iv, new Uint8Array(0), new Uint8Array(32)), (e) => e.code === "Bridge.Rejected");
  await assert.rejects(store.seal(ARN_A, new Uint8Array(12), new Uint8Array(0), new Uint8Array(1000)), TypeError);
  lent.free();
  await assert.rejects(kms.encrypt([lent], payload(1)), (e) => kms.isKmsError(e) && e.code === "Module.Freed");
  await assert.rejects(kms.encrypt([{ arns: () => [] }], payload(1)), TypeError);
});
