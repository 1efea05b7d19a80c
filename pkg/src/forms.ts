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
  return guard(() => wasm().validateBindVpcs(input, context));
}

/** Validates a name: alias, secret name, resource share name, account or display name, bucket. */
export function validateName(kind: NameKindName, value: string): NameCheck {
  return guard(() => wasm().validateName(kind, value));
}

/** Validates an id: instance, VPC, vSwitch, region, account, folder, resource directory. */
export function validateId(kind: IdKind, value: string): NameCheck {
  return guard(() => wasm().validateName(kind, value));
}

