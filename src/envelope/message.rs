//! The message format v1 of Alibaba Cloud's Encryption SDK, in DER (ENVELOPE.md):
//!
//! ```text
//! Message ::= SEQUENCE {
//!   header SEQUENCE { version INTEGER, algorithm INTEGER,
//!                     encrypted_data_keys SET OF SEQUENCE { key_id, encrypted_data_key OCTET STRING },
//!                     encryption_context  SET OF SEQUENCE { key, value OCTET STRING },
//!                     header_iv OCTET STRING, header_auth_tag OCTET STRING },
//!   body   SEQUENCE { iv, cipher_text, auth_tag OCTET STRING } }
//! ```
//!
//! Parsing is strict (the `der` crate rejects non-canonical lengths and trailing bytes)
//! and bounded: see the `MAX_*` limits. SET OF elements are read in any order (the
//! reference SDK writes them in the order of a Python set) and written in DER order.

use super::context::{put_bytes, put_u32, EncryptionContext};
use super::Algorithm;
use crate::code::{Code, Problem};
use base64::Engine as _;
use der::asn1::OctetStringRef;
use der::{Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header as Tlv, Length, Reader, Sequence, Tag, Writer};

/// The only version of the format.
pub const VERSION: u32 = 1;
/// The length of every IV of the format.
pub const IV_LEN: usize = 12;
/// The length of every AES-GCM tag of the format.
pub const TAG_LEN: usize = 16;
/// Encrypted data keys one message may carry.
pub const MAX_DATA_KEYS: usize = 16;
/// Pairs in an encryption context.
pub const MAX_CONTEXT_PAIRS: usize = 64;
/// The DER header, data keys and context included.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// The plaintext (and so the body's ciphertext): the `der` crate's lengths stop at
/// 256 MiB, and the header must fit beside the body.
pub const MAX_BODY_BYTES: usize = 255 * 1024 * 1024;

/// One data key, encrypted under one master key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EncryptedDataKey {
    /// The master key's ARN (UTF-8).
    pub key_arn: String,
    /// The CiphertextBlob bytes, as KMS returns them (base64-decoded).
    pub blob: Vec<u8>,
}

/// A message's header: everything but the body, bound by the header tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The body's content algorithm.
    pub algorithm: Algorithm,
    /// The data key, once under each master key.
    pub encrypted_data_keys: Vec<EncryptedDataKey>,
    /// The encryption context bound to the message.
    pub context: EncryptionContext,
    /// The header tag's IV.
    pub header_iv: [u8; IV_LEN],
    /// AES-GCM's tag over the header's fields (empty plaintext).
    pub header_tag: [u8; TAG_LEN],
}

/// A parsed message. The ciphertext borrows from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// The header, checked before the body is touched.
    pub header: Header,
    /// The body's IV.
    pub iv: [u8; IV_LEN],
    /// The body's ciphertext, borrowed from the input.
    pub ciphertext: &'a [u8],
    /// The body's tag.
    pub tag: [u8; TAG_LEN],
}

impl Header {
    /// The AAD of the header tag, as the reference SDK builds it: `u32 version |
    /// u32 algorithm | u32 count(context) | C | u32 count(keys)`, then each data key in
    /// ARN order as `u32 len | arn | u32 len | base64(blob)`.
    pub fn authenticated_fields(&self, context_bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(context_bytes.len().saturating_add(16));
        put_u32(&mut out, VERSION as usize);
        put_u32(&mut out, self.algorithm.id() as usize);
        put_u32(&mut out, self.context.len());
        out.extend_from_slice(context_bytes);
        put_u32(&mut out, self.encrypted_data_keys.len());
        let mut keys: Vec<&EncryptedDataKey> = self.encrypted_data_keys.iter().collect();
        keys.sort_by(|a, b| a.key_arn.as_bytes().cmp(b.key_arn.as_bytes()));
        for key in keys {
            put_bytes(&mut out, key.key_arn.as_bytes());
            put_bytes(&mut out, base64::engine::general_purpose::STANDARD.encode(&key.blob).as_bytes());
        }
        out
    }
}

/// A SET OF that reads its elements in any order, at most `MAX` of them, and writes
/// them sorted by their encodings, as DER requires.
struct SetOf<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> FixedTag for SetOf<T, MAX> {
    const TAG: Tag = Tag::Set;
}

