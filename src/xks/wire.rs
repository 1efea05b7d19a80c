//! The XKS Proxy API v1 on the wire: the routes, the JSON bodies (binary fields in
//! standard base64), the errors and the integrity value. The client writes what the
//! server reads with the same types, so the two cannot drift apart.
//!
//! Unknown fields are ignored when read, as the specification asks of a proxy (and a
//! client does the same with answers).

use crate::code::{Code, Problem};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The API's path under a proxy's URI prefix.
pub const API_PATH: &str = "/kms/xks/v1";

/// The one encryption algorithm of the API.
pub const AES_GCM: &str = "AES_GCM";

/// The one integrity-value algorithm of the API.
pub const SHA_256: &str = "SHA_256";

/// Bytes of AAD every proxy accepts, at most (the specification's minimum of the maxima).
pub const MAX_AAD: usize = 8192;

/// Bytes of plaintext (and of ciphertext) every proxy accepts, at most.
pub const MAX_PLAINTEXT: usize = 4300;

/// Bytes of an integrity value: a SHA-256.
pub const INTEGRITY_LEN: usize = 32;

/// Binary data, in standard base64 on the wire; wiped when dropped (it may be a data
/// key in plaintext).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Base64(pub Zeroizing<Vec<u8>>);

impl From<Vec<u8>> for Base64 {
    fn from(bytes: Vec<u8>) -> Self {
        Base64(Zeroizing::new(bytes))
    }
}

impl std::fmt::Debug for Base64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

impl Serialize for Base64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map(Base64::from).map_err(|_| serde::de::Error::custom("not standard base64"))
    }
}

/// Who asks, for what, in every request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestMetadata {
    /// The caller's principal (required for key operations; absent from health).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_principal_arn: Option<String>,
    /// The KMS key's ARN (required for encrypt and decrypt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    /// `GenerateDataKey`, `Encrypt`, `Decrypt`, `DescribeKey`, … (any value is accepted).
    pub kms_operation: String,
    /// A fresh id per request, for the logs of both ends.
    pub kms_request_id: String,
}

/// `POST …/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthRequest {
    /// `kmsRequestId` and `kmsOperation`.
    pub request_metadata: RequestMetadata,
}

/// One HSM behind the proxy, as health reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EkmFleetDetail {
    /// The HSM's id.
    pub id: String,
    /// Its model.
    pub model: String,
    /// `ACTIVE`, `DEGRADED` or `UNAVAILABLE`.
    pub health_status: String,
}

/// The answer to health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthResponse {
    /// Proxies serving this endpoint.
    pub xks_proxy_fleet_size: u32,
    /// Who made the proxy.
    pub xks_proxy_vendor: String,
    /// Its model or version.
    pub xks_proxy_model: String,
    /// Who made the HSM.
    pub ekm_vendor: String,
    /// Every HSM behind the proxy.
    pub ekm_fleet_details: Vec<EkmFleetDetail>,
}

/// `POST …/keys/{id}/metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataRequest {
    /// `awsPrincipalArn`, `kmsOperation`, `kmsRequestId` (and `kmsKeyArn` when known).
    pub request_metadata: RequestMetadata,
}

/// The answer to metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataResponse {
    /// `AES_256` for the keys an envelope can use.
    pub key_spec: String,
    /// `ENCRYPT`, `DECRYPT` (and others an envelope does not use).
    pub key_usage: Vec<String>,
    /// `ENABLED` or `DISABLED`.
    pub key_status: String,
}

/// `POST …/keys/{id}/encrypt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptRequest {
    /// Who asks.
    pub request_metadata: RequestMetadata,
    /// Up to [`MAX_PLAINTEXT`] bytes.
    pub plaintext: Base64,
    /// [`AES_GCM`].
    pub encryption_algorithm: String,
    /// Bound to the ciphertext; absent when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_authenticated_data: Option<Base64>,
    /// [`SHA_256`] to have the proxy return an integrity value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext_data_integrity_value_algorithm: Option<String>,
}

/// The answer to encrypt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptResponse {
    /// The GCM tag (16 bytes).
    pub authentication_tag: Base64,
    /// The ciphertext, as long as the plaintext.
    pub ciphertext: Base64,
    /// The IV the proxy chose (12 or 16 bytes).
    pub initialization_vector: Base64,
    /// What the proxy wants back at decrypt (0 to 20 bytes); bound to the ciphertext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext_metadata: Option<Base64>,
    /// [`integrity_value`] when it was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext_data_integrity_value: Option<Base64>,
}

/// `POST …/keys/{id}/decrypt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecryptRequest {
    /// Who asks.
    pub request_metadata: RequestMetadata,
    /// [`AES_GCM`].
    pub encryption_algorithm: String,
    /// What encrypt returned.
    pub ciphertext: Base64,
    /// What encrypt returned.
    pub initialization_vector: Base64,
    /// What encrypt returned.
    pub authentication_tag: Base64,
    /// What encrypt returned, when it returned any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext_metadata: Option<Base64>,
    /// What encrypt was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_authenticated_data: Option<Base64>,
}

/// The answer to decrypt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecryptResponse {
    /// The plaintext.
    pub plaintext: Base64,
}

/// Every failure's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    /// One of [`ErrorName`]'s.
    pub error_name: String,
    /// For people; may be absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

