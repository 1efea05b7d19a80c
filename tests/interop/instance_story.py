"""The instance as a service, driven by Alibaba's own Python SDKs against
`kms-instance serve` (tests/kms_server.rs runs it with the seed it wrote, then kills the
server with SIGKILL between the two halves and starts it again on the same data file).

    instance_story.py first ENDPOINT SEED NOTES    alibabacloud-kms20160120 and
        alibabacloud-resourcesharing20200110 (V3): connect, bind three VPCs, share with two
        accounts in joint mode, a principal's key, the mode made independent for good
    instance_story.py second ENDPOINT SEED NOTES   after the restart, aliyun-python-sdk-kms
        (v1): nothing answered was lost; a second instance, quota 4, is one account short

NOTES is a file the first half writes for the second. Each check prints a line; the last
line is `N passed, N failed`.
"""

import json
import sys
import time
import traceback

# The checks and their tally are kms_clients.py's (beside this file).
from kms_clients import FAILED, PASSED, check


def accounts(seed):
    """The owner and the two principals: (account id, AccessKey) each."""
    return [(a["id"], a["accessKeys"][0]) for a in seed["accounts"][:3]]


def bind_vpcs(seed, n):
    owner = seed["accounts"][0]["id"]
    return json.dumps([{"VpcId": "vpc-bp1bound%08d" % i, "VSwitchId": "vsw-bp1bound%08d" % i,
                        "RegionId": seed["region"], "VpcOwnerId": owner} for i in range(1, n + 1)])


def refused(call):
    """The error code of a call that must fail (None when it succeeded)."""
    try:
        call()
    except Exception as e:  # the SDKs raise their own exception types, each with a code
        return getattr(e, "code", None) or getattr(e, "error_code", None) or (e.get_error_code() if hasattr(e, "get_error_code") else repr(e))
    return None


def v3_clients(endpoint, seed, key):
    from alibabacloud_kms20160120.client import Client as Kms
    from alibabacloud_resourcesharing20200110.client import Client as Sharing
    from alibabacloud_tea_openapi.models import Config

    def config():
        return Config(access_key_id=key["id"], access_key_secret=key["secret"], endpoint=endpoint.split("://", 1)[1],
                      protocol="http", region_id=seed["region"])
    return Kms(config()), Sharing(config())