impl<'a, T: Decode<'a>, const MAX: usize> DecodeValue<'a> for SetOf<T, MAX> {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Tlv) -> der::Result<Self> {
        reader.read_nested(header.length, |reader| {
            let mut items = Vec::new();
            while !reader.is_finished() {
                if items.len() == MAX {
                    return Err(der::ErrorKind::Overlength.into());
                }
                items.push(reader.decode()?);
            }
            Ok(SetOf(items))
        })
    }
}

impl<T: Encode, const MAX: usize> EncodeValue for SetOf<T, MAX> {
    #[allow(clippy::arithmetic_side_effects, reason = "der's `Length + Length` is checked: it returns a Result")]
    fn value_len(&self) -> der::Result<Length> {
        self.0.iter().try_fold(Length::ZERO, |len, item| len + item.encoded_len()?)
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        let mut encoded = self.0.iter().map(Encode::to_der).collect::<der::Result<Vec<_>>>()?;
        encoded.sort();
        encoded.iter().try_for_each(|e| writer.write(e))
    }
}

#[derive(Sequence)]
struct DerDataKey<'a> {
    key_id: OctetStringRef<'a>,
    encrypted_data_key: OctetStringRef<'a>,
}

#[derive(Sequence)]
struct DerContextPair<'a> {
    key: OctetStringRef<'a>,
    value: OctetStringRef<'a>,
}

#[derive(Sequence)]
struct DerHeader<'a> {
    version: u32,
    algorithm: u32,
    encrypted_data_keys: SetOf<DerDataKey<'a>, MAX_DATA_KEYS>,
    encryption_context: SetOf<DerContextPair<'a>, MAX_CONTEXT_PAIRS>,
    header_iv: OctetStringRef<'a>,
    header_auth_tag: OctetStringRef<'a>,
}

#[derive(Sequence)]
struct DerBody<'a> {
    iv: OctetStringRef<'a>,
    cipher_text: OctetStringRef<'a>,
    auth_tag: OctetStringRef<'a>,
}

#[derive(Sequence)]
struct DerMessage<'a> {
    header: DerHeader<'a>,
    body: DerBody<'a>,
}

/// A message of a legacy algorithm ([`super::legacy`]): a 16-byte body IV, no body tag.
#[derive(Debug)]
pub struct LegacyMessage<'a> {
    /// The header, checked before the body is touched.
    pub header: Header,
    /// The body's IV.
    pub iv: [u8; super::legacy::IV_LEN],
    /// The body's ciphertext, borrowed from the input.
    pub ciphertext: &'a [u8],
}

