import type { AuditRecord, Code, Place, Problem, QuotaUsage } from "./generated/types.js";

/** What the wasm module throws: the first problem's fields, and all of them. */
interface Thrown {
  code: Code;
  message: string;
  path?: string;
  rule?: string;
  place?: Place;
  errors?: Problem[];
  omitted?: number;
  quota?: QuotaUsage;
  audit?: AuditRecord;
  /** What a JavaScript key provider threw, when that caused the failure. */
  cause?: unknown;
}

// Each entry (and its CommonJS copy) is a bundle of its own, with its own KmsError
// class: a registered symbol marks them all, so instanceof and isKmsError hold across.
const BRAND = Symbol.for("kms-instance.KmsError");

/**
 * A failure with a stable code from RULES.md. Match on `code`, never on `message`.
 * A rejected request also carries every problem (BindVpcs reports them all), the
 * quota after it (unchanged) and its audit record.
 *
 * @example A state with a field missing: the code, and where in the text
 * ```ts
 * import { Instance, KmsError } from "kms-instance";
 *
 * try {
 *   Instance.fromJSON('{"directory": {"resourceDirectoryId": "rd-a1b2c3"}}');
 * } catch (e) {
 *   if (e instanceof KmsError) console.log(e.code, e.path, e.place?.column); // InvalidParameter.State /directory 15
 * }
 * ```
 */
export class KmsError extends Error {
  /** The stable code (`InvalidParameter.BindVpcs.VSwitchId`, `Bridge.Timeout`, …): the first problem's. */
  readonly code: Code;
  /** The JSON pointer of the offending field, when there is one. */
  readonly path?: string;
  /** The rule of RULES.md it breaks (`R-NAME-3`), when there is one. */
  readonly rule?: string;
  /** Where in the JSON text passed (not an object) it is: line, column, byte and UTF-16 ranges. */
  readonly place?: Place;
  /** Every problem, up to the first 100 (the first is this error's `code`, `path` and `rule`). */
  readonly errors: Problem[];
  /** Problems found past the first 100 of `errors`: counted, not listed. */
  readonly omitted: number;
  /** A rejected request's quota: unchanged by it. */
  readonly quota?: QuotaUsage;
  /** A rejected request's audit record (`auditLine` writes it as the log's line). */
  readonly audit?: AuditRecord;

  /**
   * Made by the package from what the module throws.
   * @internal
   */
  constructor(thrown: Thrown) {
    const message = thrown.path ? `${thrown.code} at ${thrown.path}: ${thrown.message}` : `${thrown.code}: ${thrown.message}`;
    super(message, "cause" in thrown ? { cause: thrown.cause } : undefined);
    this.name = "KmsError";
    this.code = thrown.code;
    this.path = thrown.path;
    this.rule = thrown.rule;
    this.place = thrown.place;
    this.errors = thrown.errors ?? [{ code: thrown.code, message: thrown.message, path: thrown.path, rule: thrown.rule, place: thrown.place }];
    this.omitted = thrown.omitted ?? 0;
    this.quota = thrown.quota;
    this.audit = thrown.audit;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** `instanceof KmsError` holds for a `KmsError` of any of the package's entries, ESM or CommonJS. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/**
 * Whether `value` is a `KmsError` (of any of the package's entries): the same as
 * `value instanceof KmsError`, as a type guard.
 *
 * @example Bytes that are not a message
 * ```ts
 * import { inspectMessage, isKmsError } from "kms-instance/envelope";
 *
 * try {
 *   inspectMessage(new TextEncoder().encode("not a message"));
 * } catch (e) {
 *   if (isKmsError(e)) console.log(e.code); // InvalidCiphertext.NotAMessage
 * }
 * ```
 */
export function isKmsError(value: unknown): value is KmsError {
  return value instanceof KmsError;
}

function isThrown(e: unknown): e is Thrown {
  return typeof e === "object" && e !== null && typeof (e as Thrown).code === "string" && typeof (e as Thrown).message === "string";
}

/** What the module threw, as an `Error`: a problem becomes a `KmsError`; an `Error`
 * (a `TypeError` for a wrong argument) stays itself; anything else thrown (by a getter
 * or a proxy of the caller's, say) becomes an `Error` whose `cause` it is. */
export function toError(e: unknown): Error {
  // A value a caller's code threw may be a proxy whose every trap throws.
  try {
    if (e instanceof KmsError || (e instanceof Error && !isThrown(e))) return e;
    if (isThrown(e)) return new KmsError(e);
  } catch {}
  return new Error(`the call failed: something it read threw ${e === null ? "null" : typeof e}, not an Error`, { cause: e });
}

/** The `KmsError` for an object used after its `free()`. */
export function freed(what: string): KmsError {
  return new KmsError({ code: "Module.Freed", message: `this ${what} was freed: make a new one` });
}

/** Runs a call into the module, turning what it throws into a `KmsError`. */
export function guard<T>(call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw toError(e);
  }
}

export async function guardAsync<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw toError(e);
  }
}
