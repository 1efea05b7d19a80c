//! Envelope encryption (RULES.md section 8, ENVELOPE.md), byte-compatible with
//! Alibaba Cloud's Encryption SDK: a data key from GenerateDataKey encrypts the data;
//! the message stores the data key encrypted under one or more master keys beside the
//! data's ciphertext.
//!
//! [`encrypt`] and [`decrypt`] do all of it. A host that runs the body's AES-GCM itself
//! (WebCrypto is faster than wasm for large bodies) uses the two halves:
//! [`begin_seal`] gives a [`Sealing`] (data key, header, IV; `frame` joins the body),
//! and [`begin_open`] gives an [`Opening`] (header checked, data key open).
//! [`prepare_seal`] and [`Prepared::wrap`] are `begin_seal` in two steps, so the body
//! can be encrypted while the key providers wrap its data key.

pub mod arn;
pub mod cache;
mod context;
pub mod gcm;
pub mod gcm_chunks;
pub mod gcm_stream;
pub mod host;
pub(crate) mod key_provider;
pub mod legacy;
pub mod message;
pub mod stream;
// std::io adapters, native: a problem in wasm is not `Send`, as an `io::Error` needs.
#[cfg(not(target_arch = "wasm32"))]
pub mod stream_io;

pub use arn::KeyArn;
pub use cache::{CacheLimits, DataKeyCache, DEFAULT_MAX_ENTRIES};
pub use context::{context_bytes, EncryptionContext};
pub use key_provider::{DataKey, KeyDescription, KeyProvider, MaybeSendSync, ProviderId, MASTER_KEY_SPEC};
pub use message::{EncryptedDataKey, Header, Message};

use crate::code::{Code, Problem};
use crate::limits::{self, MAX_KEY_PROVIDERS};
use crate::platform::os_random;
use message::{IV_LEN, MAX_BODY_BYTES, MAX_CONTEXT_PAIRS, MAX_DATA_KEYS, MAX_HEADER_BYTES, TAG_LEN};
use std::fmt;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The content algorithms of the SDK's table (1 to 12). Messages are sealed with the
/// GCM ones (1, 2, 9); the CBC and CTR ones (3 to 8, 10 to 12), whose body nothing
/// authenticates, are opened only when the caller allows legacy algorithms
/// ([`DecryptOptions::allow_legacy_algorithms`]) and never sealed ([`legacy`]).
///
/// Read from its name or its number in the table (`"SM4_GCM_128"` or `9`); written by name.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum Algorithm {
    /// AES-GCM with a 128-bit key (algorithm 1).
    #[serde(rename = "AES_GCM_128")]
    AesGcm128,
    /// AES-GCM with a 256-bit key (algorithm 2, the default).
    #[default]
    #[serde(rename = "AES_GCM_256")]
    AesGcm256,
    /// SM4-GCM (GB/T 32907, the SDK's SM4_GCM_NOPADDING_128: algorithm 9), for back
    /// ends that must use SM4; its header tag is SM4-GCM too.
    #[serde(rename = "SM4_GCM_128")]
    Sm4Gcm128,
    /// AES-128-CBC, no padding (algorithm 3; legacy: opened on request only).
    #[serde(rename = "AES_CBC_NOPADDING_128")]
    AesCbcNoPadding128,
    /// AES-256-CBC, no padding (algorithm 4; legacy).
    #[serde(rename = "AES_CBC_NOPADDING_256")]
    AesCbcNoPadding256,
    /// AES-128-CBC, PKCS#5 padding (algorithm 5; legacy).
    #[serde(rename = "AES_CBC_PKCS5_128")]
    AesCbcPkcs5_128,
    /// AES-256-CBC, PKCS#5 padding (algorithm 6; legacy).
    #[serde(rename = "AES_CBC_PKCS5_256")]
    AesCbcPkcs5_256,
    /// AES-128-CTR (algorithm 7; legacy).
    #[serde(rename = "AES_CTR_128")]
    AesCtr128,
    /// AES-256-CTR (algorithm 8; legacy).
    #[serde(rename = "AES_CTR_256")]
    AesCtr256,
    /// SM4-CBC, no padding (algorithm 10; legacy).
    #[serde(rename = "SM4_CBC_NOPADDING_128")]
    Sm4CbcNoPadding128,
    /// SM4-CBC, PKCS#5 padding (algorithm 11; legacy).
    #[serde(rename = "SM4_CBC_PKCS5_128")]
    Sm4CbcPkcs5_128,
    /// SM4-CTR (algorithm 12; legacy).
    #[serde(rename = "SM4_CTR_128")]
    Sm4Ctr128,
}

