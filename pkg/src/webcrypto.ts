import * as args from "./args.js";
import { guard, guardAsync, KmsError } from "./errors.js";
import { AES_GCM, gcmParams, TAG_LEN, view } from "./gcm.js";
import { nodeKeyOf, type NodeCrypto, type NodeKey } from "./hostcipher.js";
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

  /**
   * Seals a data key under the key `arn` (AES-256-GCM): called by `encrypt`, as for any
   * {@link JsKeyProvider}. Where the host has `node:crypto` (Node), it is sealed at once
   * with Node's handle on the key and the bytes are returned; elsewhere, a promise of
   * WebCrypto's.
   */
  seal(arn: string, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Bytes | Promise<Bytes> {
    const key = this.#key(arn);
    const node = nodeKeyOf(key);
    return node ? gcmOnNode(node, iv, aad, plaintext, false) : sealOnWebCrypto(key, iv, aad, plaintext);
  }

  /** Opens a data key sealed under the key `arn`: called by `decrypt`; at once where the host has `node:crypto`, as `seal`. */
  open(arn: string, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Bytes | Promise<Bytes> {
    const key = this.#key(arn);
    const node = nodeKeyOf(key);
    if (!node) return openOnWebCrypto(key, iv, aad, sealed);
    if (sealed.length < TAG_LEN) throw notOpened();
    return gcmOnNode(node, iv, aad, sealed, true);
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

const notOpened = () => new KmsError({ code: "InvalidCiphertext", message: "AES-GCM did not open it" });

// The plaintext is a data key: sealed from a copy that is wiped afterwards.
async function sealOnWebCrypto(key: CryptoKey, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Bytes> {
  const params = gcmParams(iv, aad);
  const data = view(plaintext.slice());
  try {
    return new Uint8Array(await subtleCrypto().encrypt(params, key, data));
  } finally {
    data.fill(0);
  }
}

async function openOnWebCrypto(key: CryptoKey, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Bytes> {
  const params = gcmParams(iv, aad);
  try {
    return new Uint8Array(await subtleCrypto().decrypt(params, key, view(sealed)));
  } catch {
    throw notOpened();
  }
}

/**
 * AES-256-GCM of a data key with Node's handle on the master key: `input` sealed (the
 * ciphertext and its tag), or opened (`input` ends with its tag). Node's outputs may sit
 * in its shared buffer pool, so they are copied into bytes of their own and wiped.
 */
function gcmOnNode(node: { crypto: NodeCrypto; key: NodeKey }, iv: Uint8Array, aad: Uint8Array, input: Uint8Array, open: boolean): Bytes {
  const make = open ? node.crypto.createDecipheriv : node.crypto.createCipheriv;
  const gcm = make.call(node.crypto, "aes-256-gcm", node.key, iv, { authTagLength: TAG_LEN });
  gcm.setAAD(aad);
  const body = open ? input.subarray(0, input.length - TAG_LEN) : input;
  if (open) gcm.setAuthTag(input.subarray(input.length - TAG_LEN));
  const parts = [gcm.update(body)];
  try {
    parts.push(gcm.final());
  } catch {
    parts.forEach((p) => p.fill(0));
    throw open ? notOpened() : new KmsError({ code: "Bridge.Hsm", message: "AES-GCM did not seal it" });
  }
  if (!open) parts.push(gcm.getAuthTag());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
    p.fill(0);
  }
  return out;
}
