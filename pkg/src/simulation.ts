// Simulation: an instance that applies requests all or nothing, and change plans.
import type * as glue from "#glue";
import * as args from "./args.js";
import { wasm } from "./bound.js";
import { guard } from "./errors.js";
import type { ApplyEnv, BindVpcsContext, Decision, Outcome, Plan, PlanResult, QuotaUsage, Request, RunOptions, State } from "./types.js";

/** A directory and one KMS instance. `apply` is all or nothing. */
export class Instance {
  readonly #inner: glue.WasmInstance;

  private constructor(inner: glue.WasmInstance) {
    this.#inner = inner;
  }

  /** From a state (`toJSON()`'s result, or its JSON text). */
  static fromJSON(state: State | string): Instance {
    return new Instance(guard(() => wasm().WasmInstance.fromJSON(state)));
  }

  /** Applies a request and returns its outcome, or throws a `KmsError` and changes nothing. */
  apply(request: Request, env?: ApplyEnv): Outcome {
    const given = args.options<ApplyEnv>("env", env);
    const now = args.time("env.now", given.now);
    return guard(() => this.#inner.apply(request, { ...given, now }));
  }

  /** May this request go ahead? When not, the first check that fails. Applies nothing. */
  check(request: Request): Decision {
    return guard(() => this.#inner.check(request));
  }

  /** What UpdateKmsInstanceBindVpc would check a BindVpcs document against now (its region, owner, VPCs, quota): pass it to `validateBindVpcs`. */
  bindVpcsContext(): BindVpcsContext {
    return guard(() => this.#inner.bindVpcsContext());
  }

  quota(): QuotaUsage {
    return guard(() => this.#inner.quota());
  }

  toJSON(): State {
    return guard(() => this.#inner.toJSON());
  }

  /** Frees the wasm memory now (otherwise the garbage collector does). */
  free(): void {
    this.#inner.free();
  }
}

/**
 * Runs a change plan: each step with `matched`, and `matched` for the whole plan;
 * with `{ states: true }`, each step's resulting state too.
 */
export function runPlan(plan: Plan | string, options?: RunOptions): PlanResult {
  const given = args.options<RunOptions>("options", options);
  return guard(() => wasm().runPlan(plan, given));
}

