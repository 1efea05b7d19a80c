#!/usr/bin/env bash
# Builds the npm package: one wasm module per job (wasm-pack; wasm-bindgen on PATH,
# wasm-opt from npm's binaryen), each from the same crate with its layer features,
# then the entries (build.mjs). Output: pkg/wasm/<job>/ (wasm-bindgen's) and pkg/dist/.
set -euo pipefail
cd "$(dirname "$0")"
# Debian's binaryen (108) writes modules that throw at load: npm's must come first.
export PATH="$PWD/node_modules/.bin:$PATH"
# The modules are downloaded by every page that uses them: optimised for size, but for
# the hot code Cargo.toml keeps at 3 (its [profile.release.package.*]) and, in the jobs
# that validate BindVpcs, this crate: measured for 1,000 entries in Node, all at z
# 4.2 ms and 77 KiB gzip (validate), the crate and serde_json at 3 1.6 ms and 92 KiB,
# all at 3 1.5 ms and 100 KiB. The envelope job keeps the crate at z (the crate at 3
# took it from 134 to 211 KiB gzip; its hot code is AES-GCM, already at 3).
export CARGO_PROFILE_RELEASE_OPT_LEVEL=z
build_job() {
  local job="$1" features="$2" crate_opt="$3"
  wasm-pack --quiet build .. --release --target web --out-dir "pkg/wasm/$job" --out-name kms_instance --no-pack \
    -- --no-default-features --features "$features,typescript" --config "profile.release.package.kms-instance.opt-level=$crate_opt"
  rm -f "wasm/$job/.gitignore"
}
build_job validate validate 3
build_job envelope envelope,xks,kms '"z"'
build_job full rules,envelope,xks,kms 3
node build.mjs
