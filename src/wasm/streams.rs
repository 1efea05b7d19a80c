//! Streams for JS hosts ([`crate::envelope::stream`]): a message sealed from pieces of a
//! plaintext whose length was given first, and opened from pieces, verified first by two
//! passes (a source read twice: a `Blob`, a file, ranged reads) or unverified by name.
//! Each piece crosses into wasm and back once.

use super::problem_to_js;
use crate::code::{Code, Problem};
use crate::envelope::gcm_chunks::{ChunkedGcm, CHUNK_BYTES};
use crate::envelope::gcm_stream::MAX_GCM_BYTES;
use crate::envelope::message::StreamHead;
use crate::envelope::message::TAG_LEN;
use crate::envelope::stream::{self, Finished};
use wasm_bindgen::prelude::*;

/// A plaintext's length as JS gives it: a whole number of bytes GCM allows.
pub(super) fn length_of(length: f64) -> Result<u64, JsValue> {
    let whole = length.is_finite() && length >= 0.0 && length.fract() == 0.0 && length <= MAX_GCM_BYTES as f64;
    if !whole {
        return Err(problem_to_js(&Problem::new(
            Code::Plaintext,
            format!("size: a whole number of bytes, at most {MAX_GCM_BYTES}"),
        )));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "checked just above")]
    Ok(length as u64)
}

/// A message's head in `bytes`, its first bytes: `[headLength, plaintextLength]`, or
/// `undefined` while more are needed. Bytes that are not a message's head are refused as
/// the whole calls refuse them.
#[wasm_bindgen(js_name = streamHead, unchecked_return_type = "[number, number] | undefined")]
pub fn stream_head(bytes: &[u8]) -> Result<JsValue, JsValue> {
    Ok(match StreamHead::read(bytes).map_err(|p| problem_to_js(&p))? {
        // At most 2^36 (a head past GCM's limit is refused): exact in a double.
        Some(head) => js_sys::Array::of2(&head.len.into(), &(head.ciphertext_len as f64).into()).into(),
        None => JsValue::UNDEFINED,
    })
}

/// Refuses a message of a `length`-byte plaintext that a stream read once cannot hold
/// (`limit` bytes) to verify before releasing any of it: checked from its head, before
/// any key provider is asked.
#[wasm_bindgen(js_name = checkHeld)]
pub fn check_held(length: f64, limit: f64) -> Result<(), JsValue> {
    // The package checks it is a whole number of bytes; a cast saturates (NaN: 0).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "saturates, as wanted")]
    let limit = limit as u64;
    stream::held_within(length_of(length)?, limit).map_err(|p| problem_to_js(&p))
}

/// A message being sealed: `head()`, then `update(piece)` for each piece (the bytes to
/// write for it), then `finish()` (the tag's bytes). Free it if it is dropped unfinished.
#[wasm_bindgen(js_name = SealStream)]
pub struct WasmSealStream(pub(super) stream::SealStream);

#[wasm_bindgen(js_class = SealStream)]
impl WasmSealStream {
    /// The message's first bytes: its header and the body's framing.
    pub fn head(&self) -> Vec<u8> {
        self.0.head().to_vec()
    }

    /// The next piece of the plaintext, encrypted.
    pub fn update(&mut self, mut piece: Vec<u8>) -> Result<Vec<u8>, JsValue> {
        self.0.update(&mut piece).map_err(|p| problem_to_js(&p))?;
        Ok(piece)
    }

    /// The message's last bytes, once exactly the length given came; it takes the stream.
    pub fn finish(self) -> Result<Vec<u8>, JsValue> {
        self.0.finish().map_err(|p| problem_to_js(&p))
    }
}

/// A message whose header is checked and whose data key is open; its body is read by
/// a `verifier()` then a `decryptor(verified)`, or by `unverified()`. Free it when done:
/// the data key is wiped.
#[wasm_bindgen(js_name = OpenStream)]
pub struct WasmOpenStream(pub(super) stream::OpenStream);

