# A KMS instance as a service, with Alibaba's Python SDKs (alibabacloud-kms20160120 and
# -resourcesharing20200110, V3 signatures) against `kms-instance serve --seed
# examples/instance-seed.json` at $KMS_HOST: connect, bind three VPCs, share with two
# accounts, a principal's key, the mode made independent. examples/instance_story.sh runs it.
import json, os, time
from alibabacloud_kms20160120 import models as kms
from alibabacloud_kms20160120.client import Client as Kms
from alibabacloud_resourcesharing20200110 import models as rs
from alibabacloud_resourcesharing20200110.client import Client as Sharing
from alibabacloud_tea_openapi.models import Config

def config(key_id, secret):
    return Config(access_key_id=key_id, access_key_secret=secret, endpoint=os.environ["KMS_HOST"], protocol="http")

OWNER, APP, DATA = "1207089758810000", "1207089758820000", "1207089758830000"
INSTANCE = "kst-hzz62f4a5c2d7ab12cd"
owner = Kms(config("LTAI5tStoryOwner00000001", "story-secret-of-the-owner"))
sharing = Sharing(config("LTAI5tStoryOwner00000001", "story-secret-of-the-owner"))
app = Kms(config("LTAI5tStoryApp000000001", "story-secret-of-app-team"))
get = lambda: owner.get_kms_instance(kms.GetKmsInstanceRequest(kms_instance_id=INSTANCE)).body.kms_instance

owner.connect_kms_instance(kms.ConnectKmsInstanceRequest(
    kms_instance_id=INSTANCE, kmprovider="Aliyun", vpc_id="vpc-bp1primary0000001",
    v_switch_ids="vsw-bp1zonea00000001,vsw-bp1zoneb00000001", zone_ids="cn-hangzhou-h,cn-hangzhou-i"))
while get().status == "Connecting":
    time.sleep(0.2)
print("instance:", get().status)

vpcs = [{"VpcId": "vpc-bp1bound0000000%d" % n, "VSwitchId": "vsw-bp1bound0000000%d" % n,
         "RegionId": "cn-hangzhou", "VpcOwnerId": OWNER} for n in (1, 2, 3)]
owner.update_kms_instance_bind_vpc(kms.UpdateKmsInstanceBindVpcRequest(kms_instance_id=INSTANCE, bind_vpcs=json.dumps(vpcs)))
print("VPCs bound:", len(get().bind_vpcs.bind_vpc))

arn = "acs:kms:cn-hangzhou:%s:keystore/%s" % (OWNER, INSTANCE)
mode = lambda m: [rs.CreateResourceShareRequestResourceProperties(resource_arn=arn, property=json.dumps({"shareMode": m}))]
share = sharing.create_resource_share(rs.CreateResourceShareRequest(
    resource_share_name="kms-share", targets=[APP, DATA], resource_properties=mode("joint"),
    resources=[rs.CreateResourceShareRequestResources(resource_id=INSTANCE, resource_type="KMSInstance")])).body.resource_share
print("shared with two accounts:", share.resource_share_id, "(3 VPCs and 2 accounts: the quota of 5, used up)")

key = app.create_key(kms.CreateKeyRequest(dkmsinstance_id=INSTANCE)).body.key_metadata
blob = app.generate_data_key(kms.GenerateDataKeyRequest(key_id=key.key_id)).body.ciphertext_blob
print("app-team's key:", key.key_id)
sharing.associate_resource_share(rs.AssociateResourceShareRequest(
    resource_share_id=share.resource_share_id,
    resource_properties=[rs.AssociateResourceShareRequestResourceProperties(resource_arn=arn, property=json.dumps({"shareMode": "independent"}))]))
try:
    owner.decrypt(kms.DecryptRequest(ciphertext_blob=blob))
except Exception as refused:
    print("independent mode, the owner decrypts app-team's blob:", refused.code)
