// The package as a user gets it: `npm pack`, `npm install` of the tarball into an
// empty project, and one import in Node (the files list and the exports map at work).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pkgRoot, scenarioFiles } from "./helpers.mjs";

test("npm install of the packed package, then one import in Node", () => {
  const dir = mkdtempSync(join(tmpdir(), "kms-consumer-"));
  const npm = (args, cwd) => execFileSync("npm", [...args, "--no-fund", "--no-audit", "--loglevel=error"], { cwd, encoding: "utf8" });
  const tarball = join(dir, JSON.parse(npm(["pack", "--json", "--pack-destination", dir], pkgRoot))[0].filename);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  npm(["install", tarball], dir);
  writeFileSync(join(dir, "plan.json"), readFileSync(scenarioFiles()[0]));
  writeFileSync(
    join(dir, "app.mjs"),
    `import { readFileSync } from "node:fs";
     import { runPlan, encrypt, decrypt, WebCryptoKeyProvider, validateName } from "kms-instance";
     const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1:key/k"]);
     const opened = await decrypt([keys], await encrypt([keys], new TextEncoder().encode("installed")));
     console.log(JSON.stringify({
       matched: runPlan(readFileSync("plan.json", "utf8")).matched,
       text: new TextDecoder().decode(opened.plaintext),
       alias: validateName("alias", "alias/acs/x").error.code,
     }));`,
  );
  const out = JSON.parse(execFileSync("node", ["app.mjs"], { cwd: dir, encoding: "utf8" }));
  assert.deepEqual(out, { matched: true, text: "installed", alias: "InvalidParameter.Alias" });
  const packed = JSON.parse(readFileSync(join(dir, "node_modules/kms-instance/package.json"), "utf8"));
  assert.equal(packed.name, "kms-instance");
});