#[wasm_bindgen(js_class = OpenStream)]
impl WasmOpenStream {
    /// The plaintext's length.
    pub fn length(&self) -> f64 {
        // At most 2^36 (a head past GCM's limit is refused): exact in a double.
        self.0.length() as f64
    }

    /// `{context, keyArn}` of the message.
    #[wasm_bindgen(unchecked_return_type = "Omit<Opened, \"plaintext\">")]
    pub fn info(&self) -> Result<JsValue, JsValue> {
        super::envelope::info_to_js(&self.0.header().context, self.0.key_arn().as_str())
    }

    /// The raw data key, for a host that decrypts the body itself (`node:crypto`). Wipe the copy after.
    #[wasm_bindgen(js_name = dataKey)]
    pub fn data_key(&self) -> js_sys::Uint8Array {
        js_sys::Uint8Array::from(self.0.data_key())
    }

    pub fn iv(&self) -> Vec<u8> {
        self.0.iv().to_vec()
    }

    /// The body's additional data: the context bytes.
    pub fn aad(&self) -> Vec<u8> {
        self.0.aad()
    }

    /// Whether the body may go to a host's AES-GCM (`node:crypto`): not an SM4 one.
    #[wasm_bindgen(js_name = onHost)]
    pub fn on_host(&self) -> bool {
        self.0.header().algorithm.is_aes_gcm()
    }

    /// What to throw when the body does not open.
    #[wasm_bindgen(js_name = doesNotOpen, unchecked_return_type = "unknown")]
    pub fn does_not_open(&self) -> JsValue {
        problem_to_js(&crate::envelope::gcm::does_not_open())
    }

    /// The tag in the bytes after the body's ciphertext (its TLV), for a host that checks
    /// it itself; bytes that are not one are refused as a message that ends early.
    #[wasm_bindgen(js_name = tagIn)]
    pub fn tag_in(&self, tail: &[u8]) -> Result<Vec<u8>, JsValue> {
        Ok(stream::tag_in(tail).map_err(|p| problem_to_js(&p))?.to_vec())
    }

    /// The body's GCM for a host that runs it a chunk at a time, verified first.
    #[wasm_bindgen(js_name = hostGcm)]
    pub fn host_gcm(&self) -> Result<HostGcm, JsValue> {
        Ok(HostGcm(self.0.chunked_gcm().map_err(|p| problem_to_js(&p))?))
    }

    /// The first of two passes: checks the tag, makes no plaintext.
    pub fn verifier(&self) -> Result<BodyPass, JsValue> {
        Ok(BodyPass(Some(self.0.verifier().map_err(|p| problem_to_js(&p))?)))
    }

    /// The second pass, over the same bytes as the verifier that gave `verified`.
    pub fn decryptor(&self, verified: VerifiedPass) -> Result<BodyPass, JsValue> {
        Ok(BodyPass(Some(self.0.decryptor(verified.0).map_err(|p| problem_to_js(&p))?)))
    }

    /// One pass releasing plaintext before the tag is checked.
    pub fn unverified(&self) -> Result<BodyPass, JsValue> {
        Ok(BodyPass(Some(self.0.unverified().map_err(|p| problem_to_js(&p))?)))
    }
}

/// A verifier's finding: the tag checks, and the states the second pass must meet.
#[wasm_bindgen]
pub struct VerifiedPass(stream::Verified);

/// One pass over a message's bytes after its head.
#[wasm_bindgen]
pub struct BodyPass(Option<stream::BodyPass>);

#[wasm_bindgen]
impl BodyPass {
    fn live(&mut self) -> Result<&mut stream::BodyPass, JsValue> {
        self.0.as_mut().ok_or_else(|| problem_to_js(&Problem::new(Code::Request, "the pass is finished")))
    }

