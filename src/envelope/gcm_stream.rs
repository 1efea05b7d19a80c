//! The format's GCM, incrementally: for a body that arrives in pieces. RustCrypto's
//! `aes-gcm` seals and opens whole buffers only, so this is GCM as NIST SP 800-38D
//! defines it, from the same crates `aes-gcm` is made of: the block cipher's CTR mode
//! (`ctr`, a 32-bit big-endian counter from `IV || 2`) and GHASH (`ghash`) over the
//! AAD and the ciphertext, the tag masked with the cipher of `IV || 1`. Every piece of
//! it is checked against the one-shot [`super::gcm`] on the Wycheproof vectors
//! (`tests/vectors.rs`) and at every split of a body (below).
//!
//! Opening can hash without decrypting ([`GcmStream::hash`]: the first pass of a body
//! that is verified before any plaintext is made) and decrypt without hashing
//! ([`GcmStream::apply`]: the second pass).

use super::gcm::does_not_open;
use super::message::{IV_LEN, TAG_LEN};
use super::{Algorithm, BlockCipher};
use crate::code::{Code, Problem};
use aes_gcm::aes::{Aes128, Aes256};
use ctr::cipher::generic_array::GenericArray;
use ctr::cipher::{BlockEncrypt, InnerIvInit, KeyInit, StreamCipher};
use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use sm4::Sm4;
use subtle::ConstantTimeEq;

/// The most a GCM body may hold: 2^39 − 256 bits (SP 800-38D).
pub const MAX_GCM_BYTES: u64 = (1 << 36) - 32;

pub(super) const BLOCK: usize = 16;

/// A body's block cipher under its data key: its CTR keystream, and single blocks (the
/// hash key, the tag's mask).
#[allow(clippy::large_enum_variant, reason = "one per body, made once: boxing would only move it")]
pub(super) enum Cipher {
    Aes128(Aes128),
    Aes256(Aes256),
    Sm4(Sm4),
}

impl Cipher {
    /// `alg`'s block cipher under `key`. A key of the wrong length is refused as opening
    /// refuses it: the message does not open.
    pub(super) fn new(alg: Algorithm, key: &[u8]) -> Result<Cipher, Problem> {
        let wrong = |_| does_not_open();
        Ok(match alg.cipher() {
            BlockCipher::Aes128 => Cipher::Aes128(Aes128::new_from_slice(key).map_err(wrong)?),
            BlockCipher::Aes256 => Cipher::Aes256(Aes256::new_from_slice(key).map_err(wrong)?),
            BlockCipher::Sm4 => Cipher::Sm4(Sm4::new_from_slice(key).map_err(wrong)?),
        })
    }

    /// Encrypts one block in place.
    pub(super) fn encrypt(&self, block: &mut [u8; BLOCK]) {
        let block = GenericArray::from_mut_slice(block);
        match self {
            Cipher::Aes128(c) => c.encrypt_block(block),
            Cipher::Aes256(c) => c.encrypt_block(block),
            Cipher::Sm4(c) => c.encrypt_block(block),
        }
    }

    /// Its keystream from `counter` on (a 32-bit big-endian counter in the last bytes).
    fn keystream(self, counter: &[u8; BLOCK]) -> Keystream {
        macro_rules! from {
            ($cipher:ty, $c:expr) => {
                ctr::Ctr32BE::<$cipher>::from_core(ctr::CtrCore::<$cipher, ctr::flavors::Ctr32BE>::inner_iv_init(
                    $c,
                    GenericArray::from_slice(counter),
                ))
            };
        }
        match self {
            Cipher::Aes128(c) => Keystream::Aes128(from!(Aes128, c)),
            Cipher::Aes256(c) => Keystream::Aes256(from!(Aes256, c)),
            Cipher::Sm4(c) => Keystream::Sm4(from!(Sm4, c)),
        }
    }
}

/// The counter block `iv || n`: GCM's `J0` is `iv || 1`, its body starts at `iv || 2`.
pub(super) fn counter_block(iv: &[u8; IV_LEN], n: u32) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    let (front, back) = b.split_at_mut(IV_LEN);
    front.copy_from_slice(iv);
    back.copy_from_slice(&n.to_be_bytes());
    b
}

