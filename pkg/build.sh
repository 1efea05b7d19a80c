#!/usr/bin/env bash
# Builds the npm package: one wasm module per job (wasm-pack; wasm-bindgen on PATH,
# wasm-opt from npm's binaryen), each from the same crate with its layer features,
# then the entries (build.mjs). Output: pkg/wasm/<job>/ (wasm-bindgen's) and pkg/dist/.
set -euo pipefail
cd "$(dirname "$0")"
# Debian's binaryen (108) writes modules that throw at load: npm's must come first.
export PATH="$PWD/node_modules/.bin:$PATH"
# The modules are downloaded by every page that uses them: optimised for size, but for
# the hot code Cargo.toml keeps at 3 (its [profile.release.package.*], with the numbers).
export CARGO_PROFILE_RELEASE_OPT_LEVEL=z
build_job() {
  local job="$1" features="$2"
  wasm-pack --quiet build .. --release --target web --out-dir "pkg/wasm/$job" --out-name kms_instance --no-pack \
    -- --no-default-features --features "$features,typescript"
  rm -f "wasm/$job/.gitignore"
}
build_job validate validate
build_job envelope envelope,xks
build_job full rules,envelope,xks
node build.mjs
