// The package README's examples, as pasted: each ```js block after a `<!-- runs -->`
// line runs in Node against the built package (ESM, or CommonJS where it uses require)
// and prints what its comments say.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pkgRoot } from "./helpers.mjs";

const readme = readFileSync(join(pkgRoot, "README.md"), "utf8");
const blocks = [...readme.matchAll(/<!-- runs[^>]*-->\n```js\n([\s\S]*?)```/g)].map((m) => m[1]);

test("every example marked as running runs as pasted, and prints what it says", () => {
  assert.ok(blocks.length >= 3, `${blocks.length} runnable blocks`);
  const expected = [
    ["false [ '1:54 InvalidParameter.BindVpcs.VSwitchId at /0/VSwitchId' ]", "InvalidParameter.ResourceShareName"],
    ["Success", "Conflict.NameExists", "true"],
    ["the backup"],
  ];
  blocks.forEach((code, i) => {
    const commonjs = /\brequire\(/.test(code);
    const run = spawnSync(process.execPath, [`--input-type=${commonjs ? "commonjs" : "module"}`, "-e", code], { cwd: pkgRoot, encoding: "utf8" });
    assert.equal(run.status, 0, `block ${i + 1}: ${run.stderr}`);
    for (const said of expected[i] ?? []) assert.ok(run.stdout.includes(said), `block ${i + 1} printed ${run.stdout}`);
  });
});