impl<'a> LegacyMessage<'a> {
    /// Parses a message as [`Message::from_der`] does, when its algorithm is a legacy
    /// one (`None` otherwise): a 16-byte IV and an empty tag.
    pub fn from_der(bytes: &'a [u8]) -> Result<Option<LegacyMessage<'a>>, Problem> {
        let m = DerMessage::from_der(bytes).map_err(|_| unreadable(bytes))?;
        let header = header_from(m.header)?;
        if !header.algorithm.is_legacy() {
            return Ok(None);
        }
        body_within_limit(m.body.cipher_text.as_bytes().len())?;
        if !m.body.auth_tag.as_bytes().is_empty() {
            return Err(not_a_message());
        }
        Ok(Some(LegacyMessage { header, iv: array(m.body.iv)?, ciphertext: m.body.cipher_text.as_bytes() }))
    }
}

/// The algorithm a message's first bytes name (its header read, nothing checked
/// beyond the header's form), or `None` when they are not a message's.
pub fn algorithm_of(window: &[u8]) -> Option<Algorithm> {
    let mut r = der::SliceReader::new(window).ok()?;
    let outer = Tlv::decode(&mut r).ok()?;
    if outer.tag != Tag::Sequence {
        return None;
    }
    Algorithm::from_id(r.decode::<DerHeader<'_>>().ok()?.algorithm)
}

/// The header's fields, checked: its size, version, algorithm, data keys and context.
fn header_from(h: DerHeader<'_>) -> Result<Header, Problem> {
    if h.version != VERSION {
        return Err(if h.version > VERSION { newer_version(h.version.into()) } else { not_a_message() });
    }
    let header_len = h.encoded_len().ok().and_then(|n| usize::try_from(n).ok()).unwrap_or(usize::MAX);
    crate::limits::check("the message's header", header_len, MAX_HEADER_BYTES)?;
    let algorithm = Algorithm::from_id(h.algorithm).ok_or_else(not_a_message)?;
    if h.encrypted_data_keys.0.is_empty() {
        return Err(not_a_message());
    }
    let encrypted_data_keys = h
        .encrypted_data_keys
        .0
        .into_iter()
        .map(|k| Ok(EncryptedDataKey { key_arn: text(k.key_id)?, blob: k.encrypted_data_key.as_bytes().to_vec() }))
        .collect::<Result<Vec<_>, Problem>>()?;
    let mut context = EncryptionContext::new();
    for pair in h.encryption_context.0 {
        if context.insert(text(pair.key)?, text(pair.value)?).is_some() {
            return Err(not_a_message());
        }
    }
    Ok(Header {
        algorithm,
        encrypted_data_keys,
        context,
        header_iv: array(h.header_iv)?,
        header_tag: array(h.header_auth_tag)?,
    })
}

/// How many of a message's first bytes always hold its header and the body's framing
/// up to the ciphertext: what [`Head::from_der`] needs.
pub const HEAD_WINDOW: usize = MAX_HEADER_BYTES + 64;

/// A message but its ciphertext, read from its first bytes, its length and its last
/// bytes: for a host that keeps a large body where it is (nothing of the body is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The header.
    pub header: Header,
    /// The body's IV.
    pub iv: [u8; IV_LEN],
    /// Where the ciphertext is in the message.
    pub ciphertext: std::ops::Range<usize>,
    /// The body's tag.
    pub tag: [u8; TAG_LEN],
}

impl Head {
    /// Reads the head of a message of `len` bytes from `window` (its first bytes: at
    /// least [`HEAD_WINDOW`] of them, or all) and `tail` (its last 18: the tag's TLV).
    /// As strict as [`Message::from_der`]: every length must add up to `len` exactly.
    pub fn from_der(window: &[u8], len: usize, tail: &[u8]) -> Result<Head, Problem> {
        let fail = |_: der::Error| unreadable(window);
        let mut r = der::SliceReader::new(window).map_err(fail)?;
        let outer = Tlv::decode(&mut r).map_err(fail)?;
        let at = |r: &der::SliceReader<'_>| usize::try_from(r.position()).map_err(|_| not_a_message());
        let ends_at = |r: &der::SliceReader<'_>, tlv: Tlv| -> Result<usize, Problem> {
            let n = usize::try_from(tlv.length).map_err(|_| not_a_message())?;
            at(r)?.checked_add(n).ok_or_else(not_a_message)
        };
        if outer.tag != Tag::Sequence || ends_at(&r, outer)? != len {
            return Err(not_a_message());
        }
        let header = header_from(r.decode::<DerHeader<'_>>().map_err(fail)?)?;
        if header.algorithm.is_legacy() {
            return Err(super::legacy::refused(header.algorithm));
        }
        let body = Tlv::decode(&mut r).map_err(fail)?;
        if body.tag != Tag::Sequence || ends_at(&r, body)? != len {
            return Err(not_a_message());
        }
        let iv = array(r.decode::<OctetStringRef<'_>>().map_err(fail)?)?;
        let cipher_text = Tlv::decode(&mut r).map_err(fail)?;
        let start = at(&r)?;
        let end = ends_at(&r, cipher_text)?;
        if cipher_text.tag != Tag::OctetString || end.checked_add(TAG_TLV_LEN) != Some(len) {
            return Err(not_a_message());
        }
        body_within_limit(end.saturating_sub(start))?;
        let tag = match tail {
            [0x04, 0x10, tag @ ..] => <[u8; TAG_LEN]>::try_from(tag).map_err(|_| not_a_message())?,
            _ => return Err(not_a_message()),
        };
        Ok(Head { header, iv, ciphertext: start..end, tag })
    }
}

/// What a message's header says, read without opening it (no key is asked): for a
/// console that shows a message before anyone decrypts it.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The body's content algorithm.
    pub algorithm: Algorithm,
    /// The master keys the data key is encrypted under, in the header's order.
    pub data_keys: Vec<DataKeySummary>,
    /// The encryption context, which the header binds but does not hide.
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Record<string, string>"))]
    pub context: EncryptionContext,
    /// The length of the body's ciphertext: the plaintext's.
    pub body_bytes: usize,
}

/// One encrypted data key of a [`Summary`].
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataKeySummary {
    /// The master key's ARN.
    pub key_arn: String,
    /// The length of its CiphertextBlob.
    pub blob_bytes: usize,
}

impl Summary {
    fn of(h: &Header, body_bytes: usize) -> Summary {
        Summary {
            algorithm: h.algorithm,
            data_keys: h
                .encrypted_data_keys
                .iter()
                .map(|k| DataKeySummary { key_arn: k.key_arn.clone(), blob_bytes: k.blob.len() })
                .collect(),
            context: h.context.clone(),
            body_bytes,
        }
    }
}

impl StreamHead {
    /// What the header of a message of `len` bytes whose last bytes are `tail` (the tag's
    /// 18) says, its framing checked as [`Head::from_der`] checks it, for a body of any
    /// size: the body is neither read nor held.
    pub fn summary(&self, len: u64, tail: &[u8]) -> Result<Summary, Problem> {
        let head = u64::try_from(self.len).map_err(|_| not_a_message())?;
        let ends = head.checked_add(self.ciphertext_len).and_then(|n| n.checked_add(TAG_TLV_LEN as u64));
        if ends != Some(len) || tail.len() != TAG_TLV_LEN || !tail.starts_with(&[0x04, 0x10]) {
            return Err(not_a_message());
        }
        Ok(Summary::of(&self.header, usize::try_from(self.ciphertext_len).map_err(|_| not_a_message())?))
    }
}

impl Head {
    /// What the header says; the blobs stay where they are.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.header, self.ciphertext.len())
    }
}

