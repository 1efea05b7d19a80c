// The npm package's seal and open latency through kms-instance xks-proxy (run by
// benches/xks_load.rs with the proxy's port and NODE_EXTRA_CA_CERTS set).
import { decrypt, encrypt, XksKeyProvider } from "../pkg/dist/index.js";

const port = Number(process.argv[2]);
const proxy = new XksKeyProvider({
  endpoint: `https://localhost:${port}`, uriPrefix: "/tenant-a", accessKeyId: "AKIAXKSTESTCREDENTIALA",
  secretAccessKey: "secret-a-0123456789abcdefghijklmnopqrstuvwxyz", principal: "acs:ram::1207089758810000:user/alice",
  keys: ["acs:kms:cn-hangzhou:1207089758810000:key/k-both"],
});
const data = new Uint8Array(1024);
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const [seal, open] = [[], []];
let message = await encrypt([proxy], data);
for (let i = 0; i < 200; i++) {
  let t = performance.now();
  message = await encrypt([proxy], data);
  seal.push(performance.now() - t);
  t = performance.now();
  await decrypt([proxy], message);
  open.push(performance.now() - t);
}
console.log(`Node ${process.version}, the package through the proxy, 1 KiB, 200 sequential calls: seal median ${median(seal).toFixed(2)} ms (min ${Math.min(...seal).toFixed(2)}), open median ${median(open).toFixed(2)} ms (min ${Math.min(...open).toFixed(2)}).`);
