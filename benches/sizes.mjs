// The package's wasm modules, gzip -9 (what a page downloads), and the sizes committed in
// sizes.json: the bar pkg/test/sizes.test.mjs holds every build to (issue 25), so that
// size cannot creep back. A deliberate change of size is committed with
//
//   node benches/sizes.mjs --write      (after pkg/build.sh)
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

export const JOBS = ["validate", "envelope", "full"];
/** How far a module may grow over, or shrink under, its committed size before the bar fails. */
export const TOLERANCE = 0.05;
const pkgDir = new URL("../pkg/", import.meta.url);
const committedFile = new URL("sizes.json", import.meta.url);

export const gzipped = (bytes) => gzipSync(bytes, { level: 9 }).length;

/** Each module's bytes gzipped, as built now. */
export function builtSizes() {
  return Object.fromEntries(JOBS.map((job) => [job, gzipped(readFileSync(new URL(`dist/wasm/${job}.wasm`, pkgDir)))]));
}

/** The sizes committed in sizes.json: bytes, gzip -9. */
export function committedSizes() {
  return JSON.parse(readFileSync(committedFile, "utf8")).gzip;
}

if (process.argv[2] === "--write") {
  const gzip = builtSizes();
  writeFileSync(committedFile, `${JSON.stringify({ note: "gzip -9 of pkg/dist/wasm/<job>.wasm, in bytes: written by node benches/sizes.mjs --write", gzip }, null, 2)}\n`);
  console.log(gzip);
}
