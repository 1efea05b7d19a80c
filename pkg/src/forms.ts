// Form validation for consoles: BindVpcs, names and ids. The rules are in Rust.
import { wasm } from "./bound.js";
import { guard } from "./errors.js";
import type { BindVpcEntry, BindVpcsContext, BindVpcsReport, IdKind, NameCheck, NameKindName } from "./types.js";

/**
 * Validates the BindVpcs of UpdateKmsInstanceBindVpc: for any string or array, a report
 * with every problem (the first 100 listed, the rest counted in `omitted`), never a
 * throw. Anything else is a `TypeError`.
 */
export function validateBindVpcs(input: string | readonly BindVpcEntry[], context?: BindVpcsContext): BindVpcsReport {
  // A string crosses as UTF-8 bytes and the report as JSON text: both far cheaper than
  // the glue's string copy and a tree of objects built across the boundary.
  // A string past the limit goes as it is, to be refused by its length uncopied.
  const text = typeof input === "string" && input.length <= wasm().bindVpcsMaxBytes() ? utf8.encode(input) : input;
  return JSON.parse(guard(() => wasm().validateBindVpcs(text, context))) as BindVpcsReport;
}

const utf8 = new TextEncoder();

/** Validates a name: alias, secret name, resource share name, account or display name, bucket. */
export function validateName(kind: NameKindName, value: string): NameCheck {
  return guard(() => wasm().validateName(kind, value));
}

/** Validates an id: instance, VPC, vSwitch, region, account, folder, resource directory. */
export function validateId(kind: IdKind, value: string): NameCheck {
  return guard(() => wasm().validateName(kind, value));
}

