"""Alibaba Cloud's own clients against `kms-instance serve` (tests/kms_server.rs runs
this with the seed it wrote): nothing here is the project's code, so what passes is
what the SDKs accept.

    kms_clients.py sdk-v1 ENDPOINT SEED          aliyun-python-sdk-core + -kms (RPC v1): every operation, the errors
    kms_clients.py sdk-v3 ENDPOINT SEED          alibabacloud-kms20160120 (V3, then signature_algorithm="v2")
    kms_clients.py esdk-encrypt HOSTPORT SEED --key ARN [--key ARN] [--context K=V]   stdin -> stdout
    kms_clients.py esdk-decrypt HOSTPORT SEED    stdin -> stdout (exit 1 when it does not open)

The esdk commands are Alibaba's Encryption SDK with its own DefaultDataKeyProvider,
pointed at the endpoint by aliyunsdkcore's modify_point (HTTPS: ALIBABA_CLOUD_CA_BUNDLE
names the test CA). Each check prints a line; the last line is `N passed, N failed`.
"""

import argparse
import base64
import json
import sys

FAILED = []
PASSED = []


def check(name, condition, detail=""):
    (PASSED if condition else FAILED).append(name)
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else ": " + str(detail)))


def owner(seed):
    account = seed["accounts"][0]
    return account["id"], account["accessKeys"][0]


