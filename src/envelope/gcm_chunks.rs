//! Opening verified first when the host runs GCM (`node:crypto`, whose AES-GCM is some
//! twenty times wasm's): what the host's GCM is asked, and what its answers prove, is
//! decided here; the host only runs it, a chunk of [`CHUNK_BYTES`] at a time.
//!
//! A host's GCM gives no GHASH on its own, but it hashes additional data at GHASH's speed
//! (several times its decryption's). So the first pass gives each chunk of ciphertext to
//! the host's GCM as additional data, under an IV from [`ChunkedGcm::iv_of`], and hands
//! the GMAC it returns to [`ChunkedGcm::hashed`]: the chunk's GHASH follows from it, and
//! the chunks' GHASHes fold into the body's, whose tag [`ChunkedGcm::verify`] checks.
//! No plaintext is made.
//!
//! The second pass decrypts each chunk with the host's GCM under the same IV: 16 bytes,
//! chosen so that GCM's counter, which it derives from such an IV by GHASH, starts at
//! the chunk's first block (the derivation is inverted here). Its tag
//! ([`ChunkedGcm::tag_of`]) is known from the first pass, so the host refuses a chunk
//! that changed between the passes at the chunk's end, before its plaintext is released.

use super::gcm::does_not_open;
use super::gcm_stream::{counter_block, Cipher, BLOCK, MAX_GCM_BYTES};
use super::message::{IV_LEN, TAG_LEN};
use super::stream::{changed, ended_early, tag_in};
use super::Algorithm;
use crate::code::{Code, Problem};
use ctr::cipher::generic_array::GenericArray;
use ghash::universal_hash::{KeyInit, UniversalHash};
use ghash::GHash;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The ciphertext the host hashes, then decrypts, in one call: every chunk but the last
/// is this long (2^16 blocks, so a chunk's counter is found by a shift).
pub const CHUNK_BYTES: usize = 1 << 20;
const CHUNK_BLOCKS: u32 = 1 << 16;

type Block = [u8; BLOCK];

/// `a · b` in GHASH's field: GHASH keyed with `b` over the one block `a`.
fn mul(a: &Block, b: &Block) -> Block {
    let mut ghash = GHash::new(GenericArray::from_slice(b));
    ghash.update(&[(*a).into()]);
    ghash.finalize().into()
}

fn xor(a: &Block, b: &Block) -> Block {
    let mut out = *a;
    out.iter_mut().zip(b).for_each(|(o, b)| *o ^= b);
    out
}

/// `x^e`, by squaring.
fn pow(x: &Block, e: u128) -> Block {
    // The field's one: GHASH's bit order puts x^0 in the first bit.
    let mut acc = [0u8; BLOCK];
    if let Some(first) = acc.first_mut() {
        *first = 0x80;
    }
    for bit in (0..128).rev() {
        acc = mul(&acc, &acc);
        if e >> bit & 1 == 1 {
            acc = mul(&acc, x);
        }
    }
    acc
}

/// GCM's lengths block: `[bits of a]64 || [bits of b]64`.
fn lengths(a: u64, b: u64) -> Block {
    let mut out = [0u8; BLOCK];
    let (front, back) = out.split_at_mut(8);
    front.copy_from_slice(&a.saturating_mul(8).to_be_bytes());
    back.copy_from_slice(&b.saturating_mul(8).to_be_bytes());
    out
}

/// One streamed body opened by a host's GCM in chunks: its keys, and what the first pass
/// found.
pub struct ChunkedGcm {
    cipher: Cipher,
    iv: [u8; IV_LEN],
    /// The hash key `H`, its inverse, and `H` to the power of a chunk's blocks.
    h: Zeroizing<Block>,
    h_inv: Zeroizing<Block>,
    h_chunk: Zeroizing<Block>,
    aad_len: u64,
    length: u64,
    /// GHASH's state over the AAD and the chunks hashed so far (unmasked: never leaves).
    state: Zeroizing<Block>,
    /// Each chunk hashed so far: its tag when decrypted under its IV, what the second
    /// pass must meet.
    tags: Vec<Block>,
    /// The body's tag, once checked.
    verified: Option<[u8; TAG_LEN]>,
}

impl ChunkedGcm {
    /// The body of `length` bytes of `alg` under `key` with `iv`, bound to `aad`.
    pub fn new(alg: Algorithm, key: &[u8], iv: &[u8; IV_LEN], aad: &[u8], length: u64) -> Result<ChunkedGcm, Problem> {
        if length > MAX_GCM_BYTES {
            return Err(Problem::new(Code::Plaintext, format!("a GCM body holds at most {MAX_GCM_BYTES} bytes")));
        }
        let cipher = Cipher::new(alg, key)?;
        let mut h = Zeroizing::new([0u8; BLOCK]);
        cipher.encrypt(&mut h);
        let h_inv = Zeroizing::new(pow(&h, u128::MAX - 1));
        let h_chunk = Zeroizing::new(pow(&h, CHUNK_BLOCKS.into()));
        let mut ghash = GHash::new(GenericArray::from_slice(h.as_slice()));
        ghash.update_padded(aad);
        let state = Zeroizing::new(ghash.finalize().into());
        let aad_len = u64::try_from(aad.len()).unwrap_or(u64::MAX);
        Ok(ChunkedGcm { cipher, iv: *iv, h, h_inv, h_chunk, aad_len, length, state, tags: Vec::new(), verified: None })
    }

