//! Sealing and opening as streams, in constant memory, in the format the whole calls
//! write: one body and one tag (the format is unframed), so a streamed message opens
//! whole and the reverse.
//!
//! **Sealing** needs the plaintext's length first: the DER lengths come before the body.
//! [`begin_seal_stream`] takes it (a file's length, a `Blob`'s size, `Content-Length`)
//! and [`SealStream`] refuses a body that turns out longer or shorter; what was written
//! by then ends without its tag and with lengths that do not add up, so it can never be
//! read as a message.
//!
//! **Opening** releases no plaintext before the tag is checked, unless the caller asks
//! for it by name. [`StreamHead::read`] reads the head from the message's first bytes and
//! [`begin_open_stream`] opens the data key; then the body is read in one of two ways:
//!
//! - **verified first** (the default): a first pass ([`OpenStream::verifier`]) hashes the
//!   ciphertext and checks the tag, making no plaintext; a second
//!   ([`OpenStream::decryptor`]) decrypts. The first pass also records a digest (BLAKE3)
//!   of every [`CHECKPOINT_BYTES`] of ciphertext, and the second releases each piece of
//!   plaintext only once the ciphertext under it has the same digest: a source that
//!   changed between the passes is refused before any of the change is released. (A
//!   second GHASH would do as well at three times the cost: GHASH is most of GCM's.) A
//!   source that cannot be read twice (a pipe) is read into memory for both passes, up
//!   to a limit past which it is refused with `Rejected.UnverifiedStreamRequired`.
//! - **unverified** ([`OpenStream::unverified`]): plaintext as it decrypts, and an error at
//!   the end if the tag does not check: what the Encryption SDKs' own streams do.

use super::gcm_chunks::ChunkedGcm;
use super::gcm_stream::{GcmStream, MAX_GCM_BYTES};
use super::message::{self, Header, StreamHead, TAG_LEN, TAG_TLV_LEN};
use super::{
    context_bytes, open_header, prepare, DecryptOptions, EncryptOptions, KeyArn, KeyProvider, Prepared, Sealing,
};
use crate::code::{Code, Problem};
use zeroize::Zeroizing;

/// How much ciphertext a checkpoint of the verifying pass covers: the most plaintext the
/// second pass holds before releasing it.
pub const CHECKPOINT_BYTES: usize = 1 << 20;

/// Prepares a streamed message of `length` bytes, as [`super::begin_seal`] prepares a
/// whole one (the keys, the context, the algorithm and the cache behave the same), for a
/// body of any length GCM allows.
pub async fn begin_seal_stream(
    bridges: &[&dyn KeyProvider],
    keys: &[KeyArn],
    length: u64,
    options: &EncryptOptions<'_>,
) -> Result<SealStream, Problem> {
    let prepared = prepare_seal_stream(bridges, keys, length, options).await?;
    SealStream::new(prepared.wrap(bridges, options.cache).await?)
}

/// [`begin_seal_stream`]'s first half, for a host that encrypts the body itself: the
/// data key and IV of a streamed message of `length` bytes, no provider asked yet.
pub async fn prepare_seal_stream(
    bridges: &[&dyn KeyProvider],
    keys: &[KeyArn],
    length: u64,
    options: &EncryptOptions<'_>,
) -> Result<Prepared, Problem> {
    prepare(bridges, keys, length, MAX_GCM_BYTES, options).await
}

/// Whether the body of a message whose plaintext is `length` bytes (its tag included)
/// may be held in memory, at most `limit` bytes, to be verified before any of it is
/// released: checked from the head, before any key provider is asked.
pub fn held_within(length: u64, limit: u64) -> Result<(), Problem> {
    let body = length.saturating_add(TAG_TLV_LEN as u64);
    if body <= limit {
        return Ok(());
    }
    Err(Problem::new(
        Code::UnverifiedStreamRequired,
        format!(
            "the message's body is {body} bytes, past the {limit} a source read once may hold to be verified first: \
             read it from a source read twice (a file; the package's decryptSource), or open it unverified \
             (CLI: decrypt --unverified; package: {{unverified: true}})"
        ),
    ))
}

