// A Cloudflare Worker that seals request bodies for a tenant and opens them again:
// POST /seal returns the body as an envelope-encrypted message, POST /open takes the
// message back. The tenant (the X-Tenant header here; in production, whatever
// authenticated the caller) is bound to each message as its encryption context.
//
// The master key is the MASTER_KEY secret (the base64 of 32 bytes); MASTER_KEY_ARN
// (wrangler.toml) names it in every message, so whoever opens one knows which key it needs.
import { decrypt, encrypt, isKmsError, WebCryptoKeyProvider } from "kms-instance/envelope";

// Imported once per isolate, not per request; inside WebCrypto the key is
// non-extractable, so no later code in the isolate can read it back.
let keys;

class ConfigError extends Error {}

function keysFrom(env) {
  keys ??= importKey(env).catch((e) => {
    keys = undefined; // not cached: the next request tries again
    throw e;
  });
  return keys;
}

async function importKey(env) {
  if (!env.MASTER_KEY || !env.MASTER_KEY_ARN) throw new ConfigError("MASTER_KEY (a secret) and MASTER_KEY_ARN must be set");
  let material;
  try {
    material = Uint8Array.from(atob(env.MASTER_KEY), (c) => c.charCodeAt(0));
  } catch {
    throw new ConfigError("MASTER_KEY is not base64"); // never echo the secret itself
  }
  try {
    if (material.length !== 32) throw new ConfigError("MASTER_KEY must be the base64 of 32 bytes");
    return await WebCryptoKeyProvider.importRaw([{ arn: env.MASTER_KEY_ARN, material }]);
  } catch (e) {
    // A bad key or ARN is the deployment's fault, not the caller's: never a 4xx.
    throw e instanceof ConfigError ? e : new ConfigError(`the key did not import: ${e.message}`, { cause: e });
  } finally {
    material.fill(0); // WebCrypto holds its own copy now
  }
}

const reply = (status, code) => Response.json({ code }, { status });

export default {
  async fetch(request, env) {
    const route = `${request.method} ${new URL(request.url).pathname}`;
    if (route !== "POST /seal" && route !== "POST /open") return reply(404, "NotFound");
    const tenant = request.headers.get("x-tenant");
    if (!tenant) return reply(400, "MissingTenant");
    // Authenticated with the message: a record replayed under another tenant's name does not open.
    const context = { tenant };
    try {
      const provider = await keysFrom(env);
      const body = new Uint8Array(await request.arrayBuffer());
      const out = route === "POST /seal"
        ? await encrypt([provider], body, { context })
        : (await decrypt([provider], body, { requireContext: context })).plaintext;
      return new Response(out, { headers: { "content-type": "application/octet-stream" } });
    } catch (e) {
      // Callers match on the stable code; the details go to the log (`wrangler tail`).
      if (isKmsError(e)) return reply(e.code === "InvalidCiphertext.ContextMismatch" ? 403 : e.code.startsWith("Bridge.") ? 502 : 400, e.code);
      console.error(e);
      return reply(500, e instanceof ConfigError ? "Misconfigured" : "Internal");
    }
  },
};