/// What the header of a message of `len` bytes says, from its first bytes and its last
/// ([`Head::from_der`]'s arguments), for a message of any algorithm of the table: a
/// legacy one is summarised too (reading it needs no key, and opens nothing).
pub fn summarize(window: &[u8], len: usize, tail: &[u8]) -> Result<Summary, Problem> {
    match Head::from_der(window, len, tail) {
        Err(p) if p.code == Code::LegacyAlgorithm => {
            // The body: a 16-byte IV, the ciphertext, an empty tag (`04 00`).
            let fail = |_: der::Error| unreadable(window);
            let mut r = der::SliceReader::new(window).map_err(fail)?;
            Tlv::decode(&mut r).map_err(fail)?;
            let header = header_from(r.decode::<DerHeader<'_>>().map_err(fail)?)?;
            Tlv::decode(&mut r).map_err(fail)?;
            let _iv: [u8; super::legacy::IV_LEN] = array(r.decode::<OctetStringRef<'_>>().map_err(fail)?)?;
            let cipher_text = Tlv::decode(&mut r).map_err(fail)?;
            let start = usize::try_from(r.position()).map_err(|_| not_a_message())?;
            let body = usize::try_from(cipher_text.length).map_err(|_| not_a_message())?;
            if start.checked_add(body).and_then(|end| end.checked_add(2)) != Some(len) || !tail.ends_with(&[0x04, 0x00])
            {
                return Err(not_a_message());
            }
            Ok(Summary::of(&header, body))
        }
        head => Ok(head?.summary()),
    }
}

impl Message<'_> {
    /// What the header says, as [`Head::summary`] does for a message read whole.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.header, self.ciphertext.len())
    }
}

/// Bytes that are not a message of the format: one text, whatever broke and wherever
/// it was read, so that no parser's internals reach a caller.
fn not_a_message() -> Problem {
    Problem::new(Code::NotAMessage, "the bytes are not a message of the Encryption SDK's format").rule("R-ENV-4")
}

/// A body this library does not open: not malformed, past its limit.
fn body_within_limit(len: usize) -> Result<(), Problem> {
    crate::limits::check("the message's body", len, MAX_BODY_BYTES)
}

/// A message of a later version of the format than [`VERSION`]: the caller needs a
/// newer library, not other keys.
fn newer_version(version: u64) -> Problem {
    Problem::new(
        Code::NewerVersion,
        format!("the message is of format version {version}; this library reads version {VERSION}: open it with a newer one"),
    )
}

