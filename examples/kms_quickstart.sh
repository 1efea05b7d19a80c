#!/usr/bin/env bash
# A local Alibaba Cloud KMS, from a built tree (`bash .ci/demo` or `bash .ci/test` builds
# it): `kms-instance serve --seed examples/seed.json`; Alibaba's Encryption SDK (Python,
# its own DefaultDataKeyProvider) seals and the npm package opens, then the package
# seals and the SDK opens. Prints how long it took.
#
#   bash examples/kms_quickstart.sh
#
# Uses $KMS_CLI (else target/release/kms-instance, else target/debug/kms-instance),
# pkg/dist, and $KMS_ALIBABA_SDK_PYTHON (else the virtualenv .ci/setup makes under
# target/interop/venv).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s%N)
kms="${KMS_CLI:-}"
for candidate in target/release/kms-instance target/debug/kms-instance; do
  [ -n "$kms" ] || { [ -x "$candidate" ] && kms="$candidate"; } || true
done
python="${KMS_ALIBABA_SDK_PYTHON:-target/interop/venv/bin/python}"
[ -x "$kms" ] || { echo "build the CLI first: cargo build --release" >&2; exit 2; }
[ -f pkg/dist/index.js ] || { echo "build the package first: bash pkg/build.sh" >&2; exit 2; }
[ -x "$python" ] || { echo "no Python with Alibaba's SDK: bash .ci/demo makes one" >&2; exit 2; }

work=$(mktemp -d)
"$kms" serve --seed examples/seed.json > "$work/serve.log" &
serve=$!
trap 'kill $serve 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q listening "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
url=$(head -1 "$work/serve.log" | sed 's/listening on //')
echo "kms-instance serve: $url (examples/seed.json: its accounts, AccessKeys and keys)"

# The seed's owner account and its first key.
export KMS_URL="$url" KMS_ARN="acs:kms:cn-hangzhou:1207089758810000:key/key-hzz6example0001"
export KMS_AK="LTAI5tExampleOwner000001" KMS_SECRET="example-secret-of-the-owner-account"

# Alibaba's Encryption SDK builds its own KMS client: modify_point sends it here.
cat > "$work/sdk.py" <<'PY'
import os, sys
from aliyunsdkcore.profile import region_provider
from aliyun_encryption_sdk.client import AliyunCrypto
from aliyun_encryption_sdk.kms import AliyunConfig
from aliyun_encryption_sdk.provider.default import DefaultDataKeyProvider
region_provider.modify_point("Kms", "cn-hangzhou", os.environ["KMS_URL"])
crypto = AliyunCrypto(AliyunConfig(os.environ["KMS_AK"], os.environ["KMS_SECRET"], "cn-hangzhou"))
provider = DefaultDataKeyProvider(os.environ["KMS_ARN"])
if sys.argv[1] == "seal":
    message, _ = crypto.encrypt(provider, sys.stdin.buffer.read(), {"purpose": "quickstart"})
    sys.stdout.buffer.write(message)
else:
    plaintext, _ = crypto.decrypt(provider, sys.stdin.buffer.read())
    sys.stdout.buffer.write(plaintext)
PY
sdk() { "$python" "$work/sdk.py" "$1"; }

printf 'sealed by Alibaba'"'"'s Encryption SDK (Python)\n' | sdk seal > "$work/from-sdk.kms"
IN="$work/from-sdk.kms" OUT="$work/from-npm.kms" node --input-type=module - <<'JS'
import { readFileSync, writeFileSync } from "node:fs";
const { decrypt, encrypt, KmsKeyProvider } = await import(`${process.cwd()}/pkg/dist/index.js`);
const kms = new KmsKeyProvider({ endpoint: process.env.KMS_URL, region: "cn-hangzhou", accessKeyId: process.env.KMS_AK,
  accessKeySecret: process.env.KMS_SECRET, keys: [process.env.KMS_ARN] });
const opened = await decrypt([kms], readFileSync(process.env.IN), { requireContext: { purpose: "quickstart" } });
process.stdout.write(`the npm package opens it: ${new TextDecoder().decode(opened.plaintext)}`);
writeFileSync(process.env.OUT, await encrypt([kms], new TextEncoder().encode("sealed by the npm package\n")));
JS
printf "Alibaba's Encryption SDK opens what the package sealed: "
sdk open < "$work/from-npm.kms"
kill -TERM "$serve"; wait "$serve" || true
echo "the endpoint's audit log:"
tail -n +2 "$work/serve.log"
echo "done in $(( ($(date +%s%N) - started) / 1000000 )) ms"
