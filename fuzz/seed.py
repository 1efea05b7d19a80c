#!/usr/bin/env python3
"""Writes the seed corpora (fuzz/seeds/<target>/) from the shared scenarios and the
envelope test vectors. Run from the repository root: python3 fuzz/seed.py"""
import base64, hashlib, json, os, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shared = os.environ.get("KMS_SHARED", os.path.join(root, "..", "shared"))
seeds = os.path.join(root, "fuzz", "seeds")

def put(target, data):
    os.makedirs(os.path.join(seeds, target), exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(seeds, target, name), "wb") as f:
        f.write(data)

def tlv(data, at):
    """(tag, value start, value end) of the DER element at `at`."""
    tag, first = data[at], data[at + 1]
    if first < 0x80:
        return tag, at + 2, at + 2 + first
    n = first & 0x7F
    length = int.from_bytes(data[at + 2:at + 2 + n], "big")
    return tag, at + 2 + n, at + 2 + n + length

def children(data, start, end):
    while start < end:
        tag, vs, ve = tlv(data, start)
        yield tag, vs, ve
        start = ve

def blobs(message):
    _, ms, me = tlv(message, 0)
    _, hs, he = next(children(message, ms, me))
    fields = list(children(message, hs, he))
    _, ks, ke = fields[2]  # encrypted_data_keys: SET OF SEQUENCE { key_id, blob }
    for _, es, ee in children(message, ks, ke):
        _, (_, bs, be) = list(children(message, es, ee))
        yield message[bs:be]

for name in sorted(os.listdir(os.path.join(shared, "scenarios"))):
    text = open(os.path.join(shared, "scenarios", name), "rb").read()
    put("plan", text)
    plan = json.loads(text)
    state = json.dumps({"directory": plan["directory"], "instance": plan["instance"]}).encode()
    for step in plan["steps"]:
        params = step.get("params", {})
        if "BindVpcs" in params:
            bind = params["BindVpcs"]
            put("bind_vpcs", (bind if isinstance(bind, str) else json.dumps(bind)).encode())
        request = {k: v for k, v in step.items() if k != "expect"}
        put("apply", state + b"\xff" + json.dumps(request).encode())

# A state whose key ids were written by hand, with no counter: CreateKey must go on
# from the highest number taken, never give an id twice.
if plan_state := locals().get("state"):
    by_hand = json.loads(state)
    by_hand["instance"]["keys"] = [{"keyId": "key-hzz62f4a5c2d7ab12cd-00000001", "alias": "alias/by-hand", "creator": by_hand["instance"]["ownerId"]}]
    by_hand["instance"].pop("nextKeyNumber", None)
    put("apply", json.dumps(by_hand).encode() + b"\xff" + json.dumps({"as": "owner", "action": "CreateKey", "params": {"alias": "alias/new"}}).encode())

vectors = os.path.join(root, "tests", "vectors")
for name in sorted(os.listdir(vectors)):
    if not name.endswith(".json"):
        continue
    v = json.load(open(os.path.join(vectors, name)))
    message = base64.b64decode(v["message"])
    put("message", message)
    # The keyring target reads an enum first: four zero bytes choose raw text.
    put("keyring", b"\0\0\0\0" + json.dumps(v["keyring"]).encode())
    try:
        for blob in blobs(message):
            put("blob", blob)
    except (IndexError, ValueError):
        pass  # a vector that is malformed on purpose
# Proxy answers for xks_answer: a selector byte (operation << 3 | status), then a body.
b64 = lambda n, v=7: base64.b64encode(bytes([v]) * n).decode()
for op in range(4):
    for body in [
        json.dumps({"authenticationTag": b64(16), "ciphertext": b64(32), "initializationVector": b64(12), "ciphertextDataIntegrityValue": b64(32)}),
        json.dumps({"plaintext": b64(32)}),
        json.dumps({"keySpec": "AES_256", "keyUsage": ["ENCRYPT", "DECRYPT"], "keyStatus": "ENABLED"}),
        json.dumps({"errorName": "ThrottlingException", "errorMessage": "slow down"}),
    ]:
        put("xks_answer", bytes([op << 3]) + body.encode())
put("xks_answer", b"\x03AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + b"0" * 64)

print("seeds:", {t: len(os.listdir(os.path.join(seeds, t))) for t in sorted(os.listdir(seeds))}, file=sys.stderr)
