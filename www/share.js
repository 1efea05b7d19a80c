// The share of a state: owner, principals and their associations, the ownership
// mode, and what each account may do, asked of the instance itself (`check`), so the
// page holds no rule of its own.
import { Instance } from "../pkg/dist/index.js";
import { $, el, fill } from "./dom.js";

/** What is asked of each account: one request per row of the permission matrix, and each key's management. */
function probes(state) {
  const keys = state.instance.keys ?? [];
  return [
    { label: "Manage the instance", request: { action: "DescribeKmsInstance" } },
    { label: "Create keys", request: { action: "CreateKey", params: { alias: "alias/console-probe" } } },
    { label: "Back up", request: { action: "CreateBackup" } },
    ...keys.map((k) => ({ label: `Manage ${k.alias}`, request: { action: "DescribeKey", params: { key: k.alias } } })),
  ];
}

const principalText = (p) => (p.type === "directory" ? `the whole directory${p.id ? ` ${p.id}` : ""}` : `${p.type} ${p.id}`);

/** No state to show (no plan run, or one without steps). */
export function clearShare() {
  $("share-when").textContent = "";
  $("share-view").hidden = true;
  $("share-empty").hidden = false;
}

export function showShare(state, when) {
  $("share-when").textContent = when;
  const { directory, instance } = state;
  const nameOf = (id) => directory.accounts?.find((a) => a.id === id)?.name;
  const who = (id) => (nameOf(id) ? `${id} (${nameOf(id)})` : id);
  const share = instance.share;
  $("share-empty").hidden = true;
  $("share-view").hidden = false;
  $("share-owner").textContent = who(instance.ownerId);
  $("share-name").textContent = share ? share.name : "not shared";
  $("share-mode").textContent = share ? share.mode : "—";
  $("share-permission").textContent = share ? `${share.permission.name}${share.permission.version ? ` ${share.permission.version}` : ""}` : "—";
  const associations = share?.associations ?? [];
  fill($("share-principals"), (share?.principals ?? []).map((p) => el("li", { text: principalText(p) })));
  fill(
    $("share-associations"),
    associations.map((a) => el("li", { className: `association ${a.status}`, "data-account": a.account, text: `${who(a.account)}: ${a.status}` })),
  );

  const accounts = ["owner", ...associations.map((a) => a.account)];
  const asks = probes(state);
  const instanceNow = Instance.fromJSON(state);
  try {
    const rows = accounts.map((account) => {
      const cells = asks.map(({ request }) => {
        const decision = instanceNow.check({ as: account, ...request });
        return decision.allowed
          ? el("td", { className: "allowed", text: "yes" })
          : el("td", { className: "denied", title: decision.denied.message }, decision.denied.code, el("span", { className: "sr-only", text: `: ${decision.denied.message}` }));
      });
      return el("tr", { "data-account": account }, el("th", { scope: "row", text: account === "owner" ? `owner ${who(instance.ownerId)}` : who(account) }), ...cells);
    });
    $("share-access").tHead.replaceChildren(el("tr", {}, el("th", { scope: "col", text: "Account" }), ...asks.map((a) => el("th", { scope: "col", text: a.label }))));
    $("share-access").tBodies[0].replaceChildren(...rows);
  } finally {
    instanceNow.free();
  }
}
