// The host's global types, where its type declarations have them: the package's types
// must check with the DOM lib, with Node's alone, or with a worker's.

/** The instance type of the global `K`, or `Else` where the host's types declare none. */
export type HostType<K extends string, Else = never> = typeof globalThis extends { [P in K]: { prototype: infer T } } ? T : Else;

/** The host's `TransformStream` (of bytes), or an object where its types have none (Node's without the DOM lib). */
export type ByteTransform = HostType<"TransformStream", object>;

/** The host's `ReadableStream` (of bytes), or an object where its types have none. */
export type ByteStream = HostType<"ReadableStream", object>;
