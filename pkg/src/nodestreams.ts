// Streams' bodies through `node:crypto` (Node, Bun, Deno), whose AES-GCM is some twenty
// times wasm's: the same objects as the core's streams (src/envelope/stream.rs), so the
// TransformStreams of streams.ts run either. The head, the data key and the checks of
// the header stay in wasm; what is here is the body: GCM as it comes, the tag's bytes at
// the end, and, for a message read twice, the same guarantee as the core's checkpoints
// by other means: the first pass records SHA-256 of each MiB of ciphertext, and the
// second releases a MiB's plaintext only once its ciphertext hashes the same.
import { guard, KmsError, toError } from "./errors.js";
import { TAG_LEN } from "./gcm.js";
import { nodeGcmUnder as gcm, type NodeCrypto, type NodeGcm } from "./hostcipher.js";
import type { BodyPass, OpenStream, SealStream, Verified } from "./streams.js";

// The core's objects, by what is used of them (the glue's types stay out of the declarations).
/** A message's data key and IV, no provider asked yet. */
interface PreparedSeal {
  dataKey(): Uint8Array;
  iv(): Uint8Array;
  aad(): Uint8Array;
  wrap(): SealSession | Promise<SealSession>;
  free(): void;
}
/** A message sealed but for its body. */
interface SealSession {
  frame(length: number, tag: Uint8Array): Uint8Array[];
  free(): void;
}
/** A streamed message whose header is checked and whose data key is open. */
interface CoreOpenStream {
  length(): number;
  dataKey(): Uint8Array;
  iv(): Uint8Array;
  aad(): Uint8Array;
  doesNotOpen(): unknown;
  free(): void;
}

/** Ciphertext bytes a first pass vouches for with one digest: the most a second pass holds. */
const CHECKPOINT = 1 << 20;
/** The tag's TLV after the ciphertext: `04 10` and 16 bytes. */
const TAIL = 2 + TAG_LEN;

const wrongLength = (message: string) => new KmsError({ code: "InvalidParameter.Plaintext", message: `${message}: the message is void` });
const notAMessage = (message: string) => new KmsError({ code: "InvalidCiphertext.NotAMessage", message, rule: "R-ENV-4" });
const changed = () => new KmsError({ code: "InvalidCiphertext", message: "the message changed between the pass that verified it and the one that opens it", rule: "R-ENV-4" });

/** A streamed message sealed by Node: wasm's session frames it, Node encrypts the body. */
export async function nodeSealStream(node: NodeCrypto, prepared: PreparedSeal, size: number): Promise<SealStream> {
  let cipher: NodeGcm;
  try {
    cipher = gcm(node, prepared.dataKey(), prepared.iv(), prepared.aad(), false);
  } catch (e) {
    prepared.free();
    throw e;
  }
  // `wrap` takes the prepared seal; the session frames the body (a tag of zeros for the prefix, which does not depend on it).
  const session = await guard(() => prepared.wrap());
  const [head] = guard(() => session.frame(size, new Uint8Array(TAG_LEN))) as Uint8Array[];
  let left = size;
  return {
    head: () => head,
    update(piece) {
      left -= piece.length;
      if (left < 0) throw wrongLength("the plaintext is longer than the length given before it");
      return cipher.update(piece);
    },
    finish() {
      try {
        if (left !== 0) throw wrongLength(`the plaintext ended ${left} bytes short of the length given`);
        cipher.final();
        return (guard(() => session.frame(size, cipher.getAuthTag())) as Uint8Array[])[1];
      } finally {
        session.free();
      }
    },
    free: () => session.free(),
  };
}

/** What a Node verifier found: the tag, and the digest of each MiB of ciphertext. */
interface NodeVerified extends Verified {
  tag: Uint8Array;
  digests: Uint8Array[];
}

/** A streamed message opened by Node: wasm checked its header and opened its data key. */
export class NodeOpenStream implements OpenStream {
  readonly #node: NodeCrypto;
  readonly #core: CoreOpenStream;

  constructor(node: NodeCrypto, core: CoreOpenStream) {
    this.#node = node;
    this.#core = core;
  }

  length(): number {
    return this.#core.length();
  }

