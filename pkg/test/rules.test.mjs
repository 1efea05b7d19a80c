// The rule engine through the package, in Node: plans, validation, the instance, errors.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { test } from "node:test";
import * as kms from "kms-instance";
import { readJson, runCli, scenarioFiles } from "./helpers.mjs";

const OWNER = "1207089758810000";
const APP = "1192853035110000";

test("every shared scenario gives the native CLI's result, step for step", () => {
  const files = scenarioFiles();
  assert.ok(files.length >= 5, `only ${files.length} scenarios`);
  const native = runCli(["plan", "--json", ...files]);
  assert.equal(native.status, 0, native.stderr);
  const expected = JSON.parse(native.stdout);
  files.forEach((file, i) => {
    const fromObject = kms.runPlan(readJson(file));
    const fromText = kms.runPlan(readFileSync(file, "utf8"));
    assert.equal(fromObject.matched, true, `${basename(file)}: ${JSON.stringify(fromObject.steps.filter((s) => !s.matched))}`);
    assert.deepEqual(fromObject, expected[i], basename(file));
    assert.deepEqual(fromText, fromObject);
  });
});

test("asked for states, a plan gives each step's state: the same results, and a refused step leaves the state as it was", () => {
  const plan = readJson(scenarioFiles()[0]);
  const plain = kms.runPlan(plan);
  const kept = kms.runPlan(plan, { states: true });
  assert.deepEqual(kept.steps.map(({ state, ...rest }) => rest), plain.steps);
  assert.equal(plain.start, undefined);
  const start = kms.Instance.fromJSON({ directory: plan.directory, instance: plan.instance });
  assert.deepEqual(kept.start, start.toJSON(), "the state before the first step, as the instance writes it");
  start.free();
  kept.steps.forEach((step, i) => {
    const instance = kms.Instance.fromJSON(step.state);
    assert.equal(instance.quota().used, step.quotaUsed, `step ${step.index}`);
    instance.free();
    if (!step.ok && i > 0) assert.deepEqual(step.state, kept.steps[i - 1].state, `refused step ${step.index}`);
  });
  assert.throws(() => kms.runPlan(plan, { state: true }), (e) => kms.isKmsError(e) && e.code === "InvalidParameter.Request");
  assert.throws(() => kms.runPlan(plan, "states"), TypeError);
});

test("one audit type: a plan step's audit is the record an outcome and a KmsError carry, and auditLine writes the log's line", () => {
  const plan = readJson(scenarioFiles()[0]);
  const { steps } = kms.runPlan(plan);
  const { as, action, params } = plan.steps[0];
  const outcome = kms.Instance.fromJSON({ directory: plan.directory, instance: plan.instance }).apply({ as, action, params }, { requestId: "r-1" });
  for (const step of steps) {
    assert.deepEqual(Object.keys(step.audit).sort(), Object.keys(outcome.audit).sort(), `step ${step.index}`);
    assert.equal(step.audit.result, step.ok ? "Success" : step.errors[0]);
    const fields = kms.auditLine(step.audit).split(" ");
    assert.deepEqual([fields.length, fields[1], fields[4], fields[15]], [16, step.ok ? "[INFO]" : "[ERROR]", `plan-step-${step.index}`, step.audit.result]);
  }
  assert.throws(() => kms.auditLine({ ...steps[0].audit, time: "yesterday" }), (e) => kms.isKmsError(e) && e.code === "InvalidParameter.Request" && e.path === "/time");
});

test("a form checked against an instance's bindVpcsContext() gets what the instance answers", () => {
  const plan = readJson(scenarioFiles().find((f) => basename(f) === "01-quota-example.json"));
  const steps = kms.runPlan(plan, { states: true }).steps;
  const instance = kms.Instance.fromJSON(steps[2].state); // shared, three VPCs bound
  const context = instance.bindVpcsContext();
  instance.free();
  assert.deepEqual(context.quota, { purchased: 5, principals: 2 });
  assert.deepEqual(context.current, steps[2].state.instance.boundVpcs);
  const report = kms.validateBindVpcs(plan.steps[3].params.BindVpcs, context);
  assert.deepEqual(report.errors.map((p) => p.code), steps[3].errors);
  assert.deepEqual(report.quota, { before: 5, after: 6, purchased: 5 });
});

test("a plan that does not match says what differed", () => {
  const plan = readJson(scenarioFiles()[0]);
  plan.steps[0].expect = { error: "Conflict.NameExists" };
  const result = kms.runPlan(plan);
  assert.equal(result.matched, false);
  assert.deepEqual(result.steps[0].differences, ["expected error Conflict.NameExists, got success"]);
});