/// Why bytes that do not parse do not: a header that declares a later version (whose
/// layout may differ), or not a message at all.
fn unreadable(bytes: &[u8]) -> Problem {
    let declared = || -> der::Result<u64> {
        let mut r = der::SliceReader::new(bytes)?;
        for _ in 0..2 {
            let outer = Tlv::decode(&mut r)?;
            if outer.tag != Tag::Sequence {
                return Err(der::ErrorKind::Failed.into());
            }
        }
        r.decode::<u64>()
    };
    match declared() {
        Ok(version) if version > u64::from(VERSION) => newer_version(version),
        _ => not_a_message(),
    }
}

fn octets(bytes: &[u8]) -> Result<OctetStringRef<'_>, Problem> {
    OctetStringRef::new(bytes)
        .map_err(|e| Problem::new(Code::Encoding, "a field is too large for the format").caused_by(e))
}

fn array<const N: usize>(o: OctetStringRef<'_>) -> Result<[u8; N], Problem> {
    o.as_bytes().try_into().map_err(|_| not_a_message())
}

fn text(o: OctetStringRef<'_>) -> Result<String, Problem> {
    String::from_utf8(o.as_bytes().to_vec()).map_err(|_| not_a_message())
}

impl<'a> Message<'a> {
    /// Parses a message, enforcing the format and its limits: `InvalidCiphertext.NotAMessage`
    /// or `.NewerVersion` for bytes it cannot read, `InvalidParameter.TooLarge` past a limit.
    pub fn from_der(bytes: &'a [u8]) -> Result<Message<'a>, Problem> {
        let m = DerMessage::from_der(bytes).map_err(|_| unreadable(bytes))?;
        let header = header_from(m.header)?;
        if header.algorithm.is_legacy() {
            return Err(super::legacy::refused(header.algorithm));
        }
        let body = m.body;
        body_within_limit(body.cipher_text.as_bytes().len())?;
        Ok(Message { header, iv: array(body.iv)?, ciphertext: body.cipher_text.as_bytes(), tag: array(body.auth_tag)? })
    }

    /// Writes the message in DER.
    pub fn to_der(&self) -> Result<Vec<u8>, Problem> {
        let message = DerMessage { header: self.header.to_der_header()?, body: self.der_body()? };
        message.to_der().map_err(encode_error)
    }

    fn der_body(&self) -> Result<DerBody<'_>, Problem> {
        Ok(DerBody { iv: octets(&self.iv)?, cipher_text: octets(self.ciphertext)?, auth_tag: octets(&self.tag)? })
    }
}

fn encode_error(e: der::Error) -> Problem {
    Problem::new(Code::Encoding, format!("cannot encode the message: {e}")).caused_by(e)
}

/// The bytes of a message before its ciphertext: `prefix | ciphertext | tag_suffix(tag)`
/// is the DER of the whole message. A host that encrypted a large body itself joins the
/// three once, instead of copying the body into wasm and the message back out; and
/// sealing here writes the body straight into the message.
pub fn frame_prefix(header: &Header, iv: &[u8; IV_LEN], ciphertext_len: u64) -> Result<Vec<u8>, Problem> {
    let header_der = header.to_der_header()?.to_der().map_err(encode_error)?;
    let iv_der = octets(iv)?.to_der().map_err(encode_error)?;
    let ciphertext_tlv = tlv(Tag::OctetString, ciphertext_len);
    let len = |bytes: &[u8]| u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let sum = |parts: &[u64]| {
        parts
            .iter()
            .try_fold(0u64, |a, b| a.checked_add(*b))
            .ok_or_else(|| encode_error(der::ErrorKind::Overflow.into()))
    };
    let body_len = sum(&[len(&iv_der), len(&ciphertext_tlv), ciphertext_len, TAG_TLV_LEN as u64])?;
    let body_tlv = tlv(Tag::Sequence, body_len);
    let message_tlv = tlv(Tag::Sequence, sum(&[len(&header_der), len(&body_tlv), body_len])?);
    Ok([message_tlv, header_der, body_tlv, iv_der, ciphertext_tlv].concat())
}

