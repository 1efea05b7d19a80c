//! For a host that runs the body's AES-GCM itself (WebCrypto is faster than wasm for
//! large bodies): when that pays, and an opened message's parts, owned, for the host to
//! decrypt. The host only encrypts or decrypts the body; everything else (data keys,
//! header, framing, the answer a body that does not open gets) stays here.

use super::message::{Head, IV_LEN, TAG_LEN};
use super::{gcm, DecryptOptions, EncryptionContext, KeyArn, KeyProvider};
use crate::code::{Code, Problem};
use zeroize::Zeroizing;

/// The AES-GCM a JavaScript host has besides the module's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCipher {
    /// Node's `node:crypto` (also Bun's and Deno's): synchronous, OpenSSL's AES-NI.
    Node,
    /// `crypto.subtle`: every host, asynchronous, with a cost per call.
    WebCrypto,
}

impl HostCipher {
    /// Bodies from this size up are sealed and opened faster by this cipher than in
    /// wasm; below it, its cost per call dominates. Chosen from `benches/bench.mjs`'s
    /// crossover table (docs/performance.md has the last run).
    pub const fn body_min(self) -> usize {
        match self {
            HostCipher::Node => 1024,
            HostCipher::WebCrypto => 16 * 1024,
        }
    }
}

/// Whether a host should encrypt or decrypt a body of `len` bytes with `cipher` rather
/// than in wasm.
pub fn host_cipher_pays(len: usize, cipher: HostCipher) -> bool {
    len >= cipher.body_min()
}

/// A message opened up to its body, owning what a host needs to decrypt the body.
pub struct HostOpening {
    /// The data key (wiped on drop).
    pub data_key: Zeroizing<Vec<u8>>,
    /// The body's IV.
    pub iv: [u8; IV_LEN],
    /// The body's additional data: the context bytes `C`.
    pub aad: Vec<u8>,
    /// Where the ciphertext is in the message's bytes (a host with the message reads it
    /// there: nothing of the body needs copying out of wasm).
    pub ciphertext: std::ops::Range<usize>,
    /// The body's tag.
    pub tag: [u8; TAG_LEN],
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

/// A body of `algorithm` handed to a host's cipher, which is AES-GCM only.
pub fn not_on_host(algorithm: super::Algorithm) -> Problem {
    Problem::new(
        Code::Request,
        format!("a host's cipher is AES-GCM: a {} body is sealed and opened in wasm", algorithm.name()),
    )
}

/// Opens the head of a message whose body a host keeps ([`Head::from_der`]): opens a
/// data key the bridges hold, checks the header tag, then the required context.
pub async fn begin_open_head(
    bridges: &[&dyn KeyProvider],
    head: Head,
    options: &DecryptOptions,
) -> Result<HostOpening, Problem> {
    // A host's cipher is AES-GCM: an SM4 body is opened in wasm, whatever a caller decided.
    if !head.header.algorithm.is_aes_gcm() {
        return Err(not_on_host(head.header.algorithm));
    }
    let (data_key, key_arn) = super::open_header(bridges, &head.header, options).await?;
    Ok(HostOpening {
        data_key,
        iv: head.iv,
        aad: super::context_bytes(&head.header.context),
        ciphertext: head.ciphertext,
        tag: head.tag,
        context: head.header.context,
        key_arn,
    })
}