test("a malformed plan throws InvalidParameter.Plan", () => {
  for (const plan of ["{", { name: "x" }, { ...readJson(scenarioFiles()[0]), steps: [{ as: "owner", action: "Nope" }] }]) {
    assert.throws(() => kms.runPlan(plan), (e) => kms.isKmsError(e) && e.code === "InvalidParameter.Plan");
  }
});

test("validateBindVpcs reports every problem with a pointer, for a string or an array", () => {
  const entries = [
    { VpcId: "vpc-bp1go9qvmj78j4f4c0001", VSwitchId: "vsw-bp16c5pvvcf0fp5b90001", RegionId: "cn-shanghai", VpcOwnerId: OWNER },
    { VpcId: "vpc-bp1go9qvmj78j4f4c0001", VswitchId: "vsw-bp16c5pvvcf0fp5b90002", RegionId: "cn-hangzhou", VpcOwnerId: 9007199254740993 },
  ];
  const context = { region: "cn-hangzhou", owner: OWNER };
  for (const input of [entries, JSON.stringify(entries)]) {
    const report = kms.validateBindVpcs(input, context);
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.errors.map((e) => [e.code, e.path]),
      [
        // In the order a reader meets them (a missing field at its entry's opening brace).
        ["InvalidParameter.BindVpcs.CrossRegion", "/0/RegionId"],
        ["InvalidParameter.BindVpcs.MissingField", "/1/VSwitchId"],
        ["InvalidParameter.BindVpcs.DuplicateVpc", "/1/VpcId"],
        ["InvalidParameter.BindVpcs.UnknownField", "/1/VswitchId"],
        ["InvalidParameter.BindVpcs.VpcOwnerIdPrecision", "/1/VpcOwnerId"],
      ],
    );
    assert.ok(report.errors.every((e) => e.rule && e.message));
  }
  const malformed = kms.validateBindVpcs('[{"VpcId": ]');
  assert.deepEqual(malformed.errors.map((e) => e.code), ["InvalidParameter.BindVpcs.Malformed"]);
  assert.match(malformed.errors[0].message, /byte 11/);
  const ok = kms.validateBindVpcs([{ ...entries[0], RegionId: "cn-hangzhou", VpcOwnerId: APP }], context);
  assert.equal(ok.ok, true);
  assert.deepEqual(ok.warnings.map((w) => w.code), ["Warning.CrossAccountVpc"]);
  assert.equal(kms.validateBindVpcs("[]").ok, true, "no context needed");
});

test("a report of text reads its entries from the text when asked, equal to the report of the same array, in the same field order", () => {
  const OTHER = "1207089758810001";
  const entry = (n, owner) => ({ VpcId: `vpc-bp1go9qvmj78j4f4c000${n}`, VSwitchId: `vsw-bp16c5pvvcf0fp5b9000${n}`, RegionId: "cn-hangzhou", VpcOwnerId: owner });
  const entries = [entry(1, OWNER), entry(2, Number(OWNER)), entry(3, OTHER), entry(4, OWNER)];
  const current = [entry(2, OWNER), entry(9, OWNER)];
  const context = { region: "cn-hangzhou", owner: OWNER, current, quota: { principals: 1, purchased: 10 } };
  // An escaped field name and value, a name given twice (the last wins), an owner as a number.
  const text = JSON.stringify(entries)
    .replace('"VpcId":"vpc-bp1go9qvmj78j4f4c0001"', '"Vpc\\u0049d":"vpc-bp1go9qvmj78j4f4c000\\u0031"')
    .replace('"VSwitchId":"vsw-bp16c5pvvcf0fp5b90003"', '"VSwitchId":"vsw-other","VSwitchId":"vsw-bp16c5pvvcf0fp5b90003"');
  const fromText = kms.validateBindVpcs(text, context);
  const fromArray = kms.validateBindVpcs(entries, context);
  assert.equal(fromText.ok, true, JSON.stringify(fromText.errors));
  assert.deepEqual(Object.keys(fromText), Object.keys(fromArray));
  // The same but for places, which only text has.
  const unplaced = (report) => JSON.stringify(report, (key, value) => (key === "place" ? undefined : value));
  assert.ok(fromText.warnings[0].place);
  assert.equal(unplaced(fromText), unplaced(fromArray));
  assert.deepEqual(fromText.vpcs.map((v) => v.VpcOwnerId), [OWNER, OWNER, OTHER, OWNER]);
  assert.deepEqual(fromText.kept, ["vpc-bp1go9qvmj78j4f4c0002"]);
  assert.deepEqual(fromText.removed, ["vpc-bp1go9qvmj78j4f4c0009"]);
  assert.deepEqual(fromText.warnings.map((w) => w.path), ["/2"]);
  // With problems: the valid entries alone, and no diff.
  const broken = kms.validateBindVpcs(JSON.stringify([entry(1, OWNER), { ...entry(2, OWNER), RegionId: "cn-beijing" }, entry(3, OWNER)]), context);
  assert.equal(broken.ok, false);
  assert.deepEqual(broken.vpcs.map((v) => v.VpcId), ["vpc-bp1go9qvmj78j4f4c0001", "vpc-bp1go9qvmj78j4f4c0003"]);
  assert.deepEqual([broken.added, broken.kept, broken.removed], [[], [], []]);
  // Malformed text has no entry to read: its lists are empty, and reading them does not throw.
  const malformed = kms.validateBindVpcs('[{"VpcId": ]');
  assert.deepEqual([malformed.vpcs, malformed.added, malformed.kept], [[], [], []]);
  // Its fields are assignable and clone as data, as a parsed report's are.
  const copy = structuredClone(kms.validateBindVpcs(text, context));
  assert.equal(unplaced(copy), unplaced(fromArray));
  const edited = kms.validateBindVpcs(text, context);
  edited.vpcs = [];
  edited.added.push("vpc-x");
  assert.deepEqual([edited.vpcs, edited.added.at(-1)], [[], "vpc-x"]);
});

