//! The remote-proxy bridge: master keys in an HSM behind a proxy that speaks the XKS
//! Proxy API v1 (ENVELOPE.md "The remote proxy"). One implementation for every build;
//! only the [`Transport`] differs: natively HTTPS over rustls ([`native`]), in wasm the
//! host's `fetch`, which leaves TLS to the host.
//!
//! - A data key comes from the platform's random source and is encrypted at the proxy
//!   (`GenerateDataKey`); wrapping it under a second key is `Encrypt`, opening `Decrypt`.
//! - Before a key's first use (and again after [`METADATA_TTL`]) its metadata is asked:
//!   a key that is not `ENABLED` `AES_256` with the usage needed is refused before use.
//! - Every encrypt asks for the SHA-256 integrity value and checks it: an answer that
//!   does not match is not trusted (`Bridge.IntegrityMismatch`).
//! - Every failure is a typed code with the request's `kmsRequestId`; nothing is
//!   retried; the secret, plaintexts and data keys are never in a message.

#[cfg(target_arch = "wasm32")]
pub mod fetch;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;

use super::blob::ProxyBlob;
use crate::code::{Code, Problem};
use crate::envelope::message::TAG_LEN;
use crate::envelope::{
    context_bytes, EncryptionContext, KeyArn, KeyDescription, KeyProvider, MaybeSendSync, ProviderId,
};
use crate::platform::{now, os_random, timestamp, utc_now};
use crate::xks::sigv4::{self, Scope, SignedRequest};
use crate::xks::wire::{self, Base64, ErrorName, RequestMetadata};
use serde::Deserialize;
use std::sync::Mutex;
use std::time::Duration;
use zeroize::Zeroizing;

/// Bytes of an answer the client reads, at most: every answer of the API is far
/// smaller; a longer one is refused (`Bridge.InvalidResponse`).
pub const MAX_ANSWER_BYTES: usize = 64 << 10;

/// How long a key's metadata is trusted before it is asked again.
pub const METADATA_TTL: Duration = Duration::from_secs(300);

/// The SigV4 service name unless configured.
pub const DEFAULT_SERVICE: &str = "kms-xks-proxy";

/// The timeout of one request unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// One HTTP request to the proxy (its body may hold a data key: wiped when dropped,
/// never shown).
pub struct Exchange {
    /// `https://host[:port]/prefix/kms/xks/v1/…`.
    pub url: String,
    /// Every header to send, `host` among them (as signed).
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Zeroizing<Vec<u8>>,
    /// For the whole exchange, connecting included.
    pub timeout: Duration,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("url", &self.url)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

/// The proxy's answer: its status and at most [`MAX_ANSWER_BYTES`] + 1 bytes of body
/// (which may hold a data key: wiped when dropped, never shown).
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body (a transport stops reading past [`MAX_ANSWER_BYTES`]).
    pub body: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

/// How requests reach the proxy.
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait Transport: MaybeSendSync {
    /// POSTs `exchange`; a problem only when no answer came (`Bridge.Unavailable`,
    /// `Bridge.Timeout`, `Bridge.Tls`): an HTTP error status is an answer.
    async fn post(&self, exchange: Exchange) -> Result<Answer, Problem>;
}

/// A key the bridge may use: its ARN and, when it differs from the ARN's key id, its
/// id at the proxy.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ProxyKey {
    /// The ARN; the external key id is its key id.
    Arn(String),
    /// The ARN and the external key id.
    #[serde(rename_all = "camelCase")]
    Mapped {
        /// The key's ARN.
        arn: String,
        /// Its id at the proxy.
        external_key_id: String,
    },
}

/// What the bridge needs to know, as a provider file or the package's options give it
/// (camelCase); the secret is given apart.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct XksSettings {
    /// `https://host[:port]` (`http://` only to a loopback address).
    pub endpoint: String,
    /// The proxy's URI prefix (`/example/prefix`), before `/kms/xks/v1`; may be empty.
    pub uri_prefix: String,
    /// The SigV4 region; the key ARN's region when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// The SigV4 service; [`DEFAULT_SERVICE`] when absent.
    #[serde(default)]
    pub service: Option<String>,
    /// The access key id of the proxy credential.
    pub access_key_id: String,
    /// The caller's principal, sent as `awsPrincipalArn`.
    pub principal: String,
    /// The keys, in order (the first is the one a message is sealed under when no key
    /// is named).
    pub keys: Vec<ProxyKey>,
    /// The timeout of one request in ms; [`DEFAULT_TIMEOUT`] when absent.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

