// Run by xks.test.mjs in a Node process that trusts the test CA (NODE_EXTRA_CA_CERTS):
// seals and opens through the proxy on argv[2], beside software keys, and writes the
// message for the native CLI to open. Prints what it saw, as JSON.
import { writeFileSync } from "node:fs";
import { decrypt, encrypt, SoftwareKeyProvider, XksKeyProvider } from "../../dist/index.js";
import { arn, options } from "./proxy.mjs";

const [port, out] = [Number(process.argv[2]), process.argv[3]];
const proxy = new XksKeyProvider(options(port, { keys: [arn("k-proxy"), { arn: arn("renamed"), externalKeyId: "k-second" }] }));
const software = new SoftwareKeyProvider({ keys: [{ arn: arn("soft"), material: Buffer.alloc(32, 3).toString("base64") }] });
const data = new TextEncoder().encode("sealed in Node through the proxy");
const sealed = await encrypt([proxy, software], data, { keys: [arn("k-proxy"), arn("soft"), arn("renamed")], context: { app: "node" } });
const byProxy = await decrypt([proxy], sealed, { requireContext: { app: "node" } });
const bySoftware = await decrypt([software], sealed);
const started = performance.now();
const small = await encrypt([proxy], new Uint8Array(32));
const sealMs = performance.now() - started;
await decrypt([proxy], small);
writeFileSync(out, sealed);
const text = (b) => new TextDecoder().decode(b);
const code = (p) => p.then(() => "opened", (e) => e.code);
const wrongSecret = new XksKeyProvider({ ...options(port), secretAccessKey: "not-the-secret" });
console.log(JSON.stringify({
  byProxy: [text(byProxy.plaintext), byProxy.keyArn],
  bySoftware: [text(bySoftware.plaintext), bySoftware.keyArn],
  arns: proxy.arns(),
  wrongSecret: await code(encrypt([wrongSecret], data)),
  sealMs,
}));
