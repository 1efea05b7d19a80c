// The JSON readers a validate module could be built on (issue 25's "small JSON reader"
// lever), measured as the package ships a module: each reader alone in a wasm module
// (benches/readers: one feature a build, wasm-bindgen, then wasm-opt with the package's
// flags), its gzip -9 bytes and its time on the benches' 1,000-entry BindVpcs document,
// the readers interleaved in one process. Beside them, the package's own validate
// module (its reader, the rules, places, the report) and issue 25's reference (`JSON.parse`
// and ajv) on the same document. Run after the package is built (pkg/build.sh):
//
//   node benches/readers.mjs            (also printed by bash .ci/bench)
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, platform } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { BIND_VPCS_SCHEMA, bindVpcs } from "./documents.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const crate = `${root}benches/readers`;
const target = `${crate}/target`;
const Ajv = createRequire(`${root}pkg/package.json`)("ajv");
/** What each reader's API gives of positions (from its documentation; the broken document's message shows an error's). */
const READERS = [
  { feature: "none", name: "none: the floor (glue, UTF-8, `core::fmt`)" },
  { feature: "serde_json", name: "serde_json (the package's)", place: "line, column", values: "no" },
  { feature: "jiter", name: "jiter", place: "byte", values: "yes" },
  { feature: "bufjson", name: "bufjson", place: "line, column, byte", values: "yes" },
  { feature: "nanojson", name: "nanojson", place: "byte", values: "yes" },
  { feature: "actson", name: "actson", place: "byte", values: "yes" },
];
// The package's wasm-opt flags, from the one place they are set.
const WASM_OPT = JSON.parse(readFileSync(`${root}Cargo.toml`, "utf8").match(/^wasm-opt = (\[.*\])$/m)[1]);
// npm's wasm-opt first, as pkg/build.sh has it (Debian's writes modules that throw).
const env = { ...process.env, PATH: `${root}pkg/node_modules/.bin:${process.env.PATH}` };
const run = (cmd, args) => execFileSync(cmd, args, { cwd: crate, env, stdio: ["ignore", "ignore", "inherit"] });

/** Each reader's module, built: its glue, initialised, and its bytes after wasm-opt. */
async function built({ feature }) {
  const out = `${target}/js/${feature}`;
  run("cargo", ["build", "--locked", "--quiet", "--release", "--target", "wasm32-unknown-unknown", "--target-dir", target, "--features", feature]);
  run("wasm-bindgen", ["--target", "web", "--out-dir", out, `${target}/wasm32-unknown-unknown/release/kms_instance_readers.wasm`]);
  run("wasm-opt", [...WASM_OPT, `${out}/kms_instance_readers_bg.wasm`, "-o", `${out}/opt.wasm`]);
  const bytes = readFileSync(`${out}/opt.wasm`);
  const glue = await import(`${out}/kms_instance_readers.js`);
  glue.initSync({ module: bytes });
  return { check: glue.check, bytes };
}

const version = (name) => readFileSync(`${crate}/Cargo.lock`, "utf8").match(new RegExp(`name = "${name}"\\nversion = "([^"]+)"`))?.[1] ?? "";
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const encode = (text) => new TextEncoder().encode(text);

const text = bindVpcs(1000);
const document = encode(text);
// The comma between the third and the fourth entries left out: at byte `missingComma`.
const entries = JSON.parse(text).map((e) => JSON.stringify(e));
const missingComma = `[${entries.slice(0, 3).join(",")}`.length;
const broken = `[${entries.slice(0, 3).join(",")}${entries.slice(3).join(",")}]`;
// The same work from every reader: each of these read as the package reads it.
const entry = (fields) => `[{"VpcId":"vpc-1","VSwitchId":"vsw-1","RegionId":"cn-hangzhou",${fields}}]`;
const READ = [
  [text, 1000],
  [entry('"VpcOwnerId":"1"'), 1],
  [entry('"Vpc\\u0049d":"vpc-\\u0032","VpcOwnerId":1'), 1], // escapes in a name and a value
  [entry('"VpcId":"vpc-2","VpcOwnerId":1'), 1], // a name twice: the last one wins
];
const REFUSED = [broken, entry('"VpcOwnerId":true'), entry('"VpcOwnerId":1.5'), entry('"VpcOwnerId":-1'), entry('"VpcOwnerId":99999999999999999999'), entry('"VpcOwnerId":"1","Extra":1'), entry('"VpcOwner":"1"'), '[{"VpcId":1,"VSwitchId":"vsw-1","RegionId":"cn-hangzhou","VpcOwnerId":"1"}]', "[1]", "[] 1", "{}"];
const indexes = (n) => JSON.stringify([...Array(n).keys()]);

