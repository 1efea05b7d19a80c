// A consumer's code, type-checked with `tsc --strict --noEmit` against the built
// package (resolved through its `exports`, as an npm user's would be).
import {
  decrypt, encrypt, inspectMessage, Instance, isKmsError, KmsError, runPlan, SoftwareKeyProvider, validateBindVpcs, validateId,
  validateName, WebCryptoKeyProvider, XksKeyProvider,
} from "kms-instance";
import type {
  SealAlgorithm, BindVpcsReport, Code, Decision, State, JsKeyProvider, MessageSummary, NameCheck, Opened, Outcome, Plan, PlanResult, Problem, Request,
} from "kms-instance";

const report: BindVpcsReport = validateBindVpcs(
  [{ VpcId: "vpc-bp1go9qvmj78j4f4c0001", VSwitchId: "vsw-bp16c5pvvcf0fp5b90001", RegionId: "cn-hangzhou", VpcOwnerId: 1207089758810000 }],
  { region: "cn-hangzhou", owner: "1207089758810000" },
);
const firstCode: Code | undefined = report.errors[0]?.code;
const checks: NameCheck[] = [validateName("alias", "alias/app"), validateId("vpc-id", "vpc-1")];
const regionCheck = validateId("region-id", "cn-hangzhuo");
if (regionCheck.ok) console.log(regionCheck.warning?.code);
for (const check of checks) {
  if (!check.ok) {
    const problem: Problem = check.error;
    console.log(problem.code, problem.path, problem.rule);
  }
}

declare const state: State;
const instance = Instance.fromJSON(state);
const request: Request = { as: "owner", action: "CreateKey", params: { alias: "alias/app", protection: "software" } };
const noParams: Request = { as: "1192853035110000", action: "CreateBackup", ram: ["kms:*"] };
try {
  const outcome: Outcome = instance.apply(request, { now: new Date(), requestId: "r-1" });
  console.log(outcome.quota.used, outcome.audit.result, outcome.keyId);
} catch (e) {
  if (isKmsError(e)) {
    const code: Code = e.code;
    console.log(code, e.errors.length, e.audit?.requestId);
  }
}
const decision: Decision = instance.check(noParams);
const form: BindVpcsReport = validateBindVpcs("[]", instance.bindVpcsContext());
console.log(form.quota?.after);
console.log(decision.allowed, decision.denied?.rule, instance.quota().purchased, instance.toJSON().instance.status);

declare const plan: Plan;
const result: PlanResult = runPlan(plan);
console.log(result.matched, result.steps.map((s) => s.errors.join(",")));
const states: (State | undefined)[] = runPlan(plan, { states: true }).steps.map((s) => s.state);
console.log(states.length);

async function seal(): Promise<Opened> {
  const software = new SoftwareKeyProvider({ keys: [{ arn: "acs:kms:cn-hangzhou:1:key/a", material: "AA==" }] });
  const webcrypto = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1:key/b"]);
  const store: JsKeyProvider = webcrypto;
  const message: Uint8Array = await encrypt([software, store], new Uint8Array(8), { context: { app: "x" }, algorithm: "AES_GCM_128" });
  const hsm = new XksKeyProvider({
    endpoint: "https://xks.example.com", uriPrefix: "/p", accessKeyId: "AKIA", secretAccessKey: "s", principal: "p",
    keys: ["acs:kms:cn-hangzhou:1:key/c", { arn: "acs:kms:cn-hangzhou:1:key/d", externalKeyId: "d" }], timeoutMs: 2000,
  });
  await encrypt([hsm, software], new Uint8Array(8));
  const sm4: SealAlgorithm = 9;
  await encrypt([software], new Uint8Array(8), { algorithm: "SM4_GCM_128" });
  await encrypt([software], new Uint8Array(8), { algorithm: sm4 });
  // @ts-expect-error: an algorithm is one of the table's names or numbers
  await encrypt([software], new Uint8Array(8), { algorithm: 13 });
  // @ts-expect-error: a legacy algorithm is never sealed
  await encrypt([software], new Uint8Array(8), { algorithm: "AES_CTR_128" });
  await decrypt([software], message, { allowLegacyAlgorithms: true });
  // @ts-expect-error: the secret is required
  new XksKeyProvider({ endpoint: "https://x", uriPrefix: "", accessKeyId: "a", principal: "p", keys: [] });
  const header: MessageSummary = inspectMessage(message);
  console.log(header.algorithm, header.dataKeys.map((k) => k.keyArn), header.context.app, header.bodyBytes);
  return decrypt([webcrypto], message, { requireContext: { app: "x" } });
}
void seal().catch((e: unknown) => e instanceof KmsError && console.log(e.code));

const share: Request = { as: "owner", action: "CreateResourceShare", params: { name: "s", mode: "joint", principals: [{ type: "account", id: "1" }] } };
// @ts-expect-error: a share's mode is one of ShareMode's
const misspeltMode: Request = { as: "owner", action: "CreateResourceShare", params: { name: "s", mode: "jiont" } };
// @ts-expect-error: a principal's type is account, folder or directory
const misspeltPrincipal: Request = { as: "owner", action: "AssociatePrincipals", params: { principals: [{ type: "acount", id: "1" }] } };
console.log(share, misspeltMode, misspeltPrincipal);
// @ts-expect-error: an unknown action is a type error
const wrong: Request = { as: "owner", action: "LaunchRocket" };
// @ts-expect-error: the params of CreateKey need an alias
const incomplete: Request = { as: "owner", action: "CreateKey", params: {} };
// @ts-expect-error: CreateKey has parameters, so they cannot be left out
const missing: Request = { as: "owner", action: "CreateKey" };
// @ts-expect-error: validateId takes id kinds only
validateId("alias", "alias/x");
void [firstCode, wrong, incomplete, missing];
