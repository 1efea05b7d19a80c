// The console page (www/) in headless Chromium: the package loaded by a plain
// <script type="module">, validating as the user types, simulating a plan, sealing.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { serve } from "../../www/serve.mjs";
import { repoRoot, scenarioFiles } from "./helpers.mjs";

const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
let server, browser, page;
const consoleErrors = [];

before(async () => {
  server = await serve(0);
  browser = await chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
  page = await browser.newPage();
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  await page.goto(`http://127.0.0.1:${server.address().port}/www/`);
  await page.waitForSelector("body[data-ready=true]");
});

after(async () => {
  await browser?.close();
  server?.close();
});

test("the page validates BindVpcs as the user types", async () => {
  assert.match(await page.textContent("#bv-status"), /4 problem\(s\)/);
  const codes = await page.$$eval("#bv-problems li", (items) => items.map((li) => `${li.dataset.code} ${li.dataset.path}`));
  assert.deepEqual(codes, [
    "InvalidParameter.BindVpcs.MissingField /1/VSwitchId",
    "InvalidParameter.BindVpcs.UnknownField /1/VswitchId",
    "InvalidParameter.BindVpcs.CrossRegion /1/RegionId",
    "InvalidParameter.BindVpcs.DuplicateVpc /1/VpcId",
  ]);
  await page.fill("#bv-input", JSON.stringify([{ VpcId: "vpc-bp1go9qvmj78j4f4c0001", VSwitchId: "vsw-bp16c5pvvcf0fp5b90001", RegionId: "cn-hangzhou", VpcOwnerId: "1192853035110000" }]));
  assert.match(await page.textContent("#bv-status"), /valid: 1 VPC\(s\) to bind, 1 to review/);
  assert.equal(await page.getAttribute("#bv-problems li", "data-code"), "Warning.CrossAccountVpc");
  await page.fill("#bv-region", "cn-shanghai");
  assert.match(await page.textContent("#bv-status"), /1 problem/);
});

test("the page checks names", async () => {
  await page.fill("#name-value", "kms share!");
  assert.match(await page.textContent("#name-status"), /InvalidParameter.ResourceShareName \(R-NAME-3\)/);
  await page.selectOption("#name-kind", "alias");
  await page.fill("#name-value", "alias/app");
  assert.equal(await page.textContent("#name-status"), "valid");
});

test("the page simulates a change plan", async () => {
  await page.fill("#plan-input", readFileSync(scenarioFiles()[0], "utf8"));
  await page.click("#plan-run");
  assert.match(await page.textContent("#plan-status"), /5 of 5 steps matched/);
  assert.equal(await page.$$eval("#plan-steps tbody tr", (rows) => rows.length), 5);
  await page.fill("#plan-input", "{");
  await page.click("#plan-run");
  assert.match(await page.textContent("#plan-status"), /^InvalidParameter.Plan/);
});

test("the page seals and opens with non-extractable WebCrypto keys", async () => {
  await page.fill("#seal-input", "sealed in Chromium · 浏览器");
  await page.click("#seal-run");
  await page.waitForFunction(() => document.querySelector("#seal-status").textContent !== "");
  assert.match(await page.textContent("#seal-status"), /sealed and opened with acs:kms:cn-hangzhou:1207089758810000:key\/key-console: "sealed in Chromium · 浏览器"/);
  assert.equal(await page.getAttribute("#seal-status", "class"), "status ok");
  // And directly: the package in the page, a large body (WebCrypto path), a tampered message.
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
  await page.screenshot({ path: `${repoRoot}/target/console.png`, fullPage: true });
  assert.deepEqual(consoleErrors, []);
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
