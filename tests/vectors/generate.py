"""Writes the golden vectors in this folder with Alibaba's Encryption SDK (the
reference) and asn1crypto. Run from the repository root with the interop venv:

    target/interop/venv/bin/python tests/vectors/generate.py [NAME ...]

(with names, only those vectors are written). Positive vectors are messages the reference SDK wrote. Negative ones (`fail_*`) take
a positive message and change one thing, re-encoding the DER where the change must
still parse, so each fails for the reason its name gives. The output is committed:
messages carry random IVs, so a new run writes new bytes.
"""

import base64
import copy
import json
import os
import struct
import sys

from asn1crypto import core

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "interop"))
from alibaba_sdk import LocalKms  # noqa: E402

from aliyun_encryption_sdk.client import AliyunCrypto  # noqa: E402
from aliyun_encryption_sdk.handle.format import ASN1Cipher  # noqa: E402
from aliyun_encryption_sdk.kms import AliyunConfig  # noqa: E402
from aliyun_encryption_sdk.model import Algorithm  # noqa: E402
from aliyun_encryption_sdk.provider.default import DefaultDataKeyProvider  # noqa: E402
from aliyun_encryption_sdk.handle.format import Asn1FormatHandler  # noqa: E402
from aliyun_encryption_sdk.model import serialize_context  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

ONLY = set(sys.argv[1:])

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


def write(name, description, message, expect, keyring=KEYRING, require=None, legacy=False):
    if ONLY and name not in ONLY:
        return
    vector = {"description": description, "keyring": keyring, "message": b64(message), "expect": expect}
    if require:
        vector["requireContext"] = require
    if legacy:
        vector["allowLegacyAlgorithms"] = True
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(vector, f, indent=2, ensure_ascii=False)
        f.write("\n")


def sm4_gcm(key, iv, aad, plaintext):
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(iv)).encryptor()
    encryptor.authenticate_additional_data(aad)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return ciphertext, encryptor.tag


def pkcs7(data):
    n = 16 - len(data) % 16
    return data + bytes([n]) * n


def seal_sm4_legacy(plaintext, context, algorithm):
    """Algorithms 10 to 12 (SM4-CBC without padding, SM4-CBC with PKCS#5, SM4-CTR) as the
    Java SDK 1.1 writes them, which the Python SDK cannot: the header as for algorithm 9
    (its tag SM4-GCM, the algorithm's key being SM4), a 16-byte body IV, the body in one
    piece with no AAD, and an empty body tag (DefaultEncryptHandler). Built as
    seal_sm4_gcm is, from an AES-GCM-128 message of the reference SDK."""
    def body(data_key, iv):
        if algorithm == 12:
            encryptor = Cipher(algorithms.SM4(data_key), modes.CTR(iv)).encryptor()
            return encryptor.update(plaintext) + encryptor.finalize()
        padded = pkcs7(plaintext) if algorithm == 11 else plaintext
        encryptor = Cipher(algorithms.SM4(data_key), modes.CBC(iv)).encryptor()
        return encryptor.update(padded) + encryptor.finalize()
    return rebuild_as_sm4(context, algorithm, 16, lambda key, iv: (body(key, iv), b""))


def rebuild_as_sm4(context, algorithm, iv_len, seal_body):
    """An AES-GCM-128 message of the reference SDK (its data key 16 bytes, as SM4's),
    with the algorithm set, the header tag made anew with SM4-GCM over the same fields,
    and the body of `seal_body(data_key, iv)`."""
    template = seal(b"", context, [ARN_1], 1)
    header = Asn1FormatHandler().deserialize(template).cipher_header
    edk = list(header.encrypted_data_keys)[0]
    data_key = LocalKms(KEYRING)._open(base64.b64decode(edk.encrypted_data_key), context)
    fields = bytearray(header._serialize_authenticated_fields())
    fields[4:8] = struct.pack(">I", algorithm)
    header_iv, body_iv = os.urandom(12), os.urandom(iv_len)
    _, header_tag = sm4_gcm(data_key, header_iv, bytes(fields), b"")
    ciphertext, body_tag = seal_body(data_key, body_iv)

    def rebuild(c):
        c["header"]["algorithm"] = algorithm
        c["header"]["header_iv"] = header_iv
        c["header"]["header_auth_tag"] = header_tag
        c["body"]["iv"] = body_iv
        c["body"]["cipher_text"] = ciphertext
        c["body"]["auth_tag"] = body_tag
    return mutate(template, rebuild)


def seal_sm4_gcm(plaintext, context):
    """Algorithm 9 (SM4_GCM_NOPADDING_128) as the Java SDK 1.1 writes it, which the
    Python SDK cannot: its AlgorithmHandler makes the header tag with SM4-GCM when the
    algorithm's key is SM4 (the same authenticated fields, a 12-byte header IV), and the
    body with SM4-GCM (a 12-byte IV, a 16-byte tag, the context bytes as AAD). Built
    here from an AES-GCM-128 message the reference SDK wrote (its data key is 16 bytes
    too): the same header and data key, the algorithm set to 9, the header tag and the
    body made anew with `cryptography`'s SM4 (rebuild_as_sm4). Independent of this
    project's code."""
    return rebuild_as_sm4(context, 9, 12, lambda key, iv: sm4_gcm(key, iv, serialize_context(context), plaintext))


