// The BindVpcs document the package's benches read: `n` valid entries, every other
// owner id a JSON number, as consoles send them (benches/bind_vpcs.rs writes the same).
export const OWNER = "1207089758810000";

export const bindVpcs = (n) =>
  JSON.stringify(
    Array.from({ length: n }, (_, i) => ({
      VpcId: `vpc-bp1go9qvmj78j4f4c${String(i).padStart(5, "0")}`,
      VSwitchId: `vsw-bp16c5pvvcf0fp5b9${String(i).padStart(5, "0")}`,
      RegionId: "cn-hangzhou",
      VpcOwnerId: i % 2 ? OWNER : Number(OWNER),
    })),
  );