def first(endpoint, seed, notes):
    from alibabacloud_kms20160120 import models as kms
    from alibabacloud_resourcesharing20200110 import models as rs

    (owner_id, owner_key), (p1_id, p1_key), (p2_id, _) = accounts(seed)
    a, b = [i["state"]["instance"]["instanceId"] for i in seed["instances"]]
    owner, sharing = v3_clients(endpoint, seed, owner_key)
    principal, _ = v3_clients(endpoint, seed, p1_key)

    listed = owner.list_kms_instances(kms.ListKmsInstancesRequest(page_size=1)).body
    check("ListKmsInstances pages: one of two", listed.total_count == 2 and len(listed.kms_instances.kms_instance) == 1
          and listed.kms_instances.kms_instance[0].kms_instance_arn.endswith(":keystore/" + a), listed)
    got = owner.get_kms_instance(kms.GetKmsInstanceRequest(kms_instance_id=a)).body.kms_instance
    check("GetKmsInstance: a new instance is Uninitialized", got.status == "Uninitialized" and got.vpc_num == 5, got)

    owner.connect_kms_instance(kms.ConnectKmsInstanceRequest(
        kms_instance_id=a, kmprovider="Aliyun", vpc_id="vpc-bp1primary0000001",
        v_switch_ids="vsw-bp1zonea00000001,vsw-bp1zoneb00000001", zone_ids="cn-hangzhou-h,cn-hangzhou-i"))
    got = owner.get_kms_instance(kms.GetKmsInstanceRequest(kms_instance_id=a)).body.kms_instance
    check("ConnectKmsInstance: Connecting", got.status == "Connecting", got.status)
    check("a key cannot be made while it connects",
          refused(lambda: owner.create_key(kms.CreateKeyRequest(dkmsinstance_id=a))) == "Rejected.InstanceNotEnabled")
    deadline = time.time() + 20
    while got.status == "Connecting" and time.time() < deadline:
        time.sleep(0.2)
        got = owner.get_kms_instance(kms.GetKmsInstanceRequest(kms_instance_id=a)).body.kms_instance
    check("then Connected on the server's clock", got.status == "Connected" and got.vpc_id == "vpc-bp1primary0000001"
          and got.vswitch_ids == ["vsw-bp1zonea00000001", "vsw-bp1zoneb00000001"], got)

    bad = json.dumps([{"VpcId": "vpc-1", "VswitchId": "vsw-bp1bound00000001", "RegionId": seed["region"], "VpcOwnerId": owner_id}])
    code = refused(lambda: owner.update_kms_instance_bind_vpc(kms.UpdateKmsInstanceBindVpcRequest(kms_instance_id=a, bind_vpcs=bad)))
    check("UpdateKmsInstanceBindVpc: the validator's problems, Alibaba's shape", code is not None and code.startswith("InvalidParameter.BindVpcs"), code)
    owner.update_kms_instance_bind_vpc(kms.UpdateKmsInstanceBindVpcRequest(kms_instance_id=a, bind_vpcs=bind_vpcs(seed, 3)))
    got = owner.get_kms_instance(kms.GetKmsInstanceRequest(kms_instance_id=a)).body.kms_instance
    check("three VPCs bound", len(got.bind_vpcs.bind_vpc) == 3 and got.bind_vpcs.bind_vpc[2].vpc_id == "vpc-bp1bound00000003", got.bind_vpcs)

    arn = "acs:kms:%s:%s:keystore/%s" % (seed["region"], owner_id, a)
    made = sharing.create_resource_share(rs.CreateResourceShareRequest(
        resource_share_name="kms-share", targets=[p1_id, p2_id],
        resources=[rs.CreateResourceShareRequestResources(resource_id=a, resource_type="KMSInstance")],
        resource_properties=[rs.CreateResourceShareRequestResourceProperties(resource_arn=arn, property='{"shareMode": "joint"}')],
    )).body.resource_share
    check("CreateResourceShare with two accounts (quota 5: 3 VPCs and 2 accounts)", made.resource_share_owner == owner_id and made.resource_share_status == "Active", made)
    associated = sharing.list_resource_share_associations(rs.ListResourceShareAssociationsRequest(association_type="Target")).body
    statuses = sorted((x.entity_id, x.association_status) for x in associated.resource_share_associations)
    check("ListResourceShareAssociations: both associated", statuses == sorted([(p1_id, "Associated"), (p2_id, "Associated")]), statuses)
    shares = sharing.list_resource_shares(rs.ListResourceSharesRequest(resource_owner="OtherAccounts"))
    check("the owner sees no share of another account's", shares.body.resource_shares == [], shares.body)

    key = principal.create_key(kms.CreateKeyRequest(dkmsinstance_id=a)).body.key_metadata
    check("a principal makes a key in the shared instance", key.dkmsinstance_id == a and key.creator == p1_id, key)
    sealed = principal.generate_data_key(kms.GenerateDataKeyRequest(key_id=key.key_id, encryption_context={"app": "story"})).body
    opened = owner.decrypt(kms.DecryptRequest(ciphertext_blob=sealed.ciphertext_blob, encryption_context={"app": "story"})).body
    check("joint mode: the owner uses the principal's key", opened.plaintext == sealed.plaintext)

    # A key's settings are the instance's state: the principal protects, rotates and tags its key.
    principal.update_rotation_policy(kms.UpdateRotationPolicyRequest(key_id=key.key_id, enable_automatic_rotation=True, rotation_interval="30d"))
    principal.set_deletion_protection(kms.SetDeletionProtectionRequest(protected_resource_arn=key.arn, enable_deletion_protection=True))
    principal.tag_resource(kms.TagResourceRequest(key_id=key.key_id, tags='[{"TagKey": "team", "TagValue": "app"}]'))
    described = principal.describe_key(kms.DescribeKeyRequest(key_id=key.key_id)).body.key_metadata
    check("UpdateRotationPolicy and SetDeletionProtection: DescribeKey shows them",
          (described.automatic_rotation, described.deletion_protection) == ("Enabled", "Enabled"), described)
    code = refused(lambda: principal.schedule_key_deletion(kms.ScheduleKeyDeletionRequest(key_id=key.key_id, pending_window_in_days=7)))
    check("a key protected from deletion is not scheduled for it", code == "Rejected.DeletionProtected", code)

    share_id = made.resource_share_id
    sharing.associate_resource_share(rs.AssociateResourceShareRequest(
        resource_share_id=share_id,
        resource_properties=[rs.AssociateResourceShareRequestResourceProperties(resource_arn=arn, property='{"shareMode": "independent"}')]))
    back = refused(lambda: sharing.associate_resource_share(rs.AssociateResourceShareRequest(
        resource_share_id=share_id,
        resource_properties=[rs.AssociateResourceShareRequestResourceProperties(resource_arn=arn, property='{"shareMode": "joint"}')])))
    check("joint -> independent, and never back", back == "Rejected.ModeChangeIrreversible", back)
    code = refused(lambda: owner.decrypt(kms.DecryptRequest(ciphertext_blob=sealed.ciphertext_blob, encryption_context={"app": "story"})))
    check("independent mode: the owner is refused the principal's key", code == "Forbidden.NoPermission", code)
    code = refused(lambda: sharing.delete_resource_share(rs.DeleteResourceShareRequest(resource_share_id=share_id)))
    check("the share is not deleted while the principal's key exists", code == "Rejected.ShareHasResources", code)

    with open(notes, "w") as f:
        json.dump({"blob": sealed.ciphertext_blob, "plaintext": sealed.plaintext, "key": key.key_id, "share": share_id}, f)


