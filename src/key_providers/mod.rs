//! The key providers: where master keys are kept, each implementing the envelope's
//! [`KeyProvider`](crate::envelope::KeyProvider). The software, PKCS#11 and JavaScript
//! providers keep AES-256 master keys and share one CiphertextBlob format ([`blob`]);
//! the remote proxy ([`xks`]) writes the blob's version 2, with what the proxy returned.

pub mod blob;
#[cfg(target_arch = "wasm32")]
pub(crate) mod js;
#[cfg(feature = "kms")]
pub mod kms;
#[cfg(all(feature = "pkcs11", not(target_arch = "wasm32")))]
pub mod pkcs11;
pub mod software;
#[cfg(feature = "xks")]
pub mod xks;
