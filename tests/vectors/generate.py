"""Writes the golden vectors in this folder with Alibaba's Encryption SDK (the
reference) and asn1crypto. Run from the repository root with the interop venv:

    target/interop/venv/bin/python tests/vectors/generate.py

Positive vectors are messages the reference SDK wrote. Negative ones (`fail_*`) take
a positive message and change one thing, re-encoding the DER where the change must
still parse, so each fails for the reason its name gives. The output is committed:
messages carry random IVs, so a new run writes new bytes.
"""

import base64
import copy
import json
import os
import sys

from asn1crypto import core

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "interop"))
from alibaba_sdk import LocalKms  # noqa: E402

from aliyun_encryption_sdk.client import AliyunCrypto  # noqa: E402
from aliyun_encryption_sdk.handle.format import ASN1Cipher  # noqa: E402
from aliyun_encryption_sdk.kms import AliyunConfig  # noqa: E402
from aliyun_encryption_sdk.model import Algorithm  # noqa: E402
from aliyun_encryption_sdk.provider.default import DefaultDataKeyProvider  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ARN_1 = "acs:kms:cn-hangzhou:1207089758810000:key/key-vector-one"
ARN_2 = "acs:kms:cn-hangzhou:1207089758810000:key/key-vector-two"
KEYRING = {"keys": [
    {"arn": ARN_1, "material": base64.b64encode(bytes(range(32))).decode()},
    {"arn": ARN_2, "material": base64.b64encode(bytes(range(32, 64))).decode()},
]}
OTHER_KEYRING = {"keys": [{"arn": ARN_1, "material": base64.b64encode(bytes(32)).decode()}]}


def b64(data):
    return base64.b64encode(data).decode()


def seal(plaintext, context, keys, algorithm):
    provider = DefaultDataKeyProvider(keys[0], kms=LocalKms(KEYRING), keys=list(keys[1:]),
                                      algorithm=Algorithm.get_algorithm_by_id(algorithm))
    message, _ = AliyunCrypto(AliyunConfig("local", "local", "cn-hangzhou")).encrypt(provider, plaintext, context)
    return message


def write(name, description, message, expect, keyring=KEYRING, require=None):
    vector = {"description": description, "keyring": keyring, "message": b64(message), "expect": expect}
    if require:
        vector["requireContext"] = require
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(vector, f, indent=2, ensure_ascii=False)
        f.write("\n")


def ok(plaintext, context):
    return {"plaintext": b64(plaintext), "context": context}


FAIL = {"error": "InvalidCiphertext"}


def mutate(message, change):
    cipher = ASN1Cipher.load(message)
    change(cipher)
    return cipher.dump(force=True)


def flip(octets):
    data = bytearray(octets.native)
    data[0] ^= 0x01
    return bytes(data)


def main():
    context = {"app": "console", "名前": "値", "emoji": "🔐"}
    plaintext = "envelope sealed by the reference SDK · 参照".encode()

    base = seal(plaintext, context, [ARN_1], 2)
    write("aes256_one_key", "AES-GCM-256, one data key, a unicode context", base, ok(plaintext, context))
    write("aes128_two_keys", "AES-GCM-128, two data keys (ReEncrypt under the second)",
          seal(plaintext, {"app": "console"}, [ARN_1, ARN_2], 1), ok(plaintext, {"app": "console"}))
    write("empty_plaintext_empty_context", "an empty plaintext and an empty context",
          seal(b"", {}, [ARN_2], 2), ok(b"", {}))
    large = bytes((i * 7) % 251 for i in range(70000))
    write("large_plaintext", "70,000 bytes (long-form DER lengths)", seal(large, {"k": "v"}, [ARN_1], 2), ok(large, {"k": "v"}))

    def set_header(field, value):
        return lambda c: c["header"].__setitem__(field, value)

    write("fail_header_tag", "one bit of the header tag changed",
          mutate(base, lambda c: c["header"].__setitem__("header_auth_tag", flip(c["header"]["header_auth_tag"]))), FAIL)

    def change_context(c):
        pairs = c["header"]["encryption_context"]
        pairs[0]["value"] = pairs[0]["value"].native + b"!"
    write("fail_context", "a context value changed (the header tag no longer matches)", mutate(base, change_context), FAIL)

    def change_data_key(c):
        edk = c["header"]["encrypted_data_keys"][0]
        blob = bytearray(edk["encrypted_data_key"].native)
        blob[-1] ^= 0x01
        edk["encrypted_data_key"] = bytes(blob)
    write("fail_data_key", "one bit of the encrypted data key changed", mutate(base, change_data_key), FAIL)
    write("fail_iv", "one bit of the body IV changed", mutate(base, lambda c: c["body"].__setitem__("iv", flip(c["body"]["iv"]))), FAIL)
    write("fail_body", "one bit of the body ciphertext changed",
          mutate(base, lambda c: c["body"].__setitem__("cipher_text", flip(c["body"]["cipher_text"]))), FAIL)
    write("fail_body_tag", "one bit of the body tag changed",
          mutate(base, lambda c: c["body"].__setitem__("auth_tag", flip(c["body"]["auth_tag"]))), FAIL)
    write("fail_truncated", "the last 10 bytes cut off", base[:-10], FAIL)
    write("fail_trailing_bytes", "one byte after the message", base + b"\x00", FAIL)
    write("fail_unknown_algorithm", "algorithm 3 (AES-CBC in the SDK's table, not a message algorithm)",
          mutate(base, set_header("algorithm", 3)), FAIL)
    write("fail_unknown_version", "version 2", mutate(base, set_header("version", 2)), FAIL)
    write("fail_short_iv", "an 11-byte body IV", mutate(base, lambda c: c["body"].__setitem__("iv", c["body"]["iv"].native[:11])), FAIL)
    write("fail_long_tag", "a 17-byte header tag",
          mutate(base, lambda c: c["header"].__setitem__("header_auth_tag", c["header"]["header_auth_tag"].native + b"\x00")), FAIL)

    def no_keys(c):
        c["header"]["encrypted_data_keys"] = c["header"]["encrypted_data_keys"].__class__([])
    write("fail_no_data_key", "an empty set of encrypted data keys", mutate(base, no_keys), FAIL)

    def duplicate_context(c):
        pairs = c["header"]["encryption_context"]
        pairs.append(copy.deepcopy(pairs[0]))
    write("fail_duplicate_context_key", "a context key twice", mutate(base, duplicate_context), FAIL)
    write("fail_wrong_key", "the right ARN with other key material", base, FAIL, keyring=OTHER_KEYRING)
    write("fail_required_context", "a required context entry the message does not carry", base, FAIL,
          require={"app": "billing"})
    write("required_context_present", "required context entries the message carries", base, ok(plaintext, context),
          require={"app": "console", "名前": "値"})


if __name__ == "__main__":
    main()