def set_header_early(field, value):
    return lambda c: c["header"].__setitem__(field, value)


def ok(plaintext, context):
    return {"plaintext": b64(plaintext), "context": context}


FAIL = {"error": "InvalidCiphertext"}
NOT_A_MESSAGE = {"error": "InvalidCiphertext.NotAMessage"}


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

    sm4 = seal_sm4_gcm(plaintext, context)
    write("sm4_gcm_one_key", "SM4-GCM (algorithm 9) as the Java SDK 1.1 writes it; built from the reference "
          "SDK's format and cryptography's SM4, the Python SDK having no SM4 (generate.py, seal_sm4_gcm)",
          sm4, ok(plaintext, context))
    write("fail_sm4_gcm_body", "algorithm 9, one bit of the body ciphertext changed",
          mutate(sm4, lambda c: c["body"].__setitem__("cipher_text", flip(c["body"]["cipher_text"]))), FAIL)
    write("fail_sm4_gcm_as_aes", "an SM4-GCM message relabelled as AES-GCM-128 (algorithm 1): the header tag "
          "no longer checks", mutate(sm4, lambda c: c["header"].__setitem__("algorithm", 1)), FAIL)

    # The legacy algorithms: 3 to 8 sealed by the reference SDK, 10 to 12 built as the
    # Java SDK writes them; each opens only when legacy algorithms are allowed.
    blocks = (plaintext * 2)[:48]
    for algorithm, name in [(3, "aes_cbc_nopadding_128"), (4, "aes_cbc_nopadding_256"), (5, "aes_cbc_pkcs5_128"),
                            (6, "aes_cbc_pkcs5_256"), (7, "aes_ctr_128"), (8, "aes_ctr_256")]:
        # Algorithm 8's is past the size at which the package sends AES-GCM bodies to the host.
        data = blocks if algorithm in (3, 4) else plaintext * 40 if algorithm == 8 else plaintext
        write("legacy_" + name, "algorithm %d (%s), sealed by the reference SDK; opened on request only" % (algorithm, name),
              seal(data, context, [ARN_1], algorithm), ok(data, context), legacy=True)
    for algorithm, name in [(10, "sm4_cbc_nopadding_128"), (11, "sm4_cbc_pkcs5_128"), (12, "sm4_ctr_128")]:
        data = blocks if algorithm == 10 else plaintext
        write("legacy_" + name, "algorithm %d (%s) as the Java SDK 1.1 writes it (generate.py, seal_sm4_legacy)"
              % (algorithm, name), seal_sm4_legacy(data, context, algorithm), ok(data, context), legacy=True)
    cbc = seal(plaintext, context, [ARN_1], 5)
    write("fail_legacy_not_allowed", "algorithm 5 (AES-CBC) without allowLegacyAlgorithms", cbc,
          {"error": "Rejected.LegacyAlgorithm"})
    write("fail_legacy_header_tag", "algorithm 5, allowed, one bit of the header tag changed",
          mutate(cbc, lambda c: c["header"].__setitem__("header_auth_tag", flip(c["header"]["header_auth_tag"]))), FAIL,
          legacy=True)
    write("fail_legacy_relabelled", "an AES-CBC message (algorithm 5) relabelled as AES-CTR (algorithm 7), allowed: "
          "the body would open, but the header tag (over the algorithm) no longer checks",
          mutate(cbc, set_header_early("algorithm", 7)), FAIL, legacy=True)

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
    write("fail_truncated", "the last 10 bytes cut off", base[:-10], NOT_A_MESSAGE)
    write("fail_trailing_bytes", "one byte after the message", base + b"\x00", NOT_A_MESSAGE)
    write("fail_unknown_algorithm", "algorithm 13 (not in the SDK's table)", mutate(base, set_header("algorithm", 13)), NOT_A_MESSAGE)
    write("fail_unknown_version", "version 2", mutate(base, set_header("version", 2)), {"error": "InvalidCiphertext.NewerVersion"})
    write("fail_short_iv", "an 11-byte body IV", mutate(base, lambda c: c["body"].__setitem__("iv", c["body"]["iv"].native[:11])), NOT_A_MESSAGE)
    write("fail_long_tag", "a 17-byte header tag",
          mutate(base, lambda c: c["header"].__setitem__("header_auth_tag", c["header"]["header_auth_tag"].native + b"\x00")), NOT_A_MESSAGE)

    def no_keys(c):
        c["header"]["encrypted_data_keys"] = c["header"]["encrypted_data_keys"].__class__([])
    write("fail_no_data_key", "an empty set of encrypted data keys", mutate(base, no_keys), NOT_A_MESSAGE)

    def duplicate_context(c):
        pairs = c["header"]["encryption_context"]
        pairs.append(copy.deepcopy(pairs[0]))
    write("fail_duplicate_context_key", "a context key twice", mutate(base, duplicate_context), NOT_A_MESSAGE)
    write("fail_wrong_key", "the right ARN with other key material", base, FAIL, keyring=OTHER_KEYRING)
    write("fail_required_context", "a required context entry the message does not carry", base, {"error": "InvalidCiphertext.ContextMismatch"},
          require={"app": "billing"})
    write("required_context_present", "required context entries the message carries", base, ok(plaintext, context),
          require={"app": "console", "名前": "値"})


if __name__ == "__main__":
    main()
