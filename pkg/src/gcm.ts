// The format's AES-GCM as WebCrypto takes it (for the providers and the large-body path).

export const AES_GCM = "AES-GCM";

/** The format's tags: 16 bytes. */
export const TAG_LEN = 16;

/**
 * WebCrypto takes views of an `ArrayBuffer`; TypeScript types a `Uint8Array` by its
 * buffer. Every view handed over here is ArrayBuffer-backed (copies, Node `Buffer`s).
 */
export function view(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

/** The format's AES-GCM: 96-bit IVs, 128-bit tags. Copies the views it is given. */
export function gcmParams(iv: Uint8Array, aad: Uint8Array): AesGcmParams {
  return { name: AES_GCM, iv: view(iv.slice()), additionalData: view(aad.slice()), tagLength: 128 };
}