fn config_problem(message: impl Into<String>) -> Problem {
    Problem::new(Code::Keyring, message)
}

/// External key ids (`A-Z a-z 0-9 - . _`) and the prefix (`A-Z a-z 0-9 - _ /`) go
/// into the URL as they are: the specification's characters, none needing encoding.
fn url_safe(text: &str, prefix: bool) -> bool {
    let extra = |b: u8| if prefix { b == b'/' } else { b == b'.' };
    text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') || extra(b))
}

/// The host of an endpoint, as the `host` header carries it (the port included), and
/// whether the endpoint may be plain HTTP (a loopback host).
pub(crate) fn endpoint_host(endpoint: &str) -> Result<String, Problem> {
    let bad = || config_problem("endpoint: expected https://host[:port] (http:// only to a loopback address)");
    let (scheme, authority) = endpoint.split_once("://").ok_or_else(bad)?;
    let well_formed = !authority.is_empty()
        && authority.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !well_formed {
        return Err(bad());
    }
    let host = authority.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()));
    let name = host.map_or(authority, |(name, _)| name);
    // An address, parsed: `127.attacker.example` is a name, not a loopback address.
    let ip = name.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>();
    let loopback = name.eq_ignore_ascii_case("localhost") || ip.is_ok_and(|ip| ip.is_loopback());
    // Host names are case-insensitive, and hosts' fetch sends them lowercase.
    let authority = authority.to_ascii_lowercase();
    let authority = authority.as_str();
    // As a client sends it: without the scheme's default port.
    let sent = |default: &str| authority.strip_suffix(default).unwrap_or(authority).to_string();
    match scheme {
        "https" => Ok(sent(":443")),
        "http" if loopback => Ok(sent(":80")),
        _ => Err(bad()),
    }
}

/// What a key's metadata said, and when.
struct Checked {
    key: KeyArn,
    at: Duration,
    usage: Vec<String>,
}

/// Master keys behind an XKS proxy.
pub struct XksBridge {
    endpoint: String,
    host: String,
    prefix: String,
    region: Option<String>,
    service: String,
    access_key_id: String,
    secret: Zeroizing<String>,
    principal: String,
    keys: Vec<(KeyArn, String)>,
    timeout: Duration,
    transport: Box<dyn Transport>,
    checked: Mutex<Vec<Checked>>,
    id: ProviderId,
}

impl std::fmt::Debug for XksBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XksBridge")
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// The operation a request is for, as `kmsOperation` names it.
#[derive(Debug, Clone, Copy)]
enum Operation {
    GenerateDataKey,
    Encrypt,
    Decrypt,
    DescribeKey,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::GenerateDataKey => "GenerateDataKey",
            Operation::Encrypt => "Encrypt",
            Operation::Decrypt => "Decrypt",
            Operation::DescribeKey => "DescribeKey",
        }
    }

    fn route(self) -> &'static str {
        match self {
            Operation::GenerateDataKey | Operation::Encrypt => "encrypt",
            Operation::Decrypt => "decrypt",
            Operation::DescribeKey => "metadata",
        }
    }
}

/// A random version-4 UUID, for `kmsRequestId`.
fn request_id() -> Result<String, Problem> {
    let mut bytes = [0u8; 16];
    os_random(&mut bytes)?;
    Ok(uuid::Builder::from_random_bytes(bytes).into_uuid().hyphenated().to_string())
}

/// A problem of the request `id`, saying so.
fn with_id(p: Problem, id: &str) -> Problem {
    Problem { message: format!("{} (kmsRequestId {id})", p.message), ..p }
}

/// An error message from the proxy, made safe to show: printable, at most 200 chars.
fn sanitized(message: &str) -> String {
    message.chars().filter(|c| !c.is_control()).take(200).collect()
}