/// The CTR keystream of one block cipher.
#[allow(clippy::large_enum_variant, reason = "one per body, made once: boxing would only move it")]
enum Keystream {
    Aes128(ctr::Ctr32BE<Aes128>),
    Aes256(ctr::Ctr32BE<Aes256>),
    Sm4(ctr::Ctr32BE<Sm4>),
}

impl Keystream {
    fn apply(&mut self, buf: &mut [u8]) {
        match self {
            Keystream::Aes128(c) => c.apply_keystream(buf),
            Keystream::Aes256(c) => c.apply_keystream(buf),
            Keystream::Sm4(c) => c.apply_keystream(buf),
        }
    }
}

/// One body's GCM state: the keystream, GHASH and the lengths so far.
pub struct GcmStream {
    keystream: Keystream,
    ghash: GHash,
    /// The cipher of `IV || 1`, which masks the tag.
    mask: [u8; BLOCK],
    /// Ciphertext bytes hashed that do not fill a block yet.
    partial: [u8; BLOCK],
    partial_len: usize,
    aad_bits: u64,
    /// Ciphertext bytes hashed (by `hash`, `seal` or `open`).
    hashed: u64,
    /// Bytes the keystream has covered (by `apply`, `seal` or `open`).
    applied: u64,
}

impl GcmStream {
    /// A body of `alg` under `key` with `iv`, bound to `aad`. A key of the wrong length
    /// is refused as opening refuses it: the message does not open.
    pub fn new(alg: Algorithm, key: &[u8], iv: &[u8; IV_LEN], aad: &[u8]) -> Result<GcmStream, Problem> {
        // J0 = IV || 1 masks the tag; the body's counter starts at IV || 2.
        let cipher = Cipher::new(alg, key)?;
        let (mut h, mut mask) = ([0u8; BLOCK], counter_block(iv, 1));
        cipher.encrypt(&mut h);
        cipher.encrypt(&mut mask);
        let keystream = cipher.keystream(&counter_block(iv, 2));
        let mut ghash = GHash::new(GenericArray::from_slice(&h));
        h.fill(0);
        ghash.update_padded(aad);
        let aad_bits = u64::try_from(aad.len()).unwrap_or(u64::MAX).saturating_mul(8);
        Ok(GcmStream { keystream, ghash, mask, partial: [0; BLOCK], partial_len: 0, aad_bits, hashed: 0, applied: 0 })
    }

    /// Encrypts `buf` in place and hashes it.
    pub fn seal(&mut self, buf: &mut [u8]) -> Result<(), Problem> {
        self.apply(buf)?;
        self.hash(buf)
    }

    /// Hashes `buf` and decrypts it in place: plaintext made before the tag is known.
    pub fn open(&mut self, buf: &mut [u8]) -> Result<(), Problem> {
        self.hash(buf)?;
        self.apply(buf)
    }

    /// Runs the keystream over `buf` (decrypts or encrypts it) without hashing.
    pub fn apply(&mut self, buf: &mut [u8]) -> Result<(), Problem> {
        self.applied = within_limit(self.applied, buf.len())?;
        self.keystream.apply(buf);
        Ok(())
    }

    /// Hashes ciphertext without decrypting it.
    pub fn hash(&mut self, mut ciphertext: &[u8]) -> Result<(), Problem> {
        self.hashed = within_limit(self.hashed, ciphertext.len())?;
        if self.partial_len > 0 {
            let take = BLOCK.saturating_sub(self.partial_len).min(ciphertext.len());
            let (head, rest) = ciphertext.split_at(take);
            let end = self.partial_len.saturating_add(take);
            if let Some(room) = self.partial.get_mut(self.partial_len..end) {
                room.copy_from_slice(head);
            }
            self.partial_len = end;
            ciphertext = rest;
            if self.partial_len < BLOCK {
                return Ok(());
            }
            self.ghash.update(&[self.partial.into()]);
            self.partial_len = 0;
        }
        let whole = ciphertext.len().saturating_sub(ciphertext.len() % BLOCK);
        let (blocks, rest) = ciphertext.split_at(whole);
        // Whole blocks in one call: GHASH runs several at once (one at a time is far slower).
        self.ghash.update_padded(blocks);
        if let Some(room) = self.partial.get_mut(..rest.len()) {
            room.copy_from_slice(rest);
        }
        self.partial_len = rest.len();
        Ok(())
    }