test("a problem of text says where it is: line, column, and the UTF-16 range a text field selects", () => {
  const text = '[\n {"VpcId": "vpc-bp1go9qvmj78j4f4c0001", "名": 1,\n  "RegionId": "cn-shanghai"}\n]';
  const report = kms.validateBindVpcs(text, { region: "cn-hangzhou" });
  const at = (code) => report.errors.find((e) => e.code === code).place;
  const region = at("InvalidParameter.BindVpcs.CrossRegion");
  assert.equal(text.slice(region.utf16Start, region.utf16End), '"cn-shanghai"');
  assert.deepEqual([region.line, region.column], [3, 15]);
  // Bytes count the UTF-8 of "名" (3 bytes, 1 unit): the byte range is two further on.
  assert.equal(region.start - region.utf16Start, 2);
  const unknown = at("InvalidParameter.BindVpcs.UnknownField");
  assert.equal(text.slice(unknown.utf16Start, unknown.utf16End), '"名"', "an unknown field by its name");
  const missing = at("InvalidParameter.BindVpcs.MissingField");
  assert.equal(text.slice(missing.utf16Start, missing.utf16End), "{", "a missing field at its entry");
  // An array was not text: nothing to place.
  assert.ok(kms.validateBindVpcs(JSON.parse(text), { region: "cn-hangzhou" }).errors.every((e) => e.place === undefined));
  // Plans and states given as text: a syntax error where it is, on the KmsError.
  const plan = '{\n  "name": "x",\n  "steps": [,]\n}';
  const thrown = (plan) => { try { kms.runPlan(plan); } catch (e) { return e; } };
  const error = thrown(plan);
  assert.ok(kms.isKmsError(error) && error.code === "InvalidParameter.Plan", String(error));
  assert.deepEqual([error.place.line, plan.slice(error.place.utf16Start, error.place.utf16End)], [3, ","]);
  assert.deepEqual(error.errors[0].place, error.place);
  assert.equal(error.path, undefined, "a syntax error names no member");
  // A member of the wrong shape is named by its pointer and placed where the reading
  // stopped: at the value of a wrong type, at the second of a name given twice (refused,
  // not read as the last one); an unknown one at its name. A step is read whole before
  // it is checked, so a mistake in one is placed at the step.
  const withStep = readJson(scenarioFiles()[0]);
  withStep.steps[1] = { ...withStep.steps[1], expcet: { ok: true } };
  const stepText = JSON.stringify(withStep, null, 2);
  const shapes = [
    ['{\n  "name": "x",\n  "rules": ["R-Q-1", 5]\n}', /invalid type: integer `5`/, "/rules/1", "5"],
    ['{\n  "name": "x",\n  "name": "y"\n}', /duplicate field `name`/, undefined, '"'],
    ['{\n  "name": "x",\n  "nmae": {"a": 1}\n}', /unknown field `nmae`/, "/nmae", '"nmae"'],
    [stepText, /expcet/, "/steps/1", JSON.stringify(withStep.steps[1], null, 2).replaceAll("\n", "\n    ")],
  ];
  for (const [text, message, path, placed] of shapes) {
    const e = thrown(text);
    assert.ok(kms.isKmsError(e) && e.code === "InvalidParameter.Plan", String(e));
    assert.match(e.message, message);
    assert.equal(e.path, path);
    assert.equal(text.slice(e.place.utf16Start, e.place.utf16End), placed);
    // Given as an object, the text is JSON.stringify's: nothing to place.
    if (path) assert.deepEqual([thrown(JSON.parse(text)).path, thrown(JSON.parse(text)).place], [path, undefined]);
  }
  assert.equal(thrown(shapes[1][0]).place.line, 3, "the second name");
});

