// The types of the package: every one is generated from the Rust types (tsify, and the
// declarations the Rust code writes beside the few types whose shape it writes by
// hand). What is here only derives from them: a name for a union, or what only
// JavaScript adds (a `Date`, a timeout).
import type { ByteStream } from "./host.js";
import type { DataKeyCache } from "./sealing.js";
import type { DecryptOptions as CoreDecryptOptions, EnvOptions, NameKind, Opened as CoreOpened, SealOptions } from "./generated/types.js";

export type {
  Account, Action, DataKeyCacheLimits, Algorithm, SealAlgorithm, Association, AssociationStatus, AuditRecord, BindVpcEntry, BoundVpc, Code, Decision, Directory,
  Expect, InstanceRecord, JsKeyProvider, Key, KeyDescription, KeyringEntry, KeyringFile, Level, NameCheck, NameKind, NoParams,
  Origin, OrgShare, Outcome, Permission, Place, Plan, PlanResult, PlanStep, Principal, Problem, Protection, QuotaChange,
  QuotaUsage, Request, RunOptions, Secret, Share, ShareMode, Spec, State, Status, StepResult, VSwitchFacts, XksKeyProviderOptions, KmsKeyProviderOptions,
  Context as BindVpcsContext, Report as BindVpcsReport, Summary as MessageSummary, DataKeySummary,
} from "./generated/types.js";

/**
 * When, and as which request id, a request is applied; `now` may also be a `Date`.
 * @interface
 */
export type ApplyEnv = Omit<EnvOptions, "now"> & {
  /** When the request is applied: an RFC 3339 string or a `Date`. */
  now?: string | Date;
};

/** The kinds of id `validateId` checks: `vpc-id`, `region-id`, … */
export type IdKind = Extract<NameKind, `${string}-id`>;
/** The kinds of name `validateName` checks: `alias`, `resource-share-name`, … */
export type NameKindName = Exclude<NameKind, IdKind>;

/** An encryption context: names and values bound to a message, in its header (authenticated, not hidden). */
export type EncryptionContext = Record<string, string>;

/** What only JavaScript adds to the options: how long a JavaScript key provider may take. */
interface Timeout {
  /** How long one call to a key provider may take, in ms (default 10,000): past it, `Bridge.Timeout`. */
  timeoutMs?: number;
}

/**
 * How `encrypt` seals: the keys, the context, the algorithm, a timeout, a cache of data keys.
 * @interface
 */
export type EncryptOptions = SealOptions & Timeout & {
  /** Reuse data keys within this cache's limits (by default each message gets its own). */
  cache?: DataKeyCache;
};
/**
 * How `decrypt` opens: the context the message must have, legacy algorithms, a timeout.
 * @interface
 */
export type DecryptOptions = CoreDecryptOptions & Timeout;

/**
 * How `encryptStream` seals: `encrypt`'s options, and the plaintext's length.
 * @interface
 */
export type EncryptStreamOptions = EncryptOptions & {
  /** The plaintext's length in bytes: the message's framing says it before the body. */
  size: number;
};

/**
 * How `decryptStream` and `decryptSource` open: `decrypt`'s options, and when plaintext may come out.
 * @interface
 */
export type DecryptStreamOptions = DecryptOptions & {
  /** Release plaintext as it decrypts, before the tag is checked (a changed message errors the stream at its end, after its plaintext came out). Off by default. */
  unverified?: boolean;
  /** The most of a message `decryptStream` holds in memory to check it before releasing any plaintext (default 64 MiB). */
  bufferLimit?: number;
};

/** A source that can be read more than once: a `Blob` (a `File`, Node's `fs.openAsBlob`), or any object with its size and a new stream of it on each call (an object store's ranged reads). */
export interface Rereadable {
  /** Its length in bytes. */
  readonly size: number;
  /** A new stream of its bytes, from the first. */
  stream(): ByteStream | Promise<ByteStream>;
}

/**
 * Bytes the package returns: a `Uint8Array` over an `ArrayBuffer`, typed so that
 * `new Response(x)`, `crypto.subtle.*(…, x)` and `Buffer.from(x)` take it in every
 * TypeScript version (`Uint8Array<ArrayBuffer>` from 5.7, plain `Uint8Array` before).
 */
export type Bytes = ReturnType<Uint8Array["slice"]>;

/**
 * An opened message: its plaintext, and what its header says.
 * @interface
 */
export type Opened = Omit<CoreOpened, "plaintext"> & {
  /** The message's plaintext. */
  plaintext: Bytes;
};
