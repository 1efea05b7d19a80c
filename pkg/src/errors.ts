import type { AuditRecord, Code, Problem, QuotaUsage } from "../wasm/kms_instance.js";

/** What the wasm module throws: the first problem's fields, and all of them. */
interface Thrown {
  code: Code;
  message: string;
  path?: string;
  rule?: string;
  errors?: Problem[];
  quota?: QuotaUsage;
  audit?: AuditRecord;
}

/**
 * A failure with a stable code from RULES.md. Match on `code`, never on `message`.
 * A rejected request also carries every problem (BindVpcs reports them all), the
 * quota after it (unchanged) and its audit record.
 */
export class KmsError extends Error {
  readonly code: Code;
  readonly path?: string;
  readonly rule?: string;
  readonly errors: Problem[];
  readonly quota?: QuotaUsage;
  readonly audit?: AuditRecord;

  constructor(thrown: Thrown) {
    super(thrown.path ? `${thrown.code} at ${thrown.path}: ${thrown.message}` : `${thrown.code}: ${thrown.message}`);
    this.name = "KmsError";
    this.code = thrown.code;
    this.path = thrown.path;
    this.rule = thrown.rule;
    this.errors = thrown.errors ?? [{ code: thrown.code, message: thrown.message, path: thrown.path, rule: thrown.rule }];
    this.quota = thrown.quota;
    this.audit = thrown.audit;
  }
}

export function isKmsError(value: unknown): value is KmsError {
  return value instanceof KmsError;
}

function isThrown(e: unknown): e is Thrown {
  return typeof e === "object" && e !== null && typeof (e as Thrown).code === "string" && typeof (e as Thrown).message === "string";
}

/** Runs a call into the module, turning what it throws into a `KmsError`. */
export function guard<T>(call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw isThrown(e) ? new KmsError(e) : e;
  }
}

export async function guardAsync<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw isThrown(e) ? new KmsError(e) : e;
  }
}
