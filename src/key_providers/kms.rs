//! Master keys in Alibaba Cloud KMS: a [`KeyProvider`] that calls the KMS API
//! (`Encrypt` to wrap a data key, `Decrypt` to open one, `DescribeKey`), signed with
//! RPC v1 or V3, over the XKS client's [`Transport`] (natively ureq and rustls, with a
//! KMS instance's CA; in wasm the host's `fetch`). A data key's blob is the
//! CiphertextBlob KMS returns, base64-decoded, as Alibaba's Encryption SDK's format
//! stores it: a message sealed here opens in the SDK's `DefaultDataKeyProvider`
//! against the same KMS, and the reverse. Nothing is retried; a refusal keeps KMS's
//! code and RequestId in its message, and no secret, data key or plaintext is in one.

use super::xks::Transport;
use crate::code::{Code, Problem};
use crate::envelope::{EncryptionContext, KeyArn, KeyDescription, KeyProvider, ProviderId};
use crate::kms_api::{self, client::Client, ApiError};
use crate::platform::os_random;
use base64::Engine as _;
use serde::Deserialize;
use zeroize::Zeroizing;

/// The signature a provider signs its requests with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signature {
    /// `ACS3-HMAC-SHA256`, the OpenAPI's current one.
    #[default]
    V3,
    /// RPC v1 (`HMAC-SHA1`), as older SDKs sign.
    V1,
}

/// Where KMS is and how to call it (the npm package's options; the secret apart).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KmsSettings {
    /// `https://kms.<region>.aliyuncs.com`, a VPC endpoint, a KMS instance's
    /// `https://<instance-id>.cryptoservice.kms.aliyuncs.com` (`http://` only to loopback).
    pub endpoint: String,
    /// The region; every key must be of it.
    pub region: String,
    /// The AccessKey id.
    pub access_key_id: String,
    /// An STS token, sent as `SecurityToken` / `x-acs-security-token`.
    #[serde(default)]
    pub security_token: Option<String>,
    /// The keys, in order (the first seals when none is named); left empty, any key of
    /// the region opens.
    #[serde(default)]
    pub keys: Vec<String>,
    /// `v3` (default) or `v1`.
    #[serde(default)]
    pub signature: Signature,
    /// One request's timeout in ms (5,000 when left out).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// A KMS API client for the envelope.
pub struct KmsKeyProvider {
    client: Client,
    keys: Vec<KeyArn>,
    id: ProviderId,
}

impl std::fmt::Debug for KmsKeyProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsKeyProvider")
            .field("endpoint", &self.client.endpoint())
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

fn setting(message: impl Into<String>) -> Problem {
    Problem::new(Code::Keyring, message)
}

/// Characters of KMS's message a problem quotes, at most.
const MAX_QUOTED: usize = 300;

impl KmsKeyProvider {
    /// A provider of `settings`, signing with `secret`, over `transport`.
    pub fn new(
        settings: KmsSettings,
        secret: Zeroizing<String>,
        transport: Box<dyn Transport>,
    ) -> Result<Self, Problem> {
        let client = Client::new(&settings, secret, transport)?;
        let keys = settings
            .keys
            .iter()
            .enumerate()
            .map(|(i, arn)| {
                let key: KeyArn = arn.parse().map_err(|p: Problem| p.at(format!("/keys/{i}")))?;
                if key.region() != settings.region {
                    return Err(setting(format!("keys/{i}: not a key of {}", settings.region)));
                }
                Ok(key)
            })
            .collect::<Result<Vec<_>, Problem>>()?;
        Ok(KmsKeyProvider { client, keys, id: ProviderId::new() })
    }

    /// One signed call of `action` with `params`; the answer's JSON, or KMS's refusal
    /// as a problem.
    async fn call(&self, action: &str, params: Vec<(String, String)>) -> Result<serde_json::Value, Problem> {
        let (status, body) = self.client.call(kms_api::VERSION, action, params).await?;
        if status == 200 {
            return serde_json::from_slice(&body).map_err(|_| {
                Problem::new(Code::BridgeInvalidResponse, format!("KMS's answer to {action} is not JSON"))
            });
        }
        let error: ApiError = serde_json::from_slice(&body).map_err(|_| {
            Problem::new(Code::BridgeInvalidResponse, format!("KMS answered {action} with HTTP {status} and no error"))
        })?;
        Err(refused(action, status, &error))
    }
}

