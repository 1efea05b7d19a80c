// The host's own AES-GCM for a message's body, when the core says it beats wasm at that
// size: Node's `node:crypto` where the host has one (Node, Bun, Deno: synchronous and
// faster than their WebCrypto at every size), else WebCrypto. The bytes are the same.
// `node:crypto` is found at run time (`process.getBuiltinModule`), never imported, so
// no bundler or browser ever sees it.
import { wasm } from "./bound.js";

/** The part of Node's `Cipher`/`Decipher` (GCM) used here. */
export interface NodeGcm {
  setAAD(aad: Uint8Array): unknown;
  setAuthTag(tag: Uint8Array): unknown;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
  getAuthTag(): Uint8Array;
}

/** Node's own handle on a key (a `KeyObject`): a cipher keyed with it never sees its bytes in JavaScript. */
export interface NodeKey {
  readonly type: string;
  readonly symmetricKeySize?: number;
}

/** The part of `node:crypto` used here. */
export interface NodeCrypto {
  createCipheriv(algorithm: string, key: Uint8Array | NodeKey, iv: Uint8Array, options: { authTagLength: number }): NodeGcm;
  createDecipheriv(algorithm: string, key: Uint8Array | NodeKey, iv: Uint8Array, options: { authTagLength: number }): NodeGcm;
  KeyObject?: { from(key: object): NodeKey };
}

export type HostCipher = { kind: "node"; crypto: NodeCrypto } | { kind: "webcrypto"; subtle: SubtleCrypto };

type WithBuiltins = { process?: { getBuiltinModule?: (id: string) => unknown } };

let node: NodeCrypto | null | undefined;

function nodeCrypto(): NodeCrypto | null {
  if (node === undefined) {
    try {
      const found = (globalThis as WithBuiltins).process?.getBuiltinModule?.("node:crypto") as Partial<NodeCrypto> | undefined;
      node = typeof found?.createCipheriv === "function" && typeof found.createDecipheriv === "function" ? (found as NodeCrypto) : null;
    } catch {
      node = null;
    }
  }
  return node;
}

/** The host cipher for a body of `length` bytes, or none (wasm does it). */
export function hostCipher(length: number): HostCipher | undefined {
  const crypto = nodeCrypto();
  if (crypto && wasm().hostCipherPays(length, "node")) return { kind: "node", crypto };
  const subtle = globalThis.crypto?.subtle;
  if (subtle && wasm().hostCipherPays(length, "webcrypto")) return { kind: "webcrypto", subtle };
  return undefined;
}

/** Node's name for AES-GCM with a data key of this many bytes. */
const nodeGcm = (key: Uint8Array) => `aes-${key.length * 8}-gcm`;

/** A Node GCM under `key` (a copy from wasm, wiped here), with `iv` and `aad`. */
export function nodeGcmUnder(node: NodeCrypto, key: Uint8Array, iv: Uint8Array, aad: Uint8Array, decrypt: boolean): NodeGcm {
  try {
    const make = decrypt ? node.createDecipheriv : node.createCipheriv;
    const gcm = make.call(node, nodeGcm(key), key, iv, { authTagLength: 16 });
    gcm.setAAD(aad);
    return gcm;
  } finally {
    key.fill(0);
  }
}

/** Node's calls take a body in pieces of this size: its output is never held twice. */
export const NODE_CHUNK = 1 << 20;

/** `node:crypto` where the host has it (Node, Bun, Deno): streams' bodies go to it at any size. */
export function nodeCipher(): NodeCrypto | undefined {
  return nodeCrypto() ?? undefined;
}

/** Each WebCrypto key's handle in `node:crypto`, or `null` where the host gives none. */
const handles = new WeakMap<object, NodeKey | null>();

/**
 * Node's handle on a WebCrypto AES-256 key (`KeyObject.from`, Node and hosts like it),
 * with `node:crypto` to use it: a data key sealed or opened with it is done at once, on
 * this thread, where WebCrypto's answer comes back from a worker thread after a wait
 * (measured inside a 1 KiB seal on a 2-core VM: 300 µs from the call to its answer, for
 * 48 bytes of work; the whole seal with keys in wasm memory takes 45 µs). The handle is
 * the key's own, never exported: the material stays in the host as before. None where
 * the host has no such handle (browsers, workerd): WebCrypto then does it.
 */
export function nodeKeyOf(key: object): { crypto: NodeCrypto; key: NodeKey } | undefined {
  const crypto = nodeCrypto();
  if (!crypto) return undefined;
  let handle = handles.get(key);
  if (handle === undefined) {
    try {
      const found = crypto.KeyObject?.from(key);
      handle = found?.type === "secret" && found.symmetricKeySize === 32 ? found : null;
    } catch {
      handle = null;
    }
    handles.set(key, handle);
  }
  return handle ? { crypto, key: handle } : undefined;
}
