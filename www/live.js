// A live endpoint (`kms-instance serve --cors <this page's origin>`, or KMS): its instances
// listed, one chosen; the BindVpcs form checks against it in the browser, then applies
// the change there; the share panel adds an account. The credentials are kept in this
// tab's memory only (the secret in the module's, until "Disconnect"): nothing is stored.
import { KmsApiClient } from "../pkg/dist/index.js";
import { useLive } from "./bindvpcs.js";
import { $, el, failure, fill, setStatus } from "./dom.js";

const SHARING = { version: "2020-01-10" };
let api; // the client, while connected
let chosen; // { id, arn, owner }

/** An answer as the page says it: the API's code and message, or what the caller gave. */
function refusal(answer) {
  const body = answer.body ?? {};
  return `${body.Code ?? `HTTP ${answer.status}`}: ${body.Message ?? "no message"}`;
}

function disconnect() {
  api?.free();
  api = undefined;
  chosen = undefined;
  useLive(undefined);
  $("live-view").hidden = true;
  $("live-disconnect").hidden = true;
  fill($("live-instances"), []);
  setStatus($("live-status"), true, "not connected");
}

async function connect(event) {
  event.preventDefault();
  disconnect();
  try {
    api = new KmsApiClient({ endpoint: $("live-endpoint").value.trim(), region: $("live-region").value.trim(), accessKeyId: $("live-key-id").value.trim(), accessKeySecret: $("live-secret").value });
  } catch (e) {
    setStatus($("live-status"), false, failure(e));
    return;
  }
  $("live-secret").value = ""; // kept in the module now, not in the page
  try {
    const listed = await api.call("ListKmsInstances", { PageSize: 100 });
    if (!listed.ok) throw new Error(refusal(listed));
    const instances = listed.body.KmsInstances.KmsInstance;
    fill($("live-instances"), instances.map(({ KmsInstanceId: id, KmsInstanceArn: arn }) => {
      const button = el("button", { type: "button", "data-instance": id, text: id });
      button.addEventListener("click", () => choose({ id, arn, owner: arn.split(":")[3] }));
      return el("li", {}, button);
    }));
    $("live-disconnect").hidden = false;
    setStatus($("live-status"), true, `connected: ${instances.length} instance(s)`);
  } catch (e) {
    setStatus($("live-status"), false, `the endpoint did not answer: ${failure(e)}`);
    api?.free();
    api = undefined;
  }
}

/** The chosen instance, read again from the server. */
async function refresh() {
  const got = await api.call("GetKmsInstance", { KmsInstanceId: chosen.id });
  if (!got.ok) throw new Error(refusal(got));
  const i = got.body.KmsInstance;
  const bound = i.BindVpcs.BindVpc;
  $("live-view").hidden = false;
  $("live-id").textContent = `${i.InstanceId} (${i.InstanceType ?? "?"})`;
  $("live-state").textContent = `${i.Status}${i.SaleStatus && i.SaleStatus !== "Normal" ? ` (${i.SaleStatus})` : ""}`;
  $("live-vpc").textContent = i.VpcId || "none";
  $("live-quota").textContent = `${i.Usage?.VpcNum ?? "?"} of ${i.VpcNum} used`;
  $("live-mode").textContent = i.ShareMode ?? "not shared";
  fill($("live-bound"), bound.map((v) => el("li", { text: `${v.VpcId} / ${v.VSwitchId}` })));
  // What the BindVpcs form checks against: this instance as the server has it now.
  useLive({
    label: `${i.InstanceId} at ${$("live-endpoint").value.trim()}`,
    facts: { region: $("live-region").value.trim(), owner: chosen.owner, primaryVpc: i.VpcId || undefined, purchased: i.VpcNum, principals: (i.Usage?.VpcNum ?? bound.length) - bound.length, current: bound },
    apply: applyBindVpcs,
  });
  return i;
}

async function choose(instance) {
  chosen = instance;
  try {
    await refresh();
    setStatus($("live-status"), true, `${instance.id}: the BindVpcs form now checks against it`);
  } catch (e) {
    setStatus($("live-status"), false, failure(e));
  }
}

/** Applies a BindVpcs document the page found valid; the server's answer, for the form to show. */
async function applyBindVpcs(document) {
  const answer = await api.call("UpdateKmsInstanceBindVpc", { KmsInstanceId: chosen.id, BindVpcs: document });
  if (!answer.ok) return { ok: false, text: `the server refused it: ${refusal(answer)}`, errors: answer.body?.Errors ?? [] };
  const quota = answer.body.AccessManagementQuota;
  await refresh();
  return { ok: true, text: `applied: the server's quota is ${quota.Used} of ${quota.Purchased} used (request ${answer.body.RequestId})`, errors: [] };
}

async function share(event) {
  event.preventDefault();
  const account = $("live-share-account").value.trim();
  try {
    // The share that holds this instance, if one does.
    const held = await api.call("ListResourceShareAssociations", { AssociationType: "Resource" }, SHARING);
    const existing = held.body?.ResourceShareAssociations?.find((a) => a.EntityId === chosen.id);
    const answer = existing
      ? await api.call("AssociateResourceShare", { ResourceShareId: existing.ResourceShareId, Targets: [account] }, SHARING)
      : await api.call("CreateResourceShare", {
          ResourceShareName: $("live-share-name").value.trim(), Targets: [account],
          Resources: [{ ResourceId: chosen.id, ResourceType: "KMSInstance" }],
          ResourceProperties: [{ ResourceArn: chosen.arn, Property: JSON.stringify({ shareMode: $("live-share-mode").value }) }],
        }, SHARING);
    if (!answer.ok) {
      setStatus($("live-share-status"), false, `the server refused it: ${refusal(answer)}`);
      return;
    }
    const failed = answer.body.FailedPrincipals ?? [];
    const quota = answer.body.AccessManagementQuota;
    setStatus($("live-share-status"), failed.length === 0, failed.length
      ? `the share holds, but ${failed.join(", ")} did not fit the quota (${quota.Used} of ${quota.Purchased} used): its association failed`
      : `shared with ${account}: ${quota.Used} of ${quota.Purchased} used`);
    await refresh();
  } catch (e) {
    setStatus($("live-share-status"), false, failure(e));
  }
}

/** Wires the section's forms. */
export function startLive() {
  $("live-form").addEventListener("submit", connect);
  $("live-disconnect").addEventListener("click", disconnect);
  $("live-share-form").addEventListener("submit", share);
  disconnect();
}
