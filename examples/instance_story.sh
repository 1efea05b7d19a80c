#!/usr/bin/env bash
# The instance as a service (README "An application or a test suite"): `kms-instance
# serve` on a new instance of examples/instance-seed.json (a ConnectKmsInstance takes 1 s
# here), then examples/instance_story.py, Alibaba's own Python SDKs, against it.
#
#   bash examples/instance_story.sh
#
# Uses $KMS_CLI (else kms-instance on PATH, else the newer of target/release and target/debug) and
# $KMS_ALIBABA_SDK_PYTHON (else the virtualenv .ci/setup makes under target/interop/venv).
set -euo pipefail
cd "$(dirname "$0")/.."
# The newest build when neither is given (a release build left by a bench may be older).
kms="${KMS_CLI:-$(command -v kms-instance || ls -t target/release/kms-instance target/debug/kms-instance 2>/dev/null | head -1 || true)}"
python="${KMS_ALIBABA_SDK_PYTHON:-target/interop/venv/bin/python}"
[ -x "$kms" ] || { echo "build the CLI first: cargo build --release" >&2; exit 2; }
[ -x "$python" ] || { echo "no Python with Alibaba's SDKs: bash .ci/demo makes one" >&2; exit 2; }
work=$(mktemp -d)
"$kms" serve --seed examples/instance-seed.json --connect-seconds 1 > "$work/serve.log" &
serve=$!
trap 'kill $serve 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q listening "$work/serve.log" 2>/dev/null && break; sleep 0.05; done
host=$(head -1 "$work/serve.log" | sed -n 's|^listening on http://||p')
[ -n "$host" ] || { echo "kms-instance serve did not start" >&2; exit 1; }
KMS_HOST="$host" "$python" examples/instance_story.py
