/**
 * Everything (validation, the simulated instance and plans, envelope encryption) in one
 * wasm module. `kms-instance/validate` and `kms-instance/envelope` load only their part.
 *
 * @module kms-instance
 */
export * from "./forms.js";
export * from "./simulation.js";
export * from "./sealing.js";
export * from "./kmsapi.js";
export { WebCryptoKeyProvider } from "./webcrypto.js";
export { fileSource } from "./files.js";
export { KmsError, isKmsError } from "./errors.js";
export { init, initSync } from "./load.js";
export type { InitSource, InitSyncSource } from "./load.js";
export type * from "./types.js";
