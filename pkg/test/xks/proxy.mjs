// A `kms-instance xks-proxy` over a SoftHSM2 token made in a temporary directory, with
// TLS from a CA made now (openssl), started and stopped by the tests.
import { execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, makeCertificates } from "../helpers.mjs";

export const MODULE = process.env.KMS_SOFTHSM_MODULE ?? "/usr/lib/softhsm/libsofthsm2.so";
export const PREFIX = "/edge";
export const ACCESS_KEY_ID = "AKIAPACKAGETESTKEY00";
export const SECRET = "package-test-secret-0123456789abcdefghijklmnop";
export const PRINCIPAL = "acs:ram::1207089758810000:user/edge";
export const arn = (id) => `acs:kms:cn-hangzhou:1207089758810000:key/${id}`;
const PIN = "445566";

/** The token (keys `k-proxy`, `k-second`), the certificates, and the directory. */
export function makeWorld() {
  const dir = mkdtempSync(join(tmpdir(), "kms-xks-"));
  const conf = join(dir, "softhsm2.conf");
  mkdirSync(join(dir, "tokens"));
  writeFileSync(conf, `directories.tokendir = ${join(dir, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf, XKS_PIN: PIN };
  execFileSync("softhsm2-util", ["--init-token", "--free", "--label", "edge", "--pin", PIN, "--so-pin", "9911"], { env, stdio: "ignore" });
  for (const id of ["k-proxy", "k-second"]) {
    execFileSync(cli(), ["pkcs11", "generate-key", "--pkcs11-module", MODULE, "--token-label", "edge", "--pin-env", "XKS_PIN", "--key", arn(id)], { env, stdio: "ignore" });
  }
  makeCertificates(dir);
  writeFileSync(join(dir, "pin"), PIN);
  return { dir, conf, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts a proxy (TLS unless `plain`); resolves `{port, log, stop}`. */
export async function startProxy(world, { plain = false } = {}) {
  const config = {
    listen: "127.0.0.1:0",
    ...(plain ? { plainHttp: true } : { tls: { certificateFile: "server.pem", keyFile: "server.key" } }),
    token: { module: MODULE, tokenLabel: "edge", pin: { file: "pin" } },
    prefixes: [{ uriPrefix: PREFIX, credentials: [{ accessKeyId: ACCESS_KEY_ID, secretAccessKey: { env: "XKS_SECRET" } }] }],
    keys: [{ externalKeyId: "k-proxy", label: "k-proxy" }, { externalKeyId: "k-second", label: "k-second" }],
  };
  const file = join(world.dir, plain ? "plain.json" : "tls.json");
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(cli(), ["xks-proxy", "--config", file], {
    env: { ...process.env, SOFTHSM2_CONF: world.conf, XKS_SECRET: SECRET },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const log = [];
  const port = await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the proxy exited (${code})`)));
    lines.once("line", (line) => resolve(Number(line.split(":").pop())));
  });
  lines.on("line", (line) => log.push(line));
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
  return { port, log, stop };
}

/** The provider options of the package for a proxy on `port`. */
export function options(port, { scheme = "https", keys = [arn("k-proxy")], ...rest } = {}) {
  const host = scheme === "https" ? "localhost" : "127.0.0.1";
  return { endpoint: `${scheme}://${host}:${port}`, uriPrefix: PREFIX, accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET, principal: PRINCIPAL, keys, ...rest };
}
