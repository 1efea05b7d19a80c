// Checks the BindVpcs field as it is typed, with the rules the KMS server applies, and
// lists every problem at once with its line:column, so nobody learns about the second
// mistake only after fixing the first. Each place is a button that selects the text at
// fault in the field.
import { validateBindVpcs } from "kms-instance/validate";

const field = document.querySelector("#bindvpcs");
const region = document.querySelector("#region");
const status = document.querySelector("#status");
const list = document.querySelector("#problems");

function show(text, ok) {
  status.textContent = text;
  status.className = ok ? "ok" : "bad";
}

function problemItem(problem) {
  const item = document.createElement("li");
  item.dataset.code = problem.code;
  // A problem of the context (a mistyped region) or of the whole document has no place in the text.
  if (problem.place) {
    const { line, column, utf16Start, utf16End } = problem.place;
    const where = Object.assign(document.createElement("button"), { type: "button", className: "where", textContent: `${line}:${column}` });
    // utf16 offsets are what a textarea's selection counts in (not bytes, not code points).
    where.addEventListener("click", () => {
      field.focus();
      field.setSelectionRange(utf16Start, utf16End);
    });
    item.append(where, " ");
  }
  const code = Object.assign(document.createElement("strong"), { className: "code", textContent: problem.code });
  item.append(code, ` ${problem.message}`);
  return item;
}

function check() {
  if (!field.value.trim()) {
    list.replaceChildren();
    return show("Paste or type the VPCs to bind, as JSON.", true);
  }
  let report;
  try {
    // Synchronous and well under a millisecond for a form-sized document: no debounce needed.
    report = validateBindVpcs(field.value, { region: region.value.trim() || undefined });
  } catch (e) {
    // The module could not load (a Content-Security-Policy without 'wasm-unsafe-eval', …): say so.
    list.replaceChildren();
    return show(`Cannot check: ${e.message}`, false);
  }
  list.replaceChildren(...report.errors.map(problemItem));
  if (report.ok) show(`Valid: ${report.vpcs.length} VPC(s) to bind.`, true);
  else show(`${report.errors.length + report.omitted} problem(s)`, false);
}

field.addEventListener("input", check);
region.addEventListener("input", check);
// Enter in the region field would submit the form and reload the page, losing the text.
document.querySelector("#form").addEventListener("submit", (e) => e.preventDefault());
check();
document.body.dataset.ready = "true";
