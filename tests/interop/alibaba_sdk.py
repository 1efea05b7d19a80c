"""Alibaba Cloud's Encryption SDK (Python, `aliyun_encryption_sdk`) as a reference
peer for the interop tests, with its KMS calls answered locally.

The KMS stand-in keeps AES-256 master keys from a keyring file (the CLI's format) and
answers GenerateDataKey, Encrypt, ReEncrypt and Decrypt with the software
CiphertextBlob of ENVELOPE.md: 0x01 | u8 len(keyId) | keyId | iv(12) | ciphertext | tag(16),
AES-256-GCM under the master key, AAD = the context bytes C (the SDK's own
serialize_context). Everything else is the SDK's: the message format, the header tag,
the body, the ordering of data keys.

    alibaba_sdk.py encrypt --keyring F --key ARN [--key ARN ...] [--context K=V ...] [--algorithm 1|2] < in > out
    alibaba_sdk.py decrypt --keyring F < in > out        (exit 1 when the message does not open)
"""

import argparse
import base64
import json
import os
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from aliyun_encryption_sdk import to_bytes, to_str
from aliyun_encryption_sdk.client import AliyunCrypto
from aliyun_encryption_sdk.kms import AliyunConfig
from aliyun_encryption_sdk.kms.kms import AliyunKms
from aliyun_encryption_sdk.model import Algorithm, serialize_context
from aliyun_encryption_sdk.provider import EncryptedDataKey
from aliyun_encryption_sdk.provider.default import DefaultDataKeyProvider


def b64(data):
    return base64.b64encode(data).decode()


class LocalKms(AliyunKms):
    """AliyunKms with the network replaced by a keyring in memory."""

    def __init__(self, keyring):
        super().__init__(AliyunConfig("local", "local", "cn-hangzhou"))
        self.master = {entry["arn"].split("key/", 1)[1]: base64.b64decode(entry["material"]) for entry in keyring["keys"]}

    def _seal(self, key_id, plaintext, context):
        iv = os.urandom(12)
        sealed = AESGCM(self.master[key_id]).encrypt(iv, plaintext, serialize_context(context))
        return bytes([1, len(key_id)]) + key_id.encode() + iv + sealed

    def _open(self, blob, context):
        n = blob[1]
        key_id = blob[2:2 + n].decode()
        iv, sealed = blob[2 + n:14 + n], blob[14 + n:]
        return AESGCM(self.master[key_id]).decrypt(iv, sealed, serialize_context(context))

    def generate_data_key(self, key, algorithm, context):
        data_key = os.urandom(algorithm.key_len)
        return b64(data_key), b64(self._seal(key.raw_key_id, data_key, context))

    def encrypt_data_key(self, key, plaintext_data_key, context):
        blob = self._seal(key.raw_key_id, base64.b64decode(plaintext_data_key), context)
        return EncryptedDataKey(to_bytes(key.key_arn), to_bytes(b64(blob)))

    def reEncrypt_data_key(self, key, encrypted_data_key, context):
        data_key = self._open(base64.b64decode(encrypted_data_key.encrypted_data_key), context)
        return EncryptedDataKey(to_bytes(key.key_arn), to_bytes(b64(self._seal(key.raw_key_id, data_key, context))))

    def decrypt_data_key(self, encrypted_data_key, context):
        return b64(self._open(base64.b64decode(encrypted_data_key.encrypted_data_key), context))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["encrypt", "decrypt"])
    parser.add_argument("--keyring", required=True)
    parser.add_argument("--key", action="append", default=[])
    parser.add_argument("--context", action="append", default=[])
    parser.add_argument("--algorithm", type=int, default=2)
    args = parser.parse_args()

    with open(args.keyring) as f:
        keyring = json.load(f)
    kms = LocalKms(keyring)
    crypto = AliyunCrypto(AliyunConfig("local", "local", "cn-hangzhou"))
    data = sys.stdin.buffer.read()

    if args.command == "encrypt":
        context = dict(pair.split("=", 1) for pair in args.context)
        provider = DefaultDataKeyProvider(
            args.key[0], kms=kms, keys=list(args.key[1:]), algorithm=Algorithm.get_algorithm_by_id(args.algorithm)
        )
        message, _ = crypto.encrypt(provider, data, context)
        sys.stdout.buffer.write(message)
    else:
        arns = [entry["arn"] for entry in keyring["keys"]]
        provider = DefaultDataKeyProvider(arns[0], kms=kms, keys=arns[1:])
        try:
            plaintext, material = crypto.decrypt(provider, data)
        except Exception as e:  # the SDK raises bare exceptions
            print("does not open: %s" % e, file=sys.stderr)
            sys.exit(1)
        context = {to_str(k): to_str(v) for k, v in material.cipher_header.encryption_context.items()}
        sys.stderr.write(json.dumps({"context": context}) + "\n")
        sys.stdout.buffer.write(plaintext)


if __name__ == "__main__":
    main()
