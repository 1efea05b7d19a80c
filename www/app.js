// The console page: every check is the package's (the same Rust rules the server
// runs); this file only reads the form and shows the answers.
import { decrypt, encrypt, isKmsError, runPlan, validateBindVpcs, validateId, validateName, WebCryptoKeyProvider } from "../pkg/dist/index.js";

const $ = (id) => document.getElementById(id);

function setStatus(node, ok, text) {
  node.textContent = text;
  node.className = `status ${ok ? "ok" : "bad"}`;
}

function problemItem(p) {
  const li = document.createElement("li");
  li.dataset.code = p.code;
  li.dataset.path = p.path ?? "";
  li.innerHTML = `<code></code> <strong></strong> — <span></span>`;
  li.querySelector("code").textContent = p.path || "(document)";
  li.querySelector("strong").textContent = p.code;
  li.querySelector("span").textContent = p.message;
  return li;
}

// ---- BindVpcs ---------------------------------------------------------------
const example = [
  { VpcId: "vpc-bp1go9qvmj78j4f4c0001", VSwitchId: "vsw-bp16c5pvvcf0fp5b90001", RegionId: "cn-hangzhou", VpcOwnerId: 1192853035110000 },
  { VpcId: "vpc-bp1go9qvmj78j4f4c0001", VswitchId: "vsw-bp16c5pvvcf0fp5b90002", RegionId: "cn-shanghai", VpcOwnerId: 1207089758810000 },
];
$("bv-input").value = JSON.stringify(example, null, 1);

function checkBindVpcs() {
  const context = { region: $("bv-region").value || undefined, owner: $("bv-owner").value || undefined, primaryVpc: $("bv-primary").value || undefined };
  const report = validateBindVpcs($("bv-input").value, context);
  const list = $("bv-problems");
  list.replaceChildren(...report.errors.map(problemItem), ...report.warnings.map(problemItem));
  setStatus($("bv-status"), report.ok, report.ok
    ? `valid: ${report.vpcs.length} VPC(s) to bind${report.warnings.length ? `, ${report.warnings.length} to review` : ""}`
    : `${report.errors.length} problem(s)`);
}
for (const id of ["bv-input", "bv-region", "bv-owner", "bv-primary"]) $(id).addEventListener("input", checkBindVpcs);

// ---- names ------------------------------------------------------------------
function checkName() {
  const kind = $("name-kind").value;
  const check = kind.endsWith("-id") ? validateId(kind, $("name-value").value) : validateName(kind, $("name-value").value);
  setStatus($("name-status"), check.ok, check.ok ? "valid" : `${check.error.code} (${check.error.rule}): ${check.error.message}`);
}
$("name-kind").addEventListener("change", checkName);
$("name-value").addEventListener("input", checkName);

// ---- plans ------------------------------------------------------------------
$("plan-run").addEventListener("click", () => {
  const body = $("plan-steps").querySelector("tbody");
  body.replaceChildren();
  try {
    const result = runPlan($("plan-input").value);
    for (const s of result.steps) {
      const tr = document.createElement("tr");
      tr.className = s.matched ? "" : "differs";
      const outcome = s.errors[0] ?? "ok";
      for (const text of [s.index, s.caller, s.action, outcome, `${s.quotaUsed}/${s.quotaPurchased}`, s.matched ? "matched" : s.differences.join("; ")]) {
        const td = document.createElement("td");
        td.textContent = String(text);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    const matched = result.steps.filter((s) => s.matched).length;
    setStatus($("plan-status"), result.matched, `${result.name}: ${matched} of ${result.steps.length} steps matched`);
  } catch (e) {
    setStatus($("plan-status"), false, isKmsError(e) ? e.message : String(e));
  }
});

// ---- envelope ---------------------------------------------------------------
const ARN = "acs:kms:cn-hangzhou:1207089758810000:key/key-console";
const keys = WebCryptoKeyProvider.generate([ARN]);
$("seal-run").addEventListener("click", async () => {
  try {
    const provider = await keys;
    const plaintext = new TextEncoder().encode($("seal-input").value);
    const sealed = await encrypt([provider], plaintext, { context: { page: "console" } });
    const opened = await decrypt([provider], sealed, { requireContext: { page: "console" } });
    const text = new TextDecoder().decode(opened.plaintext);
    $("seal-output").textContent = `${sealed.length} bytes: ${btoa(String.fromCharCode(...sealed.slice(0, 96)))}…`;
    setStatus($("seal-status"), text === $("seal-input").value, `sealed and opened with ${opened.keyArn}: "${text}"`);
  } catch (e) {
    setStatus($("seal-status"), false, isKmsError(e) ? e.message : String(e));
  }
});

checkBindVpcs();
checkName();
$("module-status").textContent = "rules loaded (WebAssembly).";
document.body.dataset.ready = "true";
