// Simulation: an instance that applies requests all or nothing, and change plans.
import type * as glue from "#glue";
import * as args from "./args.js";
import { wasm } from "./bound.js";
import { freed, guard } from "./errors.js";
import type { ApplyEnv, AuditRecord, BindVpcsContext, Decision, Outcome, Plan, PlanResult, QuotaUsage, Request, RunOptions, State } from "./types.js";

/**
 * A directory and one KMS instance. `apply` is all or nothing.
 *
 * @example An instance from a state, a key created in it, and the state after
 * ```ts
 * import { Instance } from "kms-instance";
 *
 * const instance = Instance.fromJSON({
 *   directory: { resourceDirectoryId: "rd-a1b2c3", enterpriseId: "ent-acme", accounts: [] },
 *   instance: { instanceId: "kst-hzz62f4a5c2d7ab12cd", type: "software", regionId: "cn-hangzhou", ownerId: "1207089758810000",
 *     status: "enabled", spec: { accessManagementQuota: 1, keyQuota: 10, secretQuota: 10 } },
 * });
 * const outcome = instance.apply({ as: "owner", action: "CreateKey", params: { alias: "alias/app" } });
 * console.log(outcome.keyId, instance.toJSON().instance.keys?.length); // key-hzz62f4a5c2d7ab12cd-00000001 1
 * instance.free();
 * ```
 */
export class Instance {
  #inner: glue.WasmInstance | undefined;

  private constructor(inner: glue.WasmInstance) {
    this.#inner = inner;
  }

  /** The wasm object, or `Module.Freed` after `free()`. */
  #live(): glue.WasmInstance {
    if (!this.#inner) throw freed("Instance");
    return this.#inner;
  }

  /** From a state (`toJSON()`'s result, or its JSON text); an invalid state throws `InvalidParameter.State`. */
  static fromJSON(state: State | string): Instance {
    return new Instance(guard(() => wasm().WasmInstance.fromJSON(state)));
  }

  /**
   * Applies a request and returns its outcome, or throws a `KmsError` and changes nothing.
   *
   * @example A second key under the same alias: refused, and nothing applied
   * ```ts
   * import { Instance, isKmsError } from "kms-instance";
   *
   * const instance = Instance.fromJSON({
   *   directory: { resourceDirectoryId: "rd-a1b2c3", enterpriseId: "ent-acme", accounts: [] },
   *   instance: { instanceId: "kst-hzz62f4a5c2d7ab12cd", type: "software", regionId: "cn-hangzhou", ownerId: "1207089758810000",
   *     status: "enabled", spec: { accessManagementQuota: 1, keyQuota: 10, secretQuota: 10 } },
   * });
   * const request = { as: "owner", action: "CreateKey", params: { alias: "alias/app" } } as const;
   * instance.apply(request, { now: new Date(), requestId: "req-1" });
   * try {
   *   instance.apply(request);
   * } catch (e) {
   *   if (isKmsError(e)) console.log(e.code, instance.toJSON().instance.keys?.length); // Conflict.NameExists 1
   * }
   * ```
   */
  apply(request: Request, env?: ApplyEnv): Outcome {
    return guard(() => {
      const given = args.options<ApplyEnv>("env", env);
      const now = args.time("env.now", given.now);
      return this.#live().apply(request, { ...given, now });
    });
  }

