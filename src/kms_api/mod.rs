//! Alibaba Cloud KMS's OpenAPI (version `2016-01-20`, RPC style) as both sides speak
//! it: the [`signature`]s, the errors of the API ([`ApiError`]: code, HTTP status,
//! message, request id), and the encryption context as the API carries it (a JSON
//! object in a string). The client is [`crate::key_providers::kms`]; the local endpoint
//! `kms-instance serve` is [`crate::kms_server`].

pub mod client;
pub mod signature;

use crate::envelope::EncryptionContext;
use serde::{Deserialize, Serialize};

/// The API version every request names.
pub const VERSION: &str = "2016-01-20";

/// How far a request's time may be from the server's, either way (the OpenAPI's 15 minutes).
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// An error as the API answers it: `{Code, Message, RequestId, HostId}` with an HTTP
/// status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiError {
    /// `Forbidden.KeyNotFound`, `SignatureDoesNotMatch`, …
    pub code: String,
    /// For people; never a secret or a key of the server's. (`SignatureDoesNotMatch`
    /// quotes the string to sign as the SDKs read it: the caller's own parameters.)
    pub message: String,
    /// The request's id.
    #[serde(default)]
    pub request_id: String,
    /// The endpoint's host.
    #[serde(default)]
    pub host_id: String,
    /// The HTTP status (also in the body, as some SDKs read it there).
    #[serde(default)]
    pub http_status: u16,
}

/// The encryption context a request carries: a JSON object of strings, as a string
/// (`{"a":"b"}`); compared as parsed objects, so key order and spacing do not matter.
/// `None` for a parameter that is not one.
pub fn context_of(json: &str) -> Option<EncryptionContext> {
    serde_json::from_str(json).ok()
}

/// The context as a request carries it.
pub fn context_json(context: &EncryptionContext) -> String {
    // A map of strings always serialises.
    serde_json::to_string(context).unwrap_or_default()
}