// wasm-bindgen's web glue is ESM, which Node 20 before 20.19 reads only when told.
mkdirSync(`${target}/js`, { recursive: true });
writeFileSync(`${target}/js/package.json`, '{ "type": "module" }\n');
const rows = [];
for (const reader of READERS) {
  const { check, bytes } = await built(reader);
  const row = { ...reader, gzip: gz(bytes), call: () => check(document) };
  rows.push(row);
  // The floor reads nothing: it only counts the document's entries.
  if (reader.feature === "none") {
    if (check(document) !== indexes(1000)) throw new Error("the floor did not count the document's entries");
    continue;
  }
  for (const [json, n] of READ) if (check(encode(json)) !== indexes(n)) throw new Error(`${reader.feature} did not read ${json.slice(0, 200)}`);
  for (const json of REFUSED) if (!check(encode(json)).startsWith('{"error"')) throw new Error(`${reader.feature} did not refuse ${json.slice(0, 200)}`);
  Object.assign(row, { version: version(reader.feature), message: JSON.parse(check(encode(broken))).error });
}
// The package's validate module on the same bytes (no context: the reader's work and the rules').
const pkgGlue = await import(`${root}pkg/wasm/validate/kms_instance.js`);
const pkgBytes = readFileSync(`${root}pkg/dist/wasm/validate.wasm`);
pkgGlue.initSync({ module: pkgBytes });
if (!JSON.parse(pkgGlue.validateBindVpcsIndexed(document, undefined)).ok) throw new Error("the package did not find the document valid");
rows.push({ feature: "package", name: "kms-instance/validate (reader, rules, places, report)", gzip: gz(pkgBytes), call: () => pkgGlue.validateBindVpcsIndexed(document, undefined) });
// Issue 25's reference, in JavaScript: the text parsed, then checked by ajv.
const ajvValidate = new Ajv({ allErrors: true }).compile(BIND_VPCS_SCHEMA);
rows.push(
  { feature: "parse", name: "`JSON.parse` (JavaScript)", call: () => JSON.parse(text) },
  { feature: "ajv", name: "`JSON.parse` + ajv: issue 25's reference", call: () => ajvValidate(JSON.parse(text)) },
  { feature: "encode", name: "`TextEncoder` (the package's text into wasm)", call: () => encode(text) },
);

// Interleaved: one batch of each a round, 11 rounds after a warm-up.
const BATCH = 50, ROUNDS = 11;
const samples = new Map(rows.map((r) => [r, []]));
for (let round = -1; round < ROUNDS; round++) {
  for (const row of rows) {
    const start = performance.now();
    for (let i = 0; i < BATCH; i++) row.call();
    if (round >= 0) samples.get(row).push(((performance.now() - start) * 1000) / BATCH);
  }
}
const reference = rows.find((r) => r.feature === "serde_json");
const floor = rows.find((r) => r.feature === "none");
const time = (row) => median(samples.get(row));

console.log(`JSON readers in wasm — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${platform()}, ${cpus().length} × ${cpus()[0]?.model.trim()}`);
console.log(`Each reader alone in a module, built as the package builds one; the ${fmt(document.length)}-byte, 1,000-entry BindVpcs document read ${BATCH} times a round, ${ROUNDS} rounds interleaved: the median.`);
console.log(`The broken document leaves out the comma at byte ${missingComma}. Every reader reads ${READ.length} documents (escapes, a name given twice) as the package does and refuses ${REFUSED.length} (a wrong type, a float, negative or too large owner id, an unknown or missing field, a non-object entry, text after the array).\n`);
console.log("| reader | version | wasm gzip | above the floor | µs per document | speed, × serde_json's | an error's place | each value's place | the missing comma |");
console.log("|---|---|---:|---:|---:|---:|---|---|---|");
for (const row of rows) {
  const size = row.gzip ? `${fmt(row.gzip / 1024, 1)} KiB` : "";
  const above = row.gzip && row !== floor ? `${fmt((row.gzip - floor.gzip) / 1024, 1)} KiB` : "";
  const message = row.message ? `\`${row.message.replaceAll("|", "\\|").replaceAll("`", "'")}\`` : "";
  console.log(`| ${row.name} | ${row.version ?? ""} | ${size} | ${above} | ${fmt(time(row))} | ${fmt(time(reference) / time(row), 2)}× | ${row.place ?? ""} | ${row.values ?? ""} | ${message} |`);
}
