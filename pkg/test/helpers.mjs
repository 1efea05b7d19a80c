// Paths and the native CLI, shared by the package's tests.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const pkgRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = resolve(pkgRoot, "..");
export const sharedRoot = process.env.KMS_SHARED ?? resolve(repoRoot, "../shared");

/** The native CLI: `$KMS_CLI`, or a build in target/. */
export function cli() {
  const candidates = [process.env.KMS_CLI, join(repoRoot, "target/release/kms-instance"), join(repoRoot, "target/debug/kms-instance")];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error("build the native CLI first (cargo build), or set KMS_CLI");
  return found;
}

export function runCli(args, input) {
  const out = spawnSync(cli(), args, { input, maxBuffer: 64 << 20 });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr.toString() };
}

export function scenarioFiles() {
  const dir = join(sharedRoot, "scenarios");
  return readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => join(dir, f));
}

export function vectorFiles() {
  const dir = join(repoRoot, "tests/vectors");
  return readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => join(dir, f));
}

export const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));

export { execFileSync };