/// The block cipher under an algorithm: its header tag is GCM with it, whatever the body's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockCipher {
    /// AES-128.
    Aes128,
    /// AES-256.
    Aes256,
    /// SM4.
    Sm4,
}

/// The SDK's table, in its order: each algorithm with its number and its name (the
/// serde renames above say the same, for the TypeScript union; a test checks it).
const TABLE: [(Algorithm, u32, &str); 12] = [
    (Algorithm::AesGcm128, 1, "AES_GCM_128"),
    (Algorithm::AesGcm256, 2, "AES_GCM_256"),
    (Algorithm::AesCbcNoPadding128, 3, "AES_CBC_NOPADDING_128"),
    (Algorithm::AesCbcNoPadding256, 4, "AES_CBC_NOPADDING_256"),
    (Algorithm::AesCbcPkcs5_128, 5, "AES_CBC_PKCS5_128"),
    (Algorithm::AesCbcPkcs5_256, 6, "AES_CBC_PKCS5_256"),
    (Algorithm::AesCtr128, 7, "AES_CTR_128"),
    (Algorithm::AesCtr256, 8, "AES_CTR_256"),
    (Algorithm::Sm4Gcm128, 9, "SM4_GCM_128"),
    (Algorithm::Sm4CbcNoPadding128, 10, "SM4_CBC_NOPADDING_128"),
    (Algorithm::Sm4CbcPkcs5_128, 11, "SM4_CBC_PKCS5_128"),
    (Algorithm::Sm4Ctr128, 12, "SM4_CTR_128"),
];

/// The algorithms a message is sealed with, by name.
pub const SEALING_ALGORITHMS: &str = "AES_GCM_256 (the default), AES_GCM_128 or SM4_GCM_128";

impl<'de> serde::Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Named;
        impl serde::de::Visitor<'_> for Named {
            type Value = Algorithm;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an algorithm's name (AES_GCM_256, AES_GCM_128, SM4_GCM_128, …) or its number (1 to 12)")
            }
            fn visit_u64<E: serde::de::Error>(self, id: u64) -> Result<Algorithm, E> {
                u32::try_from(id)
                    .ok()
                    .and_then(Algorithm::from_id)
                    .ok_or_else(|| E::custom(format!("there is no algorithm {id} in the SDK's table (1 to 12)")))
            }
            fn visit_i64<E: serde::de::Error>(self, id: i64) -> Result<Algorithm, E> {
                u64::try_from(id)
                    .map_or_else(|_| Err(E::custom("an algorithm's number is 1 to 12")), |id| self.visit_u64(id))
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Algorithm, E> {
                TABLE.iter().find(|(.., n)| *n == name).map(|(a, ..)| *a).ok_or_else(|| {
                    let shown: String = name.chars().take(40).collect();
                    E::custom(format!("unknown algorithm {shown:?}: {SEALING_ALGORITHMS}"))
                })
            }
        }
        deserializer.deserialize_any(Named)
    }
}

impl Algorithm {
    /// Its name, as the options and a message's summary write it.
    pub fn name(self) -> &'static str {
        TABLE.iter().find(|(a, ..)| *a == self).map_or("", |(_, _, name)| name)
    }

    /// The algorithm's number in the format.
    pub fn id(self) -> u32 {
        TABLE.iter().find(|(a, ..)| *a == self).map_or(0, |(_, id, _)| *id)
    }

    /// The algorithm with this number, if the SDK's table has one.
    pub fn from_id(id: u32) -> Option<Self> {
        TABLE.iter().find(|(_, n, _)| *n == id).map(|(a, ..)| *a)
    }

    /// The block cipher under it.
    pub fn cipher(self) -> BlockCipher {
        use Algorithm::*;
        match self {
            AesGcm128 | AesCbcNoPadding128 | AesCbcPkcs5_128 | AesCtr128 => BlockCipher::Aes128,
            AesGcm256 | AesCbcNoPadding256 | AesCbcPkcs5_256 | AesCtr256 => BlockCipher::Aes256,
            Sm4Gcm128 | Sm4CbcNoPadding128 | Sm4CbcPkcs5_128 | Sm4Ctr128 => BlockCipher::Sm4,
        }
    }

    /// Whether it is a CBC or CTR algorithm: opened on request only, never sealed.
    pub fn is_legacy(self) -> bool {
        !matches!(self, Algorithm::AesGcm128 | Algorithm::AesGcm256 | Algorithm::Sm4Gcm128)
    }

    /// The data key's length in bytes.
    pub fn key_len(self) -> usize {
        match self.cipher() {
            BlockCipher::Aes128 | BlockCipher::Sm4 => 16,
            BlockCipher::Aes256 => 32,
        }
    }

    /// Whether a host's AES-GCM (WebCrypto, Node's crypto) can do the body: no host has
    /// SM4, and a legacy body is opened here.
    pub fn is_aes_gcm(self) -> bool {
        matches!(self, Algorithm::AesGcm128 | Algorithm::AesGcm256)
    }
}