impl XksBridge {
    /// A bridge to the proxy of `settings`, signing with `secret`, over `transport`.
    pub fn new(
        settings: XksSettings,
        secret: Zeroizing<String>,
        transport: Box<dyn Transport>,
    ) -> Result<Self, Problem> {
        let host = endpoint_host(&settings.endpoint)?;
        let prefix = settings.uri_prefix.trim_end_matches('/').to_string();
        if !(prefix.is_empty() || prefix.starts_with('/')) || !url_safe(&prefix, true) {
            return Err(config_problem("uriPrefix: a path such as /example/prefix, of A-Z a-z 0-9 - _ /"));
        }
        if settings.access_key_id.is_empty() || secret.is_empty() || settings.principal.is_empty() {
            return Err(config_problem("accessKeyId, secretAccessKey and principal are required"));
        }
        if settings.keys.is_empty() {
            return Err(config_problem("keys: name at least one key ARN"));
        }
        let mut keys = Vec::with_capacity(settings.keys.len());
        for key in settings.keys {
            let (arn, external) = match key {
                ProxyKey::Arn(arn) => (arn, None),
                ProxyKey::Mapped { arn, external_key_id } => (arn, Some(external_key_id)),
            };
            let arn: KeyArn = arn.parse()?;
            let external = external.unwrap_or_else(|| arn.key_id().to_string());
            if external.is_empty() || external.len() > 128 || !url_safe(&external, false) {
                return Err(config_problem(format!(
                    "keys: the external key id of {arn} must be 1 to 128 of A-Z a-z 0-9 - . _"
                )));
            }
            if keys.iter().any(|(a, _)| *a == arn) {
                return Err(config_problem(format!("keys: {arn} is named twice")));
            }
            keys.push((arn, external));
        }
        let timeout = settings.timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        if timeout.is_zero() || timeout > Duration::from_secs(300) {
            return Err(config_problem("timeoutMs: 1 ms to 300,000 ms"));
        }
        Ok(XksBridge {
            endpoint: settings.endpoint,
            host,
            prefix,
            region: settings.region,
            service: settings.service.unwrap_or_else(|| DEFAULT_SERVICE.to_string()),
            access_key_id: settings.access_key_id,
            secret,
            principal: settings.principal,
            keys,
            timeout,
            transport,
            checked: Mutex::new(Vec::new()),
            id: ProviderId::new(),
        })
    }

    fn external_id(&self, key: &KeyArn) -> Result<&str, Problem> {
        self.keys.iter().find(|(a, _)| a == key).map(|(_, id)| id.as_str()).ok_or_else(|| {
            Problem::new(Code::BridgeKeyNotFound, format!("the proxy bridge is not configured for {key}"))
        })
    }

    fn metadata(&self, key: &KeyArn, operation: Operation, id: &str) -> RequestMetadata {
        RequestMetadata {
            aws_principal_arn: Some(self.principal.clone()),
            kms_key_arn: Some(key.to_string()),
            kms_operation: operation.as_str().to_string(),
            kms_request_id: id.to_string(),
        }
    }

