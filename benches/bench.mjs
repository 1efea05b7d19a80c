// Measures the npm package in Node and prints one table: module size, instantiation,
// BindVpcs validation against JSON.parse + ajv, and sealing against raw WebCrypto and
// @aws-crypto/client-node. Run after the package is built:
//
//   node benches/bench.mjs            (or: bash .ci/bench)
//
// Each figure is the median of several timed rounds after a warm-up; the machine and
// the date are printed with it.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { cpus, platform } from "node:os";
import { performance } from "node:perf_hooks";

const pkg = new URL("../pkg/", import.meta.url);
const require = createRequire(new URL("package.json", pkg));
const kms = await import(new URL("dist/index.js", pkg));
// The glue itself, for the crossover below (its own instance of the full module).
const wasmGlue = await import(new URL("wasm/full/kms_instance.js", pkg));
wasmGlue.initSync({ module: readFileSync(new URL("dist/wasm/full.wasm", pkg)) });
const Ajv = require("ajv");
const aws = require("@aws-crypto/client-node");

const subtle = globalThis.crypto.subtle;

/** Median seconds per call of `fn` (async allowed), over `rounds` rounds of `batch` calls. */
async function time(fn, { batch = 20, rounds = 9, warmup = 3 } = {}) {
  for (let i = 0; i < warmup * batch; i++) await fn();
  const samples = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    samples.push((performance.now() - start) / batch / 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const rows = [];
const targets = [];
const fmt = (n, d = 1) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const row = (what, value, note = "") => rows.push([what, value, note]);
const target = (what, met, detail) => targets.push([what, met ? "met" : "NOT MET", detail]);

// Sizes and instantiation, per entry: benches/package.mjs.

// ---- BindVpcs: 1,000 entries, string in, report out ---------------------------
const OWNER = "1207089758810000";
const entries = Array.from({ length: 1000 }, (_, i) => ({
  VpcId: `vpc-bp1go9qvmj78j4f4c${String(i).padStart(4, "0")}`,
  VSwitchId: `vsw-bp16c5pvvcf0fp5b9${String(i).padStart(4, "0")}`,
  RegionId: "cn-hangzhou",
  VpcOwnerId: i % 2 ? OWNER : Number(OWNER),
}));
const text = JSON.stringify(entries);
const context = { region: "cn-hangzhou", owner: OWNER, primaryVpc: "vpc-bp1primary0000001" };
if (!kms.validateBindVpcs(text, context).ok) throw new Error("the benchmark input should be valid");
const ours = await time(() => kms.validateBindVpcs(text, context), { batch: 10 });

// The closest JSON Schema: fields, formats, the region, no extra fields. It cannot say
// "no VPC twice" or "not the instance's VPC", nor report the 2^53 rule; ours does.
const id = (prefix) => ({ type: "string", pattern: `^${prefix}-[a-z0-9]{8,32}$` });
const validate = new Ajv({ allErrors: true }).compile({
  type: "array",
  items: {
    type: "object",
    additionalProperties: false,
    required: ["VpcId", "VSwitchId", "RegionId", "VpcOwnerId"],
    properties: {
      VpcId: id("vpc"),
      VSwitchId: id("vsw"),
      RegionId: { const: "cn-hangzhou" },
      VpcOwnerId: { anyOf: [{ type: "string", pattern: "^[1-9][0-9]{15}$" }, { type: "integer", minimum: 1e15, maximum: 9007199254740991 }] },
    },
  },
});
if (!validate(JSON.parse(text))) throw new Error("ajv should accept the benchmark input");
const ajv = await time(() => validate(JSON.parse(text)), { batch: 10 });
row("BindVpcs 1,000 entries: kms-instance", `${fmt(ours * 1e6, 0)} µs`, `${fmt(1 / ours, 0)}/s`);
row("BindVpcs 1,000 entries: JSON.parse + ajv", `${fmt(ajv * 1e6, 0)} µs`, `${fmt(1 / ajv, 0)}/s`);
target("BindVpcs faster than JSON.parse + ajv", ours < ajv, `${fmt(ajv / ours, 2)}× ajv's speed`);

// ---- sealing --------------------------------------------------------------------
const ARN = "acs:kms:cn-hangzhou:1207089758810000:key/key-bench";
const material = crypto.getRandomValues(new Uint8Array(32));
const software = new kms.SoftwareKeyProvider({ keys: [{ arn: ARN, material: Buffer.from(material).toString("base64") }] });
const webcrypto = await kms.WebCryptoKeyProvider.importRaw([{ arn: ARN, material }]);
const rawKey = await subtle.importKey("raw", material, "AES-GCM", false, ["encrypt"]);
const rawSeal = (data) => subtle.encrypt({ name: "AES-GCM", iv: crypto.getRandomValues(new Uint8Array(12)) }, rawKey, data);
const awsClient = aws.buildClient(aws.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
const awsKeyring = new aws.RawAesKeyringNode({
  keyName: "key-bench",
  keyNamespace: "kms-instance-bench",
  unencryptedMasterKey: material,
  wrappingSuite: aws.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const awsSeal = (data) => awsClient.encrypt(awsKeyring, data, { encryptionContext: { bench: "1" } });

const small = crypto.getRandomValues(new Uint8Array(1024));
const large = new Uint8Array(1 << 20).map((_, i) => i);
const results = {};
for (const [label, data, opts] of [["1 KiB", small, { batch: 200 }], ["1 MiB", large, { batch: 4, rounds: 7 }]]) {
  const r = (results[label] = {
    software: await time(() => kms.encrypt([software], data, { context: { bench: "1" } }), opts),
    webcrypto: await time(() => kms.encrypt([webcrypto], data, { context: { bench: "1" } }), opts),
    raw: await time(() => rawSeal(data), opts),
    aws: await time(() => awsSeal(data), opts),
  });
  const rate = (s) => (label === "1 MiB" ? `${fmt(1 / s, 0)} MB/s` : `${fmt(1 / s, 0)}/s`);
  row(`seal ${label}: kms-instance, software keys`, `${fmt(r.software * 1e6, 0)} µs`, rate(r.software));
  row(`seal ${label}: kms-instance, WebCrypto keys`, `${fmt(r.webcrypto * 1e6, 0)} µs`, rate(r.webcrypto));
  row(`seal ${label}: raw WebCrypto AES-GCM (no envelope)`, `${fmt(r.raw * 1e6, 0)} µs`, rate(r.raw));
  row(`seal ${label}: @aws-crypto/client-node, raw AES keyring`, `${fmt(r.aws * 1e6, 0)} µs`, rate(r.aws));
}
const mib = results["1 MiB"];
const bestMib = Math.min(mib.software, mib.webcrypto);
target("seal 1 MiB ≥ 0.8× raw WebCrypto throughput", mib.raw / bestMib >= 0.8, `${fmt(mib.raw / bestMib, 2)}× raw WebCrypto`);
const kib = results["1 KiB"];
const bestKib = Math.min(kib.software, kib.webcrypto);
target("seal 1 KiB ≥ 3× faster than @aws-crypto/client-node", kib.aws / bestKib >= 3, `${fmt(kib.aws / bestKib, 2)}× faster`);

// ---- where WebCrypto overtakes wasm for the body (the package switches at 16 KiB) --
const ring = new wasmGlue.KeyProviders();
ring.addSoftware(new wasmGlue.SoftwareKeyProvider({ keys: [{ arn: ARN, material: Buffer.from(material).toString("base64") }] }));
const crossover = [];
for (const kib of [1, 4, 16, 64]) {
  const data = crypto.getRandomValues(new Uint8Array(kib * 1024));
  const inWasm = await time(() => ring.encrypt(data, {}), { batch: 50 });
  const onHost = await time(async () => {
    const session = await ring.beginSeal(data.length, {});
    const key = await subtle.importKey("raw", session.dataKey(), "AES-GCM", false, ["encrypt"]);
    const sealed = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv: session.iv(), additionalData: session.aad() }, key, data));
    const [prefix, suffix] = session.frame(sealed.length - 16, sealed.subarray(sealed.length - 16));
    const message = new Uint8Array(prefix.length + sealed.length - 16 + suffix.length);
    message.set(prefix);
    message.set(sealed.subarray(0, sealed.length - 16), prefix.length);
    message.set(suffix, prefix.length + sealed.length - 16);
    session.free();
  }, { batch: 50 });
  crossover.push(`${kib} KiB: wasm ${fmt(inWasm * 1e6, 0)} µs, WebCrypto ${fmt(onHost * 1e6, 0)} µs`);
}

// ---- report ---------------------------------------------------------------------
const cpu = cpus()[0]?.model ?? "unknown CPU";
console.log(`kms-instance benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${platform()}, ${cpus().length} × ${cpu}\n`);
console.log("| measurement | time | rate |\n|---|---:|---:|");
for (const [what, value, note] of rows) console.log(`| ${what} | ${value} | ${note} |`);
console.log("\n| target | status | measured |\n|---|---|---|");
for (const [what, status, detail] of targets) console.log(`| ${what} | ${status} | ${detail} |`);
console.log(`\nbody cipher, wasm vs WebCrypto: ${crossover.join("; ")}`);
