// Paths and the native CLI, shared by the package's tests.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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

/** A CA made now (openssl) and a server certificate for localhost and 127.0.0.1, in `dir`: ca.pem, server.pem, server.key. */
export function makeCertificates(dir) {
  const ssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=kms-instance package test CA");
  ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
  writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext");
}

export { execFileSync };
