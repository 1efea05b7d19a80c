#!/usr/bin/env bash
# Builds the npm package: the wasm module (wasm-pack, wasm-bindgen on PATH, wasm-opt
# from npm's binaryen), then the TypeScript wrapper. Output: pkg/wasm/ and pkg/dist/.
set -euo pipefail
cd "$(dirname "$0")"
# Debian's binaryen (108) writes modules that throw at load: npm's must come first.
export PATH="$PWD/node_modules/.bin:$PATH"
wasm-pack build .. --release --target web --out-dir pkg/wasm --out-name kms_instance --no-pack \
  -- --no-default-features
rm -f wasm/.gitignore
rm -rf dist
tsc -p tsconfig.json