  /**
   * May this request go ahead? When not, the first check that fails. Applies nothing.
   *
   * @example An account the instance is not shared with may not create a key
   * ```ts
   * import { Instance } from "kms-instance";
   *
   * const instance = Instance.fromJSON({
   *   directory: { resourceDirectoryId: "rd-a1b2c3", enterpriseId: "ent-acme", accounts: [] },
   *   instance: { instanceId: "kst-hzz62f4a5c2d7ab12cd", type: "software", regionId: "cn-hangzhou", ownerId: "1207089758810000",
   *     status: "enabled", spec: { accessManagementQuota: 1, keyQuota: 10, secretQuota: 10 } },
   * });
   * const decision = instance.check({ as: "1192853035110000", action: "CreateKey", params: { alias: "alias/app" } });
   * console.log(decision.allowed, decision.denied?.code); // false Forbidden.NotShared
   * ```
   */
  check(request: Request): Decision {
    return guard(() => this.#live().check(request));
  }

  /**
   * What UpdateKmsInstanceBindVpc would check a BindVpcs document against now (its region, owner, VPCs, quota): pass it to `validateBindVpcs`.
   *
   * @example A console form checked against the instance it is for
   * ```ts
   * import { Instance, validateBindVpcs } from "kms-instance";
   *
   * const instance = Instance.fromJSON({
   *   directory: { resourceDirectoryId: "rd-a1b2c3", enterpriseId: "ent-acme", accounts: [] },
   *   instance: { instanceId: "kst-hzz62f4a5c2d7ab12cd", type: "software", regionId: "cn-hangzhou", ownerId: "1207089758810000",
   *     status: "enabled", spec: { accessManagementQuota: 1, keyQuota: 10, secretQuota: 10 } },
   * });
   * const form = [{ VpcId: "vpc-bp1go9qvmj78j4f4c0001", VSwitchId: "vsw-bp16c5pvvcf0fp5b90001", RegionId: "cn-shanghai", VpcOwnerId: 1207089758810000 }];
   * console.log(validateBindVpcs(form, instance.bindVpcsContext()).errors.map((e) => e.code)); // [ 'InvalidParameter.BindVpcs.CrossRegion' ]
   * ```
   */
  bindVpcsContext(): BindVpcsContext {
    return guard(() => this.#live().bindVpcsContext());
  }

  /** The access-management quota: VPCs bound and accounts associated, and what was purchased. */
  quota(): QuotaUsage {
    return guard(() => this.#live().quota());
  }

  /** The state now, for `fromJSON` (or `JSON.stringify`, which calls it). */
  toJSON(): State {
    return guard(() => this.#live().toJSON());
  }

  /** Frees the wasm memory now (otherwise the garbage collector does); a second call does nothing. */
  free(): void {
    this.#inner?.free();
    this.#inner = undefined;
  }
}

/**
 * Runs a change plan: each step with `matched`, and `matched` for the whole plan;
 * with `{ states: true }`, each step's resulting state too.
 *
 * @example A plan whose second step expects the alias to be taken
 * ```ts
 * import { runPlan } from "kms-instance";
 *
 * const create = { as: "owner", action: "CreateKey", params: { alias: "alias/app" } } as const;
 * const result = runPlan({
 *   directory: { resourceDirectoryId: "rd-a1b2c3", enterpriseId: "ent-acme", accounts: [] },
 *   instance: { instanceId: "kst-hzz62f4a5c2d7ab12cd", type: "software", regionId: "cn-hangzhou", ownerId: "1207089758810000",
 *     status: "enabled", spec: { accessManagementQuota: 1, keyQuota: 10, secretQuota: 10 } },
 *   name: "one alias", steps: [{ ...create, expect: { ok: true } }, { ...create, expect: { error: "Conflict.NameExists" } }],
 * });
 * console.log(result.matched, result.steps.map((s) => s.matched)); // true [ true, true ]
 * ```
 */
export function runPlan(plan: Plan | string, options?: RunOptions): PlanResult {
  return guard(() => wasm().runPlan(plan, args.options<RunOptions>("options", options)));
}


/**
 * An audit record (an `Outcome`'s, a `KmsError`'s or a plan step's) as the line the
 * service writes to its log: sixteen fields. The credential is written as the record
 * holds it: a record the engine made has it masked already.
 *
 * @example The line of a request applied to an instance
 * ```ts
 * import { auditLine, Instance } from "kms-instance";
 *
 * const instance = Instance.fromJSON({
 *   directory: { resourceDirectoryId: "rd-a1b2c3", enterpriseId: "ent-acme", accounts: [] },
 *   instance: { instanceId: "kst-hzz62f4a5c2d7ab12cd", type: "software", regionId: "cn-hangzhou", ownerId: "1207089758810000",
 *     status: "enabled", spec: { accessManagementQuota: 1, keyQuota: 10, secretQuota: 10 } },
 * });
 * const outcome = instance.apply({ as: "owner", action: "CreateKey", params: { alias: "alias/app" } }, { now: "2026-01-01T00:00:00Z", requestId: "req-1" });
 * console.log(auditLine(outcome.audit));
 * // 2026-01-01T00:00:00Z [INFO] - - req-1 CreateKey - - 1207089758810000 1207089758810000 - kst-hzz62f4a5c2d7ab12cd - 0 - Success
 * ```
 */
export function auditLine(record: AuditRecord): string {
  return guard(() => wasm().auditLine(record));
}