/// A message being sealed from pieces of a plaintext whose length was given first:
/// write [`SealStream::head`], then each piece once [`SealStream::update`] has encrypted
/// it, then [`SealStream::finish`]'s bytes.
pub struct SealStream {
    gcm: GcmStream,
    head: Vec<u8>,
    remaining: u64,
}

impl SealStream {
    fn new(sealing: Sealing) -> Result<SealStream, Problem> {
        let head = message::frame_prefix(&sealing.header, &sealing.iv, sealing.length)?;
        let gcm =
            GcmStream::new(sealing.materials.algorithm, &sealing.materials.data_key, &sealing.iv, &sealing.aad())?;
        Ok(SealStream { gcm, head, remaining: sealing.length })
    }

    /// The message's first bytes: its header and the body's framing.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Encrypts the next piece of the plaintext in place. A piece past the length given
    /// is refused, and the message with it.
    pub fn update(&mut self, piece: &mut [u8]) -> Result<(), Problem> {
        let len = u64::try_from(piece.len()).unwrap_or(u64::MAX);
        self.remaining = self.remaining.checked_sub(len).ok_or_else(|| {
            Problem::new(
                Code::Plaintext,
                "the plaintext is longer than the length given before it: the message is void",
            )
        })?;
        self.gcm.seal(piece)
    }

    /// The message's last bytes (the body's tag), once exactly the length given came.
    pub fn finish(self) -> Result<Vec<u8>, Problem> {
        if self.remaining != 0 {
            return Err(Problem::new(
                Code::Plaintext,
                format!("the plaintext ended {} bytes short of the length given: the message is void", self.remaining),
            ));
        }
        message::tag_suffix(&self.gcm.tag())
    }
}

/// A streamed message whose header is checked and whose data key is open: its body is
/// read next, by [`OpenStream::verifier`] then [`OpenStream::decryptor`], or by
/// [`OpenStream::unverified`].
pub struct OpenStream {
    head: StreamHead,
    data_key: Zeroizing<Vec<u8>>,
    key_arn: KeyArn,
}

/// Opens the data key of a message whose head was read ([`StreamHead::read`]), checks the
/// header's tag with it and then the required context, as the whole calls do.
pub async fn begin_open_stream(
    bridges: &[&dyn KeyProvider],
    head: StreamHead,
    options: &DecryptOptions,
) -> Result<OpenStream, Problem> {
    let (data_key, key_arn) = open_header(bridges, &head.header, options).await?;
    Ok(OpenStream { head, data_key, key_arn })
}

/// What a verifying pass found: the tag checks, and the digests the second pass must
/// meet.
pub struct Verified {
    /// The digest of each checkpoint's ciphertext, the last (up to the body's end) too.
    checkpoints: Vec<Digest>,
    tag: [u8; TAG_LEN],
}

/// A digest of ciphertext: collision resistant, so no other bytes have it.
type Digest = [u8; blake3::OUT_LEN];

impl OpenStream {
    /// The message's header.
    pub fn header(&self) -> &Header {
        &self.head.header
    }

    /// The plaintext's length.
    pub fn length(&self) -> u64 {
        self.head.ciphertext_len
    }

    /// The master key whose encrypted data key opened the message.
    pub fn key_arn(&self) -> &KeyArn {
        &self.key_arn
    }

    /// The plaintext data key, for a host that decrypts the body itself.
    pub fn data_key(&self) -> &[u8] {
        &self.data_key
    }

    /// The body's IV.
    pub fn iv(&self) -> &[u8; super::message::IV_LEN] {
        &self.head.iv
    }

    /// The body's additional data: the context bytes `C`.
    pub fn aad(&self) -> Vec<u8> {
        context_bytes(&self.head.header.context)
    }

    /// The body's GCM for a host that runs it a chunk at a time, verified first
    /// ([`super::gcm_chunks`]).
    pub fn chunked_gcm(&self) -> Result<ChunkedGcm, Problem> {
        let header = &self.head.header;
        ChunkedGcm::new(header.algorithm, &self.data_key, &self.head.iv, &self.aad(), self.length())
    }

