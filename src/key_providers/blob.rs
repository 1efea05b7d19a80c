//! The CiphertextBlob of ENVELOPE.md, and the bridge built on it:
//!
//! ```text
//! 0x01 | u8 len(keyId) | keyId | iv(12) | ciphertext | tag(16)
//! ```
//!
//! `keyId` is the raw key id (the part of the ARN after `key/`); the ciphertext is the
//! data key under an AES-256 master key in GCM, with AAD = the context bytes `C`.
//!
//! A key behind an XKS proxy writes version 2 ([`ProxyBlob`]), which carries what the
//! proxy returned; a store here never opens one, and a proxy is never sent version 1.
//!
//! Where the master keys live differs (process memory, a PKCS#11 token, the host's
//! WebCrypto); what is done with them does not. So a [`MasterKeys`] store only seals
//! and opens under a named key, and [`BlobKeyProvider`] does the rest once: data keys, IVs,
//! the blob's framing and its key-id check. Every store writes the same blob, so a
//! token and a keyring holding the same key material open each other's messages.

use crate::code::{Code, Problem};
use crate::envelope::key_provider::short_random;
use crate::envelope::message::{IV_LEN, TAG_LEN};
use crate::envelope::{context_bytes, EncryptionContext, KeyArn};
use crate::envelope::{KeyDescription, KeyProvider, MaybeSendSync, ProviderId};
use crate::platform::os_random;
use zeroize::Zeroizing;

const BLOB_VERSION: u8 = 0x01;

/// A CiphertextBlob (version 1), read without copying.
pub struct Blob<'a> {
    /// The raw key id of the master key it was made under.
    pub key_id: &'a str,
    /// The IV of the data key's encryption.
    pub iv: [u8; IV_LEN],
    /// Ciphertext followed by the 16-byte tag.
    pub sealed: &'a [u8],
}

pub(crate) fn opaque() -> Problem {
    Problem::new(Code::InvalidCiphertext, "the CiphertextBlob does not open").rule("R-ENV-4")
}

impl<'a> Blob<'a> {
    /// The blob of `key_id` (at most 255 bytes, as a [`KeyArn`]'s key id is).
    pub fn encode(key_id: &str, iv: &[u8; IV_LEN], sealed: &[u8]) -> Result<Vec<u8>, Problem> {
        let len = u8::try_from(key_id.len()).map_err(|_| Problem::new(Code::KeyId, "a key id is at most 255 bytes"))?;
        let mut out =
            Vec::with_capacity(key_id.len().saturating_add(IV_LEN).saturating_add(sealed.len()).saturating_add(2));
        out.push(BLOB_VERSION);
        out.push(len);
        out.extend_from_slice(key_id.as_bytes());
        out.extend_from_slice(iv);
        out.extend_from_slice(sealed);
        Ok(out)
    }

    /// Reads a blob; `InvalidCiphertext` for anything else (a version-2 blob included).
    pub fn decode(bytes: &'a [u8]) -> Result<Blob<'a>, Problem> {
        let [BLOB_VERSION, len, rest @ ..] = bytes else {
            return Err(opaque());
        };
        let (key_id, rest) = rest.split_at_checked(usize::from(*len)).ok_or_else(opaque)?;
        let (iv, sealed) = rest.split_first_chunk::<IV_LEN>().ok_or_else(opaque)?;
        if sealed.len() < TAG_LEN {
            return Err(opaque());
        }
        Ok(Blob { key_id: std::str::from_utf8(key_id).map_err(|_| opaque())?, iv: *iv, sealed })
    }
}

const PROXY_BLOB_VERSION: u8 = 0x02;

/// A CiphertextBlob of a key behind an XKS proxy (version 2), read without copying:
///
/// ```text
/// 0x02 | u8 len(keyId) | keyId | u8 len(iv) | iv | u8 len(meta) | meta | ciphertext | tag(16)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyBlob<'a> {
    /// The raw key id of the ARN it was made under.
    pub key_id: &'a str,
    /// The proxy's `initializationVector` (12 or 16 bytes).
    pub iv: &'a [u8],
    /// The proxy's `ciphertextMetadata` (0 to 20 bytes).
    pub metadata: &'a [u8],
    /// The proxy's `ciphertext`.
    pub ciphertext: &'a [u8],
    /// The proxy's `authenticationTag`.
    pub tag: &'a [u8; TAG_LEN],
}