/// A data key ready to seal or open messages: in plaintext (wiped on drop) and
/// encrypted under each master key (R-ENV-1, R-ENV-3).
pub struct Materials {
    /// The algorithm the data key is for.
    pub algorithm: Algorithm,
    /// The data key itself (wiped on drop).
    pub data_key: Zeroizing<Vec<u8>>,
    /// The data key under each master key, for the header.
    pub encrypted_data_keys: Vec<EncryptedDataKey>,
}

impl fmt::Debug for Materials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Materials")
            .field("algorithm", &self.algorithm)
            .field("data_key", &"<redacted>")
            .field("encrypted_data_keys", &self.encrypted_data_keys.len())
            .finish()
    }
}

impl Materials {
    /// A header for one message: a fresh header IV, and the header tag over the
    /// algorithm, the context and the encrypted data keys.
    fn header(&self, context: &EncryptionContext) -> Result<Header, Problem> {
        let mut header = unsealed_header(self.algorithm, self.encrypted_data_keys.clone(), context);
        os_random(&mut header.header_iv)?;
        let aad = header.authenticated_fields(&context_bytes(context));
        header.header_tag = gcm::seal(self.algorithm, &self.data_key, &header.header_iv, &aad, &mut [])?;
        Ok(header)
    }
}

/// A header with its IV and tag not yet made (zeros).
fn unsealed_header(
    algorithm: Algorithm,
    encrypted_data_keys: Vec<EncryptedDataKey>,
    context: &EncryptionContext,
) -> Header {
    Header {
        algorithm,
        encrypted_data_keys,
        context: context.clone(),
        header_iv: [0; IV_LEN],
        header_tag: [0; TAG_LEN],
    }
}

/// Checks the header tag under `data_key` (in constant time), before anything touches
/// the body.
fn verify_header(data_key: &[u8], header: &Header) -> Result<(), Problem> {
    let aad = header.authenticated_fields(&context_bytes(&header.context));
    gcm::open(header.algorithm, data_key, &header.header_iv, &aad, &mut [], &header.header_tag)
}

/// What encryption uses besides the keys.
#[derive(Debug, Default)]
pub struct EncryptOptions<'a> {
    /// The encryption context to bind (R-ENV-4: opening needs the same).
    pub context: EncryptionContext,
    /// The content algorithm (AES-GCM-256 by default).
    pub algorithm: Algorithm,
    /// Reuse data keys within limits; `None` (the default) makes one per message.
    pub cache: Option<&'a DataKeyCache>,
}

/// What a caller names to seal a message, as JSON (the package's options): the keys
/// (left out: the keys the providers list), the context and the algorithm.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SealOptions {
    /// Key ARNs, the first generating the data key; left out, [`listed_keys`].
    #[serde(default)]
    pub keys: Option<Vec<String>>,
    /// The encryption context to bind to the message.
    #[serde(default)]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Record<string, string>"))]
    pub context: EncryptionContext,
    /// The content algorithm (AES-GCM-256 by default), by name or number.
    #[serde(default)]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "SealAlgorithm"))]
    pub algorithm: Algorithm,
}

/// The algorithms a message is sealed with, by name or number in the SDK's table.
#[cfg(all(target_arch = "wasm32", feature = "typescript"))]
#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const SEAL_ALGORITHM_TS: &'static str = r#"
/** What a message is sealed with, by name or by number in the SDK's table (the others are opened on request only, never sealed). */
export type SealAlgorithm = "AES_GCM_256" | "AES_GCM_128" | "SM4_GCM_128" | 2 | 1 | 9;
"#;