    /// The tag over the AAD and every byte hashed so far.
    pub fn tag(&self) -> [u8; TAG_LEN] {
        let mut ghash = self.ghash.clone();
        if let Some(partial) = self.partial.get(..self.partial_len).filter(|p| !p.is_empty()) {
            ghash.update_padded(partial);
        }
        let mut lengths = [0u8; BLOCK];
        let (aad, text) = lengths.split_at_mut(8);
        aad.copy_from_slice(&self.aad_bits.to_be_bytes());
        text.copy_from_slice(&self.hashed.saturating_mul(8).to_be_bytes());
        ghash.update(&[lengths.into()]);
        let mut tag: [u8; TAG_LEN] = ghash.finalize().into();
        tag.iter_mut().zip(self.mask).for_each(|(t, m)| *t ^= m);
        tag
    }

    /// Whether `expected` is the tag, in constant time.
    pub fn check(&self, expected: &[u8; TAG_LEN]) -> Result<(), Problem> {
        if bool::from(self.tag().ct_eq(expected)) {
            Ok(())
        } else {
            Err(does_not_open())
        }
    }
}

impl Drop for GcmStream {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.mask.zeroize();
        self.partial.zeroize();
    }
}

fn within_limit(done: u64, more: usize) -> Result<u64, Problem> {
    u64::try_from(more)
        .ok()
        .and_then(|more| done.checked_add(more))
        .filter(|total| *total <= MAX_GCM_BYTES)
        .ok_or_else(|| Problem::new(Code::Plaintext, format!("a GCM body holds at most {MAX_GCM_BYTES} bytes")))
}

#[cfg(test)]
mod tests {
    use super::super::gcm;
    use super::*;

    /// Every split of a body into two pieces, for each cipher, gives the one-shot
    /// ciphertext and tag; opening by pieces, in one pass or two, gives the plaintext.
    #[test]
    fn pieces_give_what_the_one_shot_gives() {
        for alg in [Algorithm::AesGcm128, Algorithm::AesGcm256, Algorithm::Sm4Gcm128] {
            let key: Vec<u8> = (0..alg.key_len()).map(|i| u8::try_from(i).unwrap()).collect();
            let iv = [7u8; IV_LEN];
            for len in [0, 1, 15, 16, 17, 31, 32, 33, 100] {
                let plaintext: Vec<u8> = (0..len).map(|i| u8::try_from(i * 31 % 251).unwrap()).collect();
                let mut whole = plaintext.clone();
                let tag = gcm::seal(alg, &key, &iv, b"aad", &mut whole).unwrap();
                for split in 0..=len {
                    let mut pieces = plaintext.clone();
                    let mut s = GcmStream::new(alg, &key, &iv, b"aad").unwrap();
                    let (a, b) = pieces.split_at_mut(split);
                    s.seal(a).unwrap();
                    s.seal(b).unwrap();
                    assert_eq!((pieces.clone(), s.tag()), (whole.clone(), tag), "{alg:?} {len} split {split}");

                    let mut opened = whole.clone();
                    let mut s = GcmStream::new(alg, &key, &iv, b"aad").unwrap();
                    let (a, b) = opened.split_at_mut(split);
                    s.open(a).unwrap();
                    s.open(b).unwrap();
                    s.check(&tag).unwrap();
                    assert_eq!(opened, plaintext);

                    let mut first = GcmStream::new(alg, &key, &iv, b"aad").unwrap();
                    first.hash(&whole[..split]).unwrap();
                    first.hash(&whole[split..]).unwrap();
                    first.check(&tag).unwrap();
                }
                let mut wrong = tag;
                wrong[0] ^= 1;
                let mut s = GcmStream::new(alg, &key, &iv, b"aad").unwrap();
                s.hash(&whole).unwrap();
                assert_eq!(s.check(&wrong).unwrap_err().code, Code::InvalidCiphertext);
            }
        }
    }
}
