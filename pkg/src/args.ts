// Argument checks for the exports, before anything crosses into wasm. A wrong type is
// a TypeError naming the argument; nothing is coerced. Strings and JSON values are
// checked by the glue (their type, then their size against the core's limits); what
// is checked here is what only JavaScript sees: bytes, key providers, options objects.

// The engine's own accessors of typed arrays, taken once: a caller can define `length`,
// `byteLength` or `buffer` on its array (or its prototype) to say anything, and wasm-
// bindgen's glue sizes its copy into wasm memory by `length`.
const typedArray = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsic = <T>(name: PropertyKey) => Object.getOwnPropertyDescriptor(typedArray, name)!.get as (this: unknown) => T;
const typedArrayTag = intrinsic<string | undefined>(Symbol.toStringTag);
const bufferOf = intrinsic<ArrayBufferLike>("buffer");
const offsetOf = intrinsic<number>("byteOffset");
const lengthOf = intrinsic<number>("byteLength");
const Bytes = Uint8Array;

/** What a value is, for a message: `string`, `ArrayBuffer`, `Uint16Array`, `null`, … */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return typedArrayTag.call(value) ?? Object.prototype.toString.call(value).slice(8, -1);
}

const howTo: Record<string, string> = {
  string: "encode it with new TextEncoder().encode(text)",
  ArrayBuffer: "wrap it: new Uint8Array(buffer)",
  SharedArrayBuffer: "wrap it: new Uint8Array(buffer)",
};

/**
 * A `Uint8Array` (a Node `Buffer` is one), checked: other views, `ArrayBuffer`s and
 * strings are refused, with how to convert them. Returns a new view of the same bytes,
 * made from the engine's own record of where they are, so no property defined on the
 * caller's array can make it look longer or shorter than it is; a view of a detached
 * buffer is refused.
 */
export function view(name: string, value: unknown): Uint8Array<ArrayBuffer> {
  const kind = describe(value);
  if (kind !== "Uint8Array") {
    const hint = howTo[kind] ?? "pass a Uint8Array";
    throw new TypeError(`${name} must be a Uint8Array or a Buffer, not ${kind}: ${hint}`);
  }
  const buffer = bufferOf.call(value) as ArrayBuffer;
  const length = lengthOf.call(value);
  if (length === 0 && isDetached(buffer)) {
    throw new TypeError(`${name} is a view of a detached ArrayBuffer (it was transferred): pass its bytes again`);
  }
  const bytes = new Bytes(buffer, offsetOf.call(value), length);
  // What the glue will read; only a tampered Uint8Array.prototype can make them differ.
  if (bytes.length !== length) throw new TypeError(`${name}: Uint8Array.prototype.length has been redefined; refusing to copy`);
  return bytes;
}

/** Whether a buffer was transferred away (its views read as empty then). */
export function isDetached(buffer: ArrayBufferLike): boolean {
  try {
    new Bytes(buffer);
    return false;
  } catch {
    return true;
  }
}

/** A copy of bytes taken now: a caller that changes its buffer afterwards changes nothing here. */
export function copy(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** An options object: `undefined`/`null` for none, else a plain object. */
export function options<T extends object>(name: string, value: unknown): Partial<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object, not ${describe(value)}`);
  }
  return value as Partial<T>;
}

/** A timeout in milliseconds: a whole number from 1 to 2^31 − 1 (what timers take). */
export function timeout(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 0x7fffffff) {
    throw new TypeError(`${name} must be a whole number of milliseconds from 1 to 2147483647`);
  }
  return value;
}

/** A time: an RFC 3339 string (checked by the core), or a valid `Date`. */
export function time(name: string, value: unknown): string | undefined {
  if (value === undefined || typeof value === "string") return value;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError(`${name} is an invalid Date`);
    return value.toISOString();
  }
  throw new TypeError(`${name} must be an RFC 3339 string or a Date, not ${describe(value)}`);
}

/** An array (how many entries it may hold is the core's to say). */
export function list(name: string, value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array, not ${describe(value)}`);
  return value;
}

/** An object with these methods, as a JavaScript key provider must have. */
export function methods(name: string, value: unknown, names: readonly string[]): void {
  const missing = names.filter((m) => typeof (value as Record<string, unknown> | null)?.[m] !== "function");
  if (typeof value !== "object" || value === null || missing.length > 0) {
    throw new TypeError(`${name} must be a key provider of this package (SoftwareKeyProvider, XksKeyProvider, KmsKeyProvider, WebCryptoKeyProvider) or a JavaScript key provider with ${names.join(", ")}`);
  }
}
