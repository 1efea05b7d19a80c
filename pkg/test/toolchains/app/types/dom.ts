// With the DOM lib: the byte results go where the web platform takes bytes.
import { encrypt, decrypt, WebCryptoKeyProvider } from "kms-instance/envelope";

export async function web(): Promise<Response> {
  const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1:key/k"]);
  const sealed = await encrypt([keys], new TextEncoder().encode("x"));
  const { plaintext } = await decrypt([keys], sealed);
  await crypto.subtle.digest("SHA-256", plaintext);
  await crypto.subtle.importKey("raw", plaintext, "AES-GCM", false, ["encrypt"]);
  const key = [...keys.cryptoKeys().values()][0];
  if (key) await crypto.subtle.encrypt({ name: "AES-GCM", iv: new Uint8Array(12) }, key, sealed);
  new Blob([sealed]);
  return new Response(sealed);
}
