// The size bar (issue 25): each wasm module as built, gzip -9, within 5 % of the size
// committed in benches/sizes.json. Growing past it fails the build; so does shrinking
// past it, so that the committed sizes follow every gain and what was won cannot be
// lost again unnoticed. A deliberate change: `node benches/sizes.mjs --write`, committed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { builtSizes, committedSizes, JOBS, TOLERANCE } from "../../benches/sizes.mjs";

const KiB = (n) => `${(n / 1024).toFixed(1)} KiB`;

test("each wasm module is within 5 % of its committed size (benches/sizes.json)", () => {
  const built = builtSizes();
  const committed = committedSizes();
  assert.deepEqual(Object.keys(committed).sort(), [...JOBS].sort(), "sizes.json names each module");
  const off = JOBS.filter((job) => Math.abs(built[job] / committed[job] - 1) > TOLERANCE).map(
    (job) => `${job}: ${KiB(built[job])} built, ${KiB(committed[job])} committed (${((built[job] / committed[job] - 1) * 100).toFixed(1)} %)`,
  );
  assert.deepEqual(off, [], "a module moved more than 5 % from its committed size: if that is meant, run node benches/sizes.mjs --write and commit benches/sizes.json");
});
