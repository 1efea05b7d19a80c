// The API reference (TypeDoc, typedoc.json, on the built declarations of the three
// entries): it builds with no warning (they are errors there), every exported function,
// class and variable has an @example, and every ```ts block of an @example runs as
// written against the built package: its types stripped (esbuild), as an .mjs file in
// this directory (so "kms-instance" resolves to the package, as in readme.test.mjs).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { transform } from "esbuild";
import { pkgRoot } from "./helpers.mjs";

const ENTRIES = ["kms-instance", "kms-instance/envelope", "kms-instance/validate"];
// TypeDoc's ReflectionKind.
const KIND = { Module: 2, Variable: 32, Function: 64, Class: 128, Reference: 4194304 };
const VALUE_KINDS = new Map([[KIND.Variable, "variable"], [KIND.Function, "function"], [KIND.Class, "class"]]);
// The XksKeyProvider and KmsKeyProvider examples read their credentials from the
// environment, as real code does, and only construct the provider (which contacts
// nothing): these stand in for them.
const PLACEHOLDERS = {
  XKS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  XKS_SECRET: "example-secret",
  ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAI5tEXAMPLE",
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: "example-secret",
};

let built;
/** TypeDoc run once (HTML to its `out`, JSON to a temporary file): its exit status, what it printed, the JSON. */
function typedoc() {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), "kms-apidocs-"));
  try {
    const json = join(dir, "api.json");
    const run = spawnSync(process.execPath, [join(pkgRoot, "node_modules/typedoc/bin/typedoc"), "--json", json], {
      cwd: pkgRoot,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    const output = `${run.stdout}${run.stderr}`;
    built = { status: run.status, output, project: run.status === 0 ? JSON.parse(readFileSync(json, "utf8")) : undefined };
    return built;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every reflection of the project, by id, with its name under its module (`Instance.apply`). */
function index(project) {
  const byId = new Map();
  const walk = (r, name) => {
    byId.set(r.id, { r, name });
    // A signature is named by its function or method; a module's members start a name.
    const under = (c) => (r.kind === KIND.Module || r.variant === "project" ? c.name : c.variant === "signature" ? name : `${name}.${c.name}`);
    for (const c of [...(r.children ?? []), ...(r.signatures ?? [])]) walk(c, under(c));
    for (const s of [r.getSignature, r.setSignature]) if (s) walk(s, name);
  };
  walk(project, "");
  return byId;
}

/** The @example tags of a reflection: on its comment, or its signatures' (a function's, a method's). */
function examplesOf(r) {
  const comments = [r.comment, ...(r.signatures ?? []).map((s) => s.comment), r.getSignature?.comment].filter(Boolean);
  return comments.flatMap((c) => (c.blockTags ?? []).filter((t) => t.tag === "@example"));
}

/** Each entry's exported functions, classes and variables (a re-export resolved to its declaration). */
function exportedValues(project, byId) {
  const values = [];
  for (const module of project.children) {
    for (const child of module.children ?? []) {
      const decl = child.kind === KIND.Reference ? byId.get(child.target)?.r : child;
      assert.ok(decl, `${module.name}: ${child.name} re-exports a declaration not in the documentation`);
      if (VALUE_KINDS.has(decl.kind)) values.push({ entry: module.name, name: child.name, kind: VALUE_KINDS.get(decl.kind), decl });
    }
  }
  return values;
}

test("TypeDoc builds the API reference with no warning", () => {
  const { status, output } = typedoc();
  assert.equal(status, 0, output);
  assert.doesNotMatch(output, /\[(warning|error)\]/, output);
});

test("every exported function, class and variable of the three entries has an @example", (t) => {
  const { project } = typedoc();
  if (!project) return t.skip("TypeDoc failed (see the test above)");
  assert.deepEqual(project.children.filter((m) => m.kind === KIND.Module).map((m) => m.name).sort(), ENTRIES);
  const values = exportedValues(project, index(project));
  // The documentation is of the package as it is: these are there (so an empty one fails).
  for (const name of ["validateBindVpcs", "Instance", "encrypt", "KmsError", "DEFAULT_TIMEOUT_MS", "init"]) {
    assert.ok(values.some((v) => v.entry === "kms-instance" && v.name === name), `kms-instance exports ${name}`);
  }
  const missing = values.filter((v) => examplesOf(v.decl).length === 0).map((v) => `${v.entry}: ${v.kind} ${v.name}`);
  assert.deepEqual([...new Set(missing)], [], "exports without an @example");
});

test("every ```ts block of an @example runs as written against the built package", async (t) => {
  const { project } = typedoc();
  if (!project) return t.skip("TypeDoc failed (see the first test)");
  const byId = index(project);
  const examples = [];
  for (const { r, name } of byId.values()) {
    for (const tag of (r.comment?.blockTags ?? []).filter((b) => b.tag === "@example")) {
      const text = tag.content.map((part) => part.text).join("");
      const blocks = [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
      const where = `${name}${tag.name ? ` (${tag.name})` : ""}`;
      assert.ok(blocks.length > 0, `${where}: an @example with no \`\`\`ts block`);
      for (const code of blocks) examples.push({ where, code });
    }
  }
  assert.ok(examples.length >= 20, `${examples.length} examples`);
  for (const [i, { where, code }] of examples.entries()) {
    await t.test(where, async () => {
      const { code: js } = await transform(code, { loader: "ts", format: "esm", target: "es2022" });
      const file = join(pkgRoot, "test", `.apidocs-example-${process.pid}-${i}.mjs`);
      writeFileSync(file, js);
      try {
        const run = spawnSync(process.execPath, [file], { cwd: pkgRoot, encoding: "utf8", env: { ...process.env, ...PLACEHOLDERS }, timeout: 60_000 });
        assert.equal(run.status, 0, `${where} exited ${run.status ?? run.signal}:\n${code}\n${run.stderr}`);
      } finally {
        rmSync(file, { force: true });
      }
    });
  }
});
