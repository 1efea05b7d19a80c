// Streams' bodies through `node:crypto` (Node, Bun, Deno), whose AES-GCM is some twenty
// times wasm's: the same objects as the core's streams (src/envelope/stream.rs), so the
// TransformStreams of streams.ts run either. The head, the data key and the checks of
// the header stay in wasm; what is here is the body. Opened verified first, it goes to
// Node's GCM a MiB chunk at a time, under the IVs and tags the core's HostGcm gives
// (src/envelope/gcm_chunks.rs): the first pass hashes each chunk as additional data (no
// plaintext made) and the core checks the body's tag from those hashes; the second
// decrypts each chunk under the tag the first pass found for it, so Node refuses a chunk
// that changed before its plaintext is released.
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
  tagIn(tail: Uint8Array): Uint8Array;
  hostGcm(): HostGcm;
  free(): void;
}
/** The core's view of a body Node's GCM opens a chunk at a time. */
interface HostGcm {
  chunkBytes(): number;
  ivOf(chunk: number): Uint8Array;
  hashed(gmac: Uint8Array): void;
  verify(tail: Uint8Array): void;
  tagOf(chunk: number): Uint8Array;
  sameTail(tail: Uint8Array): void;
  free(): void;
}

/** How much ciphertext an unverified pass gives Node's GCM at once. */
const UNVERIFIED_PIECE = 1 << 20;
const NO_AAD = new Uint8Array(0);
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

/** A streamed message opened by Node: wasm checked its header and opened its data key. */
export class NodeOpenStream implements OpenStream {
  readonly #node: NodeCrypto;
  readonly #core: CoreOpenStream;
  /** The core's view of the chunks: made by a first pass, read by the second. */
  #gcm: HostGcm | undefined;

  constructor(node: NodeCrypto, core: CoreOpenStream) {
    this.#node = node;
    this.#core = core;
  }

  length(): number {
    return this.#core.length();
  }

  verifier(): BodyPass {
    this.#gcm?.free();
    this.#gcm = guard(() => this.#core.hostGcm());
    return new ChunkPass(this.#node, this.#core, this.#gcm, "verify");
  }

  decryptor(_verified: Verified): BodyPass {
    // The core refuses a chunk's tag before its body verified.
    this.#gcm ??= guard(() => this.#core.hostGcm());
    return new ChunkPass(this.#node, this.#core, this.#gcm, "decrypt");
  }

  unverified(): BodyPass {
    const core = this.#core;
    return new UnverifiedPass(gcm(this.#node, core.dataKey(), core.iv(), core.aad(), true), core);
  }

  free(): void {
    this.#gcm?.free();
    this.#gcm = undefined;
    this.#core.free();
  }
}

/**
 * One pass over a message's bytes after its head: the ciphertext, in pieces that end at
 * a chunk's end, then the tag's TLV. After an error the pass is void: it throws it again.
 */
abstract class NodePass implements BodyPass {
  #left: number;
  /** A chunk's length: the core's (HostGcm), or any for an unverified pass. */
  readonly #chunkBytes: number;
  #inChunk = 0;
  #tail = new Uint8Array(0);
  #failed: unknown;

  constructor(length: number, chunkBytes: number) {
    this.#left = length;
    this.#chunkBytes = chunkBytes;
  }

  /** The next piece of ciphertext, within a chunk: what it releases goes to `out`. */
  protected abstract piece(piece: Uint8Array, out: Uint8Array[]): void;
  /** A chunk's last byte came. */
  protected abstract chunkEnd(out: Uint8Array[]): void;

  update(bytes: Uint8Array): Uint8Array[] {
    if (this.#failed !== undefined) throw this.#failed;
    try {
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
        const piece = bytes.subarray(0, Math.min(bytes.length, this.#left, this.#chunkBytes - this.#inChunk));
        bytes = bytes.subarray(piece.length);
        this.#left -= piece.length;
        this.#inChunk += piece.length;
        this.piece(piece, out);
        if (this.#inChunk === this.#chunkBytes || this.#left === 0) {
          this.#inChunk = 0;
          this.chunkEnd(out);
        }
      }
      return out;
    } catch (e) {
      this.#failed = e;
      throw e;
    }
  }

  /** The bytes after the ciphertext: the tag's TLV, if the message is whole. */
  protected tail(): Uint8Array {
    if (this.#failed !== undefined) throw this.#failed;
    return this.#left === 0 ? this.#tail : new Uint8Array(0);
  }

  finishVerify(): Verified {
    throw new KmsError({ code: "InvalidParameter.Request", message: "not a verifier" });
  }

  abstract finishOpen(): Uint8Array;

  free(): void {}
}

/** A pass of a message verified first, by chunks under the core's IVs and tags. */
class ChunkPass extends NodePass {
  #chunk = 0;
  #gcm: NodeGcm | undefined;
  /** A chunk's plaintext, until Node's GCM finds its tag. */
  #held: Uint8Array[] = [];

  constructor(
    readonly node: NodeCrypto,
    readonly core: CoreOpenStream,
    readonly host: HostGcm,
    readonly mode: "verify" | "decrypt",
  ) {
    super(core.length(), host.chunkBytes());
  }

  protected piece(piece: Uint8Array, out: Uint8Array[]): void {
    this.#gcm ??= this.#begin();
    if (this.mode === "verify") this.#gcm.setAAD(piece);
    else this.#held.push(this.#gcm.update(piece));
  }

  /** Node's GCM for the next chunk: hashing it as additional data, or decrypting it under its tag. */
  #begin(): NodeGcm {
    const iv = guard(() => this.host.ivOf(this.#chunk));
    const chunkGcm = gcm(this.node, this.core.dataKey(), iv, NO_AAD, this.mode === "decrypt");
    if (this.mode === "decrypt") chunkGcm.setAuthTag(guard(() => this.host.tagOf(this.#chunk)));
    return chunkGcm;
  }

  protected chunkEnd(out: Uint8Array[]): void {
    const chunkGcm = this.#gcm!;
    this.#gcm = undefined;
    this.#chunk += 1;
    if (this.mode === "verify") {
      chunkGcm.final();
      guard(() => this.host.hashed(chunkGcm.getAuthTag()));
      return;
    }
    const held = this.#held;
    this.#held = [];
    try {
      chunkGcm.final();
    } catch {
      throw changed();
    }
    out.push(...held);
  }

  override finishVerify(): Verified {
    guard(() => this.host.verify(this.tail()));
    return { free() {} };
  }

  finishOpen(): Uint8Array {
    guard(() => this.host.sameTail(this.tail()));
    return new Uint8Array(0);
  }

  override free(): void {
    this.#held = [];
  }
}

/** One pass that releases plaintext as it decrypts; Node's GCM checks the tag at the end. */
class UnverifiedPass extends NodePass {
  constructor(
    readonly decipher: NodeGcm,
    readonly core: CoreOpenStream,
  ) {
    super(core.length(), UNVERIFIED_PIECE);
  }

  protected piece(piece: Uint8Array, out: Uint8Array[]): void {
    out.push(this.decipher.update(piece));
  }

  protected chunkEnd(): void {}

  finishOpen(): Uint8Array {
    const tail = this.tail();
    this.decipher.setAuthTag(guard(() => this.core.tagIn(tail)));
    try {
      return this.decipher.final();
    } catch {
      throw toError(this.core.doesNotOpen());
    }
  }
}
