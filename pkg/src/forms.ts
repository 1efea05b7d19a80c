// Form validation for consoles: BindVpcs, names and ids. The rules are in Rust.
import { wasm } from "./bound.js";
import { guard } from "./errors.js";
import type { BindVpcEntry, BindVpcsContext, BindVpcsReport, BoundVpc, IdKind, NameCheck, NameKindName, Problem, QuotaChange } from "./types.js";

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
  // the glue's string copy and a tree of objects built across the boundary. Its report
  // names the valid entries by their index in it, read from it only when asked for.
  if (typeof input === "string" && input.length <= wasm().bindVpcsMaxBytes()) {
    const bytes = utf8.encode(input);
    return fromText(JSON.parse(guard(() => wasm().validateBindVpcsIndexed(bytes, context))) as IndexedReport, input);
  }
  // A string past the limit goes as it is, to be refused by its length uncopied.
  return JSON.parse(guard(() => wasm().validateBindVpcs(input, context))) as BindVpcsReport;
}

const utf8 = new TextEncoder();

/** The report of text the caller holds (src/rules/bind_vpcs: `IndexedReport`): valid entries by their index in it, added and kept VPCs by their place among those. */
interface IndexedReport {
  ok: boolean;
  errors: Problem[];
  omitted: number;
  warnings: Problem[];
  vpcsAt: number[];
  addedAt: number[];
  keptAt: number[];
  removed: string[];
  quota?: QuotaChange;
}

/**
 * The report as `validateBindVpcs` gives it, its fields in the same order: `vpcs`,
 * `added` and `kept` are read from `text` (the text wasm checked: `JSON.parse` reads
 * the same entries, the last of a repeated name winning in both) when one is first
 * used, so a caller that looks only at `ok` and `errors` never pays for them.
 */
function fromText({ ok, errors, omitted, warnings, vpcsAt, addedAt, keptAt, removed, quota }: IndexedReport, text: string): BindVpcsReport {
  let entries: Pick<BindVpcsReport, "vpcs" | "added" | "kept"> | undefined;
  const read = () => {
    if (!entries) {
      // No valid entry (text wasm refused, say): nothing to read, and nothing parsed.
      const document = (vpcsAt.length ? JSON.parse(text) : []) as Record<keyof BoundVpc, string | number>[];
      // An owner id given as a number is a safe integer here: its digits, as Rust writes them.
      const vpcs: BoundVpc[] = vpcsAt.map((i) => {
        const { VpcId, VSwitchId, RegionId, VpcOwnerId } = document[i];
        return { VpcId: String(VpcId), VSwitchId: String(VSwitchId), RegionId: String(RegionId), VpcOwnerId: String(VpcOwnerId) };
      });
      entries = { vpcs, added: addedAt.map((j) => vpcs[j].VpcId), kept: keptAt.map((j) => vpcs[j].VpcId) };
    }
    return entries;
  };
  const report = { ok, errors, omitted, warnings } as BindVpcsReport;
  readWhenUsed(report, "vpcs", () => read().vpcs);
  readWhenUsed(report, "added", () => read().added);
  report.removed = removed;
  readWhenUsed(report, "kept", () => read().kept);
  if (quota) report.quota = quota;
  return report;
}

/** `object[name]` made by `make` when first read, and from then on a plain property (assignable, like the report's others). */
function readWhenUsed<T extends object>(object: T, name: keyof T, make: () => unknown): void {
  const settle = (value: unknown) => Object.defineProperty(object, name, { value, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(object, name, {
    enumerable: true,
    configurable: true,
    get() {
      const value = make();
      settle(value);
      return value;
    },
    set: settle,
  });
}

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

