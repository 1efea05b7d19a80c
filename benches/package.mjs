// The npm package's bytes and load time, per entry, against the budgets of issue 10:
// gzip -9 of the wasm plus the entry's JavaScript (minified, as an app ships it), the
// inline default's cost, instantiation in Node, and three apps built with one bundler
// (esbuild, minified, browser ESM). Run after pkg/build.sh:
//
//   node benches/package.mjs            (also printed by bash .ci/bench)
import { readFileSync } from "node:fs";
import { cpus, platform } from "node:os";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";

const pkgDir = new URL("../pkg/", import.meta.url).pathname;
const { build } = createRequire(`${pkgDir}package.json`)("esbuild");
const KiB = (n) => `${(n / 1024).toFixed(1)} KiB`;
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const ENTRIES = [
  { entry: "validate", job: "validate", budget: 40 },
  { entry: "envelope", job: "envelope", budget: 50 },
  { entry: "index", job: "full", budget: 150 },
];

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
console.log("| entry | wasm raw | wasm gzip | entry JS gzip (slim) | wasm + JS | budget | inline default, gzip | instantiate (Node) |");
console.log("|---|---:|---:|---:|---:|---|---:|---:|");
for (const { entry, job, budget } of ENTRIES) {
  const wasm = readFileSync(`${pkgDir}dist/wasm/${job}.wasm`);
  const name = entry === "index" ? "kms-instance" : `kms-instance/${entry}`;
  const slimJs = gz(await bundle(`export * from "${entry === "index" ? "kms-instance/slim" : `${name}/slim`}";`));
  const inline = gz(await bundle(`export * from "${name}";`));
  const total = gz(wasm) + slimJs;
  const verdict = total <= budget * 1024 ? `≤ ${budget} KiB: met` : `≤ ${budget} KiB: NOT MET (${(total / 1024 / budget).toFixed(1)}×)`;
  console.log(`| \`${name}\` | ${KiB(wasm.length)} | ${KiB(gz(wasm))} | ${KiB(slimJs)} | ${KiB(total)} | ${verdict} | ${KiB(inline)} | ${(await instantiate(job)).toFixed(1)} ms |`);
}

const APPS = {
  "validate-only app (validateBindVpcs)": `import { validateBindVpcs } from "kms-instance/validate"; console.log(validateBindVpcs("[]"));`,
  "seal-only app (encrypt, WebCrypto keys)": `import { encrypt, WebCryptoKeyProvider } from "kms-instance/envelope"; WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1:key/k"]).then((k) => encrypt([k], new Uint8Array(8))).then(console.log);`,
  "everything app (validate, runPlan, encrypt)": `import { validateBindVpcs, runPlan, encrypt, WebCryptoKeyProvider } from "kms-instance"; console.log(validateBindVpcs("[]"), runPlan("{}")); WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1:key/k"]).then((k) => encrypt([k], new Uint8Array(8)));`,
};
console.log("\n| app, built with esbuild (minified) | shipped, gzip -9 (default entries, wasm inline) |");
console.log("|---|---:|");
for (const [app, code] of Object.entries(APPS)) console.log(`| ${app} | ${KiB(gz(await bundle(code)))} |`);
