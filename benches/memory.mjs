// One case of bench.mjs's memory table, in a process of its own: 64 MiB sealed, the
// plaintext dropped, the message opened. Prints the peak RSS above the process's RSS
// once the package is loaded, and the wasm memory before and after.
//
//   node benches/memory.mjs software|webcrypto
const instances = [];
const Instance = WebAssembly.Instance;
// The package instantiates its module synchronously: record it, to read its memory.
WebAssembly.Instance = function (module, imports) {
  const instance = new Instance(module, imports);
  instances.push(instance);
  return instance;
};
const kms = await import(new URL("../pkg/dist/index.js", import.meta.url));
const { createHash } = await import("node:crypto");

const ARN = "acs:kms:cn-hangzhou:1207089758810000:key/key-bench";
const material = crypto.getRandomValues(new Uint8Array(32));
const keys = process.argv[2] === "webcrypto"
  ? await kms.WebCryptoKeyProvider.importRaw([{ arn: ARN, material }])
  : new kms.SoftwareKeyProvider({ keys: [{ arn: ARN, material: Buffer.from(material).toString("base64") }] });
kms.validateName("alias", "alias/warm-up"); // instantiates the module
const wasmMemory = () => instances.reduce((n, i) => n + (i.exports.memory?.buffer.byteLength ?? 0), 0);

const PAYLOAD = 64 << 20;
globalThis.gc?.();
const start = process.memoryUsage().rss;
const wasmBefore = wasmMemory();
let plaintext = new Uint8Array(PAYLOAD);
for (let at = 0; at < PAYLOAD; at += 65536) crypto.getRandomValues(plaintext.subarray(at, at + 65536));
const digest = createHash("sha256").update(plaintext).digest("hex");
const message = await kms.encrypt([keys], plaintext, { context: { bench: "memory" } });
plaintext = undefined;
const opened = await kms.decrypt([keys], message);
if (createHash("sha256").update(opened.plaintext).digest("hex") !== digest) throw new Error("did not round-trip");
const peak = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ payload: PAYLOAD, peakAboveStart: peak - start, wasmBefore, wasmAfter: wasmMemory() }));
