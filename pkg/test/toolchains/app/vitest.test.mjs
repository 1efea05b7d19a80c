import { expect, test } from "vitest";
import { checks } from "./checks.mjs";
import { EXPECTED } from "./inputs.mjs";

test("the package answers under vitest", async () => {
  expect(await checks()).toEqual(EXPECTED);
});
