// What each entry's build resolves: "#glue" to its wasm-bindgen glue (type-checked
// against the full module's, a superset), "#wasm-source" to the module it carries and its shape.
declare module "#wasm-source" {
  const source: string | WebAssembly.Module | undefined;
  export default source;
  /** The shape (shape.ts) of the module the entry was built with. */
  export const shape: string;
}
