// kms-instance/envelope: envelope encryption and the key providers, in a module of
// their own.
export * from "./sealing.js";
export { WebCryptoKeyProvider } from "./webcrypto.js";
export { KmsError, isKmsError } from "./errors.js";
export { init, initSync } from "./load.js";
export type { InitSource, InitSyncSource } from "./load.js";
export type * from "./types.js";
