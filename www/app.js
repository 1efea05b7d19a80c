// The console page: every check is the package's (the same Rust rules the server
// runs); these modules read the forms and draw the answers.
import { validateId, validateName } from "../pkg/dist/index.js";
import { startBindVpcs, useState } from "./bindvpcs.js";
import { $, setStatus } from "./dom.js";
import { Envelope } from "./envelope.js";
import { startLive } from "./live.js";
import { Plans } from "./plans.js";
import { clearShare, showShare } from "./share.js";

// ---- plans and the share ----------------------------------------------------
const plans = new Plans({ onChoose: showShare, onClear: clearShare });
$("plan-use").addEventListener("click", () => useState(plans.chosen));

// ---- names ------------------------------------------------------------------
function checkName() {
  const kind = $("name-kind").value;
  const check = kind.endsWith("-id") ? validateId(kind, $("name-value").value) : validateName(kind, $("name-value").value);
  setStatus($("name-status"), check.ok, check.ok ? "valid" : `${check.error.code} (${check.error.rule}): ${check.error.message}`);
}
$("name-kind").addEventListener("change", checkName);
$("name-value").addEventListener("input", checkName);

startBindVpcs();
startLive();
new Envelope();
checkName();
await plans.loadExamples();
$("module-status").textContent = "rules loaded (WebAssembly).";
document.body.dataset.ready = "true";
