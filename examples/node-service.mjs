// A Node HTTP service that keeps tenants' records sealed: POST /seal takes a body and
// returns it as an envelope-encrypted message, POST /open takes the message back. The
// tenant comes from the X-Tenant header (in production, from whatever authenticated the
// caller) and is bound to the message as its encryption context.
//
//   node examples/node-service.mjs KEYRING [PORT]     (or KMS_KEYRING=… PORT=… node …)
//
// KEYRING is a keyring file: `kms-instance keyring new keys.json --key acs:kms:…`.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { decrypt, encrypt, isKmsError, SoftwareKeyProvider } from "kms-instance/envelope";

const keyringPath = process.argv[2] ?? process.env.KMS_KEYRING;
const port = Number(process.argv[3] ?? process.env.PORT ?? 0);
// Loopback unless told otherwise: an endpoint that decrypts must not be exposed by accident.
const host = process.env.HOST ?? "127.0.0.1";
// Bodies are read whole (a message is authenticated as a whole); the cap keeps one
// request from taking the process's memory.
const MAX_BODY = 1 << 20;

if (!keyringPath) {
  console.error("usage: node node-service.mjs KEYRING [PORT]   (or set KMS_KEYRING)");
  process.exit(2);
}
// Read once at start-up, so a missing or malformed keyring fails the deploy rather than
// the first request. Its errors name the field at fault, never its value.
const keys = new SoftwareKeyProvider(readFileSync(keyringPath, "utf8"));

class HttpError extends Error {
  constructor(status, code) {
    super(code);
    this.status = status;
    this.code = code;
  }
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, "BodyTooLarge");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function handle(req) {
  const route = `${req.method} ${new URL(req.url, "http://service").pathname}`;
  if (route !== "POST /seal" && route !== "POST /open") throw new HttpError(404, "NotFound");
  const tenant = req.headers["x-tenant"];
  if (!tenant) throw new HttpError(400, "MissingTenant");
  // The context is authenticated with the message: a record replayed under another
  // tenant's name does not open, even though every tenant shares the master key.
  const context = { tenant };
  const body = await readBody(req);
  if (route === "POST /seal") return encrypt([keys], body, { context });
  return (await decrypt([keys], body, { requireContext: context })).plaintext;
}

const server = createServer(async (req, res) => {
  try {
    const out = await handle(req);
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(out);
  } catch (e) {
    // Callers match on the stable code; messages are for the log.
    let status = e instanceof HttpError ? e.status : 500;
    if (isKmsError(e)) status = e.code === "InvalidCiphertext.ContextMismatch" ? 403 : e.code.startsWith("Bridge.") ? 502 : 400;
    if (status >= 500) console.error(`${req.method} ${req.url}: ${e.stack ?? e}`);
    const code = e instanceof HttpError || isKmsError(e) ? e.code : "Internal";
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ code }));
  }
});

server.listen(port, host, () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});

// Finish the requests in flight, then wipe the keys from memory.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => server.close(() => keys.free()));
}