/// A DER tag and definite length in the minimal form, for any length: a streamed body
/// may be past the `der` crate's 256 MiB.
fn tlv(tag: Tag, len: u64) -> Vec<u8> {
    let digits: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => vec![tag.octet(), short],
        // At most 8 digits: 0x88 at most.
        _ => [&[tag.octet(), 0x80 | u8::try_from(digits.len()).unwrap_or(8)][..], &digits].concat(),
    }
}

/// Reads a message's first bytes, telling when it needs more.
struct Cursor<'a> {
    rest: &'a [u8],
    used: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        self.used = self.used.checked_add(n)?;
        Some(taken)
    }

    /// A TLV's tag and definite length, strictly (the minimal form only): its length, or
    /// `None` when more bytes are needed.
    fn tlv(&mut self, tag: Tag) -> Result<Option<u64>, Problem> {
        let Some(&[found, first]) = self.rest.first_chunk::<2>() else { return Ok(None) };
        if found != tag.octet() {
            return Err(not_a_message());
        }
        if first < 0x80 {
            self.take(2);
            return Ok(Some(u64::from(first)));
        }
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 8 {
            return Err(not_a_message());
        }
        let Some(digits) = self.rest.get(2..).and_then(|r| r.get(..n)) else { return Ok(None) };
        let len = digits.iter().fold(0u64, |a, b| a.checked_shl(8).unwrap_or(0) | u64::from(*b));
        // Minimal: no leading zero byte, and the long form only past 127.
        if digits.first() == Some(&0) || len < 0x80 {
            return Err(not_a_message());
        }
        self.take(n.saturating_add(2));
        Ok(Some(len))
    }
}

/// A message's head read from its first bytes, without its length or its end: what a
/// stream needs before the body arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHead {
    /// The header, its form checked (its tag is checked with the data key).
    pub header: Header,
    /// The body's IV.
    pub iv: [u8; IV_LEN],
    /// The ciphertext's length: the plaintext's.
    pub ciphertext_len: u64,
    /// How many of the message's first bytes the head is: the ciphertext starts there.
    pub len: usize,
}

impl StreamHead {
    /// Reads the head from `bytes`, a message's first bytes: `Ok(None)` when more are
    /// needed (never more than [`HEAD_WINDOW`]). As strict as [`Message::from_der`]:
    /// every length must add up, for a body of any size.
    pub fn read(bytes: &[u8]) -> Result<Option<StreamHead>, Problem> {
        macro_rules! need {
            ($e:expr) => {
                match $e {
                    Some(v) => v,
                    None => return Ok(None),
                }
            };
        }
        let mut c = Cursor { rest: bytes, used: 0 };
        let total = need!(c.tlv(Tag::Sequence)?);
        let header_start = c.used;
        let header_len = usize::try_from(need!(c.tlv(Tag::Sequence)?)).unwrap_or(usize::MAX);
        crate::limits::check("the message's header", header_len, MAX_HEADER_BYTES)?;
        need!(c.take(header_len));
        let header_der = bytes.get(header_start..c.used).ok_or_else(not_a_message)?;
        let header = header_from(DerHeader::from_der(header_der).map_err(|_| unreadable(bytes))?)?;
        if header.algorithm.is_legacy() {
            return Err(super::legacy::refused(header.algorithm));
        }
        let body_len = need!(c.tlv(Tag::Sequence)?);
        let body_fields = c.used;
        if need!(c.tlv(Tag::OctetString)?) != IV_LEN as u64 {
            return Err(not_a_message());
        }
        let iv: [u8; IV_LEN] = need!(c.take(IV_LEN)).try_into().map_err(|_| not_a_message())?;
        let ciphertext_len = need!(c.tlv(Tag::OctetString)?);
        // Past what GCM can hold, no message of the format.
        if ciphertext_len > super::gcm_stream::MAX_GCM_BYTES {
            return Err(not_a_message());
        }
        // The body is the IV, the ciphertext and the tag; the message its header and body.
        let used = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let fields = used(c.used.saturating_sub(body_fields));
        let body = fields.checked_add(ciphertext_len).and_then(|n| n.checked_add(TAG_TLV_LEN as u64));
        let message = body.and_then(|b| b.checked_add(used(body_fields.saturating_sub(header_start))));
        if body != Some(body_len) || message != Some(total) {
            return Err(not_a_message());
        }
        Ok(Some(StreamHead { header, iv, ciphertext_len, len: c.used }))
    }
}

