//! One request, from its route to its answer: the route under a prefix, the SigV4
//! check, the body's validation, the key's usages, the operation on the token, and the
//! access-log line. Free of HTTP plumbing (that is `server`), so every answer the
//! specification defines is decided here.

use super::config::{Config, Key, Prefix, Usage};
use crate::code::{Code, Problem};
use crate::key_providers::pkcs11::KeyFacts;
use crate::key_providers::pkcs11::Pkcs11KeyProvider;
use crate::rules::model::audit::{mask_credential, AuditRecord, Level};
use crate::xks::sigv4::{Authorization, SignedRequest};
use crate::xks::wire::{self, Base64, ErrorName};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::Semaphore;

/// Clock skew a signature's `x-amz-date` may have, either way.
pub const MAX_SKEW: Duration = Duration::from_secs(300);

/// Bytes of IV the proxy's encryptions use.
const IV_BYTES: usize = 12;

pub use crate::serving::{Answer, Handled};

/// A refusal: the specification's error and a message for people (no secret, no
/// key material).
struct Refusal {
    name: ErrorName,
    message: String,
    /// What the proxy's operator should know and the caller should not (the token's
    /// own words): written to standard error beside the access-log line.
    detail: Option<String>,
}

impl Refusal {
    fn new(name: ErrorName, message: impl Into<String>) -> Self {
        Refusal { name, message: message.into(), detail: None }
    }

    fn validation(message: impl Into<String>) -> Self {
        Refusal::new(ErrorName::Validation, message)
    }

    fn from_token(problem: &Problem) -> Self {
        let name = match problem.code {
            Code::BridgeKeyNotFound => ErrorName::KeyNotFound,
            Code::InvalidCiphertext => ErrorName::InvalidCiphertext,
            Code::BridgeUnavailable | Code::BridgeTimeout => ErrorName::DependencyTimeout,
            Code::BridgeKeyUnusable => ErrorName::InvalidKeyUsage,
            _ => ErrorName::Internal,
        };
        // The token's own words (a label, a return value) stay in the proxy.
        let said = match name {
            ErrorName::KeyNotFound => "the key is not on the HSM",
            ErrorName::InvalidCiphertext => "the ciphertext, IV, tag, AAD or metadata do not open",
            ErrorName::DependencyTimeout => "the HSM is not answering",
            ErrorName::InvalidKeyUsage => "the HSM does not allow this operation with the key",
            _ => "the HSM failed",
        };
        Refusal { name, message: said.into(), detail: Some(problem.message.clone()) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Health,
    Metadata,
    Encrypt,
    Decrypt,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Health => "GetHealthStatus",
            Operation::Metadata => "GetKeyMetadata",
            Operation::Encrypt => "Encrypt",
            Operation::Decrypt => "Decrypt",
        }
    }
}

/// What the access log says of a request.
#[derive(Default)]
struct Logged {
    operation: Option<Operation>,
    key: Option<String>,
    access_key_id: Option<String>,
    principal: Option<String>,
    request_id: Option<String>,
}

impl Logged {
    /// The request id and the principal, from the body's `requestMetadata`.
    fn note(&mut self, meta: &wire::RequestMetadata) {
        self.request_id = Some(meta.kms_request_id.clone());
        self.principal.clone_from(&meta.aws_principal_arn);
    }
}

/// The token's state as the last deep check found it.
struct Health {
    at: Instant,
    status: &'static str,
}

/// The proxy: configuration, token, the bounds on operations.
pub struct Proxy {
    config: Config,
    token: Arc<Pkcs11KeyProvider>,
    /// Operations admitted (running or waiting): past it, `ThrottlingException`.
    operations: Arc<Semaphore>,
    /// Operations running on the token at once: a few per core. The token's work is
    /// CPU (or a round trip to an HSM) on a blocking thread; more threads than that only
    /// share the cores unfairly, and the waiters queue in order here instead.
    workers: Arc<Semaphore>,
    health: Mutex<Option<Health>>,
    model: String,
    /// What the token said of each configured key, and when (see [`FACTS_FOR`]).
    facts: Mutex<HashMap<String, (Instant, KeyFacts)>>,
}

