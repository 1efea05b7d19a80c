//! Where a key's material is kept when it is not in the store, by its instance's type
//! (seed 004): a hardware instance's keys on its PKCS#11 token (labelled with the key
//! id, sensitive, never extractable), an external instance's behind its XKS proxy. Both
//! are reached through the providers the envelope uses, so a CiphertextBlob they make
//! is the one ENVELOPE.md describes: version 1 for a token, version 2 for a proxy.

use crate::code::{Code, Problem};
use crate::envelope::{EncryptionContext, KeyArn, KeyProvider};
use crate::key_providers::xks::XksBridge;
use zeroize::Zeroizing;

/// `ProtectionLevel` and `Origin` of a key whose material is in the store.
pub const IN_THE_STORE: (&str, &str) = ("SOFTWARE", "Aliyun_KMS");

/// The keeper of an instance's keys.
pub enum Keeper {
    /// A hardware instance's token.
    #[cfg(feature = "pkcs11")]
    Token(crate::key_providers::pkcs11::Pkcs11KeyProvider),
    /// An external instance's proxy.
    Proxy(XksBridge),
}

/// Runs a provider's call to its end from the endpoint's synchronous handler, the
/// worker marked [`super::blocking`]: both transports (PKCS#11's C calls, ureq) do their
/// work synchronously inside the call, so no runtime is needed to drive it.
fn wait<T>(call: impl std::future::Future<Output = Result<T, Problem>>) -> Result<T, Problem> {
    super::blocking(|| pollster::block_on(call))
}

impl Keeper {
    fn provider(&self) -> &dyn KeyProvider {
        match self {
            #[cfg(feature = "pkcs11")]
            Keeper::Token(token) => token,
            Keeper::Proxy(proxy) => proxy,
        }
    }

    /// `ProtectionLevel` and `Origin` of a key kept by `keeper`, or in the store (`None`),
    /// as DescribeKey says them.
    pub fn kind_of(keeper: Option<&Keeper>) -> (&'static str, &'static str) {
        keeper.map_or(IN_THE_STORE, Keeper::kind)
    }

    /// `ProtectionLevel` and `Origin`, as DescribeKey says them.
    pub fn kind(&self) -> (&'static str, &'static str) {
        match self {
            #[cfg(feature = "pkcs11")]
            Keeper::Token(_) => ("HSM", "Aliyun_KMS"),
            Keeper::Proxy(_) => ("HSM", "EXTERNAL"),
        }
    }

    /// Makes the key `arn` where this keeper keeps keys, unless it is there: a new
    /// AES-256 key on a token; a proxy's keys are made at the proxy, so one it is not
    /// configured for is refused.
    pub fn make(&self, arn: &KeyArn) -> Result<(), Problem> {
        match self {
            #[cfg(feature = "pkcs11")]
            Keeper::Token(token) => super::blocking(|| match token.store().has_label(arn.key_id())? {
                true => wait(token.describe_key(arn)).map(drop),
                false => token.generate_master_key(arn),
            }),
            Keeper::Proxy(proxy) => match proxy.listed_keys().contains(arn) {
                true => Ok(()),
                false => Err(Problem::new(
                    Code::BridgeKeyNotFound,
                    format!("the instance's proxy file does not name {arn}: an external key is made at the proxy"),
                )),
            },
        }
    }

    /// A CiphertextBlob of `plaintext` under `arn`, `context` bound.
    pub fn seal(&self, arn: &KeyArn, plaintext: &[u8], context: &EncryptionContext) -> Result<Vec<u8>, Problem> {
        wait(self.provider().encrypt(arn, plaintext, context))
    }

    /// A CiphertextBlob of `arn` opened; `InvalidCiphertext` when it does not open.
    pub fn open(&self, arn: &KeyArn, blob: &[u8], context: &EncryptionContext) -> Result<Zeroizing<Vec<u8>>, Problem> {
        wait(self.provider().decrypt(arn, blob, context))
    }
}
