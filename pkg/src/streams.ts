// Messages as streams, in constant memory, in the format the whole calls write (one
// body, one tag). The framing, GCM and the checks are the Rust core's
// (src/envelope/stream.rs): each piece crosses into wasm and back once. Opening
// releases no plaintext before the tag checks unless asked for by name: a source read
// twice (a `Blob`, a file, ranged reads) is verified in a first pass and opened in a
// second, which releases each piece only once it hashes as it did in the first; a
// source read once is held in memory up to a limit, checked, then released.
import { wasm } from "./bound.js";
import { guard, guardAsync, KmsError } from "./errors.js";
import { view } from "./gcm.js";
import type { Rereadable } from "./types.js";
import type { ByteStream, ByteTransform } from "./host.js";

// The core's objects, by what is used of them (the glue's own types stay out of the
// declarations the package ships).
/** A message being sealed. */
export interface SealStream {
  head(): Uint8Array;
  update(piece: Uint8Array): Uint8Array;
  finish(): Uint8Array;
  free(): void;
}
/** One pass over a message's body. */
export interface BodyPass {
  /** The next bytes; what they release, in one array or several (never copied together). */
  update(bytes: Uint8Array): Uint8Array | Uint8Array[];
  finishVerify(): Verified;
  finishOpen(): Uint8Array;
  free(): void;
}
/** What a verifying pass found. */
export interface Verified {
  free(): void;
}
/** A message whose header is checked and whose data key is open. */
export interface OpenStream {
  length(): number;
  verifier(): BodyPass;
  decryptor(verified: Verified): BodyPass;
  unverified(): BodyPass;
  free(): void;
}

/** The most a piece that crosses into wasm holds: its copy there is never larger. */
const PIECE = 1 << 20;

/** Pieces of at most `PIECE` bytes of `chunk`. */
function* pieces(chunk: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < chunk.length; at += PIECE) yield chunk.subarray(at, at + PIECE);
}

/** The plaintext a pass releases for `piece`: the arrays to hand on, none empty. */
function released(pass: BodyPass, piece: Uint8Array): Uint8Array[] {
  const out = guard(() => pass.update(piece));
  return (Array.isArray(out) ? out : [out]).filter((p) => p.length > 0);
}

/** A chunk a stream gave, checked: bytes only. */
function bytesOf(chunk: unknown): Uint8Array {
  if (!(chunk instanceof Uint8Array)) throw new TypeError(`a stream's chunk must be a Uint8Array, not ${chunk === null ? "null" : typeof chunk}`);
  return chunk;
}

/**
 * A TransformStream that seals what flows through it: the head first, each piece
 * encrypted, the tag at the end; `begin` makes the core's stream (the providers asked
 * once), `done` frees what the call holds.
 */
export function sealing(begin: () => SealStream | Promise<SealStream>, done: () => void): ByteTransform {
  let stream: SealStream | undefined;
  const end = () => {
    stream?.free();
    stream = undefined;
    done();
  };
  return new TransformStream<Uint8Array, Uint8Array>(cancellable(end, {
    async start(controller) {
      try {
        stream = await guardAsync(async () => begin());
        controller.enqueue(view(stream.head()));
      } catch (e) {
        end();
        throw e;
      }
    },
    transform(chunk, controller) {
      try {
        for (const piece of pieces(bytesOf(chunk))) controller.enqueue(view(guard(() => stream!.update(piece))));
      } catch (e) {
        end();
        throw e;
      }
    },
    flush(controller) {
      try {
        const s = stream!;
        stream = undefined;
        // `finish` takes the stream (its memory is freed with it).
        controller.enqueue(view(guard(() => s.finish())));
      } finally {
        end();
      }
    },
  }));
}

/** Collects a message's first bytes until its head is whole: the head, what came after it, and the plaintext's length it declares. */
class HeadReader {
  #bytes: Uint8Array = new Uint8Array(0);

