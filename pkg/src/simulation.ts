// Simulation: an instance that applies requests all or nothing, and change plans.
import type * as glue from "#glue";
import * as args from "./args.js";
import { wasm } from "./bound.js";
import { freed, guard } from "./errors.js";
import type { ApplyEnv, AuditRecord, BindVpcsContext, Decision, Outcome, Plan, PlanResult, QuotaUsage, Request, RunOptions, State } from "./types.js";

/** A directory and one KMS instance. `apply` is all or nothing. */
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

  /** From a state (`toJSON()`'s result, or its JSON text). */
  static fromJSON(state: State | string): Instance {
    return new Instance(guard(() => wasm().WasmInstance.fromJSON(state)));
  }

  /** Applies a request and returns its outcome, or throws a `KmsError` and changes nothing. */
  apply(request: Request, env?: ApplyEnv): Outcome {
    return guard(() => {
      const given = args.options<ApplyEnv>("env", env);
      const now = args.time("env.now", given.now);
      return this.#live().apply(request, { ...given, now });
    });
  }

  /** May this request go ahead? When not, the first check that fails. Applies nothing. */
  check(request: Request): Decision {
    return guard(() => this.#live().check(request));
  }

  /** What UpdateKmsInstanceBindVpc would check a BindVpcs document against now (its region, owner, VPCs, quota): pass it to `validateBindVpcs`. */
  bindVpcsContext(): BindVpcsContext {
    return guard(() => this.#live().bindVpcsContext());
  }

  quota(): QuotaUsage {
    return guard(() => this.#live().quota());
  }

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
 */
export function runPlan(plan: Plan | string, options?: RunOptions): PlanResult {
  return guard(() => wasm().runPlan(plan, args.options<RunOptions>("options", options)));
}


/**
 * An audit record (an `Outcome`'s, a `KmsError`'s or a plan step's) as the line the
 * service writes to its log: sixteen fields, the credential already masked.
 *
 * ```ts
 * const { steps } = runPlan(plan);
 * console.log(steps.map((s) => auditLine(s.audit)).join("\n"));
 * ```
 */
export function auditLine(record: AuditRecord): string {
  return guard(() => wasm().auditLine(record));
}
