/**
 * Envelope encryption (messages of the format of Alibaba Cloud's Encryption SDK) and the
 * key providers, in a wasm module of their own.
 *
 * @module kms-instance/envelope
 */
export * from "./sealing.js";
export * from "./kmsapi.js";
export { WebCryptoKeyProvider } from "./webcrypto.js";
export { fileSource } from "./files.js";
export { KmsError, isKmsError } from "./errors.js";
export { init, initSync } from "./load.js";
export type { InitSource, InitSyncSource } from "./load.js";
export type * from "./types.js";