    fn pass(&self, mode: Mode) -> Result<BodyPass, Problem> {
        let header = &self.head.header;
        let gcm = GcmStream::new(header.algorithm, &self.data_key, &self.head.iv, &context_bytes(&header.context))?;
        let remaining = self.head.ciphertext_len;
        Ok(BodyPass {
            gcm,
            mode,
            remaining,
            since_checkpoint: 0,
            digest: blake3::Hasher::new(),
            tail: Vec::new(),
            failed: None,
        })
    }

    /// The first of two passes: hashes the ciphertext, makes no plaintext.
    pub fn verifier(&self) -> Result<BodyPass, Problem> {
        self.pass(Mode::Verify(Vec::new()))
    }

    /// The second pass, over the same bytes as a verifier that finished.
    pub fn decryptor(&self, verified: Verified) -> Result<BodyPass, Problem> {
        let held = Vec::with_capacity(CHECKPOINT_BYTES.min(usize::try_from(self.length()).unwrap_or(usize::MAX)));
        self.pass(Mode::Decrypt { verified, next: 0, held })
    }

    /// One pass that releases plaintext as it decrypts, before the tag is checked: the
    /// caller must discard everything it received when [`BodyPass::finish`] fails.
    pub fn unverified(&self) -> Result<BodyPass, Problem> {
        self.pass(Mode::Unverified)
    }
}

enum Mode {
    /// Hashing; the digest of each checkpoint's ciphertext.
    Verify(Vec<Digest>),
    /// Decrypting what a verifier checked, a checkpoint's worth at a time.
    Decrypt {
        verified: Verified,
        next: usize,
        held: Vec<u8>,
    },
    Unverified,
}

/// One pass over a message's bytes after its head: the ciphertext, then the tag.
pub struct BodyPass {
    gcm: GcmStream,
    mode: Mode,
    /// Ciphertext bytes still to come.
    remaining: u64,
    /// Ciphertext bytes since the last checkpoint.
    since_checkpoint: usize,
    /// A verifier's digest of them.
    digest: blake3::Hasher,
    /// The tag's TLV as it arrives.
    tail: Vec<u8>,
    /// The first problem: every later call gives it again (a caller that goes on after
    /// one is never told the message ended well).
    failed: Option<Problem>,
}

/// What a [`BodyPass`] ends with.
pub enum Finished {
    /// A verifier's: the tag checks.
    Verified(Verified),
    /// A decryptor's or an unverified pass's: the tag checks, and this is the plaintext
    /// still held (a decryptor's last piece).
    Opened(Vec<u8>),
}

impl BodyPass {
    /// Takes the next bytes of the message and appends to `out` the plaintext they
    /// release (none while verifying). After a problem the pass is void: it gives that
    /// problem again, and whatever it held is dropped.
    pub fn update(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), Problem> {
        if let Some(p) = &self.failed {
            return Err(p.clone());
        }
        let done = self.take(bytes, out);
        if let Err(p) = &done {
            self.failed = Some(p.clone());
            if let Mode::Decrypt { held, .. } = &mut self.mode {
                *held = Vec::new();
            }
        }
        done
    }

    fn take(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) -> Result<(), Problem> {
        while !bytes.is_empty() {
            if self.remaining == 0 {
                self.take_tail(bytes)?;
                return Ok(());
            }
            // Up to the ciphertext's end and the next checkpoint.
            let to_checkpoint = CHECKPOINT_BYTES.saturating_sub(self.since_checkpoint);
            let left = usize::try_from(self.remaining).unwrap_or(usize::MAX);
            let (piece, rest) = bytes.split_at(bytes.len().min(left).min(to_checkpoint));
            bytes = rest;
            self.remaining = self.remaining.saturating_sub(u64::try_from(piece.len()).unwrap_or(u64::MAX));
            self.since_checkpoint = self.since_checkpoint.saturating_add(piece.len());
            match &mut self.mode {
                Mode::Verify(_) => {
                    self.gcm.hash(piece)?;
                    self.digest.update(piece);
                }
                Mode::Decrypt { held, .. } => held.extend_from_slice(piece),
                Mode::Unverified => {
                    let start = out.len();
                    out.extend_from_slice(piece);
                    self.gcm.open(out.get_mut(start..).unwrap_or_default())?;
                }
            }
            if self.since_checkpoint == CHECKPOINT_BYTES && self.remaining > 0 {
                self.checkpoint(out)?;
            }
        }
        Ok(())
    }