  /** `[head, after, plaintextLength]` once the head is whole, else `undefined`. */
  push(chunk: Uint8Array): [Uint8Array, Uint8Array, number] | undefined {
    // A first chunk is read where it is (a Blob's stream gives all of it in one).
    const all = this.#bytes.length ? concat(this.#bytes, chunk) : chunk;
    // Only what a head can be crosses into wasm; a head is whole within it, or is none.
    const read: [number, number] | undefined = guard(() => wasm().streamHead(all.subarray(0, wasm().openWindow())));
    if (read === undefined) {
      // Kept as a copy: a source may reuse its chunk (a head is a few KiB).
      this.#bytes = all === chunk ? chunk.slice() : all;
      return undefined;
    }
    this.#bytes = new Uint8Array(0);
    return [all.subarray(0, read[0]), all.subarray(read[0]), read[1]];
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const all = new Uint8Array(a.length + b.length);
  all.set(a);
  all.set(b, a.length);
  return all;
}

const endedInHead = () => new KmsError({ code: "InvalidCiphertext.NotAMessage", message: "the message ends in its head" });

/** What opening needs: the core's opening of a head, and what to free when done. */
export interface Opener {
  begin(head: Uint8Array): OpenStream | Promise<OpenStream>;
  done(): void;
}

/**
 * A TransformStream that opens a message read once: held in memory (at most `limit`
 * bytes of body) and checked before any plaintext is released, or released as it
 * decrypts when `unverified`.
 */
export function opening(opener: Opener, unverified: boolean, limit: number): ByteTransform {
  const head = new HeadReader();
  let open: OpenStream | undefined;
  let pass: BodyPass | undefined;
  let held: Uint8Array[] = [];
  const end = () => {
    pass?.free();
    open?.free();
    pass = open = undefined;
    held = [];
    opener.done();
  };
  // Each piece goes to the pass as it comes (the core refuses bytes past the message's
  // end at once); verifying first, a copy is held for the second pass.
  const body = (chunk: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>) => {
    for (const piece of pieces(chunk)) for (const out of released(pass!, piece)) controller.enqueue(view(out));
    if (!unverified) held.push(chunk.slice());
  };
  return new TransformStream<Uint8Array, Uint8Array>(cancellable(end, {
    async transform(chunk, controller) {
      try {
        const bytes = bytesOf(chunk);
        if (open) return body(bytes, controller);
        const read = head.push(bytes);
        if (!read) return;
        // One too large to hold is refused before a key is asked.
        if (!unverified) guard(() => wasm().checkHeld(read[2], limit));
        open = await guardAsync(async () => opener.begin(read[0]));
        pass = guard(() => (unverified ? open!.unverified() : open!.verifier()));
        body(read[1], controller);
      } catch (e) {
        end();
        throw e;
      }
    },
    flush(controller) {
      try {
        if (!open || !pass) throw endedInHead();
        if (unverified) {
          const last = guard(() => pass!.finishOpen());
          if (last.length) controller.enqueue(view(last));
          return;
        }
        const verified = guard(() => pass!.finishVerify());
        pass.free();
        pass = guard(() => open!.decryptor(verified));
        // Released piece by piece, each dropped once decrypted.
        for (let i = 0; i < held.length; i++) {
          for (const piece of pieces(held[i])) for (const out of released(pass!, piece)) controller.enqueue(view(out));
          held[i] = new Uint8Array(0);
        }
        const last = guard(() => pass!.finishOpen());
        if (last.length) controller.enqueue(view(last));
      } finally {
        end();
      }
    },
  }));
}

/**
 * `transformer` with `cancel`, which hosts call when the stream is aborted (the DOM
 * library's `Transformer` does not have it yet): what the call holds is freed then, not
 * when the collector gets to it.
 */
function cancellable(end: () => void, transformer: Transformer<Uint8Array, Uint8Array>): Transformer<Uint8Array, Uint8Array> {
  return Object.assign(transformer, { cancel: end });
}

/** Every chunk of a stream, in order. */
async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield bytesOf(value);
    }
  } finally {
    // Left early (a failed pass, a cancelled stream): the source is told to stop.
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * The plaintext of a message in `source`, read twice: a first pass checks the tag and
 * makes no plaintext; the second releases each piece once it hashes as it did in the
 * first (a source that changed between the passes is refused before the change is
 * released).
 */
export function openingTwice(opener: Opener, source: Rereadable): ByteStream {
  let open: OpenStream | undefined;
  let pass: BodyPass | undefined;
  const end = () => {
    pass?.free();
    open?.free();
    pass = open = undefined;
    opener.done();
  };
  async function* plaintext(): AsyncGenerator<Uint8Array> {
    const head = new HeadReader();
    let headLength = 0;
    for await (const chunk of chunksOf((await source.stream()) as ReadableStream<Uint8Array>)) {
      if (pass) {
        for (const piece of pieces(chunk)) guard(() => pass!.update(piece));
        continue;
      }
      const read = head.push(chunk);
      if (!read) continue;
      headLength = read[0].length;
      open = await guardAsync(async () => opener.begin(read[0]));
      pass = guard(() => open!.verifier());
      guard(() => pass!.update(read[1]));
    }
    if (!open || !pass) throw endedInHead();
    const verified = guard(() => pass!.finishVerify());
    pass.free();
    pass = guard(() => open!.decryptor(verified));
    let skip = headLength;
    for await (const chunk of chunksOf((await source.stream()) as ReadableStream<Uint8Array>)) {
      const rest = chunk.subarray(Math.min(skip, chunk.length));
      skip -= chunk.length - rest.length;
      for (const piece of pieces(rest)) for (const out of released(pass!, piece)) yield view(out);
    }
    const last = guard(() => pass!.finishOpen());
    if (last.length) yield view(last);
  }
  const out = plaintext();
  // Nothing is read before it is asked for: a stream never read reads nothing.
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await out.next();
        if (done) {
          end();
          controller.close();
        } else controller.enqueue(value);
      } catch (e) {
        end();
        controller.error(e);
      }
    },
    async cancel() {
      end();
      await out.return(undefined);
    },
  }, { highWaterMark: 0 });
}