impl SealOptions {
    /// The keys to seal under (named, or those the providers list) and the options of
    /// [`encrypt`]; a bad ARN is named by its place (`/keys/<i>`).
    pub fn resolve(self, providers: &[&dyn KeyProvider]) -> Result<(Vec<KeyArn>, EncryptOptions<'static>), Problem> {
        let keys = match &self.keys {
            Some(keys) => {
                limits::check("the number of keys", keys.len(), MAX_DATA_KEYS).map_err(|p| p.at("/keys"))?;
                keys.iter()
                    .enumerate()
                    .map(|(i, k)| k.parse::<KeyArn>().map_err(|p| p.at(format!("/keys/{i}"))))
                    .collect::<Result<Vec<_>, _>>()?
            }
            None => listed_keys(providers),
        };
        Ok((keys, EncryptOptions { context: self.context, algorithm: self.algorithm, cache: None }))
    }
}

/// What decryption checks besides the message (`{"requireContext": {…}}` in JSON).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecryptOptions {
    /// Entries the message's context must hold, with these values; checked once the
    /// header is known authentic (`InvalidCiphertext.ContextMismatch` when one is not).
    #[serde(default)]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Record<string, string>"))]
    pub require_context: EncryptionContext,
    /// Open a message sealed with a CBC or CTR algorithm of the SDK's table (3 to 8, 10
    /// to 12): its header is authenticated, its body is not. Off by default: such a
    /// message is refused (`Rejected.LegacyAlgorithm`), naming its algorithm.
    #[serde(default)]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(optional))]
    pub allow_legacy_algorithms: bool,
}

/// An opened message.
#[derive(Debug)]
pub struct Opened {
    /// The data, as it was sealed.
    pub plaintext: Vec<u8>,
    /// The context the message carried.
    pub context: EncryptionContext,
    /// The master key whose encrypted data key opened it.
    pub key_arn: String,
}

/// At most [`MAX_KEY_PROVIDERS`] providers: opening tries each data key with each.
fn check_providers(bridges: &[&dyn KeyProvider]) -> Result<(), Problem> {
    limits::check("the number of key providers", bridges.len(), MAX_KEY_PROVIDERS).map_err(|p| p.at("/providers"))
}

fn check_inputs(keys: &[KeyArn], context: &EncryptionContext, plaintext_len: u64, limit: u64) -> Result<(), Problem> {
    if keys.is_empty() || keys.len() > MAX_DATA_KEYS {
        return Err(Problem::new(Code::KeyId, format!("name 1 to {MAX_DATA_KEYS} master keys")));
    }
    if context.len() > MAX_CONTEXT_PAIRS {
        return Err(Problem::new(Code::EncryptionContext, format!("at most {MAX_CONTEXT_PAIRS} context pairs")));
    }
    let context_size = context.iter().map(|(k, v)| k.len().saturating_add(v.len())).fold(0, usize::saturating_add);
    if context_size > MAX_HEADER_BYTES / 2 {
        return Err(Problem::new(Code::EncryptionContext, "the context is too large for a 64 KiB header"));
    }
    if plaintext_len > limit {
        return Err(Problem::new(Code::Plaintext, format!("the plaintext is larger than {limit} bytes")));
    }
    Ok(())
}

/// The keys the providers list, in order, each once: the keys an encryption uses when
/// its caller names none (the first generates the data key). A provider that cannot
/// list its keys (a PKCS#11 token) lists none, so its keys must be named.
pub fn listed_keys(providers: &[&dyn KeyProvider]) -> Vec<KeyArn> {
    let mut seen = std::collections::HashSet::new();
    providers.iter().flat_map(|p| p.listed_keys()).filter(|k| seen.insert(k.clone())).collect()
}

/// The index in `bridges` of the first that holds `key`.
async fn holder(bridges: &[&dyn KeyProvider], key: &KeyArn) -> Result<usize, Problem> {
    for (at, bridge) in bridges.iter().enumerate() {
        if bridge.holds(key).await? {
            return Ok(at);
        }
    }
    Err(Problem::new(Code::BridgeKeyNotFound, format!("no key provider holds {key}")))
}

/// Each key once, in order, with the index of the bridge that holds it.
async fn holders(bridges: &[&dyn KeyProvider], keys: &[KeyArn]) -> Result<Vec<(KeyArn, usize)>, Problem> {
    let mut found: Vec<(KeyArn, usize)> = Vec::with_capacity(keys.len());
    for key in keys {
        if !found.iter().any(|(k, _)| k == key) {
            found.push((key.clone(), holder(bridges, key).await?));
        }
    }
    Ok(found)
}

