import { checks } from "./checks.mjs";
import { EXPECTED } from "./inputs.mjs";

test("the package answers under Jest", async () => {
  expect(await checks()).toEqual(EXPECTED);
});
