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

/** The part of `node:crypto` used here. */
export interface NodeCrypto {
  createCipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array, options: { authTagLength: number }): NodeGcm;
  createDecipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array, options: { authTagLength: number }): NodeGcm;
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