/// Bytes of a proxy's `ciphertextMetadata`, at most (XKS Proxy API).
pub const MAX_PROXY_METADATA: usize = 20;

impl<'a> ProxyBlob<'a> {
    /// The blob's bytes; `InvalidParameter.KeyId` for a key id over 255 bytes, and
    /// `InvalidCiphertext` for an IV or metadata the format does not hold.
    pub fn encode(&self) -> Result<Vec<u8>, Problem> {
        let key_len =
            u8::try_from(self.key_id.len()).map_err(|_| Problem::new(Code::KeyId, "a key id is at most 255 bytes"))?;
        if !matches!(self.iv.len(), 12 | 16) || self.metadata.len() > MAX_PROXY_METADATA {
            return Err(opaque());
        }
        let mut out = vec![PROXY_BLOB_VERSION, key_len];
        out.extend_from_slice(self.key_id.as_bytes());
        for part in [self.iv, self.metadata] {
            out.push(u8::try_from(part.len()).map_err(|_| opaque())?);
            out.extend_from_slice(part);
        }
        out.extend_from_slice(self.ciphertext);
        out.extend_from_slice(self.tag);
        Ok(out)
    }

    /// Reads a version-2 blob; `InvalidCiphertext` for anything else.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, Problem> {
        fn field(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
            let (len, rest) = bytes.split_first()?;
            rest.split_at_checked(usize::from(*len))
        }
        let [PROXY_BLOB_VERSION, rest @ ..] = bytes else {
            return Err(opaque());
        };
        let (key_id, rest) = field(rest).ok_or_else(opaque)?;
        let (iv, rest) = field(rest).ok_or_else(opaque)?;
        let (metadata, rest) = field(rest).ok_or_else(opaque)?;
        let (ciphertext, tag) = rest.split_last_chunk::<TAG_LEN>().ok_or_else(opaque)?;
        if !matches!(iv.len(), 12 | 16) || metadata.len() > MAX_PROXY_METADATA {
            return Err(opaque());
        }
        let key_id = std::str::from_utf8(key_id).map_err(|_| opaque())?;
        Ok(ProxyBlob { key_id, iv, metadata, ciphertext, tag })
    }
}

