// The inputs of the checks, and the answers every toolchain must give.
export const ARN = "acs:kms:cn-hangzhou:1207089758810000:key/key-toolchain";
export const BIND_VPCS = JSON.stringify([
  { VpcId: "vpc-bp1go9qvmj78j4f4c0001", VSwitchId: "vsw-1", RegionId: "cn-shanghai", VpcOwnerId: "1207089758810000" },
]);
export const STATE = {
  directory: { resourceDirectoryId: "rd-a1b2c3", enterpriseId: "ent-acme", accounts: [{ id: "1207089758810000", name: "security-team" }] },
  instance: {
    instanceId: "kst-hzz62f4a5c2d7ab12cd", type: "software", regionId: "cn-hangzhou", ownerId: "1207089758810000",
    status: "enabled", vpcId: "vpc-bp1primary0000001", spec: { accessManagementQuota: 5, keyQuota: 1000, secretQuota: 100 },
  },
};
export const EXPECTED = {
  codes: ["InvalidParameter.BindVpcs.VSwitchId", "InvalidParameter.BindVpcs.CrossRegion"],
  opened: "sealed by the toolchain",
  refused: "InvalidParameter.Alias",
};