test("validateName and validateId", () => {
  assert.deepEqual(kms.validateName("alias", "alias/app"), { ok: true });
  const reserved = kms.validateName("alias", "alias/acs/ecs");
  assert.equal(reserved.ok, false);
  assert.equal(reserved.error.code, "InvalidParameter.Alias");
  assert.equal(reserved.error.rule, "R-NAME-4");
  assert.equal(kms.validateName("resource-share-name", "kms share!").error.code, "InvalidParameter.ResourceShareName");
  assert.deepEqual(kms.validateId("instance-id", "kst-hzz62f4a5c2d7ab12cd"), { ok: true });
  assert.equal(kms.validateId("account-id", "0123").error.code, "InvalidParameter.AccountId");
  // A region id of the right form that is not published: valid, with a warning naming the nearest.
  const region = kms.validateId("region-id", "cn-hangzhuo");
  assert.equal(region.ok, true);
  assert.equal(region.warning.code, "Warning.UnknownRegion");
  assert.match(region.warning.message, /did you mean "cn-hangzhou"\?/);
  assert.deepEqual(kms.validateId("region-id", "cn-hangzhou"), { ok: true });
  // An unknown kind says which there are.
  assert.throws(() => kms.validateId("vpc", "vpc-1"), (e) => e instanceof TypeError && /the kinds: instance-id, vpc-id, /.test(e.message));
  assert.throws(() => kms.validateName("colour", "x"), TypeError);
});

function world() {
  const plan = readJson(scenarioFiles().find((f) => f.includes("02-joint")));
  return { directory: plan.directory, instance: plan.instance };
}

test("Instance applies all or nothing and throws KmsError with the rejection", () => {
  const instance = kms.Instance.fromJSON(world());
  const share = { as: "owner", action: "CreateResourceShare", params: { name: "kms-share", mode: "joint", principals: [{ type: "account", id: APP }] } };
  const outcome = instance.apply(share, { now: new Date("2026-03-01T00:00:00Z"), requestId: "r-1" });
  assert.deepEqual(outcome.quota, { used: 1, purchased: 10 });
  assert.match(outcome.audit.time, /^2026-03-01T00:00:00/);
  assert.equal(outcome.audit.requestId, "r-1");

  const before = JSON.stringify(instance.toJSON());
  assert.throws(
    () => instance.apply({ as: APP, action: "UpdateKmsInstanceBindVpc", params: { BindVpcs: "[]" } }),
    (e) => {
      assert.ok(e instanceof kms.KmsError && e instanceof Error);
      assert.equal(e.code, "Forbidden.OwnerOnly");
      assert.equal(e.rule, "R-AZ-4");
      assert.equal(e.audit.result, "Forbidden.OwnerOnly");
      assert.match(e.audit.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.deepEqual(e.quota, { used: 1, purchased: 10 });
      return true;
    },
  );
  assert.equal(JSON.stringify(instance.toJSON()), before, "a rejection changes nothing");

  // BindVpcs rejections carry every problem.
  assert.throws(
    () => instance.apply({ as: "owner", action: "UpdateKmsInstanceBindVpc", params: { BindVpcs: '[{"VpcId":"x"}]' } }),
    (e) => e.errors.length === 4 && e.errors.every((p) => p.path.startsWith("/0/")),
  );

  const decision = instance.check({ as: APP, action: "CreateBackup" });
  assert.deepEqual([decision.allowed, decision.denied.code], [false, "Forbidden.OwnerOnly"]);
  assert.equal(instance.check({ as: APP, action: "CreateKey", params: { alias: "alias/x" } }).allowed, true);

  const copy = kms.Instance.fromJSON(JSON.stringify(instance.toJSON()));
  assert.deepEqual(copy.toJSON(), instance.toJSON());
  assert.deepEqual(copy.quota(), instance.quota());
  copy.free();
});

test("bad documents throw their codes", () => {
  assert.throws(() => kms.Instance.fromJSON({ directory: {} }), (e) => e.code === "InvalidParameter.State");
  const instance = kms.Instance.fromJSON(world());
  assert.throws(() => instance.apply({ as: "owner", action: "LaunchRocket" }), (e) => e.code === "InvalidParameter.Request" && /LaunchRocket/.test(e.message));
  assert.throws(() => instance.apply({ as: "owner", action: "RenewKmsInstance", params: { months: "x" } }), (e) => e.code === "InvalidParameter.Request" && /months/.test(e.message));
  assert.throws(() => instance.apply({ as: "owner", action: "DescribeKmsInstance" }, { now: "yesterday" }), (e) => e.code === "InvalidParameter.Request" && e.path === "/now");
});