def second(endpoint, seed, notes):
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkkms.request.v20160120 import (
        ConnectKmsInstanceRequest, CreateKeyRequest, DecryptRequest, GetKmsInstanceRequest, ListKmsInstancesRequest,
        UpdateKmsInstanceBindVpcRequest)
    from alibabacloud_resourcesharing20200110 import models as rs

    with open(notes) as f:
        kept = json.load(f)
    (owner_id, owner_key), (p1_id, p1_key), (p2_id, p2_key) = accounts(seed)
    a, b = [i["state"]["instance"]["instanceId"] for i in seed["instances"]]
    clients = {who: AcsClient(k["id"], k["secret"], seed["region"]) for who, k in (("owner", owner_key), ("p1", p1_key), ("p2", p2_key))}

    def call(request_class, who="owner", **params):
        request = request_class()
        request.set_endpoint(endpoint)
        request.set_accept_format("JSON")
        for name, value in params.items():
            getattr(request, "set_" + name)(value)
        return json.loads(clients[who].do_action_with_exception(request))

    got = call(GetKmsInstanceRequest.GetKmsInstanceRequest, KmsInstanceId=a)["KmsInstance"]
    check("after kill -9: still Connected, three VPCs, shared independently",
          got["Status"] == "Connected" and len(got["BindVpcs"]["BindVpc"]) == 3 and got["ShareMode"] == "independent", got)
    opened = call(DecryptRequest.DecryptRequest, "p1", CiphertextBlob=kept["blob"], EncryptionContext='{"app": "story"}')
    check("the principal's key still opens its blob", opened["Plaintext"] == kept["plaintext"], opened)
    code = refused(lambda: call(DecryptRequest.DecryptRequest, CiphertextBlob=kept["blob"], EncryptionContext='{"app": "story"}'))
    check("and the owner is still refused it", code == "Forbidden.NoPermission", code)

    call(ConnectKmsInstanceRequest.ConnectKmsInstanceRequest, KmsInstanceId=b, KMProvider="Aliyun", VpcId="vpc-bp1primary0000002",
         VSwitchIds="vsw-bp1zonea00000002,vsw-bp1zoneb00000002", ZoneIds="cn-hangzhou-h,cn-hangzhou-i")
    deadline = time.time() + 20
    while call(GetKmsInstanceRequest.GetKmsInstanceRequest, KmsInstanceId=b)["KmsInstance"]["Status"] != "Connected" and time.time() < deadline:
        time.sleep(0.2)
    got = call(GetKmsInstanceRequest.GetKmsInstanceRequest, KmsInstanceId=b)["KmsInstance"]
    check("v1: ConnectKmsInstance, then Connected", got["Status"] == "Connected", got)
    code = refused(lambda: call(UpdateKmsInstanceBindVpcRequest.UpdateKmsInstanceBindVpcRequest, KmsInstanceId=b, BindVpcs=bind_vpcs(seed, 5)))
    check("v1: five VPCs are past quota 4, refused whole", code == "QuotaExceeded.AccessManagement", code)
    call(UpdateKmsInstanceBindVpcRequest.UpdateKmsInstanceBindVpcRequest, KmsInstanceId=b, BindVpcs=bind_vpcs(seed, 3))
    got = call(GetKmsInstanceRequest.GetKmsInstanceRequest, KmsInstanceId=b)["KmsInstance"]
    check("v1: UpdateKmsInstanceBindVpc (GET) binds three", len(got["BindVpcs"]["BindVpc"]) == 3 and got["Usage"]["VpcNum"] == 3, got)
    listed = call(ListKmsInstancesRequest.ListKmsInstancesRequest)
    check("v1: ListKmsInstances", listed["TotalCount"] == 2 and len(listed["KmsInstances"]["KmsInstance"]) == 2, listed)

    _, sharing = v3_clients(endpoint, seed, owner_key)
    arn = "acs:kms:%s:%s:keystore/%s" % (seed["region"], owner_id, b)
    sharing.create_resource_share(rs.CreateResourceShareRequest(
        resource_share_name="short-share", targets=[p1_id, p2_id],
        resources=[rs.CreateResourceShareRequestResources(resource_id=b, resource_type="KMSInstance")],
        resource_properties=[rs.CreateResourceShareRequestResourceProperties(resource_arn=arn, property='{"shareMode": "joint"}')]))
    associated = sharing.list_resource_share_associations(rs.ListResourceShareAssociationsRequest(association_type="Target")).body
    on_b = {x.entity_id: x for x in associated.resource_share_associations if x.resource_share_name == "short-share"}
    check("quota 4: the second account's association failed, not the request",
          on_b[p1_id].association_status == "Associated" and on_b[p2_id].association_status == "Failed"
          and on_b[p2_id].association_failed_details[0].failure_reason == "LimitExceeded", on_b)
    code = refused(lambda: call(CreateKeyRequest.CreateKeyRequest, "p2", DKMSInstanceId=b))
    check("a failed association grants nothing: the instance is unknown to it", code == "InvalidParameter", code)
    made = call(CreateKeyRequest.CreateKeyRequest, "p1", DKMSInstanceId=b)["KeyMetadata"]
    check("the associated one makes keys", made["DKMSInstanceId"] == b and made["Creator"] == p1_id, made)
    sharing.disassociate_resource_share(rs.DisassociateResourceShareRequest(resource_share_id="rs-" + b[4:], targets=[p2_id]))
    associated = sharing.list_resource_share_associations(rs.ListResourceShareAssociationsRequest(association_type="Target")).body
    left = [x.entity_id for x in associated.resource_share_associations if x.resource_share_name == "short-share"]
    check("DisassociateResourceShare takes the failed one away", left == [p1_id], left)
    mine = sharing.list_resource_shares(rs.ListResourceSharesRequest(resource_owner="Self")).body.resource_shares
    check("ListResourceShares: the owner's two", sorted(s.resource_share_name for s in mine) == ["kms-share", "short-share"], mine)


def main():
    phase, endpoint, seed_path, notes = sys.argv[1:5]
    with open(seed_path) as f:
        seed = json.load(f)
    try:
        (first if phase == "first" else second)(endpoint, seed, notes)
    except Exception as e:  # a client that throws where a check expected an answer
        line = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == __file__][-1:]
        check("no unexpected exception", False, "%r at line %s: %s" % (e, line, getattr(e, "message", "")))
    print("%d passed, %d failed" % (len(PASSED), len(FAILED)))
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
