//! The format's GCM ciphers through RustCrypto's `aes-gcm`: AES-128, AES-256, and SM4
//! (RustCrypto's `sm4` in the crate's generic GCM, 96-bit IVs). Tag checks are the
//! crate's, in constant time; a failed open releases nothing.

use super::message::{IV_LEN, TAG_LEN};
use super::{Algorithm, BlockCipher};
use crate::code::{Code, Problem};
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm, Nonce, Tag};

/// SM4-GCM with a 96-bit IV and a 128-bit tag.
type Sm4Gcm = AesGcm<sm4::Sm4, U12>;
use zeroize::Zeroizing;

/// The one answer a message that does not open gets (R-ENV-4), whatever failed:
/// a wrong key, a changed byte, another context.
pub fn does_not_open() -> Problem {
    Problem::new(Code::InvalidCiphertext, "the message does not open with these keys").rule("R-ENV-4")
}

/// Runs `$body` with the algorithm's cipher under `$key`; a key of the wrong length
/// is `$wrong_key` (sealing says so; opening cannot tell it from a wrong key).
macro_rules! with_cipher {
    ($alg:expr, $key:expr, $wrong_key:expr, |$c:ident| $body:expr) => {
        // A legacy algorithm's header tag is GCM with its block cipher.
        match $alg.cipher() {
            BlockCipher::Aes128 => {
                let $c = Aes128Gcm::new_from_slice($key).map_err(|_| $wrong_key)?;
                $body
            }
            BlockCipher::Aes256 => {
                let $c = Aes256Gcm::new_from_slice($key).map_err(|_| $wrong_key)?;
                $body
            }
            BlockCipher::Sm4 => {
                let $c = Sm4Gcm::new_from_slice($key).map_err(|_| $wrong_key)?;
                $body
            }
        }
    };
}

fn wrong_key_length(alg: Algorithm) -> Problem {
    Problem::new(Code::DataKey, format!("the data key is not {} bytes, as {alg:?} needs", alg.key_len()))
}

/// Encrypts `buf` in place; returns the tag.
pub fn seal(
    alg: Algorithm,
    key: &[u8],
    iv: &[u8; IV_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], Problem> {
    let tag =
        with_cipher!(alg, key, wrong_key_length(alg), |c| c.encrypt_in_place_detached(Nonce::from_slice(iv), aad, buf))
            .map_err(|_| Problem::new(Code::Plaintext, "the plaintext is too long for GCM"))?;
    Ok(tag.into())
}

/// Decrypts `buf` in place after checking `tag`; on failure `buf` is wiped.
pub fn open(
    alg: Algorithm,
    key: &[u8],
    iv: &[u8; IV_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), Problem> {
    let result = with_cipher!(alg, key, does_not_open(), |c| c.decrypt_in_place_detached(
        Nonce::from_slice(iv),
        aad,
        buf,
        Tag::from_slice(tag)
    ));
    result.map_err(|_| {
        buf.fill(0);
        does_not_open()
    })
}

/// Opens `ciphertext | tag` into a buffer that is wiped when dropped (a key).
pub fn open_sealed(
    alg: Algorithm,
    key: &[u8],
    iv: &[u8; IV_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Problem> {
    let split = sealed.len().checked_sub(TAG_LEN).ok_or_else(does_not_open)?;
    let (ciphertext, tag) = sealed.split_at(split);
    let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| does_not_open())?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    open(alg, key, iv, aad, &mut buf, &tag)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_key_of_the_wrong_length_says_so_when_sealing() {
        let p = seal(Algorithm::AesGcm256, &[0; 16], &[0; IV_LEN], b"", &mut []).unwrap_err();
        assert_eq!(p.code, Code::DataKey);
        // Opening cannot tell a wrong-sized key from a wrong key: the message does not open.
        let p = open(Algorithm::AesGcm128, &[0; 32], &[0; IV_LEN], b"", &mut [], &[0; TAG_LEN]).unwrap_err();
        assert_eq!(p.code, Code::InvalidCiphertext);
    }
}
