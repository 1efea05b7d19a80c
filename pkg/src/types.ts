// The types of the package. Most are generated from the Rust types (tsify); the few
// whose JSON shape is written by hand in Rust are declared here.
import type { Action, Directory, Expect, InstanceRecord, NameKind, Problem } from "../wasm/kms_instance.js";

export type {
  Account, Action, Algorithm, Association, BindVpcEntry, AssociationStatus, AuditRecord, BoundVpc, Code, Decision, Directory, Expect,
  Key, KeyDescription, Level, NameKind, Origin, OrgShare, Outcome, Permission, PlanResult, Principal, Problem, Protection,
  QuotaChange, QuotaUsage, Secret, Share, ShareMode, Spec, Status, StepResult, VSwitchFacts,
  Context as BindVpcsContext, Report as BindVpcsReport, InstanceRecord, State,
} from "../wasm/kms_instance.js";

type ParamsOptional<A> = A extends { action: infer N; params: infer P } ? { action: N; params?: P } : never;

/** An API call made by an account: a change-plan step without `expect`. */
export type Request = ParamsOptional<Action> & {
  /** An account id, or "owner". */
  as: string;
  /** RAM actions granted to the caller (`kms:Encrypt`, `kms:*`); left out, all. */
  ram?: string[];
  /** The region the call is made from; left out, the instance's. */
  region?: string;
  /** The AccessKey id or STS token that signed the call (masked in the audit record). */
  credential?: string;
};

export type PlanStep = Request & { expect?: Expect };

/** A change plan (SCENARIOS.md). */
export interface Plan {
  name: string;
  rules?: string[];
  description?: string;
  /** RFC 3339 time of the first step; each later step is one minute on. */
  now?: string;
  directory: Directory;
  instance: InstanceRecord;
  steps: PlanStep[];
}

/** When, and as which request id, a request is applied. */
export interface ApplyEnv {
  /** Left out: now. */
  now?: string | Date;
  /** Left out: a random UUID. */
  requestId?: string;
  latencyMs?: number;
}

export type IdKind = Extract<NameKind, `${string}-id`>;
export type NameKindName = Exclude<NameKind, IdKind>;

export type NameCheck = { ok: true } | { ok: false; error: Problem };

/** `{"keys": [{"arn": "acs:kms:<region>:<uid>:key/<id>", "material": "<base64 of 32 bytes>"}]}` */
export interface KeyringFile {
  keys: { arn: string; material: string }[];
}

export type EncryptionContext = Record<string, string>;

export interface EncryptOptions {
  context?: EncryptionContext;
  algorithm?: "AES_GCM_128" | "AES_GCM_256";
  /** The master keys to use, the first generating the data key; left out, every key of every provider. */
  keys?: string[];
  /** How long one call to a key store may take, in ms (default 10,000): past it, `Bridge.Timeout`. */
  timeoutMs?: number;
}

export interface DecryptOptions {
  /** Entries the message's context must hold, with these values. */
  requireContext?: EncryptionContext;
  /** How long one call to a key store may take, in ms (default 10,000): past it, `Bridge.Timeout`. */
  timeoutMs?: number;
}

export interface Opened {
  plaintext: Uint8Array;
  context: EncryptionContext;
  /** The master key whose encrypted data key opened the message. */
  keyArn: string;
}

/**
 * Master keys kept by JavaScript: AES-256-GCM under a named key. The module calls
 * these; a failure rejects with `{code, message}` (`Bridge.KeyNotFound`,
 * `InvalidCiphertext`, `Bridge.Unavailable`, …). `WebCryptoKeyProvider` is one.
 */
export interface KeyStore {
  arns(): string[];
  seal(arn: string, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  open(arn: string, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array>;
  /** How the key is protected (`SOFTWARE`, `HSM`, `WEBCRYPTO`, …); every master key is AES-256. */
  describe(arn: string): Promise<{ protectionLevel: string }>;
}
