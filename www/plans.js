// Change plans: the shared example plans one click away, each step's result on a
// timeline, the quota drawn across the steps, and what a chosen step changed.
import { auditLine, runPlan } from "../pkg/dist/index.js";
import { $, el, failure, setStatus } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
/** An SVG element; `title` is what a pointer's tooltip (and a screen reader) says of it. */
const svg = (tag, attributes, { title, text } = {}) => {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (title !== undefined) node.append(Object.assign(document.createElementNS(SVG, "title"), { textContent: title }));
  if (text !== undefined) node.append(text);
  return node;
};

/** Every leaf that differs between two states, by JSON pointer. */
export function changes(before, after, path = "") {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const nested = (v) => v !== null && typeof v === "object";
  if (nested(before) && nested(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    // JSON pointer (RFC 6901): "~" and "/" in a name are escaped.
    return keys.flatMap((k) => changes(before[k], after[k], `${path}/${k.replaceAll("~", "~0").replaceAll("/", "~1")}`));
  }
  return [{ path: path || "/", before, after }];
}

const json = (v) => (v === undefined ? "—" : JSON.stringify(v));
/** A value in a line: long ones cut (the line's title has them whole). */
const shown = (v) => (json(v).length > 160 ? `${json(v).slice(0, 160)}…` : json(v));

export class Plans {
  #result;
  #chosen = -1;
  #onChoose;
  #onClear;
  #asked = 0; // the example clicked last: an earlier one's answer arriving later is dropped

  /** `onChoose(state, label)` is told the state after the step a person picks; `onClear()`, that there is none. */
  constructor({ onChoose, onClear }) {
    [this.#onChoose, this.#onClear] = [onChoose, onClear];
    $("plan-run").addEventListener("click", () => {
      ++this.#asked; // an example still being fetched must not replace this plan
      this.run($("plan-input").value);
    });
  }

  /** The example plans the server lists, a button each. */
  async loadExamples() {
    const list = await fetch("/scenarios/").then((r) => (r.ok ? r.json() : []), () => []);
    $("plan-examples").replaceChildren(
      ...list.map(({ file, name }) => {
        const button = el("button", { type: "button", text: name, "data-file": file });
        button.addEventListener("click", async () => {
          const asked = ++this.#asked;
          try {
            const response = await fetch(`/scenarios/${encodeURIComponent(file)}`);
            if (!response.ok) throw new Error(`the server answered ${response.status} for ${file}`);
            const text = await response.text();
            if (asked !== this.#asked) return;
            $("plan-input").value = text;
            this.run(text);
          } catch (e) {
            if (asked === this.#asked) setStatus($("plan-status"), false, failure(e));
          }
        });
        return button;
      }),
    );
    if (!list.length) $("plan-examples").textContent = "No example plans are served: paste one below.";
  }

  run(text) {
    $("plan-detail").hidden = true;
    $("plan-quota").hidden = true;
    $("plan-steps").replaceChildren();
    this.#chosen = -1;
    this.#onClear();
    try {
      this.#result = runPlan(text, { states: true });
    } catch (e) {
      this.#result = undefined;
      setStatus($("plan-status"), false, failure(e));
      return;
    }
    const { name, steps, matched } = this.#result;
    const agreed = steps.filter((s) => s.matched).length;
    setStatus($("plan-status"), matched, `${name}: ${agreed} of ${steps.length} steps did what the plan expects`);
    $("plan-steps").replaceChildren(...steps.map((s, i) => this.#stepItem(s, i)));
    this.#chart();
    if (steps.length) this.choose(steps.length - 1);
  }

  #stepItem(s, i) {
    const outcome = s.ok ? (s.warnings.length ? `ok, ${s.warnings.join(", ")}` : "ok") : s.errors[0];
    const button = el(
      "button",
      { type: "button", className: `step ${s.ok ? "ok" : "refused"} ${s.matched ? "" : "differs"}`, "aria-pressed": "false", "aria-controls": "plan-detail", "data-index": String(s.index) },
      el("span", { className: "step-n", text: `${s.index}` }),
      el("span", { className: "step-call", text: `${s.caller} · ${s.action}` }),
      el("span", { className: "step-outcome", text: outcome }),
      el("span", { className: "step-quota", text: `quota ${s.quotaUsed}/${s.quotaPurchased}` }),
      el("span", { className: "step-match", text: s.matched ? "as expected" : `differs: ${s.differences.join("; ")}` }),
    );
    button.addEventListener("click", () => this.choose(i));
    return el("li", {}, button);
  }

  /** The quota in use after each step, bars against the purchased line. */
  #chart() {
    const steps = this.#result.steps;
    if (!steps.length) return;
    const top = Math.max(1, ...steps.map((s) => Math.max(s.quotaUsed, s.quotaPurchased)));
    const [w, h, left, base] = [48, 110, 28, 100];
    const y = (n) => base - (n / top) * 90;
    const chart = $("plan-quota-chart");
    chart.setAttribute("viewBox", `0 0 ${left + steps.length * w + 4} ${h + 12}`);
    const purchased = steps.map((s, i) => `${i ? "L" : "M"}${left + i * w},${y(s.quotaPurchased)} L${left + (i + 1) * w},${y(s.quotaPurchased)}`).join(" ");
    chart.replaceChildren(
      svg("text", { x: 10, y: y(top) + 4, class: "tick" }, { text: String(top) }),
      svg("line", { x1: left, x2: left + steps.length * w, y1: base, y2: base, class: "axis" }),
      ...steps.map((s, i) =>
        svg(
          "rect",
          { x: left + i * w + 4, y: y(s.quotaUsed), width: w - 8, height: base - y(s.quotaUsed), class: `bar ${s.quotaUsed > s.quotaPurchased ? "over" : ""}`, "data-index": s.index },
          { title: `step ${s.index}: ${s.quotaUsed} of ${s.quotaPurchased}` },
        ),
      ),
      ...steps.map((s, i) => svg("text", { x: left + i * w + w / 2, y: h + 8, class: "tick" }, { text: String(s.index) })),
      svg("path", { d: purchased, class: "purchased" }),
    );
    const over = steps.filter((s) => s.quotaUsed > s.quotaPurchased).map((s) => s.index);
    $("plan-quota-caption").textContent =
      `Quota in use after each step: ${steps.map((s) => s.quotaUsed).join(", ")}; purchased (the line): ${[...new Set(steps.map((s) => s.quotaPurchased))].join(" → ")}` +
      (over.length ? `; over it after step ${over.join(", ")}` : "");
    $("plan-quota").hidden = false;
  }

  /** Shows step `i`: its result, what it changed, and its state to the rest of the page. */
  choose(i) {
    const steps = this.#result.steps;
    const step = steps[i];
    this.#chosen = i;
    for (const b of $("plan-steps").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.index === String(step.index)));
    for (const bar of $("plan-quota-chart").querySelectorAll("rect")) bar.classList.toggle("chosen", bar.dataset.index === String(step.index));
    const before = i ? steps[i - 1].state : this.#result.start;
    $("plan-detail-title").textContent = `Step ${step.index}: ${step.action} as ${step.caller}`;
    $("plan-detail-result").textContent = step.ok
      ? `Succeeded${step.warnings.length ? ` with ${step.warnings.join(", ")}` : ""}.`
      : `Refused: ${step.message ?? step.errors.join(", ")}`;
    $("plan-detail-audit").textContent = auditLine(step.audit);
    const diff = changes(before, step.state);
    $("plan-diff").replaceChildren(
      ...(diff.length
        ? diff.map((c) => el("li", { "data-path": c.path, title: `${json(c.before)} → ${json(c.after)}` }, el("code", { text: c.path }), ` ${shown(c.before)} → ${shown(c.after)}`))
        : [el("li", { text: step.ok ? "Nothing in the state." : "Nothing: a refused request changes nothing." })]),
    );
    $("plan-detail").hidden = false;
    this.#onChoose(step.state, `after step ${step.index}`);
  }

  /** The chosen step: the state after it, and what to call it. */
  get chosen() {
    const step = this.#result?.steps[this.#chosen];
    return step && { state: step.state, label: `after step ${step.index}` };
  }
}
