// The package's API, shared by every host. Each entry (node, browser, workerd) loads
// the wasm module its host's way, then re-exports this. Everything here converts
// types and forwards to the module: the rules and the format live in Rust.
import * as wasm from "../wasm/kms_instance.js";
import * as args from "./args.js";
import { guard, guardAsync, KmsError, toError } from "./errors.js";
import type {
  ApplyEnv, BindVpcEntry, BindVpcsContext, BindVpcsReport, Decision, DecryptOptions, EncryptOptions, IdKind,
  JsKeyProvider, KeyringFile, NameCheck, NameKindName, Opened, Outcome, Plan, PlanResult, QuotaUsage, Request, State,
} from "./types.js";

export { KmsError, isKmsError } from "./errors.js";
export { WebCryptoKeyProvider } from "./webcrypto.js";
import { AES_GCM, gcmParams, view } from "./webcrypto.js";
export type * from "./types.js";

/**
 * Validates the BindVpcs of UpdateKmsInstanceBindVpc: for any string or array, a report
 * with every problem (the first 100 listed, the rest counted in `omitted`), never a
 * throw. Anything else is a `TypeError`.
 */
export function validateBindVpcs(input: string | readonly BindVpcEntry[], context?: BindVpcsContext): BindVpcsReport {
  return guard(() => wasm.validateBindVpcs(input, context));
}

/** Validates a name: alias, secret name, resource share name, account or display name, bucket. */
export function validateName(kind: NameKindName, value: string): NameCheck {
  return guard(() => wasm.validateName(kind, value));
}

/** Validates an id: instance, VPC, vSwitch, region, account, folder, resource directory. */
export function validateId(kind: IdKind, value: string): NameCheck {
  return guard(() => wasm.validateName(kind, value));
}

/** A directory and one KMS instance. `apply` is all or nothing. */
export class Instance {
  readonly #inner: wasm.WasmInstance;

  private constructor(inner: wasm.WasmInstance) {
    this.#inner = inner;
  }

  /** From a state (`toJSON()`'s result, or its JSON text). */
  static fromJSON(state: State | string): Instance {
    return new Instance(guard(() => wasm.WasmInstance.fromJSON(state)));
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

/** Runs a change plan: each step with `matched`, and `matched` for the whole plan. */
export function runPlan(plan: Plan | string): PlanResult {
  return guard(() => wasm.runPlan(plan));
}

const softwareKeys = new WeakMap<SoftwareKeyProvider, wasm.SoftwareKeyProvider>();

/** Master keys in wasm memory, from a keyring (for tests, development, offline use). */
export class SoftwareKeyProvider {
  constructor(keyring: KeyringFile | string) {
    softwareKeys.set(this, guard(() => new wasm.SoftwareKeyProvider(keyring)));
  }

  arns(): string[] {
    return softwareKeys.get(this)!.arns();
  }

  /** Frees the keys' wasm memory now (it is wiped); the provider cannot be used afterwards. */
  free(): void {
    softwareKeys.get(this)?.free();
    softwareKeys.delete(this);
  }
}

/** Where master keys are kept: in wasm memory, or in a JavaScript key provider (`WebCryptoKeyProvider` is one). */
export type KeyProvider = SoftwareKeyProvider | JsKeyProvider;

/** How long a key provider may take to answer one call, unless `timeoutMs` says otherwise. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** `call()`'s promise, or a `Bridge.Timeout` `KmsError` after `ms`; a synchronous throw rejects. */
function within<T>(ms: number, call: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new KmsError({ code: "Bridge.Timeout", message: `the key provider did not answer within ${ms} ms` })),
      ms,
    );
    const settle = () => clearTimeout(timer);
    try {
      Promise.resolve(call()).then(resolve, reject).finally(settle);
    } catch (e) {
      settle();
      reject(e);
    }
  });
}

/** A JavaScript key provider as the module calls it: each call bounded by `ms`. */
function bounded(store: JsKeyProvider, ms: number): JsKeyProvider {
  const describe = store.describe;
  return {
    arns: () => store.arns(),
    seal: (arn, iv, aad, plaintext) => within(ms, () => store.seal(arn, iv, aad, plaintext)),
    open: (arn, iv, aad, sealed) => within(ms, () => store.open(arn, iv, aad, sealed)),
    ...(typeof describe === "function" && { describe: (arn: string) => within(ms, () => describe.call(store, arn)) }),
  };
}

