// Streams through the package (issue 26): the format of the whole calls both ways, at
// the sizes where the framing and the core's checkpoints change; no plaintext before the
// tag checks unless asked; Node's own adapters over them; the CLI opens what they seal.
import assert from "node:assert/strict";
import { closeSync, createReadStream, createWriteStream, mkdtempSync, openAsBlob, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duplex, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";
import * as kms from "kms-instance";
import { runCli } from "./helpers.mjs";

const ARN = "acs:kms:cn-hangzhou:1207089758810000:key/key-streams";
const material = Uint8Array.from({ length: 32 }, (_, i) => i * 3);
const keyring = { keys: [{ arn: ARN, material: Buffer.from(material).toString("base64") }] };
const MIB = 1 << 20;
const payload = (n) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7) % 251;
  return out;
};

/** All of a stream, in one array. */
const collect = async (stream) => new Uint8Array(await new Response(stream).arrayBuffer());

/** A stream of `bytes` in chunks of `size`. */
const chunked = (bytes, size) =>
  new ReadableStream({
    start(c) {
      for (let at = 0; at < bytes.length; at += size) c.enqueue(bytes.slice(at, at + size));
      c.close();
    },
  });

/** What a consumer of `stream` received before it ended, and how it ended. */
async function received(stream) {
  const got = [];
  try {
    for await (const chunk of stream) got.push(chunk);
    return { bytes: got.reduce((n, c) => n + c.length, 0), error: undefined };
  } catch (e) {
    return { bytes: got.reduce((n, c) => n + c.length, 0), error: e };
  }
}

test("streams and whole calls open each other's messages at every boundary", async () => {
  const keys = new kms.SoftwareKeyProvider(keyring);
  for (const size of [0, 1, MIB - 1, MIB, MIB + 1, 2 * MIB + 17]) {
    const plaintext = payload(size);
    const options = { size, context: { app: "streams" } };
    const streamed = await collect(chunked(plaintext, 65_537).pipeThrough(kms.encryptStream([keys], options)));
    const whole = await kms.decrypt([keys], streamed, { requireContext: { app: "streams" } });
    assert.deepEqual(whole.plaintext, plaintext, `${size}: streamed, opened whole`);
    const sealedWhole = await kms.encrypt([keys], plaintext, { context: { app: "streams" } });
    for (const message of [streamed, sealedWhole]) {
      assert.deepEqual(await collect(chunked(message, 100_003).pipeThrough(kms.decryptStream([keys]))), plaintext, `${size}`);
      assert.deepEqual(await collect(chunked(message, 4096).pipeThrough(kms.decryptStream([keys], { unverified: true }))), plaintext);
      assert.deepEqual(await collect(kms.decryptSource([keys], new Blob([message]))), plaintext, `${size}: from a Blob`);
    }
  }
  keys.free();
});

test("a stream of the wrong length errors, and a changed byte releases nothing unless unverified", async () => {
  const keys = new kms.SoftwareKeyProvider(keyring);
  const plaintext = payload(3000);
  for (const size of [2999, 3001]) {
    const r = await received(chunked(plaintext, 1000).pipeThrough(kms.encryptStream([keys], { size })));
    assert.equal(r.error?.code, "InvalidParameter.Plaintext", `${size}`);
  }
  const message = await kms.encrypt([keys], plaintext);
  for (let at = 0; at < message.length; at += 7) {
    const changed = message.slice();
    changed[at] ^= 1;
    for (const stream of [chunked(changed, 512).pipeThrough(kms.decryptStream([keys])), kms.decryptSource([keys], new Blob([changed]))]) {
      const r = await received(stream);
      assert.ok(r.error, `byte ${at}: opened`);
      assert.equal(r.bytes, 0, `byte ${at}: ${r.bytes} bytes reached the consumer`);
    }
  }
  // Unverified, by name: plaintext as it came, then the error.
  const changed = message.slice();
  changed[message.length - 1] ^= 1;
  const r = await received(chunked(changed, 512).pipeThrough(kms.decryptStream([keys], { unverified: true })));
  assert.equal(r.error?.code, "InvalidCiphertext");
  assert.equal(r.bytes, plaintext.length);
  // Past the limit a stream read once may hold, refused by a code that names the opt-in.
  const big = await received(chunked(message, 512).pipeThrough(kms.decryptStream([keys], { bufferLimit: 1000 })));
  assert.equal(big.error?.code, "Rejected.UnverifiedStreamRequired");
  assert.match(big.error.message, /unverified: true/);
  assert.equal(big.bytes, 0);
  // A source that changes between the two passes: the MiBs before the change come out
  // (each checked against the first pass), nothing of the MiB that changed.
  const large = await kms.encrypt([keys], payload(3 * MIB));
  for (const [fromEnd, released] of [[100, 2 * MIB], [large.length - 2000, 0]]) {
    let reads = 0;
    const shifting = {
      size: large.length,
      stream() {
        const bytes = large.slice();
        if (reads++ === 1) bytes[bytes.length - fromEnd] ^= 1;
        return chunked(bytes, 65_536);
      },
    };
    const shifted = await received(kms.decryptSource([keys], shifting));
    assert.equal(shifted.error?.code, "InvalidCiphertext");
    assert.match(shifted.error.message, /changed between the pass/);
    assert.equal(shifted.bytes, released, "only the MiBs before the change");
  }
  keys.free();
});

