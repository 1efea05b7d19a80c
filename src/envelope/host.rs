//! For a host that runs the body's AES-GCM itself (WebCrypto is faster than wasm for
//! large bodies): when that pays, and an opened message's parts, owned, for the host to
//! decrypt. The host only encrypts or decrypts the body; everything else (data keys,
//! header, framing, the answer a body that does not open gets) stays here.

use super::message::{IV_LEN, TAG_LEN};
use super::{gcm, EncryptionContext, KeyArn, Opening};
use crate::code::Problem;
use zeroize::Zeroizing;

/// Bodies from this size up are sealed and opened faster by a host's own AES-GCM than
/// in wasm; below it the host's per-call cost dominates (measured in benches/bench.mjs).
pub const HOST_BODY_MIN: usize = 16 * 1024;

/// Whether a host with its own AES-GCM should encrypt or decrypt a body of `len` bytes
/// itself.
pub fn host_cipher_pays(len: usize) -> bool {
    len >= HOST_BODY_MIN
}

/// The length of the tag at the end of what AES-GCM returns: a host splits its output
/// there (`Sealing::frame` takes the two parts).
pub const fn tag_len() -> usize {
    TAG_LEN
}

/// A message opened up to its body, owning what a host needs to decrypt the body.
pub struct HostOpening {
    /// The data key (wiped on drop).
    pub data_key: Zeroizing<Vec<u8>>,
    /// The body's IV.
    pub iv: [u8; IV_LEN],
    /// The body's additional data: the context bytes `C`.
    pub aad: Vec<u8>,
    /// The body's `ciphertext | tag`.
    pub sealed: Vec<u8>,
    /// The message's encryption context.
    pub context: EncryptionContext,
    /// The master key whose encrypted data key opened the message.
    pub key_arn: KeyArn,
}

impl HostOpening {
    /// What the caller gets when the host's AES-GCM does not open the body: the answer
    /// every message that does not open gets.
    pub fn does_not_open(&self) -> Problem {
        gcm::does_not_open()
    }
}

impl Opening<'_> {
    /// The parts a host needs, owned, so they can outlive the message's bytes.
    pub fn for_host(self) -> HostOpening {
        let message = self.message;
        let aad = super::context_bytes(&message.header.context);
        let mut sealed = Vec::with_capacity(message.ciphertext.len().saturating_add(TAG_LEN));
        sealed.extend_from_slice(message.ciphertext);
        sealed.extend_from_slice(&message.tag);
        HostOpening {
            data_key: self.data_key,
            iv: message.iv,
            aad,
            sealed,
            context: message.header.context,
            key_arn: self.key_arn,
        }
    }
}