const STORE_METHODS = ["arns", "seal", "open"] as const;

function keyring(providers: unknown, ms: number): wasm.KeyProviders {
  const list = args.list("providers", providers);
  const ring = new wasm.KeyProviders();
  try {
    list.forEach((provider, i) => {
      const software = provider instanceof SoftwareKeyProvider ? softwareKeys.get(provider) : undefined;
      if (software) return ring.addSoftware(software);
      args.methods(`providers[${i}]`, provider, STORE_METHODS);
      const arns = args.list(`providers[${i}].arns()`, (provider as JsKeyProvider).arns());
      if (!arns.every((a) => typeof a === "string")) throw new TypeError(`providers[${i}].arns() must return strings`);
      guard(() => ring.addJs(bounded(provider as JsKeyProvider, ms), arns as string[]));
    });
    return ring;
  } catch (e) {
    ring.free();
    throw e;
  }
}

/** The host's WebCrypto, when the core says a body of this size is faster there (the bytes are the same). */
function hostSubtle(length: number): SubtleCrypto | undefined {
  return wasm.hostCipherPays(length) ? globalThis.crypto?.subtle : undefined;
}

/** Imports a data key for one use, then wipes the copy that crossed from wasm. */
async function importDataKey(subtle: SubtleCrypto, raw: Uint8Array, usage: KeyUsage): Promise<CryptoKey> {
  try {
    return await subtle.importKey("raw", view(raw), AES_GCM, false, [usage]);
  } finally {
    raw.fill(0);
  }
}

/** The options the module reads, apart from those only JavaScript uses. */
function split<T extends { timeoutMs?: number }>(name: string, value: unknown): [Omit<T, "timeoutMs">, number] {
  const { timeoutMs, ...rest } = args.options<T>(name, value);
  return [rest as Omit<T, "timeoutMs">, args.timeout(`${name}.timeoutMs`, timeoutMs, DEFAULT_TIMEOUT_MS)];
}

/**
 * Seals `plaintext` (a `Uint8Array` or `Buffer`, copied when called) into a message of
 * Alibaba's Encryption SDK format.
 */
export async function encrypt(providers: readonly KeyProvider[], plaintext: Uint8Array, options: EncryptOptions = {}): Promise<Uint8Array> {
  const data = args.bytes("plaintext", plaintext);
  const [opts, ms] = split<EncryptOptions>("options", options);
  const ring = keyring(providers, ms);
  try {
    const subtle = hostSubtle(data.length);
    if (!subtle) return await guardAsync(() => ring.encrypt(data, opts));
    const session: wasm.SealSession = await guardAsync(() => ring.beginSeal(data.length, opts));
    try {
      const key = await importDataKey(subtle, session.dataKey(), "encrypt");
      const params = gcmParams(session.iv(), session.aad());
      const sealed = new Uint8Array(await subtle.encrypt(params, key, data));
      const body = sealed.subarray(0, sealed.length - session.tagLength());
      const [prefix, suffix]: Uint8Array[] = guard(() => session.frame(body.length, sealed.subarray(body.length)));
      const message = new Uint8Array(prefix.length + body.length + suffix.length);
      message.set(prefix);
      message.set(body, prefix.length);
      message.set(suffix, prefix.length + body.length);
      return message;
    } finally {
      session.free();
    }
  } finally {
    ring.free();
  }
}

/** Opens a message (a `Uint8Array` or `Buffer`, copied when called) with whichever of its data keys the providers hold. */
export async function decrypt(providers: readonly KeyProvider[], message: Uint8Array, options: DecryptOptions = {}): Promise<Opened> {
  const data = args.bytes("message", message);
  const [opts, ms] = split<DecryptOptions>("options", options);
  const ring = keyring(providers, ms);
  try {
    const subtle = hostSubtle(data.length);
    if (!subtle) return await guardAsync(() => ring.decrypt(data, opts));
    const session: wasm.OpenSession = await guardAsync(() => ring.beginOpen(data, opts));
    try {
      const key = await importDataKey(subtle, session.dataKey(), "decrypt");
      const params = gcmParams(session.iv(), session.aad());
      let plaintext: Uint8Array;
      try {
        plaintext = new Uint8Array(await subtle.decrypt(params, key, view(session.sealed())));
      } catch {
        throw toError(session.doesNotOpen());
      }
      return { plaintext, ...session.info() };
    } finally {
      session.free();
    }
  } finally {
    ring.free();
  }
}
