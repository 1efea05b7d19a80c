// What tells one build's wasm module from another's: its imports and exports (their
// names carry wasm-bindgen's hashes of the glue they were made for). build.mjs
// computes it for each entry's module with this same function; an entry refuses a
// module of another shape, whose functions would answer its calls with nonsense.

/** A short hash (FNV-1a, 32 bits) of a module's imports and exports. */
export function shapeOf(module: WebAssembly.Module): string {
  const parts = [
    ...WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}:${i.kind}`),
    ...WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`),
  ].join("\n");
  let hash = 0x811c9dc5;
  for (let i = 0; i < parts.length; i++) hash = Math.imul(hash ^ parts.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, "0");
}
