// How the entries get their module: the default ones at the first call, the slim ones
// only through init()/initSync(), each entry its own module; failures are KmsErrors.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { test } from "node:test";
import { pkgRoot } from "./helpers.mjs";

const wasmFile = (job) => readFileSync(join(pkgRoot, "dist/wasm", `${job}.wasm`));
const notLoaded = (e) => e.name === "KmsError" && e.code === "Module.NotLoaded" && /init\(/.test(e.message);

test("a slim entry refuses every call until init, then answers", async () => {
  const slim = await import("kms-instance/validate/slim");
  assert.throws(() => slim.validateName("alias", "alias/app"), notLoaded);
  await assert.rejects(slim.init(), notLoaded);
  await assert.rejects(slim.init(new Uint8Array([0, 97, 115, 109, 9, 9])), (e) => e.code === "Module.LoadFailed" && e.cause instanceof Error);
  await slim.init(wasmFile("validate"));
  assert.deepEqual(slim.validateName("alias", "alias/app"), { ok: true });
  await slim.init(new Uint8Array(1)); // loaded: a second init changes nothing
  assert.deepEqual(slim.validateName("alias", "alias/app"), { ok: true });
});

test("initSync takes bytes or a compiled module; a slim entry of another job stays unloaded", async () => {
  const envelope = await import("kms-instance/envelope/slim");
  assert.throws(() => new envelope.SoftwareKeyProvider({ keys: [] }), notLoaded);
  envelope.initSync(new WebAssembly.Module(wasmFile("envelope")));
  assert.deepEqual(new envelope.SoftwareKeyProvider({ keys: [] }).arns(), []);
  const everything = await import("kms-instance/slim");
  assert.throws(() => everything.runPlan("{}"), notLoaded);
});

test("the default entries load at the first call, in ESM and CommonJS alike", async () => {
  const esm = await import("kms-instance/validate");
  const cjs = createRequire(import.meta.url)("kms-instance/validate");
  for (const kms of [esm, cjs]) assert.equal(kms.validateName("alias", "alias/acs/x").error.code, "InvalidParameter.Alias");
  assert.notEqual(esm.validateName, cjs.validateName, "two builds, one answer");
  await esm.init();
});

test("each job's module holds only its job's exports", async () => {
  const exportsOf = async (job) => WebAssembly.Module.exports(await WebAssembly.compile(wasmFile(job))).map((e) => e.name);
  const [validate, envelope, full] = await Promise.all(["validate", "envelope", "full"].map(exportsOf));
  assert.ok(validate.includes("validateBindVpcs") && !validate.some((n) => /keyproviders|runplan/i.test(n)));
  assert.ok(envelope.some((n) => /keyproviders/i.test(n)) && !envelope.some((n) => /validatebindvpcs|runplan/i.test(n)));
  assert.ok(["validateBindVpcs", "runPlan"].every((n) => full.includes(n)) && full.some((n) => /keyproviders/i.test(n)));
});
