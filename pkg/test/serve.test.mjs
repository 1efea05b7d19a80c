// The console page's server: only the page and the package are served, whatever the URL.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, test } from "node:test";
import { serve } from "../../www/serve.mjs";

// A repository of its own: the served folders, and what must stay out of reach.
const top = mkdtempSync(join(tmpdir(), "kms-serve-"));
const root = join(top, "repo");
for (const [path, text] of [
  ["www/index.html", "<p>page</p>"], ["pkg/dist/index.js", "export {}"], ["pkg/dist/wasm/full.wasm", "\0asm"], ["pkg/wasm/full/kms_instance_bg.wasm", "\0asm"],
  [".git/config", "[core]"], ["README.md", "readme"], ["pkg/src/index.ts", "source"], ["www-old/index.html", "old"],
]) {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), text);
}
mkdirSync(join(top, "repo-sibling"));
writeFileSync(join(top, "repo-sibling/secret.txt"), "secret");
symlinkSync(join(root, ".git"), join(root, "www/git"));
// The example plans, beside the repository as ../shared/scenarios is.
const plans = join(top, "shared/scenarios");
mkdirSync(join(plans, "sub"), { recursive: true });
writeFileSync(join(plans, "02-b.json"), "{not json");
writeFileSync(join(plans, "01-a.json"), JSON.stringify({ name: "plan a", steps: [] }));
writeFileSync(join(plans, "notes.txt"), "notes");
writeFileSync(join(plans, "notes.json.bak"), "notes");
writeFileSync(join(plans, "sub/c.json"), "{}");
symlinkSync(join(top, "repo-sibling/secret.txt"), join(plans, "leak.json"));

let server, port;
before(async () => {
  server = await serve(0, root, plans);
  port = server.address().port;
});
after(() => server.close());

/** A raw request: the path is sent as written, not normalised by a URL parser. */
function get(path, method = "GET") {
  return new Promise((ok, fail) => {
    const req = request({ host: "127.0.0.1", port, path, method }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c)).on("end", () => ok({ status: res.statusCode, body }));
    });
    req.on("error", fail).end();
  });
}

test("the page and the package are served", async () => {
  assert.deepEqual(await get("/www/"), { status: 200, body: "<p>page</p>" });
  assert.equal((await get("/pkg/dist/index.js")).status, 200);
  assert.equal((await get("/pkg/dist/wasm/full.wasm")).status, 200);
  assert.equal((await get("/www/index.html", "HEAD")).status, 200);
});

test("nothing else is: .git, sources, siblings, symlinks out, traversal", async () => {
  for (const path of [
    "/.git/config", "/README.md", "/pkg/src/index.ts", "/pkg/wasm/full/kms_instance_bg.wasm", "/www-old/index.html", "/www/git/config",
    "/www/..%2f.git/config", "/www/%2e%2e/.git/config", "/pkg/dist/../../.git/config",
    `/..%2f${basename(root)}-sibling/secret.txt`, `/../${basename(root)}-sibling/secret.txt`, "/",
  ]) {
    const { status, body } = await get(path);
    assert.equal(status, 404, path);
    assert.ok(!body.includes("secret") && !body.includes("[core]"), path);
  }
});

test("the example plans are listed by name and served, and nothing past them", async () => {
  const listing = await get("/scenarios/");
  assert.equal(listing.status, 200);
  assert.deepEqual(JSON.parse(listing.body), [{ file: "01-a.json", name: "plan a" }, { file: "02-b.json", name: "02-b.json" }]);
  assert.deepEqual(await get("/scenarios/01-a.json"), { status: 200, body: JSON.stringify({ name: "plan a", steps: [] }) });
  for (const path of ["/scenarios/leak.json", "/scenarios/sub/", "/scenarios/sub/c.json", "/scenarios/notes.txt", "/scenarios/notes.json.bak", "/scenarios/..%2frepo/README.md", "/scenarios/%2e%2e/repo-sibling/secret.txt", "/scenarios-old/01-a.json"]) {
    const { status, body } = await get(path);
    assert.equal(status, 404, path);
    assert.ok(!body.includes("secret"), path);
  }
});

test("a plans folder that holds the repository is refused, not served", () => {
  symlinkSync(top, join(top, "shared/up"));
  for (const folder of [root, top, "/", join(top, "shared/up")]) assert.throws(() => serve(0, root, folder), /holds the repository: not served/);
});

test("a malformed URL is a 400 and the server stays up", async () => {
  for (const path of ["/%E0%A4%A", "/www/%", "/www/%00index.html"]) {
    assert.equal((await get(path)).status, 400, path);
  }
  assert.equal((await get("/www/", "POST")).status, 405);
  assert.equal((await get("/www/")).status, 200);
});
