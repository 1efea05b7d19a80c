// A text field that underlines problems where they are. The textarea stays the
// control (selection, undo, screen readers all work as usual); a mirror of its text
// lies under it, with each problem's UTF-16 range (`place.utf16Start..utf16End`, what
// the package reports) wrapped in a <mark>. Both wrap the same way and the textarea
// grows to its text, so the marks sit under the characters they mark.

/**
 * Problems of no place, and of the document as a whole (`path` "" and a range over all
 * of it, as a quota past the purchased one), are listed, not underlined; where the text
 * stops being JSON (`path` "" too) is underlined.
 */
const underlined = (p, text) =>
  p.place && !(p.path === "" && !text.slice(0, p.place.utf16Start).trim() && !text.slice(p.place.utf16End).trim());

const describe = (p) => `line ${p.place.line}, column ${p.place.column}: ${p.code}${p.rule ? ` (${p.rule})` : ""}: ${p.message}`;

export class ProblemEditor {
  #input;
  #mirror;
  #tip;
  #caret;
  #problems = [];
  #of = new WeakMap(); // mark → its problems
  #said = "";

  constructor({ input, mirror, tip, caret }) {
    [this.#input, this.#mirror, this.#tip, this.#caret] = [input, mirror, tip, caret];
    input.addEventListener("mousemove", (e) => this.#hover(e.clientX, e.clientY));
    input.addEventListener("mouseleave", () => (this.#tip.hidden = true));
    for (const event of ["keyup", "click", "select", "focus"]) input.addEventListener(event, () => this.#announce());
    new ResizeObserver(() => this.#fit()).observe(input);
  }

  /** Marks each problem (`level` "error" or "warning") in the field's current text. */
  mark(problems) {
    const text = this.#input.value;
    this.#problems = problems.filter((p) => underlined(p, text));
    const cuts = [...new Set([0, text.length, ...this.#problems.flatMap((p) => [p.place.utf16Start, p.place.utf16End])])].sort((a, b) => a - b);
    const nodes = [];
    cuts.forEach((at, i) => {
      // A problem of no width (where the text stops being JSON) is a caret-like mark.
      const points = this.#problems.filter((p) => p.place.utf16Start === at && p.place.utf16End === at);
      if (points.length) nodes.push(this.#markOf(points, ""));
      const end = cuts[i + 1];
      if (end === undefined) return;
      const over = this.#problems.filter((p) => p.place.utf16Start <= at && p.place.utf16End >= end);
      const part = text.slice(at, end);
      nodes.push(over.length ? this.#markOf(over, part) : document.createTextNode(part));
    });
    // A last newline needs a character after it to take its line, as it does in the field.
    this.#mirror.replaceChildren(...nodes, "\u200b");
    this.#fit();
    this.#announce();
  }

  /** Selects a problem's range in the field, and shows it. */
  select(problem) {
    this.#input.focus();
    if (!problem.place) return;
    this.#input.setSelectionRange(problem.place.utf16Start, problem.place.utf16End);
    this.#marks().find((m) => m.problems.includes(problem))?.node.scrollIntoView({ block: "nearest" });
    this.#announce();
  }

  #markOf(problems, text) {
    const mark = document.createElement("mark");
    mark.className = problems.some((p) => p.level === "error") ? "error" : "warning";
    if (!text) mark.classList.add("point");
    mark.textContent = text;
    mark.dataset.codes = problems.map((p) => p.code).join(" ");
    this.#of.set(mark, problems);
    return mark;
  }

  #marks() {
    return [...this.#mirror.querySelectorAll("mark")].map((node) => ({ node, problems: this.#of.get(node) }));
  }

  #fit() {
    const field = this.#input;
    field.style.height = "auto";
    field.style.height = `${field.scrollHeight + field.offsetHeight - field.clientHeight}px`;
  }

  /** The message of the mark under the pointer, beside it. */
  #hover(x, y) {
    const slack = 3;
    for (const { node, problems } of this.#marks()) {
      const rect = [...node.getClientRects()].find((r) => x >= r.left - slack && x <= r.right + slack && y >= r.top && y <= r.bottom);
      if (!rect) continue;
      const box = this.#input.parentElement.getBoundingClientRect();
      this.#tip.replaceChildren(...problems.map((p) => Object.assign(document.createElement("p"), { textContent: describe(p) })));
      this.#tip.style.left = `${Math.max(0, rect.left - box.left)}px`;
      this.#tip.style.top = `${rect.bottom - box.top + 4}px`;
      this.#tip.hidden = false;
      return;
    }
    this.#tip.hidden = true;
  }

  /** Says (politely, to a screen reader too) which problem the caret is in. */
  #announce() {
    const at = this.#input.selectionStart;
    const here = this.#problems.filter((p) => p.place.utf16Start <= at && at <= p.place.utf16End);
    const said = here.map(describe).join(" · ");
    if (said !== this.#said) this.#caret.textContent = this.#said = said;
  }
}