/// AES-256 master keys, wherever they are kept: AES-GCM under a named key.
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait MasterKeys: MaybeSendSync {
    /// `ciphertext | tag` of `plaintext` under `key`; `Bridge.KeyNotFound` when the
    /// store does not hold it.
    async fn seal(&self, key: &KeyArn, iv: &[u8; IV_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Problem>;

    /// Opens `ciphertext | tag`; `InvalidCiphertext` when it does not open.
    async fn open(
        &self,
        key: &KeyArn,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Problem>;

    /// DescribeKey: what the store says about `key`.
    async fn describe(&self, key: &KeyArn) -> Result<KeyDescription, Problem>;

    /// Whether the store keeps `key`.
    async fn holds(&self, key: &KeyArn) -> Result<bool, Problem>;

    /// The keys the store can list, in order; one that cannot list them lists none.
    fn listed_keys(&self) -> Vec<KeyArn> {
        Vec::new()
    }

    /// Random bytes; the platform's unless the store has its own generator.
    async fn random(&self, len: usize) -> Result<Vec<u8>, Problem> {
        let mut out = vec![0u8; len];
        os_random(&mut out)?;
        Ok(out)
    }
}

/// An [`KeyProvider`] over a [`MasterKeys`] store, writing the blob above.
#[derive(Debug, Default)]
pub struct BlobKeyProvider<K> {
    store: K,
    id: ProviderId,
}

impl<K> BlobKeyProvider<K> {
    /// A provider over `store`, with an identity of its own.
    pub fn over(store: K) -> Self {
        BlobKeyProvider { store, id: ProviderId::new() }
    }

    /// A provider over `store` with an identity it already has (a JavaScript key
    /// provider is wrapped anew for each call, but is one provider).
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn with_id(store: K, id: ProviderId) -> Self {
        BlobKeyProvider { store, id }
    }

    /// The store it writes blobs for.
    pub fn store(&self) -> &K {
        &self.store
    }

    pub(crate) fn store_mut(&mut self) -> &mut K {
        &mut self.store
    }
}

impl<K: MasterKeys> BlobKeyProvider<K> {
    async fn wrap(&self, key: &KeyArn, plaintext: &[u8], context: &EncryptionContext) -> Result<Vec<u8>, Problem> {
        let iv: [u8; IV_LEN] = self.store.random(IV_LEN).await?.try_into().map_err(|_| short_random())?;
        let sealed = self.store.seal(key, &iv, &context_bytes(context), plaintext).await?;
        Blob::encode(key.key_id(), &iv, &sealed)
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl<K: MasterKeys> KeyProvider for BlobKeyProvider<K> {
    fn id(&self) -> ProviderId {
        self.id
    }

    async fn wrap_new_data_key(
        &self,
        key: &KeyArn,
        data_key: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, Problem> {
        self.wrap(key, data_key, context).await
    }

    /// Every store's AES-GCM returns the ciphertext and a 16-byte tag, so a blob's
    /// length is known before the store is asked.
    fn blob_len(&self, key: &KeyArn, len: usize) -> Option<usize> {
        [2, key.key_id().len(), IV_LEN, len, TAG_LEN].into_iter().try_fold(0usize, usize::checked_add)
    }

    async fn encrypt(&self, key: &KeyArn, plaintext: &[u8], context: &EncryptionContext) -> Result<Vec<u8>, Problem> {
        self.wrap(key, plaintext, context).await
    }

    async fn decrypt(
        &self,
        key: &KeyArn,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>, Problem> {
        let blob = Blob::decode(blob)?;
        if blob.key_id != key.key_id() {
            return Err(opaque());
        }
        self.store.open(key, &blob.iv, &context_bytes(context), blob.sealed).await
    }

    async fn describe_key(&self, key: &KeyArn) -> Result<KeyDescription, Problem> {
        self.store.describe(key).await
    }

    async fn holds(&self, key: &KeyArn) -> Result<bool, Problem> {
        self.store.holds(key).await
    }

    async fn random(&self, len: usize) -> Result<Vec<u8>, Problem> {
        self.store.random(len).await
    }

    fn listed_keys(&self) -> Vec<KeyArn> {
        self.store.listed_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_short_or_foreign_blobs() {
        let sealed = [7u8; 48];
        let bytes = Blob::encode("key-1", &[1; 12], &sealed).unwrap();
        let b = Blob::decode(&bytes).unwrap();
        assert_eq!((b.key_id, b.iv, b.sealed), ("key-1", [1; 12], &sealed[..]));
        assert!(Blob::decode(&bytes[..bytes.len() - 33]).is_err());
        let mut other = bytes.clone();
        other[0] = 2;
        assert!(Blob::decode(&other).is_err());
        assert!(Blob::decode(&[]).is_err());
    }

    #[test]
    fn proxy_blobs_round_trip_and_are_not_version_1() {
        let tag = [9u8; TAG_LEN];
        let blob = ProxyBlob { key_id: "k", iv: &[1; 16], metadata: b"meta", ciphertext: &[5; 32], tag: &tag };
        let bytes = blob.encode().unwrap();
        assert_eq!(ProxyBlob::decode(&bytes).unwrap(), blob);
        assert!(Blob::decode(&bytes).is_err());
        let v1 = Blob::encode("k", &[1; 12], &[7; 48]).unwrap();
        assert!(ProxyBlob::decode(&v1).is_err());
        for cut in 0..bytes.len() - TAG_LEN - 32 {
            assert!(ProxyBlob::decode(&bytes[..cut]).is_err(), "{cut}");
        }
        let odd_iv = ProxyBlob { iv: &[1; 13], ..blob };
        assert!(odd_iv.encode().is_err());
    }
}
