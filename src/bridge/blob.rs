//! The CiphertextBlob of the software and PKCS#11 bridges (ENVELOPE.md):
//!
//! ```text
//! 0x01 | u8 len(keyId) | keyId | iv(12) | ciphertext | tag(16)
//! ```
//!
//! `keyId` is the raw key id (the part of the ARN after `key/`); the ciphertext is the
//! data key under the AES-256 master key in GCM, with AAD = the context bytes `C`.
//! Both bridges write it, so a PKCS#11 token and a software keyring holding the same
//! key material open each other's blobs.

use crate::code::{Code, Problem};
use crate::envelope::message::{IV_LEN, TAG_LEN};

const BLOB_VERSION: u8 = 0x01;

pub struct Blob<'a> {
    pub key_id: &'a str,
    pub iv: [u8; IV_LEN],
    /// Ciphertext followed by the 16-byte tag.
    pub sealed: &'a [u8],
}

fn opaque() -> Problem {
    Problem::new(Code::InvalidCiphertext, "the CiphertextBlob does not open").rule("R-ENV-4")
}

impl<'a> Blob<'a> {
    pub fn encode(key_id: &str, iv: &[u8; IV_LEN], sealed: &[u8]) -> Vec<u8> {
        // KeyArn caps the key id at 255 bytes, so its length fits the byte.
        let len = u8::try_from(key_id.len()).unwrap_or(u8::MAX);
        let mut out = Vec::with_capacity(2 + key_id.len() + IV_LEN + sealed.len());
        out.push(BLOB_VERSION);
        out.push(len);
        out.extend_from_slice(&key_id.as_bytes()[..usize::from(len)]);
        out.extend_from_slice(iv);
        out.extend_from_slice(sealed);
        out
    }

    pub fn decode(bytes: &'a [u8]) -> Result<Blob<'a>, Problem> {
        let [BLOB_VERSION, len, rest @ ..] = bytes else {
            return Err(opaque());
        };
        let len = usize::from(*len);
        if rest.len() < len + IV_LEN + TAG_LEN {
            return Err(opaque());
        }
        let (key_id, rest) = rest.split_at(len);
        let (iv, sealed) = rest.split_at(IV_LEN);
        Ok(Blob {
            key_id: std::str::from_utf8(key_id).map_err(|_| opaque())?,
            iv: iv.try_into().map_err(|_| opaque())?,
            sealed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_short_or_foreign_blobs() {
        let sealed = [7u8; 48];
        let bytes = Blob::encode("key-1", &[1; 12], &sealed);
        let b = Blob::decode(&bytes).unwrap();
        assert_eq!((b.key_id, b.iv, b.sealed), ("key-1", [1; 12], &sealed[..]));
        assert!(Blob::decode(&bytes[..bytes.len() - 33]).is_err());
        let mut other = bytes.clone();
        other[0] = 2;
        assert!(Blob::decode(&other).is_err());
        assert!(Blob::decode(&[]).is_err());
    }
}