/// How long what the token said of a key (type, length, allowed operations) is taken as
/// still true. The token enforces its own attributes on every operation whatever this
/// says; reading them again for each request cost a second token session per request,
/// two thirds of the throughput at 64 connections (docs/performance/xks-load.md). A
/// refusal by the token (no such key, a use it does not allow) forgets them at once.
const FACTS_FOR: Duration = Duration::from_secs(5);

fn json<T: serde::Serialize>(status: u16, value: &T) -> Answer {
    // The API's bodies are plain structs of strings and numbers: serialising cannot fail.
    Answer { status, body: serde_json::to_vec(value).unwrap_or_default() }
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Refusal> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        // The path names the field; serde's message may quote the value, which could be
        // a plaintext: not repeated. A missing field is named (serde quotes its name only).
        let inner = e.inner();
        if inner.classify() != serde_json::error::Category::Data {
            return Refusal::validation(format!(
                "the body is not JSON (line {}, column {})",
                inner.line(),
                inner.column()
            ));
        }
        let at = e.path().to_string();
        let missing =
            inner.to_string().strip_prefix("missing field `").and_then(|m| m.split('`').next().map(String::from));
        Refusal::validation(match (missing, at.as_str()) {
            (Some(field), ".") => format!("{field} is required"),
            (Some(field), _) => format!("{at}.{field} is required"),
            (None, ".") => "the body is not an object of the request's fields".to_string(),
            (None, _) => format!("{at}: mistyped or not standard base64"),
        })
    })
}

/// What `key` may do: the operations the token allows, narrowed by the configuration.
fn usages(key: &Key, facts: &KeyFacts) -> Vec<Usage> {
    let on_token = |u: &Usage| match u {
        Usage::Encrypt => facts.encrypt,
        Usage::Decrypt => facts.decrypt,
    };
    key.usage.iter().copied().filter(on_token).collect()
}

fn required(value: &Option<String>, field: &str) -> Result<(), Refusal> {
    match value {
        Some(v) if !v.is_empty() => Ok(()),
        _ => Err(Refusal::validation(format!("requestMetadata.{field} is required"))),
    }
}

fn algorithm(value: &str) -> Result<(), Refusal> {
    if value == wire::AES_GCM {
        Ok(())
    } else {
        Err(Refusal::validation("encryptionAlgorithm must be AES_GCM"))
    }
}

/// Over the sizes every proxy must take: the specification's answer is 501.
fn at_most(bytes: &Base64, limit: usize, field: &str) -> Result<(), Refusal> {
    if bytes.0.len() > limit {
        return Err(Refusal::new(ErrorName::UnsupportedOperation, format!("{field} is over {limit} bytes")));
    }
    Ok(())
}

fn parse_amz_date(text: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(text, format).ok().map(time::PrimitiveDateTime::assume_utc)
}

#[async_trait::async_trait]
impl crate::serving::Service for Proxy {
    const NAME: &'static str = "xks-proxy";

    fn tls(&self) -> Option<&crate::serving::Tls> {
        self.config.tls.as_ref()
    }

    fn bounds(&self) -> crate::serving::Bounds {
        let limits = &self.config.limits;
        crate::serving::Bounds {
            max_body_bytes: limits.max_body_bytes,
            header_timeout_ms: limits.header_timeout_ms,
            max_connections: limits.max_connections,
            shutdown_grace_ms: limits.shutdown_grace_ms,
        }
    }

    async fn handle(&self, request: &SignedRequest<'_>) -> Handled {
        Proxy::handle(self, request).await
    }

    fn unread(&self, path: &str, too_large: Option<usize>) -> Handled {
        Proxy::unread(self, path, too_large)
    }
}