fn bridge_at<'b>(bridges: &[&'b dyn KeyProvider], at: usize) -> Result<&'b dyn KeyProvider, Problem> {
    bridges.get(at).copied().ok_or_else(not_prepared_with)
}

fn not_prepared_with() -> Problem {
    Problem::new(Code::Request, "pass the key providers the seal was prepared with")
}

/// A new data key of `len` bytes from the random source of the bridge that holds the
/// first key.
async fn new_data_key(bridge: &dyn KeyProvider, len: usize) -> Result<Zeroizing<Vec<u8>>, Problem> {
    let data_key = Zeroizing::new(bridge.random(len).await?);
    if data_key.len() != len {
        return Err(key_provider::short_random());
    }
    Ok(data_key)
}

/// `data_key` under each key (R-ENV-1): GenerateDataKey's blob under the first, Encrypt's
/// under the others.
async fn wrap_data_key(
    bridges: &[&dyn KeyProvider],
    holders: &[(KeyArn, usize)],
    data_key: &[u8],
    context: &EncryptionContext,
) -> Result<Vec<EncryptedDataKey>, Problem> {
    let mut encrypted = Vec::with_capacity(holders.len());
    for (key, at) in holders {
        let bridge = bridge_at(bridges, *at)?;
        let blob = if encrypted.is_empty() {
            bridge.wrap_new_data_key(key, data_key, context).await?
        } else {
            bridge.encrypt(key, data_key, context).await?
        };
        encrypted.push(EncryptedDataKey { key_arn: key.to_string(), blob });
    }
    Ok(encrypted)
}

/// Everything of one message but its body: a data key, the header, the body's IV.
/// [`Sealing::seal`] finishes it here; a host with a faster AES-GCM (WebCrypto) can
/// encrypt the body itself and join it with [`Sealing::frame`].
pub struct Sealing {
    materials: Arc<Materials>,
    header: Header,
    iv: [u8; IV_LEN],
    /// The plaintext's length, as prepared (and counted by the cache): a body of any
    /// other length is refused, so one data key and IV serve one body only.
    length: u64,
}

impl fmt::Debug for Sealing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealing").field("materials", &self.materials).finish_non_exhaustive()
    }
}

impl Sealing {
    /// The plaintext data key, for a host that encrypts the body itself.
    pub fn data_key(&self) -> &[u8] {
        &self.materials.data_key
    }

    /// The body's IV.
    pub fn iv(&self) -> &[u8; IV_LEN] {
        &self.iv
    }

    /// The body's additional data: the context bytes `C`.
    pub fn aad(&self) -> Vec<u8> {
        context_bytes(&self.header.context)
    }

    /// Seals `plaintext` into the message (R-ENV-2): the body is copied once, into the
    /// message, and encrypted there. It takes the session: a data key and IV seal one
    /// body, never two.
    pub fn seal(self, plaintext: &[u8]) -> Result<Vec<u8>, Problem> {
        let mut message = self.prefix(u64::try_from(plaintext.len()).unwrap_or(u64::MAX))?;
        let start = message.len();
        // The whole message at once: growing past the body to append the tag would
        // double the buffer (a 255 MiB body would peak at three times its size).
        message.reserve_exact(plaintext.len().saturating_add(message::TAG_TLV_LEN));
        message.extend_from_slice(plaintext);
        let (alg, key) = (self.materials.algorithm, &self.materials.data_key);
        let body = message.get_mut(start..).ok_or_else(|| encode_failure("the body is not where it was written"))?;
        let tag = gcm::seal(alg, key, &self.iv, &self.aad(), body)?;
        message.extend_from_slice(&message::tag_suffix(&tag)?);
        Ok(message)
    }

    /// The bytes before and after a body of `ciphertext_len` bytes encrypted elsewhere
    /// with this data key, IV and AAD: `prefix | ciphertext | suffix` is the message.
    pub fn frame(&self, ciphertext_len: u64, tag: &[u8; TAG_LEN]) -> Result<(Vec<u8>, Vec<u8>), Problem> {
        Ok((self.prefix(ciphertext_len)?, message::tag_suffix(tag)?))
    }

    fn prefix(&self, ciphertext_len: u64) -> Result<Vec<u8>, Problem> {
        if ciphertext_len != self.length {
            return Err(Problem::new(
                Code::Plaintext,
                format!("the body is {ciphertext_len} bytes; the message was prepared for {}", self.length),
            ));
        }
        message::frame_prefix(&self.header, &self.iv, self.length)
    }
}