    /// Signs and sends one request; the answer's body on 200, the proxy's error as a
    /// typed problem otherwise. Every problem names the request id.
    async fn call(
        &self,
        key: &KeyArn,
        operation: Operation,
        id: &str,
        body: Vec<u8>,
    ) -> Result<Zeroizing<Vec<u8>>, Problem> {
        let tagged = |p: Problem| with_id(p, id);
        let path = format!("{}{}/keys/{}/{}", self.prefix, wire::API_PATH, self.external_id(key)?, operation.route());
        let signed_at = utc_now()
            .ok_or_else(|| Problem::new(Code::BridgeUnavailable, "the platform's clock is off the calendar"))?;
        let amz_date = timestamp(signed_at, false);
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("host".to_string(), self.host.clone()),
            ("x-amz-date".to_string(), amz_date.clone()),
        ];
        let scope = Scope { region: self.region.as_deref().unwrap_or(key.region()), service: &self.service };
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let request = SignedRequest { method: "POST", path: &path, query: "", headers: &pairs, payload: &body };
        let authorization =
            sigv4::authorization(&request, &self.access_key_id, self.secret.as_bytes(), scope, &amz_date);
        headers.push(("authorization".to_string(), authorization));
        let exchange =
            Exchange { url: format!("{}{path}", self.endpoint), headers, body: body.into(), timeout: self.timeout };
        let answer = self.transport.post(exchange).await.map_err(tagged)?;
        if answer.body.len() > MAX_ANSWER_BYTES {
            return Err(tagged(Problem::new(
                Code::BridgeInvalidResponse,
                format!("the proxy's answer is larger than {MAX_ANSWER_BYTES} bytes"),
            )));
        }
        if answer.status == 200 {
            return Ok(answer.body);
        }
        let error = serde_json::from_slice::<wire::ErrorResponse>(&answer.body).ok();
        let named = error.as_ref().and_then(|e| e.error_name.parse::<ErrorName>().ok().map(|n| (n, e)));
        Err(tagged(match named {
            Some((name, error)) => {
                let said = error.error_message.as_deref().map(sanitized).unwrap_or_default();
                Problem::new(name.code(), format!("the proxy answered {} ({}): {said}", name.as_str(), answer.status))
            }
            None if answer.status >= 500 => Problem::new(
                Code::BridgeUnavailable,
                format!("the proxy answered HTTP {} without an API error", answer.status),
            ),
            None => Problem::new(
                Code::BridgeInvalidResponse,
                format!("the proxy answered HTTP {} without an API error", answer.status),
            ),
        }))
    }

    /// Refuses a key that is not `ENABLED` `AES_256` with `usage`, asking the proxy
    /// when its metadata is unknown or older than [`METADATA_TTL`].
    async fn check_usable(&self, key: &KeyArn, usage: &str) -> Result<(), Problem> {
        let known = {
            let checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = |c: &&Checked| c.key == *key && now().saturating_sub(c.at) < METADATA_TTL;
            checked.iter().find(fresh).map(|c| c.usage.iter().any(|u| u == usage))
        };
        let allowed = match known {
            Some(allowed) => allowed,
            None => {
                let (usable, usage_list) = self.describe(key).await?;
                usable?;
                let allowed = usage_list.iter().any(|u| u == usage);
                let mut checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
                checked.retain(|c| c.key != *key);
                checked.push(Checked { key: key.clone(), at: now(), usage: usage_list });
                allowed
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(Problem::new(Code::BridgeKeyUnusable, format!("{key} at the proxy does not allow {usage}")))
        }
    }

    /// The key's metadata: whether it is an enabled AES-256 key, and its usages.
    async fn describe(&self, key: &KeyArn) -> Result<(Result<(), Problem>, Vec<String>), Problem> {
        let id = request_id()?;
        let body = serde_json::to_vec(&wire::MetadataRequest {
            request_metadata: self.metadata(key, Operation::DescribeKey, &id),
        })
        .map_err(|_| Problem::new(Code::Encoding, "the metadata request could not be written"))?;
        let answer = self.call(key, Operation::DescribeKey, &id, body).await?;
        let meta: wire::MetadataResponse = wire::read_answer(&answer, "metadata").map_err(|p| with_id(p, &id))?;
        let usable = if meta.key_status != "ENABLED" {
            Err(Problem::new(Code::BridgeKeyUnusable, format!("{key} is {} at the proxy", sanitized(&meta.key_status))))
        } else if meta.key_spec != "AES_256" {
            Err(Problem::new(Code::BridgeKeyUnusable, format!("{key} is not an AES_256 key at the proxy")))
        } else {
            Ok(())
        };
        Ok((usable, meta.key_usage))
    }

    async fn wrap(
        &self,
        key: &KeyArn,
        operation: Operation,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, Problem> {
        let aad = proxy_aad(context)?;
        self.check_usable(key, "ENCRYPT").await?;
        let id = request_id()?;
        let body = serde_json::to_vec(&wire::EncryptRequest {
            request_metadata: self.metadata(key, operation, &id),
            plaintext: Base64::from(plaintext.to_vec()),
            encryption_algorithm: wire::AES_GCM.into(),
            additional_authenticated_data: (!aad.is_empty()).then(|| Base64::from(aad.clone())),
            ciphertext_data_integrity_value_algorithm: Some(wire::SHA_256.into()),
        })
        .map_err(|_| Problem::new(Code::Encoding, "the encrypt request could not be written"))?;
        let answer = self.call(key, operation, &id, body).await?;
        let bad = |what: &str| {
            Problem::new(Code::BridgeInvalidResponse, format!("the proxy's encrypt answer {what} (kmsRequestId {id})"))
        };
        let sealed: wire::EncryptResponse = wire::read_answer(&answer, "encrypt").map_err(|p| with_id(p, &id))?;
        let tag: &[u8; TAG_LEN] =
            sealed.authentication_tag.0.as_slice().try_into().map_err(|_| bad("has a tag that is not 16 bytes"))?;
        let metadata = sealed.ciphertext_metadata.as_ref().map_or(&[][..], |m| m.0.as_slice());
        let blob = ProxyBlob {
            key_id: key.key_id(),
            iv: &sealed.initialization_vector.0,
            metadata,
            ciphertext: &sealed.ciphertext.0,
            tag,
        };
        if sealed.ciphertext.0.len() != plaintext.len() {
            return Err(bad("has a ciphertext that is not as long as the plaintext"));
        }
        let expected = wire::integrity_value(&aad, metadata, blob.iv, blob.ciphertext, tag);
        match &sealed.ciphertext_data_integrity_value {
            Some(value) if value.0.as_slice() == expected => {}
            _ => {
                return Err(Problem::new(
                    Code::BridgeIntegrity,
                    format!(
                        "the proxy's integrity value does not match its ciphertext: not trusted (kmsRequestId {id})"
                    ),
                ))
            }
        }
        blob.encode().map_err(|_| bad("has an IV or metadata the blob cannot hold (IV 12 or 16 bytes, metadata ≤ 20)"))
    }
}

/// The AAD a proxy is given: the context bytes, refused past what every proxy takes.
fn proxy_aad(context: &EncryptionContext) -> Result<Vec<u8>, Problem> {
    let aad = context_bytes(context);
    if aad.len() > wire::MAX_AAD {
        return Err(Problem::new(
            Code::EncryptionContext,
            format!("a context bound to a proxy key is at most {} bytes when serialised", wire::MAX_AAD),
        ));
    }
    Ok(aad)
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl KeyProvider for XksBridge {
    fn id(&self) -> ProviderId {
        self.id
    }

    async fn wrap_new_data_key(
        &self,
        key: &KeyArn,
        data_key: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, Problem> {
        self.wrap(key, Operation::GenerateDataKey, data_key, context).await
    }

    async fn encrypt(&self, key: &KeyArn, plaintext: &[u8], context: &EncryptionContext) -> Result<Vec<u8>, Problem> {
        self.wrap(key, Operation::Encrypt, plaintext, context).await
    }

    async fn decrypt(
        &self,
        key: &KeyArn,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>, Problem> {
        let blob = ProxyBlob::decode(blob)?;
        if blob.key_id != key.key_id() {
            return Err(super::blob::opaque());
        }
        let aad = proxy_aad(context)?;
        self.check_usable(key, "DECRYPT").await?;
        let id = request_id()?;
        let body = serde_json::to_vec(&wire::DecryptRequest {
            request_metadata: self.metadata(key, Operation::Decrypt, &id),
            encryption_algorithm: wire::AES_GCM.into(),
            ciphertext: Base64::from(blob.ciphertext.to_vec()),
            initialization_vector: Base64::from(blob.iv.to_vec()),
            authentication_tag: Base64::from(blob.tag.to_vec()),
            ciphertext_metadata: (!blob.metadata.is_empty()).then(|| Base64::from(blob.metadata.to_vec())),
            additional_authenticated_data: (!aad.is_empty()).then_some(Base64::from(aad)),
        })
        .map_err(|_| Problem::new(Code::Encoding, "the decrypt request could not be written"))?;
        let answer = self.call(key, Operation::Decrypt, &id, body).await?;
        let opened: wire::DecryptResponse = wire::read_answer(&answer, "decrypt").map_err(|p| with_id(p, &id))?;
        let plaintext = opened.plaintext.0;
        if plaintext.len() != blob.ciphertext.len() {
            return Err(Problem::new(
                Code::BridgeInvalidResponse,
                format!("the proxy's decrypt answer is not as long as the ciphertext (kmsRequestId {id})"),
            ));
        }
        Ok(plaintext)
    }

    async fn describe_key(&self, key: &KeyArn) -> Result<KeyDescription, Problem> {
        self.external_id(key)?;
        let (usable, _) = self.describe(key).await?;
        usable?;
        Ok(KeyDescription::master_key(key, "HSM"))
    }

    async fn holds(&self, key: &KeyArn) -> Result<bool, Problem> {
        Ok(self.keys.iter().any(|(a, _)| a == key))
    }

    async fn random(&self, len: usize) -> Result<Vec<u8>, Problem> {
        let mut out = vec![0u8; len];
        os_random(&mut out)?;
        Ok(out)
    }

    fn listed_keys(&self) -> Vec<KeyArn> {
        self.keys.iter().map(|(a, _)| a.clone()).collect()
    }
}