  #pass(mode: "verify" | "decrypt" | "unverified", verified?: NodeVerified): BodyPass {
    const core = this.#core;
    const decipher = gcm(this.#node, core.dataKey(), core.iv(), core.aad(), true);
    return new NodeBodyPass(this.#node, decipher, core.length(), mode, verified, () => toError(core.doesNotOpen()));
  }

  verifier(): BodyPass {
    return this.#pass("verify");
  }

  decryptor(verified: Verified): BodyPass {
    return this.#pass("decrypt", verified as NodeVerified);
  }

  unverified(): BodyPass {
    return this.#pass("unverified");
  }

  free(): void {
    this.#core.free();
  }
}

/** One pass over a message's bytes after its head, by Node. */
class NodeBodyPass implements BodyPass {
  #left: number;
  #tail = new Uint8Array(0);
  #digests: Uint8Array[] = [];
  /** Ciphertext since the last checkpoint: hashed (verify), or held until vouched for (decrypt). */
  #hash: ReturnType<NodeCrypto["createHash"]>;
  #held: Uint8Array[] = [];
  #heldBytes = 0;

  constructor(
    readonly node: NodeCrypto,
    readonly decipher: NodeGcm,
    length: number,
    readonly mode: "verify" | "decrypt" | "unverified",
    readonly verified: NodeVerified | undefined,
    readonly doesNotOpen: () => Error,
  ) {
    this.#left = length;
    this.#hash = node.createHash("sha256");
  }

  update(bytes: Uint8Array): Uint8Array {
    const out: Uint8Array[] = [];
    while (bytes.length) {
      if (this.#left === 0) {
        if (this.#tail.length + bytes.length > TAIL) throw notAMessage("bytes follow the message's end");
        const tail = new Uint8Array(this.#tail.length + bytes.length);
        tail.set(this.#tail);
        tail.set(bytes, this.#tail.length);
        this.#tail = tail;
        break;
      }
      const room = CHECKPOINT - this.#heldBytes;
      const piece = bytes.subarray(0, Math.min(bytes.length, this.#left, room));
      bytes = bytes.subarray(piece.length);
      this.#left -= piece.length;
      this.#heldBytes += piece.length;
      if (this.mode === "unverified") out.push(this.decipher.update(piece));
      else if (this.mode === "verify") {
        this.#hash.update(piece);
        this.decipher.update(piece);
      } else {
        // Copied before it is hashed: what is hashed is what is later decrypted.
        const held = piece.slice();
        this.#hash.update(held);
        this.#held.push(held);
      }
      if (this.#heldBytes === CHECKPOINT && this.#left > 0) out.push(...this.#checkpoint());
    }
    return join(out);
  }

  /** A MiB of ciphertext reached: its digest recorded, or its plaintext released once its digest matches. */
  #checkpoint(): Uint8Array[] {
    if (this.mode === "unverified") {
      this.#heldBytes = 0;
      return [];
    }
    const digest = this.#hash.digest();
    this.#hash = this.node.createHash("sha256");
    this.#heldBytes = 0;
    if (this.mode === "verify") {
      this.#digests.push(digest);
      return [];
    }
    const expected = this.verified?.digests[this.#digests.length];
    this.#digests.push(digest);
    if (!expected || !same(expected, digest)) throw changed();
    const held = this.#held;
    this.#held = [];
    return held.map((piece) => this.decipher.update(piece));
  }

  #tag(): Uint8Array {
    if (this.#left !== 0 || this.#tail.length !== TAIL || this.#tail[0] !== 0x04 || this.#tail[1] !== TAG_LEN) {
      throw notAMessage("the message ends before its body and tag do");
    }
    return this.#tail.subarray(2);
  }

  /** The tag checks: Node's GCM says so at its end. */
  #final(tag: Uint8Array): Uint8Array {
    this.decipher.setAuthTag(tag);
    try {
      return this.decipher.final();
    } catch {
      throw this.doesNotOpen();
    }
  }

  finishVerify(): Verified {
    const tag = this.#tag();
    this.#final(tag);
    this.#digests.push(this.#hash.digest());
    const verified: NodeVerified = { tag: tag.slice(), digests: this.#digests, free() {} };
    return verified;
  }

  finishOpen(): Uint8Array {
    const tag = this.#tag();
    if (this.mode === "unverified") return this.#final(tag);
    // The last piece: its digest and the tag must be the ones the first pass saw.
    const expected = this.verified?.digests[this.#digests.length];
    const digest = this.#hash.digest();
    if (!this.verified || !same(tag, this.verified.tag) || !expected || !same(expected, digest)) throw changed();
    const out = this.#held.map((piece) => this.decipher.update(piece));
    out.push(this.#final(tag));
    return join(out);
  }

  free(): void {
    this.#held = [];
  }
}

/** Whether two digests or tags are the same bytes (neither is secret: the first pass's, kept in memory). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Pieces as one array (the common case, one piece, is not copied). */
function join(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