test("Node's adapters: a file sealed through Duplex.fromWeb, opened with Readable.fromWeb, by the CLI too", async () => {
  const keys = new kms.SoftwareKeyProvider(keyring);
  const dir = mkdtempSync(join(tmpdir(), "kms-streams-"));
  const plaintext = payload(5 * MIB + 3);
  writeFileSync(join(dir, "data"), plaintext);
  writeFileSync(join(dir, "keyring.json"), JSON.stringify(keyring));
  const size = plaintext.length;
  await pipeline(createReadStream(join(dir, "data")), Duplex.fromWeb(kms.encryptStream([keys], { size })), createWriteStream(join(dir, "data.kms")));
  const source = await openAsBlob(join(dir, "data.kms"));
  await pipeline(Readable.fromWeb(kms.decryptSource([keys], source)), createWriteStream(join(dir, "back")));
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, "back"))), plaintext);
  const cli = runCli(["decrypt", "--keyring", join(dir, "keyring.json"), join(dir, "data.kms")]);
  assert.equal(cli.status, 0, String(cli.stderr));
  assert.deepEqual(new Uint8Array(cli.stdout), plaintext);
  keys.free();
});

/** How many files this process has open (Linux). */
const openFiles = () => readdirSync("/proc/self/fd").length;

test("fileSource: a file opened verified first, refused if it changes between the passes, closed however its stream ends", async () => {
  const keys = new kms.SoftwareKeyProvider(keyring);
  const dir = mkdtempSync(join(tmpdir(), "kms-file-source-"));
  const at = (name) => join(dir, name);
  try {
    const before = openFiles();
    for (const size of [0, MIB - 20, 3 * MIB + 5]) {
      const plaintext = payload(size);
      writeFileSync(at("sealed"), await kms.encrypt([keys], plaintext));
      const source = kms.fileSource(at("sealed"));
      assert.equal(source.size, statSync(at("sealed")).size);
      assert.deepEqual(await collect(kms.decryptSource([keys], source)), plaintext, `${size}`);
      assert.deepEqual(await collect(kms.decryptSource([keys], source, { unverified: true })), plaintext, `${size}: unverified`);
    }
    // Changed on disk after the first pass read it: the MiBs before the change, nothing of it.
    const source = kms.fileSource(at("sealed"));
    let reads = 0;
    const changing = {
      size: source.size,
      stream() {
        if (reads++ === 1) {
          const fd = openSync(at("sealed"), "r+");
          writeSync(fd, new Uint8Array([0xff]), 0, 1, source.size - 20 - MIB); // in the third MiB
          closeSync(fd);
        }
        return source.stream();
      },
    };
    const changed = await received(kms.decryptSource([keys], changing));
    assert.equal(changed.error?.code, "InvalidCiphertext");
    assert.equal(changed.bytes, 2 * MIB);
    // Refused now, and the same file opened again refused by its tag: nothing released.
    const tampered = await received(kms.decryptSource([keys], kms.fileSource(at("sealed"))));
    assert.equal(tampered.error?.code, "InvalidCiphertext");
    assert.equal(tampered.bytes, 0);
    // Its chunks are arrays of their own, holding the file's bytes and nothing more (the
    // memory each is read into is not zeroed first).
    const raw = readFileSync(at("sealed"));
    const chunks = [];
    for await (const chunk of kms.fileSource(at("sealed")).stream()) chunks.push(chunk);
    assert.deepEqual(chunks.map((c) => c.buffer.byteLength), chunks.map((c) => c.length));
    assert.ok(chunks.at(-1).length < MIB);
    assert.ok(Buffer.concat(chunks).equals(raw));
    // A stream cancelled after its first read; one never read, and a decryptSource never
    // read (nothing is read ahead); a first pass refused (another key), and a second that
    // failed (the file changed, above).
    const reader = kms.fileSource(at("sealed")).stream().getReader();
    assert.equal((await reader.read()).value.length, MIB);
    await reader.cancel();
    kms.fileSource(at("sealed")).stream();
    kms.decryptSource([keys], kms.fileSource(at("sealed")));
    const otherKeys = new kms.SoftwareKeyProvider({ keys: [{ arn: ARN, material: Buffer.alloc(32, 1).toString("base64") }] });
    writeFileSync(at("sealed"), await kms.encrypt([keys], payload(2 * MIB)));
    assert.ok((await received(kms.decryptSource([otherKeys], kms.fileSource(at("sealed"))))).error);
    otherKeys.free();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(openFiles(), before, "every file it opened is closed");

    assert.throws(() => kms.fileSource(at("missing")), { code: "ENOENT" });
    assert.throws(() => kms.fileSource(dir), { name: "TypeError", message: /is a directory/ });
    // A pipe put where the file was, after fileSource: refused at the open, never read (a read would block).
    const swapped = kms.fileSource(at("sealed"));
    rmSync(at("sealed"));
    assert.equal(spawnSync("mkfifo", [at("sealed")]).status, 0);
    await assert.rejects(swapped.stream().getReader().read(), { name: "TypeError", message: /not a regular file/ });
    assert.throws(() => kms.fileSource(at("sealed")), TypeError);
    // A relative path is the file it named when given, wherever the process moves.
    writeFileSync(at("plain"), payload(1000));
    const cwd = process.cwd();
    process.chdir(dir);
    const relative = kms.fileSource("plain");
    process.chdir(cwd);
    assert.deepEqual(await collect(relative.stream()), payload(1000));
    assert.throws(() => kms.fileSource(new URL(`file://${at("sealed")}`)), TypeError);
  } finally {
    keys.free();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Alibaba's Encryption SDK (tests/interop/alibaba_sdk.py) where .ci/test installed it; in CI it must be there. */
function alibabaSdk() {
  const python = process.env.KMS_ALIBABA_SDK_PYTHON;
  if (!python && process.env.KMS_REQUIRE_INTEROP) throw new Error("KMS_REQUIRE_INTEROP is set but KMS_ALIBABA_SDK_PYTHON is not");
  return python;
}

test("256 MiB sealed through Node's streams opens with Alibaba's SDK, and the SDK's opens through decryptSource", async (t) => {
  const python = alibabaSdk();
  if (!python) return t.skip("set KMS_ALIBABA_SDK_PYTHON to a Python with the SDK (.ci/test makes one)");
  const SIZE = 256 * MIB;
  // Each MiB differs from the others (a MiB out of place is caught); files are checked as read, never held whole.
  const base = payload(MIB);
  const mib = (n) => base.map((b) => b ^ (n & 255));
  const dir = mkdtempSync(join(tmpdir(), "kms-streams-sdk-"));
  const at = (name) => join(dir, name);
  const sameAsPattern = (path) => {
    assert.equal(statSync(path).size, SIZE, `${path}: its size`);
    const fd = openSync(path, "r");
    const got = new Uint8Array(MIB);
    try {
      for (let n = 0; n < SIZE / MIB; n++) {
        assert.equal(readSync(fd, got, 0, MIB, n * MIB), MIB);
        assert.ok(Buffer.from(got).equals(mib(n)), `${path}: MiB ${n} differs`);
      }
    } finally {
      closeSync(fd);
    }
  };
  const sdk = (args, from, to) => {
    const [input, output] = [openSync(at(from), "r"), openSync(at(to), "w")];
    try {
      const run = spawnSync(python, [join(import.meta.dirname, "../../tests/interop/alibaba_sdk.py"), ...args, "--keyring", at("keyring.json")], { stdio: [input, output, "pipe"] });
      assert.equal(run.status, 0, `the SDK's ${args[0]}: ${run.stderr}`);
    } finally {
      closeSync(input);
      closeSync(output);
    }
  };
  try {
    writeFileSync(at("keyring.json"), JSON.stringify(keyring));
    const plain = openSync(at("plain"), "w");
    for (let n = 0; n < SIZE / MIB; n++) writeSync(plain, mib(n));
    closeSync(plain);
    const keys = new kms.SoftwareKeyProvider(keyring);
    await pipeline(createReadStream(at("plain")), Duplex.fromWeb(kms.encryptStream([keys], { size: SIZE })), createWriteStream(at("sealed")));
    sdk(["decrypt"], "sealed", "opened by the SDK");
    sameAsPattern(at("opened by the SDK"));

    sdk(["encrypt", "--key", ARN], "plain", "sealed by the SDK");
    await pipeline(Readable.fromWeb(kms.decryptSource([keys], kms.fileSource(at("sealed by the SDK")))), createWriteStream(at("opened here")));
    sameAsPattern(at("opened here"));
    keys.free();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
