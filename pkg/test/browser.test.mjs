// The console page (www/) in headless Chromium, driven as a person would: typing,
// hovering, clicking, pressing keys, dropping and choosing files; what is asserted is
// what is on screen. Screenshots go to target/console/ for a reviewer (not committed).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { serve } from "../../www/serve.mjs";
import { inspectMessage, runPlan } from "../dist/index.js";
import { repoRoot, scenarioFiles, sharedRoot } from "./helpers.mjs";
import { ACCESS_KEY_ID, INSTANCE, instanceSeed, PRINCIPAL, SECRET, startServe } from "./kms/serve.mjs";

const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const shots = `${repoRoot}/target/console`;
let server, browser, page;
const consoleErrors = [];

before(async () => {
  mkdirSync(shots, { recursive: true });
  server = await serve(0, repoRoot, join(sharedRoot, "scenarios"));
  browser = await chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  await page.goto(`http://127.0.0.1:${server.address().port}/www/`);
  await page.waitForSelector("body[data-ready=true]");
});

after(async () => {
  await browser?.close();
  server?.close();
});

const text = (selector) => page.textContent(selector);
const texts = (selector) => page.$$eval(selector, (nodes) => nodes.map((n) => n.textContent.trim()));
const entry = (n, owner = "1207089758810000") =>
  ({ VpcId: `vpc-bp1go9qvmj78j4f4c000${n}`, VSwitchId: `vsw-bp16c5pvvcf0fp5b9000${n}`, RegionId: "cn-hangzhou", VpcOwnerId: owner });

/** Where a mark is drawn, against where its line and column are in the field's text. */
function geometry(code) {
  return page.evaluate((code) => {
    const field = document.querySelector("#bv-input");
    const mark = [...document.querySelectorAll("#bv-backdrop mark")].find((m) => m.dataset.codes.split(" ").includes(code));
    const style = getComputedStyle(field);
    const probe = Object.assign(document.createElement("span"), { textContent: "0".repeat(50) });
    probe.style.font = style.font;
    document.body.append(probe);
    const char = probe.getBoundingClientRect().width / 50;
    probe.remove();
    const box = field.getBoundingClientRect();
    const rect = mark.getBoundingClientRect();
    return {
      text: mark.textContent,
      left: rect.left - box.left - field.clientLeft - parseFloat(style.paddingLeft),
      middle: (rect.top + rect.bottom) / 2 - box.top - field.clientTop - parseFloat(style.paddingTop),
      char,
      line: parseFloat(style.lineHeight),
      center: [rect.left + rect.width / 2, rect.top + rect.height / 2],
    };
  }, code);
}