def sdk_v1(endpoint, seed):
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkcore.acs_exception.exceptions import ServerException, ClientException
    from aliyunsdkkms.request.v20160120 import (
        CreateAliasRequest, CreateKeyRequest, DecryptRequest, DescribeKeyRequest, DisableKeyRequest,
        EnableKeyRequest, EncryptRequest, GenerateDataKeyRequest, GenerateDataKeyWithoutPlaintextRequest,
        ListAliasesRequest, ListKeysRequest, ReEncryptRequest, ScheduleKeyDeletionRequest)

    uid, key = owner(seed)
    region = seed["region"]
    client = AcsClient(key["id"], key["secret"], region)

    def call(request_class, as_client=client, **params):
        request = request_class()
        request.set_endpoint(endpoint)
        request.set_accept_format("JSON")
        for name, value in params.items():
            getattr(request, "set_" + name)(value)
        return json.loads(as_client.do_action_with_exception(request))

    def refused(request_class, **params):
        try:
            call(request_class, **params)
        except ServerException as e:
            return e.get_http_status(), e.get_error_code()
        except ClientException as e:
            return None, e.get_error_code()
        return 200, None

    context = json.dumps({"tenant": "t-1", "app": "docs"})
    first = seed["keys"][0]
    generated = call(GenerateDataKeyRequest.GenerateDataKeyRequest, KeyId=first["aliases"][0], EncryptionContext=context)
    check("GenerateDataKey by alias", generated["KeyId"] == first["id"] and len(base64.b64decode(generated["Plaintext"])) == 32, generated)
    opened = call(DecryptRequest.DecryptRequest, CiphertextBlob=generated["CiphertextBlob"],
                  EncryptionContext=json.dumps({"app": "docs", "tenant": "t-1"}))
    check("Decrypt, the context compared as an object", opened["Plaintext"] == generated["Plaintext"], opened)
    check("Decrypt with another context is refused",
          refused(DecryptRequest.DecryptRequest, CiphertextBlob=generated["CiphertextBlob"], EncryptionContext='{"tenant": "t-2"}')
          == (400, "InvalidCiphertext"))
    arn = "acs:kms:%s:%s:key/%s" % (region, uid, first["id"])
    short = call(GenerateDataKeyRequest.GenerateDataKeyRequest, KeyId=arn, NumberOfBytes=16)
    check("GenerateDataKey by ARN, NumberOfBytes", len(base64.b64decode(short["Plaintext"])) == 16, short)
    without = call(GenerateDataKeyWithoutPlaintextRequest.GenerateDataKeyWithoutPlaintextRequest, KeyId=first["id"], KeySpec="AES_128")
    check("GenerateDataKeyWithoutPlaintext", "Plaintext" not in without and without["CiphertextBlob"], without)
    sealed = call(EncryptRequest.EncryptRequest, KeyId=first["id"], Plaintext=base64.b64encode(b"secret bytes").decode())
    back = call(DecryptRequest.DecryptRequest, CiphertextBlob=sealed["CiphertextBlob"])
    check("Encrypt then Decrypt", base64.b64decode(back["Plaintext"]) == b"secret bytes", back)
    second = seed["keys"][1]
    moved = call(ReEncryptRequest.ReEncryptRequest, CiphertextBlob=generated["CiphertextBlob"], DestinationKeyId=second["id"],
                 SourceEncryptionContext=context, DestinationEncryptionContext=json.dumps({"moved": "yes"}))
    check("ReEncrypt names both keys", moved["SourceKeyId"] == first["id"] and moved["KeyId"] == second["id"], moved)
    again = call(DecryptRequest.DecryptRequest, CiphertextBlob=moved["CiphertextBlob"], EncryptionContext=json.dumps({"moved": "yes"}))
    check("ReEncrypt's blob opens under the destination", again["Plaintext"] == generated["Plaintext"] and again["KeyId"] == second["id"])

    created = call(CreateKeyRequest.CreateKeyRequest, Description="made by the Python SDK")["KeyMetadata"]
    check("CreateKey", created["KeyState"] == "Enabled" and created["Arn"].endswith("key/" + created["KeyId"]), created)
    call(CreateAliasRequest.CreateAliasRequest, AliasName="alias/python-made", KeyId=created["KeyId"])
    check("CreateAlias twice is refused",
          refused(CreateAliasRequest.CreateAliasRequest, AliasName="alias/python-made", KeyId=created["KeyId"])[0] == 409)
    described = call(DescribeKeyRequest.DescribeKeyRequest, KeyId="alias/python-made")["KeyMetadata"]
    check("DescribeKey by the new alias", described["KeyId"] == created["KeyId"] and described["Description"] == "made by the Python SDK")
    listed = call(ListKeysRequest.ListKeysRequest, PageSize=100)
    ids = [k["KeyId"] for k in listed["Keys"]["Key"]]
    check("ListKeys", created["KeyId"] in ids and first["id"] in ids and listed["TotalCount"] == len(ids), listed)
    page = call(ListKeysRequest.ListKeysRequest, PageSize=1, PageNumber=2)
    check("ListKeys pages", len(page["Keys"]["Key"]) == 1 and page["Keys"]["Key"][0]["KeyId"] == sorted(ids)[1], page)
    aliases = call(ListAliasesRequest.ListAliasesRequest, PageSize=100)["Aliases"]["Alias"]
    check("ListAliases", {"alias/python-made", first["aliases"][0]} <= {a["AliasName"] for a in aliases}, aliases)
    call(DisableKeyRequest.DisableKeyRequest, KeyId=created["KeyId"])
    check("a disabled key is refused (409)",
          refused(GenerateDataKeyRequest.GenerateDataKeyRequest, KeyId=created["KeyId"]) == (409, "Rejected.Disabled"))
    call(EnableKeyRequest.EnableKeyRequest, KeyId=created["KeyId"])
    check("EnableKey", refused(GenerateDataKeyRequest.GenerateDataKeyRequest, KeyId=created["KeyId"]) == (200, None))
    call(ScheduleKeyDeletionRequest.ScheduleKeyDeletionRequest, KeyId=created["KeyId"], PendingWindowInDays=7)
    state = call(DescribeKeyRequest.DescribeKeyRequest, KeyId=created["KeyId"])["KeyMetadata"]
    check("ScheduleKeyDeletion", state["KeyState"] == "PendingDeletion" and state["DeleteDate"], state)

    check("an unknown key is 404", refused(DescribeKeyRequest.DescribeKeyRequest, KeyId="key-none") == (404, "Forbidden.KeyNotFound"))
    check("an unknown alias is 404",
          refused(DescribeKeyRequest.DescribeKeyRequest, KeyId="alias/none") == (404, "Forbidden.AliasNotFound"))
    other = seed["accounts"][1]["accessKeys"][0]
    client_other = AcsClient(other["id"], other["secret"], region)
    request = DescribeKeyRequest.DescribeKeyRequest()
    request.set_endpoint(endpoint)
    request.set_KeyId(first["id"])
    try:
        client_other.do_action_with_exception(request)
        got = None
    except ServerException as e:
        got = e.get_error_code()
    check("another account's key is not found", got == "Forbidden.KeyNotFound", got)
    bad = AcsClient(key["id"], "not-the-secret", region)
    try:
        bad.do_action_with_exception(request)
        got = None
    except (ServerException, ClientException) as e:
        got = e.get_error_code()
    # aliyunsdkcore compares the server's string to sign with its own: equal, so the secret is wrong.
    check("a wrong secret is told apart from a wrong string to sign", got == "InvalidAccessKeySecret", got)
    unknown = AcsClient("LTAI-no-such-key", "x", region)
    try:
        unknown.do_action_with_exception(request)
        got = None
    except ServerException as e:
        got = (e.get_http_status(), e.get_error_code())
    check("an unknown AccessKey is 404", got == (404, "InvalidAccessKeyId.NotFound"), got)

    # Keys of a shared instance: a principal uses them as the share's mode allows.
    modes = {i["state"]["instance"]["instanceId"]: (i["state"]["instance"].get("share") or {}).get("mode")
             for i in seed.get("instances", [])}
    by_mode = {modes[k["instance"]]: k for k in seed["keys"] if k.get("instance")}
    if "joint" in by_mode and "independent" in by_mode:
        def arn_of(k):
            return "acs:kms:%s:%s:key/%s" % (region, k["account"], k["id"])
        used = call(GenerateDataKeyRequest.GenerateDataKeyRequest, as_client=client_other, KeyId=arn_of(by_mode["joint"]))
        check("a principal uses a joint instance's key", used["KeyId"] == by_mode["joint"]["id"], used)
        opened = call(DecryptRequest.DecryptRequest, CiphertextBlob=used["CiphertextBlob"])
        check("and its owner opens what the principal sealed", opened["Plaintext"] == used["Plaintext"], opened)
        got = refused(GenerateDataKeyRequest.GenerateDataKeyRequest, as_client=client_other,
                      KeyId=arn_of(by_mode["independent"]))
        check("a principal is refused the owner's key in independent mode (403)", got == (403, "Forbidden.NoPermission"), got)


