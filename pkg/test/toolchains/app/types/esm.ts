// A consumer's ES module, type-checked by every TypeScript version and resolution mode.
import { validateBindVpcs, validateName, type BindVpcsReport, type NameCheck } from "kms-instance/validate";
import { decrypt, encrypt, SoftwareKeyProvider, WebCryptoKeyProvider, type Bytes, type Opened } from "kms-instance/envelope";
import { Instance, init, initSync, isKmsError, KmsError, runPlan, type Code, type Outcome, type PlanResult, type State } from "kms-instance";
import { init as initSlim, type InitSource } from "kms-instance/validate/slim";

export async function use(state: State, source: InitSource): Promise<Code[]> {
  await initSlim(source);
  await init();
  initSync();
  const report: BindVpcsReport = validateBindVpcs("[]", { region: "cn-hangzhou" });
  const name: NameCheck = validateName("alias", "alias/app");
  const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1:key/k"]);
  const software = new SoftwareKeyProvider({ keys: [] });
  const sealed: Bytes = await encrypt([keys, software], new Uint8Array([1, 2, 3]), { context: { app: "x" } });
  const opened: Opened = await decrypt([keys], sealed, { requireContext: { app: "x" } });
  const again: Uint8Array = opened.plaintext;
  const plan: PlanResult = runPlan("{}");
  try {
    const outcome: Outcome = Instance.fromJSON(state).apply({ as: "owner", action: "CreateKey", params: { alias: "alias/app", protection: "software" } });
    if (outcome.quota.used > again.length && plan.matched && name.ok) return [];
  } catch (e) {
    if (isKmsError(e) || e instanceof KmsError) return [e.code, ...e.errors.map((p) => p.code)];
  }
  return report.errors.map((p) => p.code);
}