/// KMS's refusal as a problem: its code mapped to the bridge's, with KMS's code,
/// message (cut) and RequestId in the message.
fn refused(action: &str, status: u16, error: &ApiError) -> Problem {
    // What the server says is quoted cut and without control characters: a hostile
    // endpoint cannot write into the caller's logs.
    let quoted = |text: &str, max: usize| text.chars().filter(|c| !c.is_control()).take(max).collect::<String>();
    if error.code == "InvalidCiphertext" {
        return super::blob::opaque();
    }
    let code = match error.code.as_str() {
        "Forbidden.KeyNotFound" | "Forbidden.AliasNotFound" => Code::BridgeKeyNotFound,
        "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "InvalidAccessKeyId.NotFound"
        | "IllegalTimestamp"
        | "SignatureNonceUsed"
        | "InvalidSecurityToken.Expired" => Code::BridgeAuthenticationFailed,
        "Forbidden.NoPermission" | "Forbidden.RAM" => Code::BridgeAccessDenied,
        "Rejected.Disabled" | "Forbidden.KeyNotEnabled" => Code::BridgeKeyUnusable,
        "Rejected.Throttling" | "Throttling" => Code::BridgeThrottled,
        _ if status >= 500 => Code::BridgeUnavailable,
        _ => Code::BridgeRejected,
    };
    // The server's string to sign follows this marker: the caller's own, no use to show.
    let message = error.message.split(" server string to sign is:").next().unwrap_or_default();
    Problem::new(
        code,
        format!(
            "KMS refused {action}: {} ({}; RequestId {})",
            quoted(&error.code, 64),
            quoted(message, MAX_QUOTED),
            quoted(&error.request_id, 64)
        ),
    )
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn field<'a>(answer: &'a serde_json::Value, name: &str, action: &str) -> Result<&'a str, Problem> {
    answer
        .get(name)
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| Problem::new(Code::BridgeInvalidResponse, format!("KMS's answer to {action} has no {name}")))
}

impl KmsKeyProvider {
    async fn wrap(&self, key: &KeyArn, plaintext: &[u8], context: &EncryptionContext) -> Result<Vec<u8>, Problem> {
        let mut params =
            vec![("KeyId".to_string(), key.key_id().to_string()), ("Plaintext".to_string(), b64(plaintext))];
        if !context.is_empty() {
            params.push(("EncryptionContext".into(), kms_api::context_json(context)));
        }
        let answer = self.call("Encrypt", params).await?;
        base64::engine::general_purpose::STANDARD
            .decode(field(&answer, "CiphertextBlob", "Encrypt")?)
            .map_err(|_| Problem::new(Code::BridgeInvalidResponse, "KMS's CiphertextBlob is not base64"))
    }

    /// The keys it lists (the ARNs given).
    pub fn listed(&self) -> &[KeyArn] {
        &self.keys
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl KeyProvider for KmsKeyProvider {
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

    async fn encrypt(&self, key: &KeyArn, plaintext: &[u8], context: &EncryptionContext) -> Result<Vec<u8>, Problem> {
        self.wrap(key, plaintext, context).await
    }

    async fn decrypt(
        &self,
        key: &KeyArn,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>, Problem> {
        let mut params = vec![("CiphertextBlob".to_string(), b64(blob))];
        if !context.is_empty() {
            params.push(("EncryptionContext".into(), kms_api::context_json(context)));
        }
        let mut answer = self.call("Decrypt", params).await?;
        // A blob names its own key: one that opened under another is not this message's.
        if field(&answer, "KeyId", "Decrypt")? != key.key_id() {
            return Err(super::blob::opaque());
        }
        // The answer's copy of the data key is taken out of it, to be wiped.
        let plaintext = match answer.get_mut("Plaintext").map(serde_json::Value::take) {
            Some(serde_json::Value::String(text)) => Zeroizing::new(text),
            _ => return Err(Problem::new(Code::BridgeInvalidResponse, "KMS's answer to Decrypt has no Plaintext")),
        };
        base64::engine::general_purpose::STANDARD
            .decode(plaintext.as_bytes())
            .map(Zeroizing::new)
            .map_err(|_| Problem::new(Code::BridgeInvalidResponse, "KMS's Decrypt answer is not base64"))
    }

    async fn describe_key(&self, key: &KeyArn) -> Result<KeyDescription, Problem> {
        let answer = self.call("DescribeKey", vec![("KeyId".into(), key.key_id().to_string())]).await?;
        let metadata = answer.get("KeyMetadata").cloned().unwrap_or_default();
        let protection = field(&metadata, "ProtectionLevel", "DescribeKey")?;
        Ok(KeyDescription::master_key(key, protection))
    }

    /// The keys it was given; given none, any key of its region.
    async fn holds(&self, key: &KeyArn) -> Result<bool, Problem> {
        Ok(if self.keys.is_empty() { key.region() == self.client.region() } else { self.keys.contains(key) })
    }

    async fn random(&self, len: usize) -> Result<Vec<u8>, Problem> {
        let mut out = vec![0u8; len];
        os_random(&mut out)?;
        Ok(out)
    }

    fn listed_keys(&self) -> Vec<KeyArn> {
        self.keys.clone()
    }
}