/// Prepares a message of `plaintext_len` bytes under `keys` (the first generates the
/// data key), each key held by one of `bridges`; checks the limits and uses the cache.
pub async fn begin_seal(
    bridges: &[&dyn KeyProvider],
    keys: &[KeyArn],
    plaintext_len: usize,
    options: &EncryptOptions<'_>,
) -> Result<Sealing, Problem> {
    prepare_seal(bridges, keys, plaintext_len, options).await?.wrap(bridges, options.cache).await
}

/// [`begin_seal`]'s first half, which asks no provider to encrypt anything: the limits
/// checked, each key's provider found, and the data key (new, or from the cache) and the
/// body's IV made. The body depends on nothing else, so a host can encrypt it while
/// [`Prepared::wrap`] waits for the providers.
pub async fn prepare_seal(
    bridges: &[&dyn KeyProvider],
    keys: &[KeyArn],
    plaintext_len: usize,
    options: &EncryptOptions<'_>,
) -> Result<Prepared, Problem> {
    let len = u64::try_from(plaintext_len).unwrap_or(u64::MAX);
    prepare(bridges, keys, len, MAX_BODY_BYTES as u64, options).await
}

/// [`prepare_seal`] for a body of at most `limit` bytes (a whole message's, or a stream's).
async fn prepare(
    bridges: &[&dyn KeyProvider],
    keys: &[KeyArn],
    plaintext_len: u64,
    limit: u64,
    options: &EncryptOptions<'_>,
) -> Result<Prepared, Problem> {
    let (context, algorithm) = (&options.context, options.algorithm);
    if algorithm.is_legacy() {
        return Err(legacy::never_sealed(algorithm));
    }
    check_providers(bridges)?;
    check_inputs(keys, context, plaintext_len, limit)?;
    let cached = options.cache.and_then(|c| c.take(bridges, keys, algorithm, context, plaintext_len));
    let keying = match cached {
        Some(materials) => Keying::Cached(materials),
        None => {
            let holders = holders(bridges, keys).await?;
            let (_, first) = holders.first().ok_or_else(|| Problem::new(Code::KeyId, "name a master key"))?;
            let data_key = new_data_key(bridge_at(bridges, *first)?, algorithm.key_len()).await?;
            Keying::New { data_key, holders, bridges: identities(bridges) }
        }
    };
    let mut iv = [0u8; IV_LEN];
    os_random(&mut iv)?;
    let (keys, context) = (keys.to_vec(), context.clone());
    Ok(Prepared { keying, keys, context, algorithm, iv, length: plaintext_len })
}

/// A message's data key and body IV, made before any provider was asked to encrypt the
/// data key ([`prepare_seal`]).
pub struct Prepared {
    keying: Keying,
    keys: Vec<KeyArn>,
    context: EncryptionContext,
    algorithm: Algorithm,
    iv: [u8; IV_LEN],
    length: u64,
}

enum Keying {
    /// A data key from the cache, with its blobs.
    Cached(Arc<Materials>),
    /// A new data key, each key (once, in order) with the index of its bridge, and
    /// which bridges those indices were into.
    New { data_key: Zeroizing<Vec<u8>>, holders: Vec<(KeyArn, usize)>, bridges: Vec<usize> },
}

/// Each bridge's address: what tells that a seal is wrapped by the very bridges it was
/// prepared with, in the same order (an index into any other slice would send a data
/// key to a provider that was never asked whether it holds the key).
fn identities(bridges: &[&dyn KeyProvider]) -> Vec<usize> {
    bridges.iter().map(|b| std::ptr::from_ref::<dyn KeyProvider>(*b).cast::<()>().addr()).collect()
}

fn same_bridges(prepared: &[usize], bridges: &[&dyn KeyProvider]) -> Result<(), Problem> {
    if identities(bridges) == prepared {
        Ok(())
    } else {
        Err(not_prepared_with())
    }
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared").field("keys", &self.keys).field("length", &self.length).finish_non_exhaustive()
    }
}

impl Prepared {
    /// The plaintext data key, for a host that encrypts the body itself.
    pub fn data_key(&self) -> &[u8] {
        match &self.keying {
            Keying::Cached(materials) => &materials.data_key,
            Keying::New { data_key, .. } => data_key,
        }
    }

    /// The body's IV.
    pub fn iv(&self) -> &[u8; IV_LEN] {
        &self.iv
    }

