// Form validation for consoles: BindVpcs, names and ids. The rules are in Rust.
import { wasm } from "./bound.js";
import { guard } from "./errors.js";
import type { BindVpcEntry, BindVpcsContext, BindVpcsReport, IdKind, NameCheck, NameKindName } from "./types.js";

/**
 * Validates the BindVpcs of UpdateKmsInstanceBindVpc: for any string or array, a report
 * with every problem (the first 100 listed, the rest counted in `omitted`), never a
 * throw. Anything else is a `TypeError`.
 *
 * @example A vSwitch id too short, placed in the text
 * ```ts
 * import { validateBindVpcs } from "kms-instance/validate";
 *
 * const text = '[{"VpcId": "vpc-bp1go9qvmj78j4f4c0001", "VSwitchId": "vsw-1", "RegionId": "cn-hangzhou", "VpcOwnerId": 1207089758810000}]';
 * const report = validateBindVpcs(text, { region: "cn-hangzhou", owner: "1207089758810000" });
 * console.log(report.ok, report.errors.map((e) => `${e.place?.line}:${e.place?.column} ${e.code} at ${e.path}`));
 * // false [ '1:54 InvalidParameter.BindVpcs.VSwitchId at /0/VSwitchId' ]
 * ```
 */
export function validateBindVpcs(input: string | readonly BindVpcEntry[], context?: BindVpcsContext): BindVpcsReport {
  // A string crosses as UTF-8 bytes and the report as JSON text: both far cheaper than
  // the glue's string copy and a tree of objects built across the boundary.
  // A string past the limit goes as it is, to be refused by its length uncopied.
  const text = typeof input === "string" && input.length <= wasm().bindVpcsMaxBytes() ? utf8.encode(input) : input;
  return JSON.parse(guard(() => wasm().validateBindVpcs(text, context))) as BindVpcsReport;
}

const utf8 = new TextEncoder();

/**
 * Validates a name: alias, secret name, resource share name, account or display name, bucket.
 *
 * @example A valid alias, and a share name the rule refuses
 * ```ts
 * import { validateName } from "kms-instance/validate";
 *
 * console.log(validateName("alias", "alias/app").ok); // true
 * const check = validateName("resource-share-name", "kms share!");
 * if (!check.ok) console.log(check.error.code, check.error.rule); // InvalidParameter.ResourceShareName R-NAME-3
 * ```
 */
export function validateName(kind: NameKindName, value: string): NameCheck {
  return guard(() => wasm().validateName(kind, value));
}

/**
 * Validates an id: instance, VPC, vSwitch, region, account, folder, resource directory.
 *
 * @example A VPC id too short, and a region id with a typo (valid, with a warning)
 * ```ts
 * import { validateId } from "kms-instance/validate";
 *
 * const vpc = validateId("vpc-id", "vpc-1");
 * if (!vpc.ok) console.log(vpc.error.code); // InvalidParameter.VpcId
 * const region = validateId("region-id", "cn-hangzhuo");
 * if (region.ok) console.log(region.warning?.code); // Warning.UnknownRegion ("did you mean cn-hangzhou?")
 * ```
 */
export function validateId(kind: IdKind, value: string): NameCheck {
  return guard(() => wasm().validateName(kind, value));
}