impl Proxy {
    /// The proxy of `config` over an opened token.
    pub fn new(config: Config, token: Pkcs11KeyProvider) -> Self {
        let model = token.store().token().map(|(_, m)| m).unwrap_or_default();
        Proxy {
            operations: Arc::new(Semaphore::new(config.limits.max_concurrent_operations)),
            workers: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()).saturating_mul(2),
            )),
            config,
            token: Arc::new(token),
            health: Mutex::new(None),
            model,
            facts: Mutex::default(),
        }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Answers `request`, with its access-log line.
    pub async fn handle(&self, request: &SignedRequest<'_>) -> Handled {
        let started = Instant::now();
        let mut logged = Logged::default();
        let result = self.answer(request, &mut logged).await;
        Self::finish(started, logged, result)
    }

    /// The answer to a request whose body was not read: too large (`limit` bytes at
    /// most), or too slow to arrive.
    pub fn unread(&self, path: &str, too_large: Option<usize>) -> Handled {
        let mut logged = Logged::default();
        if let Ok((_, operation, key)) = self.route(path) {
            (logged.operation, logged.key) = (Some(operation), key.map(str::to_string));
        }
        let message = match too_large {
            Some(limit) => format!("the body is larger than {limit} bytes"),
            None => "the body did not arrive in time".to_string(),
        };
        Self::finish(Instant::now(), logged, Err(Refusal::validation(message)))
    }

    fn finish(started: Instant, logged: Logged, result: Result<Answer, Refusal>) -> Handled {
        let (answer, result, detail) = match result {
            Ok(answer) => {
                let result = if answer.status == 405 { "MethodNotAllowed" } else { "Success" };
                (answer, result.to_string(), None)
            }
            Err(Refusal { name, message, detail }) => {
                // The specification: under 512 characters, printable ASCII only.
                let message: String = message.chars().filter(|c| matches!(c, ' '..='~')).take(511).collect();
                let body = wire::ErrorResponse { error_name: name.as_str().into(), error_message: Some(message) };
                (json(name.status(), &body), name.as_str().to_string(), detail)
            }
        };
        let record = AuditRecord {
            time: OffsetDateTime::now_utc(),
            level: if answer.status == 200 { Level::Info } else { Level::Error },
            request_id: logged.request_id.unwrap_or_default(),
            action: logged.operation.map_or("-", Operation::name).to_string(),
            credential: logged.access_key_id.as_deref().map(mask_credential),
            caller: logged.principal.unwrap_or_default(),
            owner: String::new(),
            instance_id: logged.key.unwrap_or_default(),
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            result,
        };
        // The request id is the caller's: quoted, so it cannot forge a line.
        let detail = detail.map(|d| format!("request {:?}: {d}", record.request_id));
        Handled { answer, access: record.to_string(), detail }
    }

    async fn answer(&self, request: &SignedRequest<'_>, logged: &mut Logged) -> Result<Answer, Refusal> {
        let (prefix, operation, key_id) = self.route(request.path)?;
        logged.operation = Some(operation);
        logged.key = key_id.map(str::to_string);
        if request.method != "POST" {
            return Ok(Answer { status: 405, body: Vec::new() });
        }
        logged.access_key_id = Some(self.authenticate(prefix, request)?.to_string());
        match operation {
            Operation::Health => {
                let body: wire::HealthRequest = parse(request.payload)?;
                logged.request_id = Some(body.request_metadata.kms_request_id);
                Ok(json(200, &self.health().await))
            }
            Operation::Metadata => {
                let body: wire::MetadataRequest = parse(request.payload)?;
                logged.note(&body.request_metadata);
                required(&body.request_metadata.aws_principal_arn, "awsPrincipalArn")?;
                let key = self.key(key_id)?;
                let facts = self.facts(key).await?;
                if !facts.aes {
                    return Err(Refusal::new(ErrorName::InvalidKeyUsage, "the key on the HSM is not an AES key"));
                }
                Ok(json(
                    200,
                    &wire::MetadataResponse {
                        key_spec: format!("AES_{}", facts.bytes.saturating_mul(8)),
                        key_usage: usages(key, &facts).iter().map(|u| u.as_str().to_string()).collect(),
                        key_status: "ENABLED".into(),
                    },
                ))
            }
            Operation::Encrypt => {
                let body: wire::EncryptRequest = parse(request.payload)?;
                logged.note(&body.request_metadata);
                self.encrypt(key_id, body).await
            }
            Operation::Decrypt => {
                let body: wire::DecryptRequest = parse(request.payload)?;
                logged.note(&body.request_metadata);
                self.decrypt(key_id, body).await
            }
        }
    }

    /// The prefix (the longest that matches), the operation and the key id of a path.
    fn route<'p>(&self, path: &'p str) -> Result<(&Prefix, Operation, Option<&'p str>), Refusal> {
        let invalid = || Refusal::new(ErrorName::InvalidUriPath, "no such path under this proxy");
        let mut matches: Vec<(&Prefix, &str)> = self
            .config
            .prefixes
            .iter()
            .filter_map(|p| Some((p, path.strip_prefix(p.uri_prefix.as_str())?.strip_prefix(wire::API_PATH)?)))
            .collect();
        matches.sort_by_key(|(p, _)| std::cmp::Reverse(p.uri_prefix.len()));
        let (prefix, rest) = matches.into_iter().next().ok_or_else(invalid)?;
        if rest == "/health" {
            return Ok((prefix, Operation::Health, None));
        }
        let mut parts = rest.strip_prefix("/keys/").ok_or_else(invalid)?.split('/');
        let (Some(id), Some(op), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid());
        };
        let operation = match op {
            "metadata" => Operation::Metadata,
            "encrypt" => Operation::Encrypt,
            "decrypt" => Operation::Decrypt,
            _ => return Err(invalid()),
        };
        if id.is_empty() {
            return Err(invalid());
        }
        Ok((prefix, operation, Some(id)))
    }

    /// The access key id of a request whose signature verifies under `prefix`.
    fn authenticate<'r>(&self, prefix: &Prefix, request: &SignedRequest<'r>) -> Result<&'r str, Refusal> {
        let failed = |why: &str| Refusal::new(ErrorName::AuthenticationFailed, format!("SigV4: {why}"));
        let header = |name: &str| {
            let mut values = request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v);
            match (values.next(), values.next()) {
                (Some(v), None) => Some(v),
                _ => None,
            }
        };
        let authorization = header("authorization").ok_or_else(|| failed("one Authorization header is required"))?;
        let auth =
            Authorization::parse(authorization).ok_or_else(|| failed("the Authorization header is malformed"))?;
        let amz_date = header("x-amz-date").ok_or_else(|| failed("one X-Amz-Date header is required"))?;
        let signed_at = parse_amz_date(amz_date).ok_or_else(|| failed("X-Amz-Date is not YYYYMMDD'T'HHMMSS'Z'"))?;
        let skew = OffsetDateTime::now_utc().unix_timestamp().abs_diff(signed_at.unix_timestamp());
        if skew > MAX_SKEW.as_secs() {
            return Err(failed("X-Amz-Date is more than 5 minutes from the proxy's clock"));
        }
        if !(auth.signed_headers.contains(&"host") && auth.signed_headers.contains(&"x-amz-date")) {
            return Err(failed("host and x-amz-date must be signed"));
        }
        if auth.scope.service != prefix.service || prefix.region.as_deref().is_some_and(|r| r != auth.scope.region) {
            return Err(failed("the credential scope's service or region is not this proxy's"));
        }
        // An unknown access key id and a wrong signature get the same answer: the ids
        // cannot be probed for.
        let credential = prefix
            .credentials
            .iter()
            .find(|c| c.access_key_id == auth.access_key_id)
            .ok_or_else(|| failed("the signature does not match"))?;
        if !auth.verifies(request, amz_date, credential.secret.as_bytes()) {
            return Err(failed("the signature does not match"));
        }
        Ok(auth.access_key_id)
    }

    fn key(&self, id: Option<&str>) -> Result<&Key, Refusal> {
        self.config
            .keys
            .iter()
            .find(|k| Some(k.external_key_id.as_str()) == id)
            .ok_or_else(|| Refusal::new(ErrorName::KeyNotFound, "no such external key"))
    }

    /// What the token says of `key` (its type, length, allowed operations), read again
    /// once [`FACTS_FOR`] has passed.
    async fn facts(&self, key: &Key) -> Result<KeyFacts, Refusal> {
        let known = self.facts.lock().unwrap_or_else(|e| e.into_inner()).get(&key.label).copied();
        if let Some((_, facts)) = known.filter(|(read, _)| read.elapsed() < FACTS_FOR) {
            return Ok(facts);
        }
        let label = key.label.clone();
        let facts = self
            .on_token(move |t| t.store().key_facts(&label))
            .await?
            .ok_or_else(|| Refusal::new(ErrorName::KeyNotFound, "the key is not on the HSM"))?;
        self.facts.lock().unwrap_or_else(|e| e.into_inner()).insert(key.label.clone(), (Instant::now(), facts));
        Ok(facts)
    }

    /// An operation with `key` on the token; what was known of the key is forgotten when
    /// the token says it has no such key or does not allow the use.
    async fn with_key<T: Send + 'static>(
        &self,
        key: &Key,
        f: impl FnOnce(&Pkcs11KeyProvider) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Refusal> {
        let result = self.on_token(f).await;
        if result.as_ref().is_err_and(|r| matches!(r.name, ErrorName::KeyNotFound | ErrorName::InvalidKeyUsage)) {
            self.facts.lock().unwrap_or_else(|e| e.into_inner()).remove(&key.label);
        }
        result
    }

    /// Whether `usage` of `key` is allowed by the token and the configuration (which may
    /// narrow what the token allows, never widen it), on an AES-256 key.
    async fn allows(&self, key: &Key, usage: Usage, why: &str) -> Result<(), Refusal> {
        let facts = self.facts(key).await?;
        if !facts.aes || facts.bytes != 32 {
            return Err(Refusal::new(ErrorName::InvalidKeyUsage, "the key on the HSM is not AES-256"));
        }
        if usages(key, &facts).contains(&usage) {
            Ok(())
        } else {
            Err(Refusal::new(ErrorName::InvalidKeyUsage, format!("the key does not allow {}{why}", usage.as_str())))
        }
    }

    /// Runs `f` on the token on the blocking pool: admitted within the concurrency bound,
    /// then in turn for a worker, all within the operation timeout.
    async fn on_token<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Pkcs11KeyProvider) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Refusal> {
        let admitted = Arc::clone(&self.operations)
            .try_acquire_owned()
            .map_err(|_| Refusal::new(ErrorName::Throttling, "too many operations in flight"))?;
        let (token, workers) = (Arc::clone(&self.token), Arc::clone(&self.workers));
        let run = async move {
            // The semaphore is never closed.
            let worker = workers.acquire_owned().await.map_err(|_| Problem::new(Code::BridgeHsm, "no worker"))?;
            tokio::task::spawn_blocking(move || {
                let _held = (admitted, worker);
                f(&token)
            })
            .await
            .map_err(|_| Problem::new(Code::BridgeHsm, "the HSM call failed"))?
        };
        let limit = Duration::from_millis(self.config.limits.operation_timeout_ms);
        match tokio::time::timeout(limit, run).await {
            Err(_) => Err(Refusal::new(ErrorName::DependencyTimeout, "the HSM did not answer in time")),
            Ok(result) => result.map_err(|p| Refusal::from_token(&p)),
        }
    }

    async fn encrypt(&self, key_id: Option<&str>, body: wire::EncryptRequest) -> Result<Answer, Refusal> {
        let meta = &body.request_metadata;
        required(&meta.aws_principal_arn, "awsPrincipalArn")?;
        required(&meta.kms_key_arn, "kmsKeyArn")?;
        algorithm(&body.encryption_algorithm)?;
        let integrity = match body.ciphertext_data_integrity_value_algorithm.as_deref() {
            None => false,
            Some(wire::SHA_256) => true,
            Some(_) => return Err(Refusal::validation("ciphertextDataIntegrityValueAlgorithm must be SHA_256")),
        };
        at_most(&body.plaintext, wire::MAX_PLAINTEXT, "plaintext")?;
        let aad = body.additional_authenticated_data.unwrap_or_default();
        at_most(&aad, wire::MAX_AAD, "additionalAuthenticatedData")?;
        let key = self.key(key_id)?;
        self.allows(key, Usage::Encrypt, "").await?;
        if integrity {
            // Appendix C: the value is checked by decrypting what was encrypted.
            self.allows(key, Usage::Decrypt, " (an integrity value needs a decrypt)").await?;
        }
        let label = key.label.clone();
        let plaintext = zeroize::Zeroizing::new(body.plaintext.0);
        let hsm_aad = wire::hsm_aad(&aad.0, &[]).ok_or_else(|| Refusal::validation("additionalAuthenticatedData"))?;
        let (iv, mut sealed, value) = self
            .with_key(key, move |t| {
                t.store().seal_fresh(&label, IV_BYTES, &hsm_aad, &plaintext, integrity, |iv, sealed| {
                    let (ciphertext, tag) = sealed.split_at(sealed.len().saturating_sub(16));
                    integrity.then(|| wire::integrity_value(&aad.0, &[], iv, ciphertext, tag))
                })
            })
            .await?;
        let tag = sealed.split_off(sealed.len().saturating_sub(16));
        Ok(json(
            200,
            &wire::EncryptResponse {
                authentication_tag: Base64::from(tag),
                ciphertext: Base64::from(sealed),
                initialization_vector: Base64::from(iv),
                ciphertext_metadata: None,
                ciphertext_data_integrity_value: value.map(|v| Base64::from(v.to_vec())),
            },
        ))
    }

    async fn decrypt(&self, key_id: Option<&str>, body: wire::DecryptRequest) -> Result<Answer, Refusal> {
        let meta = &body.request_metadata;
        required(&meta.aws_principal_arn, "awsPrincipalArn")?;
        required(&meta.kms_key_arn, "kmsKeyArn")?;
        algorithm(&body.encryption_algorithm)?;
        // The specification's InvalidCiphertextException names the IV and the tag.
        if !matches!(body.initialization_vector.0.len(), 12 | 16) {
            return Err(Refusal::new(ErrorName::InvalidCiphertext, "initializationVector must be 12 or 16 bytes"));
        }
        if body.authentication_tag.0.len() != 16 {
            return Err(Refusal::new(ErrorName::InvalidCiphertext, "authenticationTag must be 16 bytes"));
        }
        let metadata = body.ciphertext_metadata.unwrap_or_default();
        if metadata.0.len() > crate::key_providers::blob::MAX_PROXY_METADATA {
            return Err(Refusal::validation("ciphertextMetadata is at most 20 bytes"));
        }
        at_most(&body.ciphertext, wire::MAX_PLAINTEXT, "ciphertext")?;
        let aad = body.additional_authenticated_data.unwrap_or_default();
        at_most(&aad, wire::MAX_AAD, "additionalAuthenticatedData")?;
        let key = self.key(key_id)?;
        self.allows(key, Usage::Decrypt, "").await?;
        let label = key.label.clone();
        let hsm_aad =
            wire::hsm_aad(&aad.0, &metadata.0).ok_or_else(|| Refusal::validation("additionalAuthenticatedData"))?;
        let mut sealed = body.ciphertext.0;
        sealed.extend_from_slice(&body.authentication_tag.0);
        let iv = body.initialization_vector.0;
        let plaintext = self.with_key(key, move |t| t.store().open_labelled(&label, &iv, &hsm_aad, &sealed)).await?;
        Ok(json(200, &wire::DecryptResponse { plaintext: Base64::from(plaintext.to_vec()) }))
    }

    /// The health answer, from a deep check of the token no older than the configured age.
    async fn health(&self) -> wire::HealthResponse {
        let max_age = Duration::from_millis(self.config.limits.health_cache_ms);
        let cached = {
            let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
            health.as_ref().filter(|h| h.at.elapsed() < max_age).map(|h| h.status)
        };
        let status = match cached {
            Some(status) => status,
            None => {
                let labels: Vec<String> = self.config.keys.iter().map(|k| k.label.clone()).collect();
                let checked = self
                    .on_token(move |t| {
                        t.store().random_bytes(16)?;
                        let mut all = true;
                        for label in &labels {
                            all &= t.store().has_label(label)?;
                        }
                        Ok(all)
                    })
                    .await;
                let status = match &checked {
                    Ok(true) => "ACTIVE",
                    // The token answers, but a configured key is missing: some requests fail;
                    // or it is busy past the concurrency bound (not a finding to keep).
                    Ok(false) => "DEGRADED",
                    Err(r) if r.name == ErrorName::Throttling => "DEGRADED",
                    Err(_) => "UNAVAILABLE",
                };
                if !matches!(&checked, Err(r) if r.name == ErrorName::Throttling) {
                    *self.health.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(Health { at: Instant::now(), status });
                }
                status
            }
        };
        wire::HealthResponse {
            xks_proxy_fleet_size: 1,
            xks_proxy_vendor: self.config.vendor.clone(),
            xks_proxy_model: format!("kms-instance xks-proxy {}", env!("CARGO_PKG_VERSION")),
            ekm_vendor: self.model.split_whitespace().next().unwrap_or("PKCS#11").to_string(),
            ekm_fleet_details: vec![wire::EkmFleetDetail {
                id: self.config.token_label.clone(),
                model: self.model.clone(),
                health_status: status.into(),
            }],
        }
    }
}
