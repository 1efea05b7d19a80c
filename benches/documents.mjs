// The BindVpcs document the package's benches read, and the reference's schema.
export const OWNER = "1207089758810000";

/** `n` valid entries, every other owner id a JSON number, as consoles send them (benches/bind_vpcs.rs writes the same). */
export const bindVpcs = (n) =>
  JSON.stringify(
    Array.from({ length: n }, (_, i) => ({
      VpcId: `vpc-bp1go9qvmj78j4f4c${String(i).padStart(5, "0")}`,
      VSwitchId: `vsw-bp16c5pvvcf0fp5b9${String(i).padStart(5, "0")}`,
      RegionId: "cn-hangzhou",
      VpcOwnerId: i % 2 ? OWNER : Number(OWNER),
    })),
  );

// The closest JSON Schema, for ajv: fields, formats, the region, no extra fields. It
// cannot say "no VPC twice" or "not the instance's VPC", nor report the 2^53 rule; ours does.
const id = (prefix) => ({ type: "string", pattern: `^${prefix}-[a-z0-9]{8,32}$` });
export const BIND_VPCS_SCHEMA = {
  type: "array",
  items: {
    type: "object",
    additionalProperties: false,
    required: ["VpcId", "VSwitchId", "RegionId", "VpcOwnerId"],
    properties: {
      VpcId: id("vpc"),
      VSwitchId: id("vsw"),
      RegionId: { const: "cn-hangzhou" },
      VpcOwnerId: { anyOf: [{ type: "string", pattern: "^[1-9][0-9]{15}$" }, { type: "integer", minimum: 1e15, maximum: 9007199254740991 }] },
    },
  },
};
