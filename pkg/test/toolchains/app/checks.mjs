// What every toolchain's app does with the installed package: one call into each entry
// (validation, sealing and opening, a simulated instance), the answers checked by run.mjs.
import { validateBindVpcs } from "kms-instance/validate";
import { decrypt, encrypt, WebCryptoKeyProvider } from "kms-instance/envelope";
import { Instance, isKmsError } from "kms-instance";
import { BIND_VPCS, STATE, ARN } from "./inputs.mjs";

export async function checks() {
  const report = validateBindVpcs(BIND_VPCS, { region: "cn-hangzhou" });
  const keys = await WebCryptoKeyProvider.generate([ARN]);
  const opened = await decrypt([keys], await encrypt([keys], new TextEncoder().encode("sealed by the toolchain")));
  let refused = "";
  try {
    Instance.fromJSON(STATE).apply({ as: "owner", action: "CreateKey", params: { alias: "alias/acs/x", protection: "software" } });
  } catch (e) {
    refused = isKmsError(e) ? e.code : String(e);
  }
  return { codes: report.errors.map((e) => e.code), opened: new TextDecoder().decode(opened.plaintext), refused };
}