    /// The body's additional data: the context bytes `C`.
    pub fn aad(&self) -> Vec<u8> {
        context_bytes(&self.context)
    }

    /// Where the body will start in the message and the message's whole length, if every
    /// blob has the length its provider foretells ([`KeyProvider::blob_len`]); `None`
    /// when one cannot tell. `bridges` are those the seal was prepared with.
    pub fn predicted_layout(&self, bridges: &[&dyn KeyProvider]) -> Option<(usize, usize)> {
        let encrypted_data_keys = match &self.keying {
            Keying::Cached(materials) => materials.encrypted_data_keys.clone(),
            Keying::New { data_key, holders, bridges: prepared } => {
                same_bridges(prepared, bridges).ok()?;
                holders
                    .iter()
                    .map(|(key, at)| {
                        let blob = vec![0; bridges.get(*at)?.blob_len(key, data_key.len())?];
                        Some(EncryptedDataKey { key_arn: key.to_string(), blob })
                    })
                    .collect::<Option<_>>()?
            }
        };
        let header = unsealed_header(self.algorithm, encrypted_data_keys, &self.context);
        let offset = message::frame_prefix(&header, &self.iv, self.length).ok()?.len();
        let length = usize::try_from(self.length).ok()?;
        Some((offset, offset.checked_add(length)?.checked_add(message::TAG_TLV_LEN)?))
    }

    /// The rest of [`begin_seal`]: the data key encrypted under each key by `bridges`
    /// (those it was prepared with), kept in `cache` when one is given, and the header.
    pub async fn wrap(self, bridges: &[&dyn KeyProvider], cache: Option<&DataKeyCache>) -> Result<Sealing, Problem> {
        let materials = match self.keying {
            Keying::Cached(materials) => materials,
            Keying::New { data_key, holders, bridges: prepared } => {
                same_bridges(&prepared, bridges)?;
                let encrypted_data_keys = wrap_data_key(bridges, &holders, &data_key, &self.context).await?;
                let materials = Arc::new(Materials { algorithm: self.algorithm, data_key, encrypted_data_keys });
                if let Some(cache) = cache {
                    cache.put(bridges, &self.keys, self.algorithm, &self.context, Arc::clone(&materials), self.length);
                }
                materials
            }
        };
        let header = materials.header(&self.context)?;
        Ok(Sealing { materials, header, iv: self.iv, length: self.length })
    }
}

/// Encrypts `plaintext` under `keys` (the first generates the data key), each key held
/// by one of `bridges`.
///
/// ```
/// use kms_instance::envelope::{self, DecryptOptions, EncryptOptions};
/// use kms_instance::key_providers::software::SoftwareKeyProvider;
///
/// let keys = SoftwareKeyProvider::from_keyring_json(r#"{"keys": [{
///     "arn": "acs:kms:cn-hangzhou:1207089758810000:key/key-a",
///     "material": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}]}"#)?;
/// let arns = envelope::listed_keys(&[&keys]);
/// let options = EncryptOptions { context: [("app".into(), "docs".into())].into(), ..Default::default() };
/// let message = pollster::block_on(envelope::encrypt(&[&keys], &arns, b"data", &options))?;
/// let opened = pollster::block_on(envelope::decrypt(&[&keys], &message, &DecryptOptions::default()))?;
/// assert_eq!(opened.plaintext, b"data");
/// # Ok::<(), kms_instance::Problem>(())
/// ```
pub async fn encrypt(
    bridges: &[&dyn KeyProvider],
    keys: &[KeyArn],
    plaintext: &[u8],
    options: &EncryptOptions<'_>,
) -> Result<Vec<u8>, Problem> {
    begin_seal(bridges, keys, plaintext.len(), options).await?.seal(plaintext)
}

/// The message could not be written (an invariant of the framing broke).
fn encode_failure(why: &str) -> Problem {
    Problem::new(Code::Encoding, format!("cannot write the message: {why}"))
}

/// An authentic header whose context lacks what the caller requires: told apart from a
/// changed message, which never gets this far.
fn context_mismatch() -> Problem {
    Problem::new(
        Code::ContextMismatch,
        "the message's header is authentic, but its encryption context does not hold the required entries",
    )
    .rule("R-ENV-4")
}

