// The package in Cloudflare's workerd (through miniflare, offline).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Miniflare } from "miniflare";
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