    /// A checkpoint reached (not the body's end): record the digest, or release what the
    /// digest recorded there vouches for.
    fn checkpoint(&mut self, out: &mut Vec<u8>) -> Result<(), Problem> {
        self.since_checkpoint = 0;
        match &mut self.mode {
            Mode::Verify(digests) => {
                digests.push(self.digest.finalize().into());
                self.digest.reset();
            }
            Mode::Decrypt { verified, next, held } => {
                vouch(verified, next, held)?;
                self.gcm.apply(held)?;
                // The held piece becomes the output when there is none yet: no copy.
                if out.is_empty() {
                    std::mem::swap(out, held);
                } else {
                    out.append(held);
                }
            }
            Mode::Unverified => {}
        }
        Ok(())
    }

    fn take_tail(&mut self, bytes: &[u8]) -> Result<(), Problem> {
        if self.tail.len().saturating_add(bytes.len()) > TAG_TLV_LEN {
            return Err(Problem::new(Code::NotAMessage, "bytes follow the message's end").rule("R-ENV-4"));
        }
        self.tail.extend_from_slice(bytes);
        Ok(())
    }

    /// Ends the pass once the whole message came: the tag checks (a verifier's), or
    /// checks and releases the last piece (a decryptor's).
    pub fn finish(self) -> Result<Finished, Problem> {
        if let Some(p) = self.failed {
            return Err(p);
        }
        if self.remaining != 0 {
            return Err(ended_early());
        }
        let tag = tag_in(&self.tail)?;
        let BodyPass { mut gcm, mode, digest, .. } = self;
        match mode {
            Mode::Verify(mut checkpoints) => {
                gcm.check(&tag)?;
                checkpoints.push(digest.finalize().into());
                Ok(Finished::Verified(Verified { checkpoints, tag }))
            }
            Mode::Decrypt { verified, mut next, mut held } => {
                // The last piece, and the tag: the ones the first pass verified.
                vouch(&verified, &mut next, &held)?;
                if tag != verified.tag || next != verified.checkpoints.len() {
                    return Err(changed());
                }
                gcm.apply(&mut held)?;
                Ok(Finished::Opened(held))
            }
            Mode::Unverified => {
                gcm.check(&tag)?;
                Ok(Finished::Opened(Vec::new()))
            }
        }
    }
}

/// The tag in a body's last bytes, the TLV `04 10 tag` after its ciphertext.
pub fn tag_in(tail: &[u8]) -> Result<[u8; TAG_LEN], Problem> {
    match tail {
        [0x04, 0x10, tag @ ..] => (*tag).try_into().map_err(|_| ended_early()),
        _ => Err(ended_early()),
    }
}

/// Whether `held`, the ciphertext up to the next checkpoint, is what the first pass read
/// there.
fn vouch(verified: &Verified, next: &mut usize, held: &[u8]) -> Result<(), Problem> {
    let expected = verified.checkpoints.get(*next).ok_or_else(changed)?;
    if blake3::hash(held) != *expected {
        return Err(changed());
    }
    *next = next.saturating_add(1);
    Ok(())
}

/// The second pass read other bytes than the first: nothing of them is released.
pub(super) fn changed() -> Problem {
    Problem::new(
        Code::InvalidCiphertext,
        "the message changed between the pass that verified it and the one that opens it",
    )
    .rule("R-ENV-4")
}

pub(super) fn ended_early() -> Problem {
    Problem::new(Code::NotAMessage, "the message ends before its body and tag do").rule("R-ENV-4")
}