    /// How many chunks the body has.
    pub fn chunks(&self) -> u64 {
        self.length.div_ceil(CHUNK_BYTES as u64)
    }

    /// The counter block a chunk's first block is encrypted under, less one: the `J0` of
    /// a GCM that starts there.
    fn j0_of(&self, chunk: u64) -> Result<Block, Problem> {
        if chunk >= self.chunks() {
            return Err(Problem::new(Code::Request, format!("the body has {} chunks", self.chunks())));
        }
        // Below 2^16 chunks (GCM's limit): the counter, 1 + chunk · 2^16, fits in 32 bits.
        let n = u32::try_from(chunk).ok().and_then(|c| c.checked_mul(CHUNK_BLOCKS)).and_then(|c| c.checked_add(1));
        Ok(counter_block(&self.iv, n.ok_or_else(does_not_open)?))
    }

    /// The 16-byte IV under which a host's GCM hashes and decrypts `chunk` (from 0).
    pub fn iv_of(&self, chunk: u64) -> Result<Block, Problem> {
        // A 16-byte IV's J0 is GHASH(IV || [0]64 [128]64) = (IV·H ⊕ L)·H: solved for IV.
        let j0 = self.j0_of(chunk)?;
        Ok(mul(&xor(&mul(&j0, &self.h_inv), &lengths(0, 16)), &self.h_inv))
    }

    /// The chunk's length, from 0.
    fn chunk_len(&self, chunk: u64) -> u64 {
        self.length.saturating_sub(chunk.saturating_mul(CHUNK_BYTES as u64)).min(CHUNK_BYTES as u64)
    }

    /// The first pass's answer for the next chunk: the tag a host's GCM under
    /// [`Self::iv_of`] gave with the chunk as its additional data and nothing to encrypt.
    pub fn hashed(&mut self, gmac: &[u8; TAG_LEN]) -> Result<(), Problem> {
        let chunk = u64::try_from(self.tags.len()).unwrap_or(u64::MAX);
        let j0 = self.j0_of(chunk)?;
        let len = self.chunk_len(chunk);
        let mut mask = j0;
        self.cipher.encrypt(&mut mask);
        // gmac = mask ⊕ (P ⊕ L_aad)·H, P the chunk's GHASH from zero.
        let p = Zeroizing::new(xor(&mul(&xor(gmac, &mask), &self.h_inv), &lengths(len, 0)));
        let power = if len == CHUNK_BYTES as u64 { *self.h_chunk } else { pow(&self.h, len.div_ceil(16).into()) };
        *self.state = xor(&mul(&self.state, &power), &p);
        // Decrypting it under the same IV: the lengths block is the ciphertext's.
        self.tags.push(xor(&mask, &mul(&xor(&p, &lengths(0, len)), &self.h)));
        Ok(())
    }

    /// The first pass's end: `tail`, the bytes after the ciphertext (the tag's TLV), holds
    /// the body's tag, which must be the one the chunks hashed to.
    pub fn verify(&mut self, tail: &[u8]) -> Result<(), Problem> {
        let tag = tag_in(tail)?;
        if u64::try_from(self.tags.len()).ok() != Some(self.chunks()) {
            return Err(ended_early());
        }
        let mut mask = counter_block(&self.iv, 1);
        self.cipher.encrypt(&mut mask);
        let s = mul(&xor(&self.state, &lengths(self.aad_len, self.length)), &self.h);
        if !bool::from(xor(&mask, &s).ct_eq(&tag)) {
            return Err(does_not_open());
        }
        self.verified = Some(tag);
        Ok(())
    }

    /// The tag a host's GCM must find when it decrypts `chunk` under [`Self::iv_of`], once
    /// the body verified: the chunk is the one the first pass hashed.
    pub fn tag_of(&self, chunk: u64) -> Result<[u8; TAG_LEN], Problem> {
        if self.verified.is_none() {
            return Err(Problem::new(Code::Request, "the body is not verified yet"));
        }
        let at = usize::try_from(chunk).ok();
        at.and_then(|at| self.tags.get(at)).copied().ok_or_else(|| Problem::new(Code::Request, "no such chunk"))
    }