/// Finds a data key the bridges can open and whose header tag checks; returns it with
/// the master key that opened it.
async fn open_data_key(bridges: &[&dyn KeyProvider], header: &Header) -> Result<(Zeroizing<Vec<u8>>, KeyArn), Problem> {
    // A bridge that is down is reported as such, unless another key opens the message.
    let mut outage: Option<Problem> = None;
    for edk in &header.encrypted_data_keys {
        let Ok(arn) = edk.key_arn.parse::<KeyArn>() else {
            continue;
        };
        for bridge in bridges {
            match bridge.holds(&arn).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(p) => {
                    outage = outage.or(Some(p));
                    continue;
                }
            }
            match bridge.decrypt(&arn, &edk.blob, &header.context).await {
                Ok(data_key) if verify_header(&data_key, header).is_ok() => return Ok((data_key, arn)),
                Ok(_) => {}
                Err(p) if p.code == Code::InvalidCiphertext => {}
                Err(p) => outage = outage.or(Some(p)),
            }
        }
    }
    Err(outage.unwrap_or_else(gcm::does_not_open))
}

/// A message whose header has been checked and whose data key is open: all but the
/// body. [`Opening::open`] finishes here; a host can decrypt the body itself.
pub struct Opening<'a> {
    data_key: Zeroizing<Vec<u8>>,
    message: Message<'a>,
    key_arn: KeyArn,
}

impl fmt::Debug for Opening<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opening").field("key_arn", &self.key_arn).finish_non_exhaustive()
    }
}

impl<'a> Opening<'a> {
    /// The plaintext data key, for a host that decrypts the body itself.
    pub fn data_key(&self) -> &[u8] {
        &self.data_key
    }

    /// The parsed message, its header checked.
    pub fn message(&self) -> &Message<'a> {
        &self.message
    }

    /// The body's additional data: the context bytes `C`.
    pub fn aad(&self) -> Vec<u8> {
        context_bytes(&self.message.header.context)
    }

    /// The master key whose encrypted data key opened the message.
    pub fn key_arn(&self) -> &KeyArn {
        &self.key_arn
    }

    /// Decrypts the body.
    pub fn open(self) -> Result<Opened, Problem> {
        let mut body = self.message.ciphertext.to_vec();
        gcm::open(
            self.message.header.algorithm,
            &self.data_key,
            &self.message.iv,
            &self.aad(),
            &mut body,
            &self.message.tag,
        )?;
        Ok(Opened { plaintext: body, context: self.message.header.context, key_arn: self.key_arn.to_string() })
    }
}

/// Parses a message, opens a data key the bridges hold, checks the header tag with it
/// and then the required context; the body is left for [`Opening::open`]. A message
/// of a legacy algorithm is refused here (`Rejected.LegacyAlgorithm`): [`decrypt`]
/// opens one when the options allow it.
pub async fn begin_open<'a>(
    bridges: &[&dyn KeyProvider],
    bytes: &'a [u8],
    options: &DecryptOptions,
) -> Result<Opening<'a>, Problem> {
    let message = Message::from_der(bytes)?;
    let (data_key, key_arn) = open_header(bridges, &message.header, options).await?;
    Ok(Opening { data_key, message, key_arn })
}

/// Opens a data key the bridges hold whose header tag checks, then checks the required
/// context: only an authentic context can be called the wrong one.
async fn open_header(
    bridges: &[&dyn KeyProvider],
    header: &Header,
    options: &DecryptOptions,
) -> Result<(Zeroizing<Vec<u8>>, KeyArn), Problem> {
    check_providers(bridges)?;
    let opened = open_data_key(bridges, header).await?;
    if options.require_context.iter().any(|(k, v)| header.context.get(k) != Some(v)) {
        return Err(context_mismatch());
    }
    Ok(opened)
}

/// Decrypts a message with whichever of its data keys the bridges can open (R-ENV-4:
/// a wrong key or a changed message fails with `InvalidCiphertext`; an authentic
/// message without the required context with `InvalidCiphertext.ContextMismatch`;
/// bytes that are not a message with `InvalidCiphertext.NotAMessage`; a later format
/// with `InvalidCiphertext.NewerVersion`).
pub async fn decrypt(bridges: &[&dyn KeyProvider], bytes: &[u8], options: &DecryptOptions) -> Result<Opened, Problem> {
    match begin_open(bridges, bytes, options).await {
        // Refused when parsed, before any provider is asked; read again by its own
        // parser, so the common case reads once.
        Err(p) if p.code == Code::LegacyAlgorithm && options.allow_legacy_algorithms => {
            let message = message::LegacyMessage::from_der(bytes)?.ok_or(p)?;
            legacy::open(bridges, message, options).await
        }
        opening => opening?.open(),
    }
}
