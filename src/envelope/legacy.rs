//! The SDK's CBC and CTR algorithms (3 to 8, 10 to 12), opened on request only and never
//! sealed. As the Java SDK 1.1 writes them (`CryptoAlgorithm`, `AlgorithmHandler`,
//! `DefaultEncryptHandler`): the header is the GCM algorithms' (a 12-byte header IV, a
//! GCM tag over the same fields, with the algorithm's block cipher); the body has a
//! 16-byte IV and an empty tag, and is encrypted in one piece with no AAD, so nothing
//! but the header authenticates it: a changed body byte opens to a changed plaintext.
//! CTR counts the whole 16-byte IV as a 128-bit big-endian number; PKCS#5 is PKCS#7 on
//! 16-byte blocks; the CBC algorithms without padding take whole blocks only.

use super::message::LegacyMessage;
use super::{gcm, open_header, Algorithm, DecryptOptions, KeyProvider, Opened, SEALING_ALGORITHMS};
use crate::code::{Code, Problem};
use aes_gcm::aes::{Aes128, Aes256};
use cbc::cipher::block_padding::{NoPadding, Pkcs7};
use cbc::cipher::{BlockDecryptMut, KeyIvInit, StreamCipher};
use sm4::Sm4;
use zeroize::Zeroizing;

/// The length of a legacy body's IV.
pub const IV_LEN: usize = 16;

/// A legacy message, refused because the caller did not allow legacy algorithms.
pub fn refused(algorithm: Algorithm) -> Problem {
    Problem::new(
        Code::LegacyAlgorithm,
        format!(
            "the message's header names {} (algorithm {}), a CBC or CTR algorithm whose body nothing authenticates: \
             open it only if you trust where it comes from, with allowLegacyAlgorithms (CLI: decrypt --allow-legacy)",
            algorithm.name(),
            algorithm.id()
        ),
    )
}

/// Sealing with a legacy algorithm, refused.
pub fn never_sealed(algorithm: Algorithm) -> Problem {
    Problem::new(
        Code::LegacyAlgorithm,
        format!("{} is opened on request only, never sealed: seal with {SEALING_ALGORITHMS}", algorithm.name()),
    )
}

/// Opens a legacy message: a data key whose header tag checks, then the required
/// context, then the body.
pub async fn open(
    bridges: &[&dyn KeyProvider],
    message: LegacyMessage<'_>,
    options: &DecryptOptions,
) -> Result<Opened, Problem> {
    let (data_key, key_arn) = open_header(bridges, &message.header, options).await?;
    let mut plaintext = open_body(message.header.algorithm, &data_key, &message.iv, message.ciphertext)?;
    // Moved out, not copied: the caller's plaintext is the only one.
    let plaintext = std::mem::take(&mut *plaintext);
    Ok(Opened { plaintext, context: message.header.context, key_arn: key_arn.to_string() })
}

/// Decrypts a legacy body under `key`; a padding that does not check, or a body that is
/// not whole blocks where the mode needs them, does not open.
pub fn open_body(
    algorithm: Algorithm,
    key: &[u8],
    iv: &[u8; IV_LEN],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Problem> {
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    macro_rules! cbc {
        ($cipher:ty, $padding:ty) => {{
            let decryptor = cbc::Decryptor::<$cipher>::new_from_slices(key, iv).map_err(|_| gcm::does_not_open())?;
            let len = decryptor.decrypt_padded_mut::<$padding>(&mut buf).map_err(|_| gcm::does_not_open())?.len();
            buf.truncate(len);
        }};
    }
    macro_rules! ctr {
        ($cipher:ty) => {{
            ctr::Ctr128BE::<$cipher>::new_from_slices(key, iv)
                .map_err(|_| gcm::does_not_open())?
                .try_apply_keystream(&mut buf)
                .map_err(|_| gcm::does_not_open())?;
        }};
    }
    use Algorithm::*;
    match algorithm {
        AesCbcNoPadding128 => cbc!(Aes128, NoPadding),
        AesCbcNoPadding256 => cbc!(Aes256, NoPadding),
        AesCbcPkcs5_128 => cbc!(Aes128, Pkcs7),
        AesCbcPkcs5_256 => cbc!(Aes256, Pkcs7),
        AesCtr128 => ctr!(Aes128),
        AesCtr256 => ctr!(Aes256),
        Sm4CbcNoPadding128 => cbc!(Sm4, NoPadding),
        Sm4CbcPkcs5_128 => cbc!(Sm4, Pkcs7),
        Sm4Ctr128 => ctr!(Sm4),
        AesGcm128 | AesGcm256 | Sm4Gcm128 => {
            return Err(Problem::new(Code::InvalidCiphertext, "a GCM body is not a legacy body"))
        }
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::BlockEncryptMut;

    #[test]
    fn every_algorithm_reads_by_name_and_number_and_writes_its_name() {
        for id in 1..=12u32 {
            let algorithm = Algorithm::from_id(id).unwrap();
            assert_eq!(algorithm.id(), id);
            // The serde renames (the TypeScript union) and name() say the same.
            assert_eq!(serde_json::to_value(algorithm).unwrap(), algorithm.name());
            assert_eq!(serde_json::from_value::<Algorithm>(algorithm.name().into()).unwrap(), algorithm);
            assert_eq!(serde_json::from_value::<Algorithm>(id.into()).unwrap(), algorithm);
            assert_eq!(algorithm.is_legacy(), ![1, 2, 9].contains(&id));
        }
        for bad in [
            serde_json::json!(0),
            serde_json::json!(13),
            serde_json::json!(-1),
            serde_json::json!("AES"),
            serde_json::json!(true),
        ] {
            assert!(serde_json::from_value::<Algorithm>(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cbc_body_that_is_not_whole_blocks_or_badly_padded_does_not_open() {
        let key = [7u8; 16];
        let iv = [1u8; IV_LEN];
        for algorithm in [Algorithm::AesCbcPkcs5_128, Algorithm::AesCbcNoPadding128, Algorithm::Sm4CbcPkcs5_128] {
            let p = open_body(algorithm, &key, &iv, &[0u8; 15]).unwrap_err();
            assert_eq!(p.code, Code::InvalidCiphertext, "{algorithm:?}");
        }
        // Whole blocks whose last plaintext byte is 0: not a PKCS#7 padding.
        let mut sealed = [0u8; 32];
        cbc::Encryptor::<Aes128>::new_from_slices(&key, &iv)
            .unwrap()
            .encrypt_padded_mut::<NoPadding>(&mut sealed, 32)
            .unwrap();
        assert_eq!(open_body(Algorithm::AesCbcNoPadding128, &key, &iv, &sealed).unwrap().as_slice(), [0u8; 32]);
        assert_eq!(
            open_body(Algorithm::AesCbcPkcs5_128, &key, &iv, &sealed).unwrap_err().code,
            Code::InvalidCiphertext
        );
        // A CTR body of any length opens (to whatever its bytes say: nothing authenticates it).
        assert_eq!(open_body(Algorithm::AesCtr128, &key, &iv, &[0u8; 15]).unwrap().len(), 15);
        assert!(open_body(Algorithm::AesGcm128, &key, &iv, &[]).is_err());
    }
}