/// An OCTET STRING of 16 bytes: tag, length, the bytes.
pub const TAG_TLV_LEN: usize = 2 + TAG_LEN;

/// The bytes of a message after its ciphertext: the body's tag.
pub fn tag_suffix(tag: &[u8; TAG_LEN]) -> Result<Vec<u8>, Problem> {
    octets(tag)?.to_der().map_err(encode_error)
}

impl Header {
    fn to_der_header(&self) -> Result<DerHeader<'_>, Problem> {
        let keys = self
            .encrypted_data_keys
            .iter()
            .map(|k| Ok(DerDataKey { key_id: octets(k.key_arn.as_bytes())?, encrypted_data_key: octets(&k.blob)? }))
            .collect::<Result<Vec<_>, Problem>>()?;
        let context = self
            .context
            .iter()
            .map(|(k, v)| Ok(DerContextPair { key: octets(k.as_bytes())?, value: octets(v.as_bytes())? }))
            .collect::<Result<Vec<_>, Problem>>()?;
        Ok(DerHeader {
            version: VERSION,
            algorithm: self.algorithm.id(),
            encrypted_data_keys: SetOf(keys),
            encryption_context: SetOf(context),
            header_iv: octets(&self.header_iv)?,
            header_auth_tag: octets(&self.header_tag)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            algorithm: Algorithm::AesGcm256,
            encrypted_data_keys: vec![EncryptedDataKey { key_arn: "acs:kms:r:1:key/k".into(), blob: vec![9; 70] }],
            context: [("a".to_string(), "b".to_string())].into(),
            header_iv: [1; IV_LEN],
            header_tag: [2; TAG_LEN],
        }
    }

    #[test]
    fn frame_and_body_are_the_der_of_the_message() {
        let header = header();
        // Every way DER writes a length: short form, one, two and three length bytes.
        for len in [0, 1, 127, 128, 255, 256, 65_535, 65_536, 1 << 20] {
            let ciphertext = vec![0xab; len];
            let message =
                Message { header: header.clone(), iv: [3; IV_LEN], ciphertext: &ciphertext, tag: [4; TAG_LEN] };
            let prefix = frame_prefix(&header, &message.iv, len as u64).unwrap();
            let suffix = tag_suffix(&message.tag).unwrap();
            assert_eq!(suffix.len(), TAG_TLV_LEN);
            assert_eq!([prefix, ciphertext.clone(), suffix].concat(), message.to_der().unwrap(), "{len} bytes");
        }
    }

    #[test]
    fn the_head_reads_what_the_whole_message_reads_and_refuses_what_it_refuses() {
        let header = header();
        for len in [0, 1, 127, 128, 65_536, HEAD_WINDOW + 1, 1 << 20] {
            let ciphertext = vec![0xab; len];
            let message =
                Message { header: header.clone(), iv: [3; IV_LEN], ciphertext: &ciphertext, tag: [4; TAG_LEN] };
            let der = message.to_der().unwrap();
            let (n, window) = (der.len(), &der[..der.len().min(HEAD_WINDOW)]);
            let tail = &der[n - TAG_TLV_LEN..];
            let head = Head::from_der(window, n, tail).unwrap();
            assert_eq!((&head.header, head.iv, head.tag), (&message.header, message.iv, message.tag), "{len} bytes");
            assert_eq!(&der[head.ciphertext.clone()], &ciphertext[..], "{len} bytes");
            let keys = vec![DataKeySummary { key_arn: "acs:kms:r:1:key/k".into(), blob_bytes: 70 }];
            let context = header.context.clone();
            let summary = Summary { algorithm: Algorithm::AesGcm256, data_keys: keys, context, body_bytes: len };
            assert_eq!(head.summary(), summary);
            assert_eq!(Message::from_der(&der).unwrap().summary(), summary);
            // A length that does not add up, a tail that is not a tag, a cut window.
            assert!(Head::from_der(window, n + 1, tail).is_err());
            assert!(Head::from_der(window, n - 1, tail).is_err());
            assert!(Head::from_der(window, n, &tail[1..]).is_err());
            assert!(Head::from_der(window, n, &[&[0x04, 0x11][..], &tail[2..]].concat()).is_err());
            assert!(Head::from_der(&window[..40], n, tail).is_err());
        }
    }
}
