// The BindVpcs form: the document underlined where it is wrong, what it would add,
// remove and keep, and the quota it would use, against facts typed in or a plan's state.
import { Instance, validateBindVpcs } from "../pkg/dist/index.js";
import { $, el, failure, fill, setStatus } from "./dom.js";
import { ProblemEditor } from "./editor.js";

const example = [
  { VpcId: "vpc-bp1go9qvmj78j4f4c0001", VSwitchId: "vsw-bp16c5pvvcf0fp5b90001", RegionId: "cn-hangzhou", VpcOwnerId: 1192853035110000 },
  { VpcId: "vpc-bp1go9qvmj78j4f4c0001", VswitchId: "vsw-bp16c5pvvcf0fp5b90002", RegionId: "cn-shanghai", VpcOwnerId: 1207089758810000 },
];
let editor;
let current = []; // the VPCs bound now, when a state was loaded
let fromPlan = false; // whether the facts are a plan's state's or a live instance's
let live; // the live instance the change can be applied to ({ label, facts, apply }), if one is chosen

/** The facts typed in the form above the editor, as the context validateBindVpcs takes. */
function formContext() {
  const number = (id) => ($(id).value === "" ? undefined : Number($(id).value));
  const purchased = number("bv-purchased");
  return {
    region: $("bv-region").value || undefined,
    owner: $("bv-owner").value || undefined,
    primaryVpc: $("bv-primary").value || undefined,
    current,
    quota: purchased === undefined ? undefined : { purchased, principals: number("bv-principals") ?? 0 },
  };
}

function problemItem(p) {
  const where = p.place ? `line ${p.place.line}, column ${p.place.column}` : "the document";
  const label = [el("span", { className: "where", text: where }), " ", el("strong", { text: p.code }), p.rule ? ` (${p.rule})` : "", " — ", p.message];
  const item = el("li", { className: p.level, "data-code": p.code, "data-path": p.path ?? "" });
  if (!p.place) {
    item.append(...label);
  } else {
    const button = el("button", { type: "button", className: "jump", "aria-label": `${p.code} at ${where}: ${p.message}. Select it in the editor.` }, ...label);
    button.addEventListener("click", () => editor.select(p));
    item.append(button);
  }
  return item;
}

/**
 * Purchased, used by principals, used by VPCs now and after the change in the editor:
 * the report's numbers, drawn. No report: the facts were refused, nothing to draw.
 */
function gauge(report, context) {
  const bar = $("bv-gauge-bar");
  const q = report?.quota;
  if (!q) {
    bar.replaceChildren();
    bar.classList.remove("over");
    bar.setAttribute("aria-label", "no quota drawn");
    $("bv-gauge-caption").textContent = !report
      ? ""
      : !context.quota
        ? "Give the purchased quota to see what the change uses of it."
        : "The quota is drawn once every entry is valid.";
    return;
  }
  const principals = context.quota.principals;
  const [vpcsNow, vpcsAfter] = [context.current.length, report.vpcs.length];
  const scale = Math.max(1, q.purchased, q.after, q.before);
  const pct = (n) => `${(n / scale) * 100}%`;
  const over = q.after - q.purchased;
  const part = (className, from, to, title) => Object.assign(el("span", { className, title }), { style: `left:${pct(from)};width:${pct(to - from)}` });
  // Principals, then VPCs, from 0 to what the change uses; past the purchased quota, hatched over them.
  bar.replaceChildren(
    part("used principals", 0, principals, `${principals} used by principals`),
    part("used vpcs", principals, q.after, `${vpcsAfter} used by VPCs`),
    ...(over > 0 ? [part("used over", q.purchased, q.after, `${over} over the quota`)] : []),
    Object.assign(el("span", { className: "mark purchased", title: `${q.purchased} purchased` }), { style: `left:${pct(q.purchased)}` }),
    Object.assign(el("span", { className: "mark now", title: `${q.before} in use now` }), { style: `left:${pct(q.before)}` }),
  );
  const verdict = over > 0 ? `over the quota by ${over}` : `${q.purchased - q.after} left`;
  const text = `${q.after} of ${q.purchased} purchased after this change (${principals} used by principals, ${vpcsAfter} by VPCs; ${q.before} in use now, ${vpcsNow} of them VPCs): ${verdict}`;
  bar.setAttribute("aria-label", text);
  bar.classList.toggle("over", over > 0);
  $("bv-gauge-caption").textContent = text;
}

