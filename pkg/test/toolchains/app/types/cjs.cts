// A consumer's CommonJS module (node16/nodenext): the package's require entries and types.
import { validateBindVpcs } from "kms-instance/validate";
import { encrypt, decrypt, WebCryptoKeyProvider } from "kms-instance/envelope";
import { isKmsError, type Code } from "kms-instance";

export async function use(): Promise<Code | undefined> {
  const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1:key/k"]);
  const opened = await decrypt([keys], await encrypt([keys], new Uint8Array([1])));
  const first = validateBindVpcs("[]").errors[0];
  return isKmsError(first) ? first.code : opened.plaintext.length > 0 ? first?.code : undefined;
}
