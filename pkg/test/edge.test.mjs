// The package in Cloudflare's workerd (through miniflare, offline).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Miniflare } from "miniflare";
import { readdirSync, readFileSync } from "node:fs";
import { pkgRoot } from "./helpers.mjs";

let mf;

before(async () => {
  mf = new Miniflare({
    modules: true,
    modulesRoot: pkgRoot,
    scriptPath: `${pkgRoot}/test/edge/worker.mjs`,
    // The package is ESM throughout; miniflare takes .js for CommonJS unless told.
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-01-01",
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

test("a worker validates a BindVpcs body", async () => {
  const body = JSON.stringify([{ VpcId: "vpc-bp1go9qvmj78j4f4c0001", VSwitchId: "vsw-1", RegionId: "cn-shanghai", VpcOwnerId: "1207089758810000" }]);
  const res = await mf.dispatchFetch("http://edge.test/validate?region=cn-hangzhou", { method: "POST", body });
  assert.equal(res.status, 200);
  const report = await res.json();
  assert.equal(report.ok, false);
  assert.deepEqual(report.errors.map((e) => [e.code, e.path]), [
    ["InvalidParameter.BindVpcs.VSwitchId", "/0/VSwitchId"],
    ["InvalidParameter.BindVpcs.CrossRegion", "/0/RegionId"],
  ]);
});

test("a worker seals and opens with WebCrypto keys, small and large", async () => {
  for (const size of [11, 200_000]) {
    const data = new Uint8Array(size).map((_, i) => i % 251);
    const res = await mf.dispatchFetch("http://edge.test/seal", { method: "POST", body: data });
    const out = await res.json();
    assert.equal(res.status, 200, JSON.stringify(out));
    assert.equal(out.same, true);
    assert.ok(out.sealedBytes > size);
    assert.deepEqual(out.context, { runtime: "workerd" });
    assert.equal(out.keyArn, "acs:kms:cn-hangzhou:1207089758810000:key/key-edge");
    assert.equal(out.tampered, "InvalidCiphertext");
  }
});

/** The resident set of the workerd process miniflare started (KiB): current and peak. */
function workerdMemory() {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let status;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "workerd") continue;
      status = readFileSync(`/proc/${pid}/status`, "utf8");
    } catch {
      continue;
    }
    if (Number(/PPid:\s+(\d+)/.exec(status)?.[1]) !== process.pid) continue;
    const kib = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
    return { rss: kib("VmRSS"), peak: kib("VmHWM") };
  }
  return undefined;
}

test("a worker seals a 64 MiB request body into its response as a stream, in far less than 128 MiB", async (t) => {
  const before = workerdMemory();
  if (!before) return t.skip("no workerd child process to measure (not Linux, or miniflare runs it elsewhere)");
  const size = 64 << 20;
  const body = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) body[i] = i % 251;
  const material = Buffer.alloc(32, 7).toString("base64");
  const keyring = JSON.stringify({ keys: [{ arn: "acs:kms:cn-hangzhou:1207089758810000:key/key-edge-stream", material }] });
  const res = await mf.dispatchFetch("http://edge.test/seal-stream", {
    method: "POST",
    body,
    headers: { "content-length": String(size), "x-keyring": keyring },
  });
  assert.equal(res.status, 200);
  const message = new Uint8Array(await res.arrayBuffer());
  const after = workerdMemory();
  const { SoftwareKeyProvider, decrypt } = await import("kms-instance/envelope");
  const opened = await decrypt([new SoftwareKeyProvider(keyring)], message, { requireContext: { runtime: "workerd" } });
  assert.equal(opened.plaintext.length, size);
  assert.ok(Buffer.from(opened.plaintext).equals(Buffer.from(body)), "the worker's message opens to the body");
  // The peak above what the process held before: a body held whole would be 64 MiB, and
  // the message beside it as much again.
  const grew = (after.peak - before.rss) / 1024;
  t.diagnostic(`workerd's peak above its resident set before: ${grew.toFixed(1)} MiB`);
  assert.ok(grew < 64, `workerd grew by ${grew.toFixed(1)} MiB sealing a 64 MiB body`);
});

test("in workerd the streams' bodies go through wasm: sealed, then opened whole, piped, unverified and twice", async () => {
  for (const size of [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1]) {
    const res = await mf.dispatchFetch(`http://edge.test/stream-round-trip?size=${size}`);
    const out = await res.json();
    assert.equal(res.status, 200, JSON.stringify(out));
    assert.deepEqual(out.ok, [true, true, true, true], `${size} bytes`);
    assert.equal(out.released, 0, `${size} bytes`);
    assert.match(out.refused, /^InvalidCiphertext/, `${size} bytes`);
  }
});