def sdk_v3(endpoint, seed):
    from alibabacloud_kms20160120.client import Client
    from alibabacloud_kms20160120 import models
    from alibabacloud_tea_openapi.models import Config

    uid, key = owner(seed)
    first = seed["keys"][0]
    host = endpoint.split("://", 1)[1]
    for algorithm in ("ACS3-HMAC-SHA256", "v2"):
        config = Config(access_key_id=key["id"], access_key_secret=key["secret"], endpoint=host, protocol="http",
                        region_id=seed["region"])
        if algorithm == "v2":
            config.signature_algorithm = "v2"
        client = Client(config)
        # Escaped differently by each client (Python's V3 sends a space as `+`).
        context = {"tenant": "t 3*!'()~/+é"}
        generated = client.generate_data_key(models.GenerateDataKeyRequest(key_id=first["aliases"][0], encryption_context=context)).body
        opened = client.decrypt(models.DecryptRequest(ciphertext_blob=generated.ciphertext_blob, encryption_context=context)).body
        check("%s: GenerateDataKey and Decrypt" % algorithm, opened.plaintext == generated.plaintext and opened.key_id == first["id"])
        described = client.describe_key(models.DescribeKeyRequest(key_id=first["id"])).body
        check("%s: DescribeKey" % algorithm, described.key_metadata.key_state == "Enabled")
        try:
            client.describe_key(models.DescribeKeyRequest(key_id="key-none"))
            got = None
        except Exception as e:  # Tea raises TeaException with code and statusCode in data
            got = getattr(e, "code", None)
        check("%s: an unknown key" % algorithm, got == "Forbidden.KeyNotFound", got)
        wrong = Config(access_key_id=key["id"], access_key_secret="wrong", endpoint=host, protocol="http", region_id=seed["region"])
        if algorithm == "v2":
            wrong.signature_algorithm = "v2"
        try:
            Client(wrong).describe_key(models.DescribeKeyRequest(key_id=first["id"]))
            got = None
        except Exception as e:
            got = getattr(e, "code", None)
        check("%s: a wrong secret" % algorithm, got == "SignatureDoesNotMatch", got)


def esdk(command, hostport, seed, keys, contexts):
    from aliyunsdkcore.profile import region_provider
    from aliyun_encryption_sdk import to_str
    from aliyun_encryption_sdk.client import AliyunCrypto
    from aliyun_encryption_sdk.kms import AliyunConfig
    from aliyun_encryption_sdk.provider.default import DefaultDataKeyProvider

    region_provider.modify_point("Kms", seed["region"], hostport)
    _, key = owner(seed)
    crypto = AliyunCrypto(AliyunConfig(key["id"], key["secret"], seed["region"]))
    data = sys.stdin.buffer.read()
    if command == "esdk-encrypt":
        context = dict(pair.split("=", 1) for pair in contexts)
        provider = DefaultDataKeyProvider(keys[0], keys=list(keys[1:]))
        message, _ = crypto.encrypt(provider, data, context)
        sys.stdout.buffer.write(message)
        return
    uid = seed["accounts"][0]["id"]
    arns = ["acs:kms:%s:%s:key/%s" % (seed["region"], uid, k["id"]) for k in seed["keys"]]
    provider = DefaultDataKeyProvider(arns[0], keys=arns[1:])
    try:
        plaintext, material = crypto.decrypt(provider, data)
    except Exception as e:  # the SDK raises bare exceptions
        print("does not open: %s" % e, file=sys.stderr)
        sys.exit(1)
    context = {to_str(k): to_str(v) for k, v in material.cipher_header.encryption_context.items()}
    sys.stderr.write(json.dumps({"context": context}) + "\n")
    sys.stdout.buffer.write(plaintext)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["sdk-v1", "sdk-v3", "esdk-encrypt", "esdk-decrypt"])
    parser.add_argument("endpoint")
    parser.add_argument("seed")
    parser.add_argument("--key", action="append", default=[])
    parser.add_argument("--context", action="append", default=[])
    args = parser.parse_args()
    with open(args.seed) as f:
        seed = json.load(f)
    if args.command.startswith("esdk"):
        esdk(args.command, args.endpoint, seed, args.key, args.context)
        return
    try:
        (sdk_v1 if args.command == "sdk-v1" else sdk_v3)(args.endpoint, seed)
    except Exception as e:  # a client that throws where a check expected an answer
        check("no unexpected exception", False, repr(e))
    print("%d passed, %d failed" % (len(PASSED), len(FAILED)))
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
