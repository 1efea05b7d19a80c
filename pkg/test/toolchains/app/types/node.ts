// With Node's types (and no DOM lib): the byte results in Node's APIs.
import { encrypt } from "kms-instance/envelope";
import { WebCryptoKeyProvider } from "kms-instance/envelope";

export async function node(): Promise<Buffer> {
  const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1:key/k"]);
  const sealed = await encrypt([keys], Buffer.from("x"));
  await globalThis.crypto.subtle.digest("SHA-256", sealed);
  return Buffer.from(sealed);
}
