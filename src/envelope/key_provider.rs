//! What the envelope needs from wherever its master keys are kept (ENVELOPE.md's "HSM
//! bridge"): one asynchronous trait, defined here beside the format, so master keys can
//! live in process memory, WebCrypto, a key-store proxy or a PKCS#11 token. The
//! implementations are in [`crate::key_providers`].
//!
//! Every failure is a [`Problem`] with a `Bridge.*` code (the spec's word for a key
//! provider's failure) or `InvalidCiphertext` when a blob does not open: nothing is
//! retried here, and no plaintext key ever appears in an error or a `Debug` output.

use super::{EncryptionContext, KeyArn};
use crate::code::Problem;
use std::fmt;
use zeroize::Zeroizing;

/// A data key in plaintext (wiped on drop) and encrypted under a master key.
pub struct DataKey {
    /// The data key itself (wiped on drop).
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The CiphertextBlob: the data key encrypted under the master key.
    pub ciphertext_blob: Vec<u8>,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("plaintext", &format_args!("<{} bytes, redacted>", self.plaintext.len()))
            .field("ciphertext_blob", &format_args!("<{} bytes>", self.ciphertext_blob.len()))
            .finish()
    }
}

/// The KMS key spec of the AES-256 master keys every provider holds.
pub const MASTER_KEY_SPEC: &str = "Aliyun_AES_256";

/// What a provider says about a master key.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyDescription {
    /// The key's ARN.
    pub key_arn: String,
    /// [`MASTER_KEY_SPEC`] for the AES-256 master keys every provider holds.
    pub key_spec: String,
    /// `SOFTWARE` or `HSM`.
    pub protection_level: String,
}

impl KeyDescription {
    /// The description of an AES-256 master key, protected as `protection_level` says.
    pub fn master_key(key: &KeyArn, protection_level: impl Into<String>) -> Self {
        KeyDescription {
            key_arn: key.to_string(),
            key_spec: MASTER_KEY_SPEC.into(),
            protection_level: protection_level.into(),
        }
    }
}

/// Which provider object a provider is: unique in the process, and never given out
/// again (an address may be reused once a provider is freed; this is not). The data-key
/// cache keys on it, so a data key wrapped by one provider never serves another that
/// names the same ARN for other material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId(u64);

/// The next identity to give out (identities start at 1).
static NEXT_PROVIDER_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl ProviderId {
    /// A new identity, for a provider being made.
    pub fn new() -> Self {
        ProviderId(NEXT_PROVIDER_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// JavaScript providers' identities: a range of their own (from 2^52, below 2^53 so a
/// JS number holds them exactly), so none can name a Rust provider's.
#[cfg(target_arch = "wasm32")]
static NEXT_JS_PROVIDER_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 52);

#[cfg(target_arch = "wasm32")]
impl ProviderId {
    /// A new identity for a JavaScript provider object (the package keeps it with the
    /// object, so that each call's wrapper of that object is the same provider).
    pub(crate) fn new_for_js() -> Self {
        ProviderId(NEXT_JS_PROVIDER_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }

    /// The identity as a JS number.
    pub(crate) fn to_js(self) -> f64 {
        // Identities stay far below 2^53: one per provider made.
        #[allow(clippy::cast_precision_loss)]
        let id = self.0 as f64;
        id
    }

    /// An identity [`ProviderId::new_for_js`] gave; `None` for any other number (so no
    /// caller can claim a provider's identity, and its cached keys, with a number of its own).
    pub(crate) fn from_js(id: f64) -> Option<Self> {
        let issued = NEXT_JS_PROVIDER_ID.load(std::sync::atomic::Ordering::Relaxed);
        // A float-to-int cast saturates; the checks below keep only exact, issued ones.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = id as u64;
        #[allow(clippy::cast_precision_loss)]
        let exact = whole as f64 == id;
        (exact && whole >= 1 << 52 && whole < issued).then_some(ProviderId(whole))
    }
}

impl Default for ProviderId {
    fn default() -> Self {
        Self::new()
    }
}

/// Native key providers are shared across threads: `Send + Sync`.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync> MaybeSendSync for T {}
/// In wasm there are no threads, and the host's promises are not `Send`: nothing.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T> MaybeSendSync for T {}

/// What the envelope needs from wherever its master keys are kept.
///
/// A caller may offer several providers: the envelope asks each whether it
/// [`holds`](KeyProvider::holds) a key, and uses the first that does. Asked for a key
/// it does not hold, a provider answers `Bridge.KeyNotFound`, an error like any other.
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait KeyProvider: MaybeSendSync {
    /// This provider's identity ([`ProviderId::new`] when it is made, kept for its life).
    fn id(&self) -> ProviderId;

    /// GenerateDataKey: a new data key of `len` bytes from [`random`](KeyProvider::random),
    /// returned in plaintext and encrypted under `key` with `context` bound to it
    /// (R-ENV-1). The envelope makes the key and calls
    /// [`wrap_new_data_key`](KeyProvider::wrap_new_data_key) itself, so that a body can
    /// be encrypted while the provider answers.
    async fn generate_data_key(
        &self,
        key: &KeyArn,
        len: usize,
        context: &EncryptionContext,
    ) -> Result<DataKey, Problem> {
        let plaintext = Zeroizing::new(self.random(len).await?);
        if plaintext.len() != len {
            return Err(short_random());
        }
        let ciphertext_blob = self.wrap_new_data_key(key, &plaintext, context).await?;
        Ok(DataKey { plaintext, ciphertext_blob })
    }

    /// GenerateDataKey's CiphertextBlob of `data_key`, a key just made with
    /// [`random`](KeyProvider::random): `data_key` under `key` with `context` bound to it.
    async fn wrap_new_data_key(
        &self,
        key: &KeyArn,
        data_key: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, Problem>;

    /// Encrypt: `plaintext` (a data key) under `key`; returns a CiphertextBlob.
    async fn encrypt(&self, key: &KeyArn, plaintext: &[u8], context: &EncryptionContext) -> Result<Vec<u8>, Problem>;

    /// Decrypt: a CiphertextBlob made under `key` with `context`.
    async fn decrypt(
        &self,
        key: &KeyArn,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>, Problem>;

    /// DescribeKey.
    async fn describe_key(&self, key: &KeyArn) -> Result<KeyDescription, Problem>;

    /// Whether this provider keeps `key` (an error only when it cannot tell: a token
    /// that does not answer).
    async fn holds(&self, key: &KeyArn) -> Result<bool, Problem>;

    /// Random bytes from the bridge's generator.
    async fn random(&self, len: usize) -> Result<Vec<u8>, Problem>;

    /// How long the CiphertextBlob of a data key of `len` bytes under `key` will be, when
    /// the provider can tell before it is asked: a host then writes the body where it
    /// will be in the message while the provider answers (a wrong or missing answer only
    /// costs moving the body once). The built-in stores tell; a remote proxy (XKS)
    /// cannot, its IV and metadata being the proxy's.
    fn blob_len(&self, _key: &KeyArn, _len: usize) -> Option<usize> {
        None
    }

    /// The keys this provider can list, in order (`envelope::listed_keys`); one that
    /// cannot list its keys lists none.
    fn listed_keys(&self) -> Vec<KeyArn> {
        Vec::new()
    }
}

/// A provider gave fewer random bytes than asked.
pub(crate) fn short_random() -> Problem {
    Problem::new(crate::code::Code::BridgeHsm, "the key provider returned fewer random bytes than asked")
}
