// The npm package's bytes and load time, per entry: gzip -9 of the wasm and of the
// entry's JavaScript (minified, as an app ships it), the inline default's cost,
// instantiation in Node, and three apps built with one bundler (esbuild, minified,
// browser ESM); then the size targets of issue 25, met or not, and the committed sizes
// the size bar holds builds to (benches/sizes.json). Run after pkg/build.sh:
//
//   node benches/package.mjs            (also printed by bash .ci/bench)
import { readFileSync } from "node:fs";
import { cpus, platform } from "node:os";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";
import { committedSizes } from "./sizes.mjs";

const pkgDir = new URL("../pkg/", import.meta.url).pathname;
const { build } = createRequire(`${pkgDir}package.json`)("esbuild");
const KiB = (n) => `${(n / 1024).toFixed(1)} KiB`;
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const ENTRIES = [
  { entry: "validate", job: "validate" },
  { entry: "envelope", job: "envelope" },
  { entry: "index", job: "full" },
];
/** Issue 25's targets, KiB of gzip -9: each module, and the app that only validates. */
const WASM_TARGETS = { validate: 40, envelope: 80, full: 180 };
const VALIDATE_APP_TARGET = 60;

/** An app's shipped JavaScript, minified: what `contents` imports, bundled. */
async function bundle(contents) {
  const out = await build({ stdin: { contents, resolveDir: pkgDir, loader: "js" }, bundle: true, minify: true, format: "esm", platform: "browser", write: false, logLevel: "error" });
  return out.outputFiles[0].contents;
}

/** Median ms of compile + instantiate of a job's module in Node. */
async function instantiate(job, rounds = 9) {
  const bytes = readFileSync(`${pkgDir}dist/wasm/${job}.wasm`);
  const samples = [];
  for (let i = 0; i < rounds + 2; i++) {
    const glue = await import(`${pkgDir}wasm/${job}/kms_instance.js?round=${i}`);
    const start = performance.now();
    glue.initSync({ module: bytes });
    samples.push(performance.now() - start);
  }
  return samples.slice(2).sort((a, b) => a - b)[Math.floor(rounds / 2)];
}

console.log(`kms-instance package sizes: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0].model.trim()}, ${platform()}\n`);
const committed = committedSizes();
const targets = [];
/** A size target: met when `bytes` is at most `kib` KiB. */
const target = (what, bytes, kib) => targets.push(`| ${what} | ${KiB(bytes)} | ≤ ${kib} KiB | ${bytes <= kib * 1024 ? "met" : `NOT MET (${(bytes / 1024 / kib).toFixed(1)}×)`} |`);
console.log("| entry | wasm raw | wasm gzip | committed (the size bar, ± 5 %) | entry JS gzip (slim) | wasm + JS | inline default, gzip | instantiate (Node) |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
for (const { entry, job } of ENTRIES) {
  const wasm = readFileSync(`${pkgDir}dist/wasm/${job}.wasm`);
  const name = entry === "index" ? "kms-instance" : `kms-instance/${entry}`;
  const slimJs = gz(await bundle(`export * from "${entry === "index" ? "kms-instance/slim" : `${name}/slim`}";`));
  const inline = gz(await bundle(`export * from "${name}";`));
  target(`\`${name}\` wasm, gzip`, gz(wasm), WASM_TARGETS[job]);
  console.log(`| \`${name}\` | ${KiB(wasm.length)} | ${KiB(gz(wasm))} | ${KiB(committed[job])} | ${KiB(slimJs)} | ${KiB(gz(wasm) + slimJs)} | ${KiB(inline)} | ${(await instantiate(job)).toFixed(1)} ms |`);
}

const APPS = {
  "validate-only app (validateBindVpcs)": `import { validateBindVpcs } from "kms-instance/validate"; console.log(validateBindVpcs("[]"));`,
  "seal-only app (encrypt, WebCrypto keys)": `import { encrypt, WebCryptoKeyProvider } from "kms-instance/envelope"; WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1:key/k"]).then((k) => encrypt([k], new Uint8Array(8))).then(console.log);`,
  "everything app (validate, runPlan, encrypt)": `import { validateBindVpcs, runPlan, encrypt, WebCryptoKeyProvider } from "kms-instance"; console.log(validateBindVpcs("[]"), runPlan("{}")); WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1:key/k"]).then((k) => encrypt([k], new Uint8Array(8)));`,
};
console.log("\n| app, built with esbuild (minified) | shipped, gzip -9 (default entries, wasm inline) |");
console.log("|---|---:|");
for (const [app, code] of Object.entries(APPS)) {
  const shipped = gz(await bundle(code));
  if (app.startsWith("validate-only")) target("validate-only app (esbuild, default entry, wasm inline), gzip", shipped, VALIDATE_APP_TARGET);
  console.log(`| ${app} | ${KiB(shipped)} |`);
}
console.log("\n| target (issue 25) | now | target | status |\n|---|---:|---:|---|");
for (const row of targets) console.log(row);