    /// The next bytes of the message; the plaintext they release (none while verifying).
    pub fn update(&mut self, bytes: &[u8]) -> Result<Vec<u8>, JsValue> {
        let mut out = Vec::new();
        self.live()?.update(bytes, &mut out).map_err(|p| problem_to_js(&p))?;
        Ok(out)
    }

    /// A verifier's end: the tag checks.
    #[wasm_bindgen(js_name = finishVerify)]
    pub fn finish_verify(&mut self) -> Result<VerifiedPass, JsValue> {
        self.live()?;
        match self.0.take().map(stream::BodyPass::finish).transpose().map_err(|p| problem_to_js(&p))? {
            Some(Finished::Verified(v)) => Ok(VerifiedPass(v)),
            _ => Err(problem_to_js(&Problem::new(Code::Request, "not a verifier"))),
        }
    }

    /// A decryptor's or an unverified pass's end: the tag checks; the plaintext still held.
    #[wasm_bindgen(js_name = finishOpen)]
    pub fn finish_open(&mut self) -> Result<Vec<u8>, JsValue> {
        self.live()?;
        match self.0.take().map(stream::BodyPass::finish).transpose().map_err(|p| problem_to_js(&p))? {
            Some(Finished::Opened(last)) => Ok(last),
            _ => Err(problem_to_js(&Problem::new(Code::Request, "a verifier: finishVerify"))),
        }
    }
}

/// A body a host's GCM opens a chunk at a time, verified first: the IVs and tags it is
/// given, and what its answers prove ([`crate::envelope::gcm_chunks`]). Free it when
/// done.
#[wasm_bindgen]
pub struct HostGcm(ChunkedGcm);

/// A chunk's index as JS gives it (a saturating cast: past the last, it is refused).
fn chunk_of(chunk: f64) -> u64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "saturates, as wanted")]
    let chunk = chunk as u64;
    chunk
}

#[wasm_bindgen]
impl HostGcm {
    /// The ciphertext in each chunk but the last.
    #[wasm_bindgen(js_name = chunkBytes)]
    pub fn chunk_bytes(&self) -> usize {
        CHUNK_BYTES
    }

    /// The 16-byte IV the host's GCM hashes and decrypts `chunk` under.
    #[wasm_bindgen(js_name = ivOf)]
    pub fn iv_of(&self, chunk: f64) -> Result<Vec<u8>, JsValue> {
        Ok(self.0.iv_of(chunk_of(chunk)).map_err(|p| problem_to_js(&p))?.to_vec())
    }

    /// The first pass's answer for the next chunk: the GMAC of the chunk as additional data.
    pub fn hashed(&mut self, gmac: &[u8]) -> Result<(), JsValue> {
        let gmac: &[u8; TAG_LEN] =
            gmac.try_into().map_err(|_| problem_to_js(&Problem::new(Code::Request, "a GMAC is 16 bytes")))?;
        self.0.hashed(gmac).map_err(|p| problem_to_js(&p))
    }

    /// The first pass's end: the bytes after the ciphertext hold the body's tag, which checks.
    pub fn verify(&mut self, tail: &[u8]) -> Result<(), JsValue> {
        self.0.verify(tail).map_err(|p| problem_to_js(&p))
    }

    /// The tag the host's GCM must find when it decrypts `chunk`.
    #[wasm_bindgen(js_name = tagOf)]
    pub fn tag_of(&self, chunk: f64) -> Result<Vec<u8>, JsValue> {
        Ok(self.0.tag_of(chunk_of(chunk)).map_err(|p| problem_to_js(&p))?.to_vec())
    }

    /// The second pass's end: its last bytes hold the tag the first pass verified.
    #[wasm_bindgen(js_name = sameTail)]
    pub fn same_tail(&self, tail: &[u8]) -> Result<(), JsValue> {
        self.0.same_tail(tail).map_err(|p| problem_to_js(&p))
    }
}
