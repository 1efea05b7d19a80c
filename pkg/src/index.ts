// The package's API, shared by every host. Each entry (node, browser, workerd) loads
// the wasm module its host's way, then re-exports this. Everything here converts
// types and forwards to the module: the rules and the format live in Rust.
import * as wasm from "../wasm/kms_instance.js";
import { guard, guardAsync, KmsError } from "./errors.js";
import type {
  ApplyEnv, BindVpcEntry, BindVpcsContext, BindVpcsReport, Decision, DecryptOptions, EncryptOptions, IdKind,
  InstanceState, KeyringFile, KeyStore, NameCheck, NameKindName, Opened, Outcome, Plan, PlanResult, QuotaUsage, Request,
} from "./types.js";

export { KmsError, isKmsError } from "./errors.js";
export { WebCryptoKeyProvider } from "./webcrypto.js";
import { AES_GCM, gcmParams, view } from "./webcrypto.js";
export type * from "./types.js";

/** Validates the BindVpcs of UpdateKmsInstanceBindVpc: every problem, never a throw. */
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
  static fromJSON(state: InstanceState | string): Instance {
    return new Instance(guard(() => wasm.WasmInstance.fromJSON(state)));
  }

  /** Applies a request and returns its outcome, or throws a `KmsError` and changes nothing. */
  apply(request: Request, env?: ApplyEnv): Outcome {
    const now = env?.now instanceof Date ? env.now.toISOString() : env?.now;
    return guard(() => this.#inner.apply(request, env && { ...env, now }));
  }

  /** May this request go ahead? When not, the first check that fails. Applies nothing. */
  check(request: Request): Decision {
    return guard(() => this.#inner.check(request));
  }

  quota(): QuotaUsage {
    return guard(() => this.#inner.quota());
  }

  toJSON(): InstanceState {
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
}

export type KeyProvider = SoftwareKeyProvider | KeyStore;

function keyring(providers: readonly KeyProvider[]): wasm.Keyring {
  const ring = new wasm.Keyring();
  for (const provider of providers) {
    const software = provider instanceof SoftwareKeyProvider ? softwareKeys.get(provider) : undefined;
    if (software) ring.addSoftware(software);
    else guard(() => ring.addStore(provider, (provider as KeyStore).arns()));
  }
  return ring;
}

/**
 * Bodies from this size up are encrypted by the host's WebCrypto rather than in wasm:
 * the bytes are the same, WebCrypto is faster past its per-call cost (see benches/).
 */
const HOST_BODY_MIN = 16 * 1024;

function hostSubtle(length: number): SubtleCrypto | undefined {
  return length >= HOST_BODY_MIN ? globalThis.crypto?.subtle : undefined;
}

/** Imports a data key for one use, then wipes the copy that crossed from wasm. */
async function importDataKey(subtle: SubtleCrypto, raw: Uint8Array, usage: KeyUsage): Promise<CryptoKey> {
  try {
    return await subtle.importKey("raw", view(raw), AES_GCM, false, [usage]);
  } finally {
    raw.fill(0);
  }
}

/** Seals `plaintext` into a message of Alibaba's Encryption SDK format. */
export async function encrypt(providers: readonly KeyProvider[], plaintext: Uint8Array, options: EncryptOptions = {}): Promise<Uint8Array> {
  const ring = keyring(providers);
  try {
    const subtle = hostSubtle(plaintext.length);
    if (!subtle) return await guardAsync(() => ring.encrypt(plaintext, options));
    const session: wasm.SealSession = await guardAsync(() => ring.beginSeal(plaintext.length, options));
    try {
      const key = await importDataKey(subtle, session.dataKey(), "encrypt");
      const params = gcmParams(session.iv(), session.aad());
      const sealed = new Uint8Array(await subtle.encrypt(params, key, view(plaintext)));
      const body = sealed.subarray(0, sealed.length - 16);
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

/** Opens a message with whichever of its data keys the providers hold. */
export async function decrypt(providers: readonly KeyProvider[], message: Uint8Array, options: DecryptOptions = {}): Promise<Opened> {
  const ring = keyring(providers);
  try {
    const subtle = hostSubtle(message.length);
    if (!subtle) return await guardAsync(() => ring.decrypt(message, options));
    const session: wasm.OpenSession = await guardAsync(() => ring.beginOpen(message, options));
    try {
      const key = await importDataKey(subtle, session.dataKey(), "decrypt");
      const params = gcmParams(session.iv(), session.aad());
      let plaintext: Uint8Array;
      try {
        plaintext = new Uint8Array(await subtle.decrypt(params, key, view(session.sealed())));
      } catch {
        throw new KmsError({ code: "InvalidCiphertext", message: "the message does not open with these keys", rule: "R-ENV-4" });
      }
      return { plaintext, ...session.info() };
    } finally {
      session.free();
    }
  } finally {
    ring.free();
  }
}
