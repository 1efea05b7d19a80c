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
  // Another entry's module (or another version's) would answer with nonsense: refused.
  // (The CommonJS build: the ESM one is loaded by a later test.)
  const cjs = createRequire(import.meta.url)("kms-instance/slim");
  for (const job of ["validate", "envelope"]) {
    assert.throws(() => cjs.initSync(wasmFile(job)), (e) => e.code === "Module.LoadFailed" && /not the one this entry was built with/.test(e.message));
  }
  await assert.rejects(cjs.init(wasmFile("validate")), (e) => e.code === "Module.LoadFailed");
  assert.throws(() => cjs.validateName("alias", "alias/x"), notLoaded);
  cjs.initSync(wasmFile("full"));
  assert.deepEqual(cjs.validateName("alias", "alias/x"), { ok: true });
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

test("a KmsError from any entry, ESM or CommonJS, is a KmsError to every entry", async () => {
  const everything = await import("kms-instance");
  const validate = createRequire(import.meta.url)("kms-instance/validate");
  let thrown;
  try {
    everything.runPlan("{");
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown instanceof validate.KmsError && validate.isKmsError(thrown) && thrown instanceof everything.KmsError);
  assert.ok(!(new Error("x") instanceof validate.KmsError) && !validate.isKmsError({ code: "Module.NotLoaded" }));
});

test("init: a failed fetch says so, without CSP advice; calls while loading share one load", async () => {
  const slim = await import("kms-instance/slim");
  await assert.rejects(slim.init(Promise.resolve(new Response("no", { status: 404 }))), (e) => e.code === "Module.LoadFailed" && /answered 404/.test(e.message) && !/wasm-unsafe-eval/.test(e.message));
  await assert.rejects(slim.init({}), TypeError);
  const first = slim.init(Promise.resolve(new Response(wasmFile("full"))));
  assert.throws(() => slim.runPlan("{}"), (e) => e.code === "Module.NotLoaded" && /still loading/.test(e.message));
  assert.equal(slim.init(new Uint8Array(1)), first, "a second call while loading gets the first's promise");
  await first;
  assert.equal(slim.validateName("alias", "alias/acs/x").error.code, "InvalidParameter.Alias");
});