macro_rules! error_names {
    ($($name:ident = $text:literal, $status:literal, $code:expr;)*) => {
        /// The errors of the specification, each with its HTTP status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorName { $(#[doc = concat!("`", $text, "` (", $status, ")")] $name,)* }

        impl ErrorName {
            /// Every error of the specification.
            pub const ALL: &'static [ErrorName] = &[$(ErrorName::$name,)*];

            /// The name on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorName::$name => $text,)* }
            }

            /// The HTTP status the specification gives it.
            pub fn status(self) -> u16 {
                match self { $(ErrorName::$name => $status,)* }
            }

            /// The client's code for it.
            pub fn code(self) -> Code {
                match self { $(ErrorName::$name => $code,)* }
            }
        }
    };
}

error_names! {
    Validation = "ValidationException", 400, Code::BridgeRejected;
    InvalidState = "InvalidStateException", 400, Code::BridgeKeyUnusable;
    InvalidCiphertext = "InvalidCiphertextException", 400, Code::InvalidCiphertext;
    InvalidKeyUsage = "InvalidKeyUsageException", 400, Code::BridgeKeyUnusable;
    AuthenticationFailed = "AuthenticationFailedException", 401, Code::BridgeAuthenticationFailed;
    AccessDenied = "AccessDeniedException", 403, Code::BridgeAccessDenied;
    KeyNotFound = "KeyNotFoundException", 404, Code::BridgeKeyNotFound;
    InvalidUriPath = "InvalidUriPathException", 404, Code::BridgeRejected;
    Throttling = "ThrottlingException", 429, Code::BridgeThrottled;
    Internal = "InternalException", 500, Code::BridgeHsm;
    UnsupportedOperation = "UnsupportedOperationException", 501, Code::BridgeRejected;
    DependencyTimeout = "DependencyTimeoutException", 503, Code::BridgeDependencyTimeout;
}

impl std::str::FromStr for ErrorName {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        ErrorName::ALL.iter().copied().find(|e| e.as_str() == s).ok_or(())
    }
}

/// The ciphertext's integrity value (the specification's Appendix C):
/// SHA-256(AAD ‖ ciphertextMetadata ‖ IV ‖ ciphertext ‖ tag).
pub fn integrity_value(aad: &[u8], metadata: &[u8], iv: &[u8], ciphertext: &[u8], tag: &[u8]) -> [u8; INTEGRITY_LEN] {
    let mut hash = Sha256::new();
    for part in [aad, metadata, iv, ciphertext, tag] {
        hash.update(part);
    }
    hash.finalize().into()
}

/// An answer's JSON, read: `Bridge.InvalidResponse` (naming what was wrong, never the
/// body) when it is not what the route returns.
pub fn read_answer<'a, T: Deserialize<'a>>(body: &'a [u8], route: &str) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        Problem::new(
            Code::BridgeInvalidResponse,
            format!("the proxy's {route} answer is not the API's (at {at}: {})", category(e.inner())),
        )
    })
}

/// What kind of JSON error it was, without quoting the input.
fn category(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io | Category::Eof => "cut short",
        Category::Syntax => "not JSON",
        Category::Data => "a field is missing or of the wrong type",
    }
}

/// The AAD a proxy gives its HSM (the specification's "ciphertextMetadata"): both
/// lengths included, so metadata passed as AAD (or the reverse) does not open.
/// `None` past [`MAX_AAD`] or 255 bytes of metadata.
pub fn hsm_aad(aad: &[u8], metadata: &[u8]) -> Option<Vec<u8>> {
    let aad_len = u16::try_from(aad.len()).ok().filter(|_| aad.len() <= MAX_AAD)?;
    let metadata_len = u8::try_from(metadata.len()).ok()?;
    let mut out = Vec::with_capacity(aad.len().saturating_add(metadata.len()).saturating_add(3));
    out.extend_from_slice(&aad_len.to_be_bytes());
    out.extend_from_slice(aad);
    out.push(metadata_len);
    out.extend_from_slice(metadata);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> Vec<u8> {
        STANDARD.decode(text).unwrap()
    }

    /// The specification's Appendix C example, from its Encrypt request and response.
    #[test]
    fn integrity_value_of_the_specification_example() {
        let value = integrity_value(
            &b64("cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n"),
            &b64("a2V5X3ZlcnNpb249MQ=="),
            &b64("HMrlRw85cAJUd5Ax"),
            &b64("ghxkK1txeDNn3q8Y"),
            &b64("vBxN2ncH1oEkR8WVXpmyYQ=="),
        );
        assert_eq!(hex::encode(value), "a8703f2260bd8791ec2d15ea0b23e65a0631eedcf2a13a65cc82db3f47cf5ec7");
        assert_eq!(STANDARD.encode(value), "qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=");
    }

    #[test]
    fn hsm_aad_carries_both_lengths() {
        assert_eq!(hsm_aad(b"", b"").unwrap(), [0, 0, 0]);
        assert_eq!(hsm_aad(b"ab", b"m").unwrap(), [0, 2, b'a', b'b', 1, b'm']);
        assert_ne!(hsm_aad(b"", b"m"), hsm_aad(b"m", b""));
        assert!(hsm_aad(&[0; MAX_AAD + 1], b"").is_none());
    }

    #[test]
    fn error_names_round_trip_with_the_specification_statuses() {
        assert_eq!(ErrorName::ALL.len(), 12);
        for name in ErrorName::ALL {
            assert_eq!(name.as_str().parse::<ErrorName>(), Ok(*name));
        }
        assert_eq!(ErrorName::DependencyTimeout.status(), 503);
        assert_eq!(ErrorName::InvalidUriPath.status(), 404);
    }
}
