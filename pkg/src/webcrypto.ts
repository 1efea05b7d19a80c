import * as args from "./args.js";
import { guard, guardAsync, KmsError } from "./errors.js";
import { AES_GCM, gcmParams, view } from "./gcm.js";
import type { HostType } from "./host.js";
import type { Bytes, JsKeyProvider } from "./types.js";

/** The host's `CryptoKey` (any object where its types have none, as in Node's without the DOM lib). */
type CryptoKey = HostType<"CryptoKey", object>;

/** An entry's ARN must be a string (the module parses it when the provider is used). */
function arnAt(i: number, arn: unknown): void {
  if (typeof arn !== "string") throw new TypeError(`keys[${i}].arn must be a string`);
}

function isAesGcm256(key: CryptoKey): boolean {
  const algorithm = key.algorithm as AesKeyAlgorithm | undefined;
  return algorithm?.name === AES_GCM && algorithm.length === 256 && key.usages.includes("encrypt") && key.usages.includes("decrypt");
}

function subtleCrypto(): SubtleCrypto {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new TypeError("this host has no WebCrypto (globalThis.crypto.subtle)");
  return subtle;
}

/**
 * Master keys kept in the host's WebCrypto as non-extractable AES-256-GCM `CryptoKey`s:
 * the key material never enters JavaScript or wasm memory (browsers, Node, workerd).
 *
 * @example New keys, made inside WebCrypto
 * ```ts
 * import { decrypt, encrypt, WebCryptoKeyProvider } from "kms-instance/envelope";
 *
 * const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1207089758810000:key/key-web"]);
 * const message = await encrypt([keys], new TextEncoder().encode("hello"));
 * console.log(new TextDecoder().decode((await decrypt([keys], message)).plaintext)); // hello
 * ```
 */
export class WebCryptoKeyProvider implements JsKeyProvider {
  readonly #keys: Map<string, CryptoKey>;

  private constructor(keys: Map<string, CryptoKey>) {
    this.#keys = keys;
  }

  /** New random master keys, generated inside WebCrypto. */
  static generate(arns: readonly string[]): Promise<WebCryptoKeyProvider> {
    return guardAsync(async () => {
      const subtle = subtleCrypto();
      const keys = new Map<string, CryptoKey>();
      for (const [i, arn] of args.list("arns", arns).entries()) {
        if (typeof arn !== "string") throw new TypeError(`arns[${i}] must be a string`);
        keys.set(arn, (await subtle.generateKey({ name: AES_GCM, length: 256 }, false, ["encrypt", "decrypt"])) as CryptoKey);
      }
      return new WebCryptoKeyProvider(keys);
    });
  }

  /**
   * Imports 32-byte keys once, as non-extractable keys; wipe your copies afterwards.
   *
   * @example A key whose bytes you hold
   * ```ts
   * import { WebCryptoKeyProvider } from "kms-instance/envelope";
   * import { randomBytes } from "node:crypto";
   *
   * const material = randomBytes(32);
   * const keys = await WebCryptoKeyProvider.importRaw([{ arn: "acs:kms:cn-hangzhou:1207089758810000:key/key-web", material }]);
   * material.fill(0);
   * console.log(keys.arns()); // [ 'acs:kms:cn-hangzhou:1207089758810000:key/key-web' ]
   * ```
   */
  static importRaw(keys: readonly { arn: string; material: Uint8Array }[]): Promise<WebCryptoKeyProvider> {
    return guardAsync(async () => {
      const subtle = subtleCrypto();
      const imported = new Map<string, CryptoKey>();
      for (const [i, entry] of args.list("keys", keys).entries()) {
        const { arn, material } = args.options<{ arn: string; material: Uint8Array }>(`keys[${i}]`, entry);
        const bytes = args.view(`keys[${i}].material`, material);
        // Named by place, never quoted: a caller who swapped the fields would see its key.
        arnAt(i, arn);
        if (bytes.length !== 32) throw new KmsError({ code: "InvalidParameter.Keyring", message: `keys[${i}].material is not 32 bytes` });
        imported.set(arn as string, await subtle.importKey("raw", bytes, AES_GCM, false, ["encrypt", "decrypt"]));
      }
      return new WebCryptoKeyProvider(imported);
    });
  }

  /**
   * Your own AES-GCM 256-bit keys (they should be non-extractable).
   *
   * @example A key kept elsewhere (IndexedDB, say) as a `CryptoKey`
   * ```ts
   * import { WebCryptoKeyProvider } from "kms-instance/envelope";
   *
   * const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
   * const keys = WebCryptoKeyProvider.fromCryptoKeys([{ arn: "acs:kms:cn-hangzhou:1207089758810000:key/key-web", key }]);
   * console.log(keys.cryptoKeys().get("acs:kms:cn-hangzhou:1207089758810000:key/key-web") === key); // true
   * ```
   */
  static fromCryptoKeys(keys: readonly { arn: string; key: CryptoKey }[]): WebCryptoKeyProvider {
    return guard(() => {
      const checked = new Map<string, CryptoKey>();
      for (const [i, entry] of args.list("keys", keys).entries()) {
        const { arn, key } = args.options<{ arn: string; key: CryptoKey }>(`keys[${i}]`, entry);
        arnAt(i, arn);
        if (!(key instanceof Object) || !isAesGcm256(key as CryptoKey)) {
          throw new KmsError({ code: "InvalidParameter.Keyring", message: `keys[${i}].key is not an AES-GCM 256-bit CryptoKey for encrypt and decrypt` });
        }
        checked.set(arn as string, key as CryptoKey);
      }
      return new WebCryptoKeyProvider(checked);
    });
  }

  /** The ARNs of its keys, in order. */
  arns(): string[] {
    return [...this.#keys.keys()];
  }

  /** The keys, by ARN: non-extractable, and structured-cloneable (IndexedDB can keep them). */
  cryptoKeys(): Map<string, CryptoKey> {
    return new Map(this.#keys);
  }

  #key(arn: string): CryptoKey {
    const key = this.#keys.get(arn);
    if (!key) throw new KmsError({ code: "Bridge.KeyNotFound", message: `no WebCrypto key for ${arn}` });
    return key;
  }

  // The plaintext is a data key: sealed from a copy that is wiped afterwards.
  /** Seals a data key under the key `arn` (AES-256-GCM): called by `encrypt`, as for any {@link JsKeyProvider}. */
  async seal(arn: string, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Bytes> {
    const key = this.#key(arn);
    const params = gcmParams(iv, aad);
    const data = view(plaintext.slice());
    try {
      return new Uint8Array(await subtleCrypto().encrypt(params, key, data));
    } finally {
      data.fill(0);
    }
  }

  /** Opens a data key sealed under the key `arn`: called by `decrypt`. */
  async open(arn: string, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Bytes> {
    const key = this.#key(arn);
    const params = gcmParams(iv, aad);
    try {
      return new Uint8Array(await subtleCrypto().decrypt(params, key, view(sealed)));
    } catch {
      throw new KmsError({ code: "InvalidCiphertext", message: "WebCrypto's AES-GCM did not open it" });
    }
  }

  /** How the key `arn` is protected: `WEBCRYPTO`. */
  async describe(arn: string): Promise<{
    /** `WEBCRYPTO`. */
    protectionLevel: string;
  }> {
    this.#key(arn);
    return { protectionLevel: "WEBCRYPTO" };
  }
}