test("a BindVpcs mistake is underlined where it is, with its message on hover and a list that jumps to it", async () => {
  assert.equal(await text("#bv-status"), "4 problem(s)");
  // The mirror under the field holds the field's text, so the marks sit on its characters.
  const [value, mirrored] = await page.evaluate(() => [document.querySelector("#bv-input").value, document.querySelector("#bv-backdrop").textContent]);
  assert.equal(mirrored, `${value}\u200b`);
  const marks = await page.$$eval("#bv-backdrop mark", (ms) => ms.map((m) => [m.dataset.codes, m.textContent]));
  assert.deepEqual(marks, [
    ["InvalidParameter.BindVpcs.MissingField", "{"],
    ["InvalidParameter.BindVpcs.DuplicateVpc", '"vpc-bp1go9qvmj78j4f4c0001"'],
    ["InvalidParameter.BindVpcs.UnknownField", '"VswitchId"'],
    ["InvalidParameter.BindVpcs.CrossRegion", '"cn-shanghai"'],
  ]);
  // "VswitchId" is on line 10, column 5 of the text: the mark is drawn there.
  const g = await geometry("InvalidParameter.BindVpcs.UnknownField");
  assert.ok(Math.abs(g.middle - 9.5 * g.line) < 2, `mark's middle ${g.middle}, line 10's ${9.5 * g.line}`);
  assert.ok(Math.abs(g.left - 4 * g.char) < 2, `mark's left ${g.left}, column 5 starts at ${4 * g.char}`);

  // Hover: the message beside the mark.
  assert.equal(await page.isHidden("#bv-tip"), true);
  await page.mouse.move(...g.center);
  await page.waitForSelector("#bv-tip:not([hidden])");
  assert.match(await text("#bv-tip"), /line 10, column 5: InvalidParameter.BindVpcs.UnknownField \(R-BV-2\): unknown field VswitchId; did you mean VSwitchId\?/);
  await page.mouse.move(5, 5);
  assert.equal(await page.isHidden("#bv-tip"), true);

  // The list: every problem with its line and column, in the text's order; one jumps to its place, by keyboard.
  assert.deepEqual(await texts("#bv-problems li .where"), ["line 8, column 3", "line 9, column 14", "line 10, column 5", "line 11, column 17"]);
  await page.focus("#bv-problems li:nth-child(3) button");
  await page.keyboard.press("Enter");
  const selection = await page.evaluate(() => {
    const f = document.activeElement;
    return [f.id, f.value.slice(f.selectionStart, f.selectionEnd)];
  });
  assert.deepEqual(selection, ["bv-input", '"VswitchId"']);
  assert.match(await text("#bv-caret"), /^line 10, column 5: InvalidParameter.BindVpcs.UnknownField/);
  await page.screenshot({ path: `${shots}/bindvpcs-problems.png`, fullPage: true });

  // A tab, an emoji (two UTF-16 units) and a line long enough to wrap before the mistake: the
  // marks still cover exactly the offending text, the mirror still holds the field's, the
  // field grows rather than scrolls, and the tab's mark starts at the tab stop.
  const long = `"${"x".repeat(300)}"`;
  await page.fill("#bv-input", `[{"VpcId": "vpc-bp1go9qvmj78j4f4c0001", "VSwitchId": "vsw-😀", "RegionId": ${long},\n\t"VswitchId": 1}]`);
  const tricky = await page.$$eval("#bv-backdrop mark", (ms) => ms.map((m) => m.textContent));
  assert.deepEqual(tricky.sort(), ['"VswitchId"', '"vsw-😀"', long, "{"].sort());
  const [value2, mirrored2, scrolls] = await page.evaluate(() => {
    const f = document.querySelector("#bv-input");
    return [f.value, document.querySelector("#bv-backdrop").textContent, f.scrollHeight > f.clientHeight];
  });
  assert.deepEqual([mirrored2, scrolls], [`${value2}\u200b`, false]);
  const tab = await geometry("InvalidParameter.BindVpcs.UnknownField");
  assert.ok(Math.abs(tab.left - 8 * tab.char) < 2, `after a tab the mark starts at ${tab.left}, the tab stop is ${8 * tab.char}`);

  // Where the text stops being JSON is marked too, as a point at its line and column.
  await page.fill("#bv-input", '[\n  {"VpcId": "vpc-1",');
  assert.deepEqual(await texts("#bv-problems li .where"), ["line 2, column 20"]);
  assert.equal(await page.getAttribute("#bv-backdrop mark", "data-codes"), "InvalidParameter.BindVpcs.Malformed");

  // Fixed: what would be added, a warning for the cross-account VPC, marked as such.
  await page.fill("#bv-input", JSON.stringify([entry(1, "1192853035110000")], null, 2));
  assert.equal(await text("#bv-status"), "valid: 1 VPC(s) to bind, 1 to review");
  assert.equal(await page.getAttribute("#bv-problems li", "data-code"), "Warning.CrossAccountVpc");
  assert.equal(await page.getAttribute("#bv-backdrop mark", "class"), "warning");
  assert.deepEqual(await texts("#bv-added li"), ["vpc-bp1go9qvmj78j4f4c0001"]);
  await page.fill("#bv-region", "cn-shanghai");
  assert.equal(await text("#bv-status"), "1 problem(s)");
  await page.fill("#bv-region", "cn-hangzhou");
  // Wrong facts about the instance are said as such, and no stale mark or list stays.
  await page.fill("#bv-owner", "abc");
  assert.match(await text("#bv-status"), /^The instance's facts: InvalidParameter.AccountId/);
  assert.deepEqual([await page.$$eval("#bv-backdrop mark", (m) => m.length), await page.$$eval("#bv-problems li", (l) => l.length)], [0, 0]);
  await page.fill("#bv-owner", "1207089758810000");
  assert.equal(await text("#bv-status"), "valid: 1 VPC(s) to bind, 1 to review");
});

test("the quota gauge: purchased, used by principals and by VPCs, and what the change would make it", async () => {
  await page.fill("#bv-purchased", "3");
  await page.fill("#bv-principals", "2");
  await page.fill("#bv-input", JSON.stringify([entry(1), entry(2)], null, 2));
  assert.equal(
    await text("#bv-gauge-caption"),
    "4 of 3 purchased after this change (2 used by principals, 2 by VPCs; 2 in use now, 0 of them VPCs): over the quota by 1",
  );
  assert.equal(await page.$eval("#bv-gauge-bar", (b) => b.classList.contains("over")), true);
  // Over the quota is the document's problem: listed, not underlined.
  assert.deepEqual(await texts("#bv-problems li strong"), ["QuotaExceeded.AccessManagement"]);
  assert.equal(await page.$$eval("#bv-backdrop mark", (m) => m.length), 0);
  await page.fill("#bv-input", JSON.stringify([entry(1)]));
  assert.match(await text("#bv-gauge-caption"), /^3 of 3 purchased after this change \(2 used by principals, 1 by VPCs.*\): 0 left$/);
  const widths = () => page.$$eval("#bv-gauge-bar .used", (parts) => parts.map((p) => parseFloat(p.style.width)));
  const [principals, vpcs, ...rest] = await widths();
  assert.ok(Math.abs(principals - 200 / 3) < 0.01 && Math.abs(vpcs - 100 / 3) < 0.01 && !rest.length, String([principals, vpcs]));
  // More principals than the quota: every part is drawn, none of negative width.
  await page.fill("#bv-purchased", "1");
  assert.match(await text("#bv-gauge-caption"), /^3 of 1 purchased .*: over the quota by 2$/);
  assert.ok((await widths()).every((w) => w >= 0), String(await widths()));
});

const quotaPlan = scenarioFiles().find((f) => basename(f) === "01-quota-example.json");

test("a shared example plan is one click away: its steps' results, the quota across them, what a step changed", async () => {
  const plan = JSON.parse(readFileSync(quotaPlan, "utf8"));
  const expected = runPlan(plan);
  await page.getByRole("button", { name: plan.name }).click();
  await page.waitForSelector("#plan-steps li");
  assert.equal(await text("#plan-status"), `${plan.name}: 5 of 5 steps did what the plan expects`);
  assert.deepEqual(await texts("#plan-steps .step-outcome"), expected.steps.map((s) => (s.ok ? "ok" : s.errors[0])));
  assert.deepEqual(await texts("#plan-steps .step-quota"), ["quota 3/5", "quota 5/5", "quota 5/5", "quota 5/5", "quota 5/5"]);
  // The chart: a bar a step, as tall as the quota in use, under the purchased line.
  const bars = await page.$$eval("#plan-quota-chart rect.bar", (rs) => rs.map((r) => Number(r.getAttribute("height"))));
  assert.equal(bars.length, 5);
  assert.ok(Math.abs(bars[0] / bars[1] - 3 / 5) < 1e-9, String(bars));
  assert.equal(await text("#plan-quota-caption"), "Quota in use after each step: 3, 5, 5, 5, 5; purchased (the line): 5");
  // The last step is chosen: refused, so nothing changed.
  assert.equal(await text("#plan-detail-title"), "Step 5: CreateKey as 1192853035110002");
  assert.deepEqual(await texts("#plan-diff li"), ["Nothing: a refused request changes nothing."]);
  // Its audit record, as the service's log line: sixteen fields, the refusal's code last.
  const audit = (await text("#plan-detail-audit")).split(" ");
  assert.deepEqual([audit.length, audit[1], audit[4], audit[15]], [16, "[ERROR]", "plan-step-5", expected.steps[4].errors[0]]);
  // Step 2 creates the share: the state's difference shows it.
  await page.click('#plan-steps button[data-index="2"]');
  assert.equal(await page.getAttribute('#plan-steps button[data-index="2"]', "aria-pressed"), "true");
  const paths = await page.$$eval("#plan-diff li", (items) => items.map((li) => li.dataset.path));
  assert.ok(paths.includes("/instance/share"), paths.join(", "));
  assert.match(await text('#plan-diff li[data-path="/instance/share"]'), /— → \{"name":"kms-share","mode":"joint"/);
  await page.screenshot({ path: `${shots}/plan.png`, fullPage: true });

  // The editor checked against the state after step 3: its VPCs bound, its quota in use.
  await page.click('#plan-steps button[data-index="3"]');
  await page.click("#plan-use");
  assert.equal(await text("#bv-current"), "vpc-bp1go9qvmj78j4f4c0001, vpc-bp1go9qvmj78j4f4c0002, vpc-bp1go9qvmj78j4f4c0003");
  assert.deepEqual([await page.inputValue("#bv-purchased"), await page.inputValue("#bv-principals")], ["5", "2"]);
  await page.fill("#bv-input", JSON.stringify([entry(1), entry(2), entry(4)], null, 2));
  assert.deepEqual([await texts("#bv-added li"), await texts("#bv-removed li"), await texts("#bv-kept li")], [
    ["vpc-bp1go9qvmj78j4f4c0004"], ["vpc-bp1go9qvmj78j4f4c0003"], ["vpc-bp1go9qvmj78j4f4c0001", "vpc-bp1go9qvmj78j4f4c0002"],
  ]);
  assert.match(await text("#bv-gauge-caption"), /^5 of 5 purchased after this change \(2 used by principals, 3 by VPCs; 5 in use now, 3 of them VPCs\): 0 left$/);

  // A plan without steps: nothing to draw, and no share left from the last plan.
  await page.click("#plan-source summary");
  await page.fill("#plan-input", JSON.stringify({ ...plan, steps: [] }));
  await page.click("#plan-run");
  assert.equal(await text("#plan-status"), `${plan.name}: 0 of 0 steps did what the plan expects`);
  assert.deepEqual([await page.isHidden("#plan-quota"), await page.isHidden("#share-view"), await page.isVisible("#share-empty")], [true, true, true]);
  // An example still arriving does not replace a plan run meanwhile.
  let release;
  const held = new Promise((ok) => (release = ok));
  await page.route("**/scenarios/02-joint-ownership.json", async (route) => (await held, route.continue()));
  await page.getByRole("button", { name: /^joint ownership/ }).click();
  await page.fill("#plan-input", JSON.stringify(plan));
  await page.click("#plan-run");
  const arrived = page.waitForResponse("**/scenarios/02-joint-ownership.json");
  release();
  await (await arrived).finished();
  await page.evaluate(() => new Promise((ok) => setTimeout(ok, 100))); // the page's handler has read the body
  await page.unroute("**/scenarios/02-joint-ownership.json");
  assert.equal(await text("#plan-status"), `${plan.name}: 5 of 5 steps did what the plan expects`);
  // A plan that is not one: the reason, and no timeline.
  await page.fill("#plan-input", "{");
  await page.click("#plan-run");
  assert.match(await text("#plan-status"), /^InvalidParameter.Plan: /);
  assert.equal(await page.$$eval("#plan-steps li", (l) => l.length), 0);
});

test("the share after a step: owner, principals and their association status, the mode, what each account may do", async () => {
  await page.getByRole("button", { name: JSON.parse(readFileSync(quotaPlan, "utf8")).name }).click();
  await page.waitForSelector("#share-view:not([hidden])");
  assert.equal(await text("#share-when"), "after step 5");
  assert.equal(await text("#share-owner"), "1207089758810000 (security-team)");
  assert.deepEqual([await text("#share-name"), await text("#share-mode")], ["kms-share", "joint"]);
  assert.equal(await text("#share-permission"), "AliyunRSDefaultPermissionKMSInstance v2");
  assert.deepEqual(await texts("#share-principals li"), ["account 1192853035110000", "account 1192853035110001", "account 1192853035110002"]);
  assert.deepEqual(await texts("#share-associations li"), [
    "1192853035110000 (app-team): associated", "1192853035110001 (data-team): associated", "1192853035110002 (web-team): failed",
  ]);
  // A cell's first text is what it shows: "yes" or the code of the check that refuses.
  const row = (account) => page.$$eval(`#share-access tr[data-account="${account}"] td`, (tds) => tds.map((td) => td.firstChild.textContent));
  assert.deepEqual(await row("owner"), ["yes", "yes", "yes"]);
  assert.deepEqual(await row("1192853035110000"), ["Forbidden.OwnerOnly", "yes", "Forbidden.OwnerOnly"]);
  assert.deepEqual(await row("1192853035110002"), ["Forbidden.NotShared", "Forbidden.NotShared", "Forbidden.NotShared"]);
  // A denial's message is in the cell for a screen reader, not only on hover.
  assert.match(await page.textContent('#share-access tr[data-account="1192853035110002"] td .sr-only'), /^: account 1192853035110002 is not an active principal/);

  // Independent ownership: each account manages its own keys only, as the instance says.
  const independent = JSON.parse(readFileSync(scenarioFiles().find((f) => basename(f) === "03-independent-ownership.json"), "utf8"));
  await page.getByRole("button", { name: independent.name }).click();
  await page.waitForFunction((name) => document.querySelector("#plan-status").textContent.startsWith(name), independent.name);
  assert.equal(await text("#share-mode"), "independent");
  const last = runPlan(independent, { states: true }).steps.at(-1).state;
  assert.deepEqual(await texts("#share-access thead th"), [
    "Account", "Manage the instance", "Create keys", "Back up", ...last.instance.keys.map((k) => `Manage ${k.alias}`),
  ]);
  for (const key of last.instance.keys) {
    const column = 4 + last.instance.keys.indexOf(key);
    const cell = await page.$eval(`#share-access tr[data-account="${key.creator === last.instance.ownerId ? "owner" : key.creator}"] td:nth-of-type(${column})`, (td) => td.firstChild.textContent);
    assert.equal(cell, "yes", `${key.alias}'s creator manages it`);
  }
});

test("a dropped file is sealed with WebCrypto keys and downloaded; the message file shows its header, then opens", async () => {
  // Past the 4,000-byte preview, which cuts inside a character (the lines are 32 bytes, after 2).
  const original = `..${"sealed in Chromium · 浏览器\n".repeat(200)}`;
  const drop = await page.evaluateHandle((body) => {
    const data = new DataTransfer();
    data.items.add(new File([body], "notes.txt", { type: "text/plain" }));
    return data;
  }, original);
  await page.dispatchEvent("#seal-drop", "drop", { dataTransfer: drop });
  await page.waitForSelector("#seal-download");
  assert.match(await text("#seal-status"), /^Sealed notes.txt \(.* bytes\) under acs:kms:cn-hangzhou:1207089758810000:key\/key-console\.$/);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#seal-download")]);
  assert.equal(download.suggestedFilename(), "notes.txt.kms");
  const sealed = readFileSync(await download.path());
  // What the page shows of the header is what the message's header says.
  const header = inspectMessage(sealed);
  assert.deepEqual(header.context, { purpose: "console" });
  assert.equal(await text("#header-algorithm"), header.algorithm);
  assert.deepEqual(await page.$$eval("#header-keys li", (l) => l.map((li) => li.dataset.arn)), header.dataKeys.map((k) => k.keyArn));
  assert.equal(await text("#header-context"), "purpose=console");
  assert.equal(await text("#header-body"), `${Buffer.byteLength(original).toLocaleString("en")} bytes`);

  // The downloaded message, chosen as a file: its header first, then opened.
  await page.setInputFiles("#open-file", { name: "notes.txt.kms", mimeType: "application/octet-stream", buffer: sealed });
  await page.waitForFunction(() => document.querySelector("#seal-status").textContent.startsWith("notes.txt.kms is a message"));
  await page.click("#open-run");
  await page.waitForFunction(() => document.querySelector("#seal-status").textContent.startsWith("Opened"));
  const preview = await page.textContent("#seal-preview");
  assert.ok(preview.length > 1000 && original.startsWith(preview), `a preview of ${preview.length} characters`);
  assert.equal(Buffer.byteLength(preview), 3998, "the preview stops before the character the cut splits");
  const [opened] = await Promise.all([page.waitForEvent("download"), page.click("#seal-download")]);
  assert.equal(opened.suggestedFilename(), "notes.txt");
  assert.equal(readFileSync(await opened.path(), "utf8"), original);
  await page.screenshot({ path: `${shots}/envelope.png`, fullPage: true });

  // A context naming a field twice is refused, as the CLI refuses it.
  await page.fill("#seal-context", "purpose=console, purpose=other");
  await page.click("#open-run");
  await page.waitForFunction(() => document.querySelector("#seal-status").textContent.includes("twice"));
  assert.equal(await text("#seal-status"), 'notes.txt.kms did not open: the context names "purpose" twice');
  // Another context than the message's does not open it; nor does a changed body; nor is a non-message read.
  await page.fill("#seal-context", "purpose=other");
  await page.click("#open-run");
  await page.waitForFunction(() => document.querySelector("#seal-status").textContent.includes("did not open"));
  assert.match(await text("#seal-status"), /^notes.txt.kms did not open: InvalidCiphertext.ContextMismatch: .*encryption context/);
  await page.fill("#seal-context", "purpose=console");
  const tampered = Buffer.from(sealed);
  tampered[tampered.length - 30] ^= 1;
  await page.setInputFiles("#open-file", { name: "changed.kms", mimeType: "application/octet-stream", buffer: tampered });
  await page.waitForFunction(() => document.querySelector("#seal-status").textContent.startsWith("changed.kms is a message"));
  await page.click("#open-run");
  await page.waitForFunction(() => document.querySelector("#seal-status").textContent.includes("did not open"));
  assert.match(await text("#seal-status"), /^changed.kms did not open: InvalidCiphertext: /);
  await page.setInputFiles("#open-file", { name: "photo.jpg", mimeType: "image/jpeg", buffer: Buffer.from("not a message at all") });
  await page.waitForFunction(() => document.querySelector("#seal-status").textContent.startsWith("photo.jpg"));
  assert.equal(
    await text("#seal-status"),
    "photo.jpg is not a message this page reads: InvalidCiphertext.NotAMessage: the bytes are not a message of the Encryption SDK's format",
  );
  assert.equal(await page.isHidden("#seal-header"), true);
});

test("the package in the page: a large body on the WebCrypto path, a tampered message, keys never extractable", async () => {
  const result = await page.evaluate(async () => {
    const kms = await import("/pkg/dist/index.js");
    const provider = await kms.WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1:key/k"]);
    const data = new Uint8Array(300_000).map((_, i) => i % 256);
    const sealed = await kms.encrypt([provider], data);
    const opened = await kms.decrypt([provider], sealed);
    sealed[100] ^= 1;
    const tampered = await kms.decrypt([provider], sealed).then(() => "opened", (e) => e.code);
    const extractable = [...provider.cryptoKeys().values()].some((k) => k.extractable);
    return { same: opened.plaintext.every((b, i) => b === data[i]) && opened.plaintext.length === data.length, tampered, extractable };
  });
  assert.deepEqual(result, { same: true, tampered: "InvalidCiphertext", extractable: false });
});

test("the page checks names", async () => {
  await page.fill("#name-value", "kms share!");
  assert.match(await text("#name-status"), /InvalidParameter.ResourceShareName \(R-NAME-3\)/);
  await page.selectOption("#name-kind", "alias");
  await page.fill("#name-value", "alias/app");
  assert.equal(await text("#name-status"), "valid");
});

test("every control has a name a screen reader says, and a narrow screen scrolls only down", async () => {
  const unnamed = await page.$$eval("input, select, textarea, button, a[href]", (controls) =>
    controls
      .filter((c) => {
        const labelledBy = (c.getAttribute("aria-labelledby") ?? "").split(" ").map((id) => document.getElementById(id)?.textContent.trim()).join("");
        return !([...(c.labels ?? [])].some((l) => l.textContent.trim()) || c.getAttribute("aria-label") || labelledBy || c.textContent.trim());
      })
      .map((c) => c.outerHTML),
  );
  assert.deepEqual(unnamed, []);
  await page.setViewportSize({ width: 360, height: 800 });
  const [scrollWidth, width] = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
  assert.ok(scrollWidth <= width, `the page is ${scrollWidth}px wide in a ${width}px window`);
  await page.screenshot({ path: `${shots}/narrow.png`, fullPage: true });
  await page.setViewportSize({ width: 1100, height: 900 });
});

test("without the built package, the page says so instead of loading forever", async () => {
  const bare = await browser.newPage();
  await bare.route("**/pkg/dist/index.js", (route) => route.fulfill({ status: 404, body: "" }));
  await bare.goto(`http://127.0.0.1:${server.address().port}/www/`);
  await bare.waitForFunction(() => document.querySelector("#module-status").textContent !== "loading…");
  assert.match(await bare.textContent("#module-status"), /^The page did not load: .*Build the package first/);
  await bare.close();
});

test("under a Content-Security-Policy without 'wasm-unsafe-eval', a call fails with how to fix it", async () => {
  const origin = `http://127.0.0.1:${server.address().port}`;
  const strict = await browser.newPage();
  await strict.route(`${origin}/www/csp.html`, (route) =>
    route.fulfill({
      contentType: "text/html",
      headers: { "content-security-policy": "script-src 'self'" },
      body: '<!doctype html><script type="module" src="/www/csp.js"></script>',
    }),
  );
  await strict.route(`${origin}/www/csp.js`, (route) =>
    route.fulfill({
      contentType: "text/javascript",
      body: `import("/pkg/dist/validate.js").then((kms) => {
        try { kms.validateName("alias", "alias/app"); window.__result = "loaded"; }
        catch (e) { window.__result = { code: e.code, name: e.name, message: e.message }; }
      });`,
    }),
  );
  await strict.goto(`${origin}/www/csp.html`);
  await strict.waitForFunction(() => window.__result !== undefined);
  const result = await strict.evaluate(() => window.__result);
  await strict.close();
  assert.equal(result.code, "Module.LoadFailed");
  assert.equal(result.name, "KmsError");
  assert.match(result.message, /script-src needs 'wasm-unsafe-eval'/);
});

test("against a live server: its instance listed, BindVpcs checked in the page then applied there, an account shared with", async () => {
  const origin = `http://127.0.0.1:${server.address().port}`;
  const kms = await startServe({ seed: instanceSeed, args: ["--cors", origin] });
  try {
    await page.fill("#live-endpoint", kms.url);
    await page.fill("#live-key-id", ACCESS_KEY_ID);
    await page.fill("#live-secret", SECRET);
    await page.click("#live-form button[type=submit]");
    await page.waitForSelector("#live-status.ok >> text=connected");
    assert.equal(await page.inputValue("#live-secret"), "", "the secret leaves the form");
    await page.click(`button[data-instance=${INSTANCE}]`);
    await page.waitForSelector("#live-view:not([hidden])");
    assert.match(await text("#live-state"), /^Connected/);
    assert.match(await text("#bv-source"), /live instance/);
    assert.equal(await page.inputValue("#bv-purchased"), "4");
    // Five VPCs are past the instance's quota: the page says so, and nothing can be applied.
    const five = [1, 2, 3, 4, 5].map((n) => entry(n));
    await page.fill("#bv-input", JSON.stringify(five, null, 2));
    assert.ok(await page.isDisabled("#bv-apply"));
    assert.ok((await texts("#bv-problems li")).some((t) => t.includes("QuotaExceeded.AccessManagement")));
    // Two are valid: applied on the server, whose answer and quota the page shows.
    await page.fill("#bv-input", JSON.stringify([entry(1), entry(2)], null, 2));
    await page.click("#bv-apply");
    await page.waitForSelector("#bv-apply-status.ok >> text=applied");
    assert.match(await text("#bv-apply-status"), /quota is 2 of 4 used/);
    assert.deepEqual((await texts("#live-bound li")).length, 2);
    assert.ok(kms.log.some((l) => / UpdateKmsInstanceBindVpc /.test(l) && /Success/.test(l)), kms.log.join("\n"));
    await page.screenshot({ path: `${shots}/live.png`, fullPage: true });
    // The share panel applies too.
    await page.fill("#live-share-account", PRINCIPAL);
    await page.click("#live-share-form button[type=submit]");
    await page.waitForSelector("#live-share-status.ok");
    assert.match(await text("#live-share-status"), /shared with .*: 3 of 4 used/);
    assert.equal(await text("#live-mode"), "joint");
    await page.click("#live-disconnect");
    assert.ok(await page.isHidden("#bv-apply-row"));
  } finally {
    assert.equal(await kms.stop(), 0);
  }
});

test("no error reached the console while a person used the page", () => {
  assert.deepEqual(consoleErrors, []);
});
