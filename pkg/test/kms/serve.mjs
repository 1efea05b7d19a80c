// `kms-instance serve` for the package's tests: a seed in a temporary directory, the
// native CLI started on an ephemeral loopback port (HTTPS from a CA made now, when
// asked), stopped with SIGTERM.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { cli, makeCertificates } from "../helpers.mjs";

export const OWNER = "1207089758810000";
export const ACCESS_KEY_ID = "LTAI5tPackageOwner000001";
export const SECRET = "package-test-secret";
export const arn = (id) => `acs:kms:cn-hangzhou:${OWNER}:key/${id}`;

const seed = {
  region: "cn-hangzhou",
  accounts: [{ id: OWNER, accessKeys: [{ id: ACCESS_KEY_ID, secret: SECRET }] }],
  keys: [
    { id: "key-pkg-one", account: OWNER, aliases: ["alias/one"] },
    { id: "key-pkg-two", account: OWNER },
    { id: "key-pkg-off", account: OWNER, enabled: false },
  ],
};

export const INSTANCE = "kst-hzz62f4a5c2d7ab12cd";
export const PRINCIPAL = "1207089758820000";

/**
 * The seed with an enabled software instance of the owner (access-management quota 4,
 * its own VPC), a directory of the owner and one other account, and that account's key.
 */
export const instanceSeed = {
  ...seed,
  accounts: [...seed.accounts, { id: PRINCIPAL, accessKeys: [{ id: "LTAI5tPackagePrincipal01", secret: "principal-secret" }] }],
  instances: [{
    state: {
      directory: { resourceDirectoryId: "rd-a1b2c3", enterpriseId: "ent-acme", accounts: [{ id: OWNER, name: "security-team" }, { id: PRINCIPAL, name: "app-team" }] },
      instance: {
        instanceId: INSTANCE, type: "software", regionId: "cn-hangzhou", ownerId: OWNER, status: "enabled",
        vpcId: "vpc-bp1primary0000001", spec: { accessManagementQuota: 4, keyQuota: 100, secretQuota: 10 },
      },
    },
  }],
};

/**
 * A running endpoint: `{ port, url, dir, log, stop() }`; with `tls`, HTTPS and `dir/ca.pem`;
 * `seed` in place of the default one, `args` added to the command line.
 */
export async function startServe({ tls = false, seed: given = seed, args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "kms-serve-"));
  writeFileSync(join(dir, "seed.json"), JSON.stringify(given));
  const https = [];
  if (tls) {
    makeCertificates(dir);
    https.push("--tls-certificate", join(dir, "server.pem"), "--tls-key", join(dir, "server.key"));
  }
  const child = spawn(cli(), ["serve", "--seed", join(dir, "seed.json"), ...https, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const log = [];
  const first = await new Promise((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (status) => reject(new Error(`kms-instance serve exited with ${status}`)));
  });
  lines.on("line", (line) => log.push(line));
  const port = Number(first.split(":").pop());
  return {
    port,
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    dir,
    log,
    seed: join(dir, "seed.json"),
    stop: () => new Promise((resolve) => {
      child.once("exit", (status) => {
        rmSync(dir, { recursive: true, force: true });
        resolve(status);
      });
      child.kill("SIGTERM");
    }),
  };
}

/** The options of a KmsKeyProvider for `server`. */
export const options = (server, extra = {}) => ({
  endpoint: server.url, region: "cn-hangzhou", accessKeyId: ACCESS_KEY_ID, accessKeySecret: SECRET, ...extra,
});