    /// The second pass's end: its `tail` holds the tag the first pass verified.
    pub fn same_tail(&self, tail: &[u8]) -> Result<(), Problem> {
        match self.verified {
            Some(tag) if tag_in(tail)? == tag => Ok(()),
            Some(_) => Err(changed()),
            None => Err(Problem::new(Code::Request, "the body is not verified yet")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::gcm;
    use super::*;
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::aes::Aes256;
    use aes_gcm::AesGcm;

    /// GCM with a 16-byte IV: RustCrypto's, standing in for the host's.
    type Gcm16 = AesGcm<Aes256, ctr::cipher::consts::U16>;

    fn host_gmac(key: &[u8], iv: &Block, aad: &[u8]) -> [u8; TAG_LEN] {
        let gcm = Gcm16::new_from_slice(key).unwrap();
        gcm.encrypt_in_place_detached(GenericArray::from_slice(iv), aad, &mut []).unwrap().into()
    }

    /// Chunks hashed and decrypted as a host would: the body's tag checks, each chunk
    /// decrypts to the plaintext under its tag, and a changed byte fails either pass.
    #[test]
    fn a_host_gcm_by_chunks_gives_the_one_shot() {
        let key = [5u8; 32];
        let iv = [9u8; IV_LEN];
        for len in [0, 1, 15, 16, 17, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES + 33] {
            let plaintext: Vec<u8> = (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect();
            let mut body = plaintext.clone();
            let tag = gcm::seal(Algorithm::AesGcm256, &key, &iv, b"context", &mut body).unwrap();
            let mut tail = vec![0x04, 0x10];
            tail.extend_from_slice(&tag);
            let length = u64::try_from(len).unwrap();
            let mut chunked = ChunkedGcm::new(Algorithm::AesGcm256, &key, &iv, b"context", length).unwrap();
            let pieces: Vec<&[u8]> = body.chunks(CHUNK_BYTES).collect();
            assert_eq!(u64::try_from(pieces.len()).unwrap(), chunked.chunks());
            for (i, piece) in pieces.iter().enumerate() {
                let gmac = host_gmac(&key, &chunked.iv_of(i as u64).unwrap(), piece);
                chunked.hashed(&gmac).unwrap();
            }
            chunked.verify(&tail).unwrap();
            chunked.same_tail(&tail).unwrap();
            let mut opened = Vec::new();
            for (i, piece) in pieces.iter().enumerate() {
                let mut out = piece.to_vec();
                let gcm = Gcm16::new_from_slice(&key).unwrap();
                let iv16 = chunked.iv_of(i as u64).unwrap();
                let chunk_tag = chunked.tag_of(i as u64).unwrap();
                gcm.decrypt_in_place_detached(GenericArray::from_slice(&iv16), b"", &mut out, (&chunk_tag).into())
                    .unwrap();
                opened.extend_from_slice(&out);
            }
            assert_eq!(opened, plaintext, "{len}");

            if len > 0 {
                // One byte changed: the first pass refuses the body.
                let mut chunked = ChunkedGcm::new(Algorithm::AesGcm256, &key, &iv, b"context", length).unwrap();
                let mut changed = body.clone();
                changed[len / 2] ^= 1;
                for (i, piece) in changed.chunks(CHUNK_BYTES).enumerate() {
                    let gmac = host_gmac(&key, &chunked.iv_of(i as u64).unwrap(), piece);
                    chunked.hashed(&gmac).unwrap();
                }
                assert_eq!(chunked.verify(&tail).unwrap_err().code, Code::InvalidCiphertext);
                // ... and a chunk changed after it verified fails its own tag.
                let gcm = Gcm16::new_from_slice(&key).unwrap();
                let i = len / 2 / CHUNK_BYTES;
                let mut out = changed.chunks(CHUNK_BYTES).nth(i).unwrap().to_vec();
                let iv16 = chunked.iv_of(i as u64).unwrap();
                let mut good = ChunkedGcm::new(Algorithm::AesGcm256, &key, &iv, b"context", length).unwrap();
                for (j, piece) in pieces.iter().enumerate() {
                    good.hashed(&host_gmac(&key, &good.iv_of(j as u64).unwrap(), piece)).unwrap();
                }
                good.verify(&tail).unwrap();
                let chunk_tag = good.tag_of(i as u64).unwrap();
                assert!(gcm.decrypt_in_place_detached((&iv16).into(), b"", &mut out, (&chunk_tag).into()).is_err());
            }
        }
    }

    #[test]
    fn a_tail_that_is_not_the_tag_is_refused() {
        let mut chunked = ChunkedGcm::new(Algorithm::AesGcm256, &[1u8; 32], &[2u8; IV_LEN], b"", 0).unwrap();
        assert!(chunked.tag_of(0).is_err());
        for tail in [&[0x04, 0x10][..], &[0x04, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..]] {
            assert_eq!(chunked.verify(tail).unwrap_err().code, Code::NotAMessage);
        }
        assert!(chunked.iv_of(0).is_err(), "an empty body has no chunk");
    }
}
