/**
 * The forms a console checks (BindVpcs, names, ids), with the rules the server enforces,
 * in a wasm module of their own.
 *
 * @module kms-instance/validate
 */
export * from "./forms.js";
export { KmsError, isKmsError } from "./errors.js";
export { init, initSync } from "./load.js";
export type { InitSource, InitSyncSource } from "./load.js";
export type * from "./types.js";