function checkBindVpcs() {
  const context = formContext();
  let report;
  try {
    report = validateBindVpcs($("bv-input").value, context);
  } catch (e) {
    report = { errors: [{ code: "", message: failure(e), path: "/context" }] };
  }
  // A problem under /context: the facts above are wrong, not the document. Say so, and
  // show no stale result.
  const facts = report.errors.find((p) => p.path?.startsWith("/context"));
  if (facts) {
    $("bv-apply").disabled = true;
    setStatus($("bv-status"), false, `The instance's facts: ${facts.code ? `${facts.code} at ${facts.path}: ` : ""}${facts.message}`);
    editor.mark([]);
    $("bv-input").removeAttribute("aria-invalid");
    $("bv-problems").replaceChildren();
    $("bv-diff").hidden = true;
    gauge(undefined, context);
    return;
  }
  const problems = [...report.errors.map((p) => ({ ...p, level: "error" })), ...report.warnings.map((p) => ({ ...p, level: "warning" }))];
  editor.mark(problems);
  $("bv-input").setAttribute("aria-invalid", String(!report.ok));
  $("bv-problems").replaceChildren(...problems.map(problemItem));
  const omitted = report.omitted ? `, ${report.omitted} more not listed` : "";
  setStatus($("bv-status"), report.ok, report.ok
    ? `valid: ${report.vpcs.length} VPC(s) to bind${report.warnings.length ? `, ${report.warnings.length} to review` : ""}`
    : `${report.errors.length} problem(s)${omitted}`);
  $("bv-diff").hidden = !report.ok;
  $("bv-apply").disabled = !report.ok || !live;
  for (const [id, vpcs] of [["bv-added", report.added], ["bv-removed", report.removed], ["bv-kept", report.kept]]) {
    fill($(id), vpcs.map((v) => el("li", { text: v })));
  }
  gauge(report, context);
}
const FACTS = ["bv-region", "bv-owner", "bv-primary", "bv-purchased", "bv-principals"];

/** Starts the form with an example that has mistakes, checked as it is typed. */
export function startBindVpcs() {
  $("bv-input").value = JSON.stringify(example, null, 2);
  editor = new ProblemEditor({ input: $("bv-input"), mirror: $("bv-backdrop"), tip: $("bv-tip"), caret: $("bv-caret") });
  $("bv-input").addEventListener("input", checkBindVpcs);
  for (const id of FACTS) {
    $(id).addEventListener("input", () => {
      if (fromPlan) $("bv-source").textContent = "(edited by hand)";
      checkBindVpcs();
    });
  }
  $("bv-apply").addEventListener("click", apply);
  checkBindVpcs();
}

/** The facts the editor is checked against, from a plan's state or a live instance. */
function loadFacts(values, bound, source) {
  current = bound;
  FACTS.forEach((id, i) => ($(id).value = String(values[i] ?? "")));
  $("bv-current").textContent = current.length ? current.map((v) => v.VpcId).join(", ") : "none";
  $("bv-source").textContent = source;
  fromPlan = true;
  checkBindVpcs();
}

/** Applies the document, which the page found valid, to the live instance; shows the server's answer. */
async function apply() {
  const status = $("bv-apply-status");
  setStatus(status, true, "applying…");
  try {
    const answer = await live.apply($("bv-input").value);
    setStatus(status, answer.ok, answer.text);
    $("bv-apply-errors").replaceChildren(...answer.errors.map((p) => el("li", { text: `${p.Path ?? ""} ${p.Code}: ${p.Message}`.trim() })));
  } catch (e) {
    setStatus(status, false, failure(e));
  }
}

/** Checks the editor against a live instance (or none), and lets the change be applied to it. */
export function useLive(instance) {
  live = instance;
  $("bv-apply-row").hidden = !live;
  $("bv-apply-status").textContent = "";
  $("bv-apply-errors").replaceChildren();
  if (!live) {
    checkBindVpcs();
    return;
  }
  const f = live.facts;
  loadFacts([f.region, f.owner, f.primaryVpc, f.purchased, f.principals], f.current, `(the live instance ${live.label})`);
}

/** Checks the editor against a plan step's state: what the instance itself would check a document against. */
export function useState({ state, label }) {
  const instance = Instance.fromJSON(state);
  let context;
  try {
    context = instance.bindVpcsContext();
  } finally {
    instance.free();
  }
  const values = [context.region, context.owner, context.primaryVpc, context.quota.purchased, context.quota.principals];
  // A plan's facts: nothing checked against them is applied to a live instance.
  live = undefined;
  $("bv-apply-row").hidden = true;
  loadFacts(values, context.current, `(the plan's state ${label})`);
  $("bv-input").focus();
}
