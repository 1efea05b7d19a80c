//! One request of the KMS API, from its parameters to its answer: the parameters of the
//! query and of a form body, the signature (RPC v1 or V3) and its time and nonce, the
//! throttle, who may use the key (the rule engine's access checks, for a key of an
//! instance), the operation on the store or the key's keeper, and the audit line
//! (RULES.md section 9). Free of HTTP plumbing ([`crate::serving`] is that).

use super::instances::{Instance, Unchanged};
use super::keeper::Keeper;
use super::seed::SeedVSwitch;
use super::store::{Key, KeyState, Saved, Store};
use crate::code::Problem;
use crate::envelope::message::IV_LEN;
use crate::envelope::{context_bytes, gcm, Algorithm, EncryptionContext, KeyArn};
use crate::key_providers::blob::{Blob, ProxyBlob};
use crate::kms_api::{self, signature, MAX_SKEW_SECS, VERSION};
use crate::platform::os_random;
use crate::rules::access::{self, Feature, Use};
use crate::rules::engine::{Env, Outcome, Rejection};
use crate::rules::model::audit::{mask_credential, AuditRecord, Level};
use crate::rules::model::request::{Action, AddAlias, CreateKey, KeyRef, Request, Toggle};
use crate::rules::names::{self, NameKind};
use crate::serving::{Answer, Bounds, Handled, Tls};
use crate::xks::sigv4::SignedRequest;
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use zeroize::Zeroizing;

mod directory_api;
mod instance_api;
mod resource_settings;
mod sharing_api;

/// Parameters of one request, at most: every operation takes a dozen.
const MAX_PARAMS: usize = 64;
/// Bytes of a nonce (clients send 32 hex digits or a UUID).
const MAX_NONCE_BYTES: usize = 128;
/// Nonces remembered at once (each for the timestamp window); past it, requests are
/// throttled rather than a nonce forgotten early.
const MAX_NONCES: usize = 1 << 20;

/// What `serve` is given.
pub struct Settings {
    /// The region served: every ARN names it.
    pub region: String,
    /// The AccessKeys, by id.
    pub credentials: HashMap<String, Credential>,
    /// TLS, or plain HTTP (loopback only).
    pub tls: Option<Tls>,
    /// The HTTP side's bounds.
    pub bounds: Bounds,
    /// Requests one AccessKey may make in one second; past it, `Rejected.Throttling`.
    pub requests_per_second: u32,
    /// The KMS instances, by id.
    pub instances: BTreeMap<String, Instance>,
    /// What the endpoint is told of the vSwitches (the seed's `network`).
    pub network: BTreeMap<String, SeedVSwitch>,
    /// How long a ConnectKmsInstance takes; `None`, the minutes R-LC-6 gives.
    pub connect_wait: Option<std::time::Duration>,
    /// The web origin whose pages may call it from a browser (`--cors`).
    pub cors: Option<String>,
}

/// An AccessKey's secret, its account, and, for a RAM identity's, what its policy grants.
pub struct Credential {
    /// The secret.
    pub secret: Zeroizing<String>,
    /// The account it signs for.
    pub account: String,
    /// A RAM identity's granted actions (`kms:Encrypt`, `kms:*`, `*`); `None`, every one.
    pub ram: Option<Vec<String>>,
    /// The platform's (billing, the resource directory): `ExpireKmsInstance` and
    /// ResourceManager's operations, and nothing else.
    pub operator: bool,
}

/// The endpoint: the store, the credentials, the nonces seen, the throttle.
pub struct Endpoint {
    store: Store,
    settings: Settings,
    nonces: Mutex<Nonces>,
    throttle: Mutex<HashMap<String, (u64, u32)>>,
}

#[derive(Default)]
struct Nonces {
    seen: HashMap<(String, String), Instant>,
    order: VecDeque<(Instant, (String, String))>,
}

/// A refusal: the API's code, HTTP status and message.
#[derive(Debug)]
struct Refusal {
    code: &'static str,
    status: u16,
    message: String,
    /// Every problem the rules found, when they found more than one (BindVpcs).
    errors: Vec<Problem>,
}

impl Refusal {
    fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Refusal { code, status, message: message.into(), errors: Vec::new() }
    }

    fn missing(name: &str) -> Self {
        Refusal::new(
            "MissingParameter",
            400,
            format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
        )
    }

    fn invalid(name: &str, why: &str) -> Self {
        Refusal::new("InvalidParameter", 400, format!("The specified parameter \"{name}\" is not valid: {why}."))
    }

    fn key_not_found() -> Self {
        Refusal::new("Forbidden.KeyNotFound", 404, "The specified Key is not found.")
    }

    fn pending_deletion() -> Self {
        Refusal::new("Rejected.Disabled", 409, "The key is pending deletion.")
    }

    fn throttled() -> Self {
        Refusal::new("Rejected.Throttling", 429, "Request was denied due to request throttling.")
    }

    fn no_such_action() -> Self {
        Refusal::new("InvalidAction.NotFound", 404, "Specified api is not found, please check your url and method.")
    }

    fn does_not_open() -> Self {
        Refusal::new("InvalidCiphertext", 400, "The CiphertextBlob does not open with this EncryptionContext.")
    }

    /// A rule's refusal: an access check (`Forbidden.*`) is `Forbidden.NoPermission`, as
    /// KMS answers a call its policy denies; the rule's own code and id are in the message,
    /// and the problem in `Errors`.
    fn of_rule(p: &Problem) -> Self {
        let code = p.code.as_str();
        let cited = match p.rule {
            Some(rule) => format!("{} ({code}, {rule})", p.message),
            None => format!("{} ({code})", p.message),
        };
        let mut refusal = if code.starts_with("Forbidden.") {
            Refusal::new("Forbidden.NoPermission", 403, format!("This operation is forbidden: {cited}."))
        } else {
            Refusal::new(code, status_of(code), format!("{cited}."))
        };
        // The rule's own code, for a client that speaks the rules (`plan --endpoint`).
        refusal.errors = vec![p.clone()];
        refusal
    }

    /// The rule engine's rejection: its first problem, as [`Refusal::of_rule`] says it,
    /// and every problem in `Errors` when there are more (a BindVpcs with several faults).
    fn of_rejection(rejection: &Rejection) -> Self {
        let Some(first) = rejection.errors.first() else {
            return Refusal::new("InternalFailure", 500, "The request was refused without a reason.");
        };
        let mut refusal = Refusal::of_rule(first);
        if rejection.errors.len() > 1 || rejection.omitted > 0 {
            refusal.message = format!(
                "{} ({} problems in all{}: see Errors)",
                refusal.message.trim_end_matches('.'),
                rejection.errors.len().saturating_add(rejection.omitted),
                if rejection.omitted > 0 { format!(", {} not listed", rejection.omitted) } else { String::new() },
            );
        }
        refusal.errors = rejection.errors.clone();
        refusal
    }

    /// A store failure: the caller hears `InternalFailure`, the operator the cause.
    fn internal(p: &Problem) -> (Self, String) {
        (
            Refusal::new("InternalFailure", 500, "The request processing has failed due to some unknown error."),
            p.message.clone(),
        )
    }
}

/// The HTTP status of a rule's code that is not an access check: a parameter at fault
/// 400, a thing not found 404, any other refusal by a rule (a state, a quota) 403.
fn status_of(code: &str) -> u16 {
    if code.ends_with("NotFound") {
        404
    } else if code.starts_with("InvalidParameter") || code.starts_with("MissingParameter") {
        400
    } else {
        403
    }
}

/// What the audit line says of a request.
#[derive(Default)]
struct Logged {
    action: Option<String>,
    access_key_id: Option<String>,
    account: Option<String>,
    owner: Option<String>,
    key: Option<String>,
}

/// Parameters from a query string or a form body (`+` is a space).
fn form_pairs(text: &[u8], into: &mut Vec<(String, String)>) -> Result<(), Refusal> {
    for pair in text.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        if into.len() >= MAX_PARAMS {
            return Err(Refusal::new("InvalidParameter", 400, "The request has too many parameters."));
        }
        let mut halves = pair.splitn(2, |&b| b == b'=');
        let (name, value) = (halves.next().unwrap_or_default(), halves.next().unwrap_or_default());
        let text = |raw: &[u8]| {
            String::from_utf8(percent_decode(raw))
                .map_err(|_| Refusal::new("InvalidParameter", 400, "A parameter is not UTF-8."))
        };
        into.push((text(name)?, text(value)?));
    }
    Ok(())
}

fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0usize;
    while let Some(&b) = raw.get(i) {
        let hex = raw.get(i.saturating_add(1)..i.saturating_add(3)).and_then(|h| std::str::from_utf8(h).ok());
        match (b, hex.map(|h| u8::from_str_radix(h, 16))) {
            (b'%', Some(Ok(v))) => {
                out.push(v);
                i = i.saturating_add(3);
            }
            (b'+', _) => {
                out.push(b' ');
                i = i.saturating_add(1);
            }
            _ => {
                out.push(b);
                i = i.saturating_add(1);
            }
        }
    }
    out
}

fn header<'a>(request: &'a SignedRequest<'_>, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
}

fn request_id() -> String {
    let mut b = [0u8; 16];
    let _ = os_random(&mut b);
    let hex = hex::encode_upper(b);
    let part = |r: std::ops::Range<usize>| hex.get(r).unwrap_or_default().to_string();
    format!("{}-{}-{}-{}-{}", part(0..8), part(8..12), part(12..16), part(16..20), part(20..32))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The parameters of one call, authenticated.
struct Call {
    params: BTreeMap<String, String>,
    account: String,
    request_id: String,
}

impl Call {
    /// What the rule engine applies the call's request at: now, and its request id.
    fn env(&self) -> Env {
        Env { now: OffsetDateTime::now_utc(), request_id: self.request_id.clone(), latency_ms: 0 }
    }

    /// A list parameter as the SDKs flatten one (`Targets.1`, `Targets.2`, …), in order.
    fn list(&self, name: &str) -> Vec<&str> {
        (1..=MAX_PARAMS).map_while(|i| self.get(&format!("{name}.{i}"))).collect()
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str) -> Result<&str, Refusal> {
        self.get(name).ok_or_else(|| Refusal::missing(name))
    }

    /// A context as a JSON object in one parameter (`EncryptionContext={"a":"b"}`), or
    /// flattened as the npm `@alicloud/kms20160120` client sends it
    /// (`EncryptionContext.a=b`); both at once are refused.
    fn context(&self, name: &str) -> Result<EncryptionContext, Refusal> {
        let prefix = format!("{name}.");
        let flat: EncryptionContext = self
            .params
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| (k.get(prefix.len()..).unwrap_or_default().to_string(), v.clone()))
            .collect();
        match (self.get(name), flat.is_empty()) {
            (None, _) => Ok(flat),
            (Some(json), true) => {
                kms_api::context_of(json).ok_or_else(|| Refusal::invalid(name, "not a JSON object of strings"))
            }
            (Some(_), false) => Err(Refusal::invalid(name, "given both as JSON and flattened")),
        }
    }

    fn base64(&self, name: &str) -> Result<Zeroizing<Vec<u8>>, Refusal> {
        let text = self.required(name)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Zeroizing::new)
            .map_err(|_| Refusal::invalid(name, "not base64"))
    }

    /// `PageNumber` and `PageSize` (1 to 100, `size` when left out).
    fn page(&self, size: usize) -> Result<(usize, usize), Refusal> {
        let number = |name: &str, default: usize, max: usize| match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| Refusal::invalid(name, "out of range")),
        };
        Ok((number("PageNumber", 1, 100_000)?, number("PageSize", size, 100)?))
    }
}

impl Endpoint {
    /// An endpoint over `store`.
    pub fn new(store: Store, settings: Settings) -> Self {
        Endpoint { store, settings, nonces: Mutex::default(), throttle: Mutex::default() }
    }

    /// Answers `request`, with its audit line.
    pub fn handle(&self, request: &SignedRequest<'_>) -> Handled {
        let started = Instant::now();
        let id = request_id();
        let mut logged = Logged::default();
        let result = self.answer(request, &id, &mut logged);
        let (answer, result, detail) = match result {
            Ok(mut body) => {
                if let Some(fields) = body.as_object_mut() {
                    fields.insert("RequestId".into(), json!(id));
                }
                (Answer { status: 200, body: body.to_string().into_bytes() }, "Success".to_string(), None)
            }
            Err((refusal, detail)) => {
                let mut body = json!({
                    "RequestId": id, "HostId": "kms-instance", "Code": refusal.code,
                    "Message": refusal.message, "HttpStatus": refusal.status,
                });
                if let (false, Some(fields)) = (refusal.errors.is_empty(), body.as_object_mut()) {
                    fields.insert("Errors".into(), errors_json(&refusal.errors));
                }
                (
                    Answer { status: refusal.status, body: body.to_string().into_bytes() },
                    refusal.code.to_string(),
                    detail,
                )
            }
        };
        let record = AuditRecord {
            time: OffsetDateTime::now_utc(),
            level: if answer.status == 200 { Level::Info } else { Level::Error },
            request_id: id,
            action: logged.action.unwrap_or_else(|| "-".into()),
            credential: logged.access_key_id.as_deref().map(mask_credential),
            caller: logged.account.unwrap_or_default(),
            owner: logged.owner.unwrap_or_default(),
            instance_id: logged.key.unwrap_or_default(),
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            result,
        };
        let detail = detail.map(|d| format!("request {:?}: {d}", record.request_id));
        Handled { answer, access: record.to_string(), detail }
    }

    /// The answer to a request whose body was not read.
    pub fn unread(&self, too_large: Option<usize>) -> Handled {
        let message = match too_large {
            Some(limit) => format!("The request body is larger than {limit} bytes."),
            None => "The request body did not arrive in time.".to_string(),
        };
        let refusal = Refusal::new("InvalidParameter", 400, message);
        let id = request_id();
        let body = json!({"RequestId": id, "HostId": "kms-instance", "Code": refusal.code, "Message": refusal.message, "HttpStatus": 400});
        let record = AuditRecord {
            time: OffsetDateTime::now_utc(),
            level: Level::Error,
            request_id: id,
            action: "-".into(),
            credential: None,
            caller: String::new(),
            owner: String::new(),
            instance_id: String::new(),
            latency_ms: 0,
            result: refusal.code.into(),
        };
        Handled {
            answer: Answer { status: 400, body: body.to_string().into_bytes() },
            access: record.to_string(),
            detail: None,
        }
    }

    /// The endpoint's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn answer(
        &self,
        request: &SignedRequest<'_>,
        request_id: &str,
        logged: &mut Logged,
    ) -> Result<Value, (Refusal, Option<String>)> {
        let plain = |r: Refusal| (r, None);
        if request.path != "/" {
            return Err(plain(Refusal::no_such_action()));
        }
        let mut pairs = Vec::new();
        form_pairs(request.query.as_bytes(), &mut pairs).map_err(plain)?;
        let form = header(request, "content-type")
            .is_none_or(|t| t.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if form {
            form_pairs(request.payload, &mut pairs).map_err(plain)?;
        }
        let mut params = BTreeMap::new();
        for (name, value) in &pairs {
            if params.insert(name.clone(), value.clone()).is_some() {
                return Err(plain(Refusal::invalid(name, "given twice")));
            }
        }
        // Named in the audit line even when the signature fails.
        logged.action = params.get("Action").cloned().or_else(|| header(request, "x-acs-action").map(str::to_string));
        let (access_key_id, action, version) = self.authenticate(request, &pairs, &params).map_err(plain)?;
        logged.action = Some(action.clone());
        logged.access_key_id = Some(access_key_id.clone());
        let credential = self.settings.credentials.get(&access_key_id);
        let account = credential.map(|c| c.account.clone()).unwrap_or_default();
        logged.account = Some(account.clone());
        self.throttled(&access_key_id).map_err(plain)?;
        // R-AZ-3 before anything is looked up: a RAM identity calls what its policy grants.
        if let Some(granted) = credential.and_then(|c| c.ram.as_deref()) {
            let product = if version == sharing_api::VERSION { "resourcesharing" } else { "kms" };
            crate::rules::access::ram_grants(granted, product, &action).map_err(|p| plain(Refusal::of_rule(&p)))?;
        }
        let operator = credential.is_some_and(|c| c.operator);
        let call = Call { params, account, request_id: request_id.to_string() };
        // An operator's key does what the platform does (billing, the resource
        // directory), and nothing else.
        let platform =
            matches!((version.as_str(), action.as_str()), (VERSION, "ExpireKmsInstance") | (directory_api::VERSION, _));
        if operator != platform {
            return Err(plain(Refusal::new(
                "Forbidden.NoPermission",
                403,
                "This operation is forbidden: ExpireKmsInstance and ResourceManager's operations are the platform's, and the platform's keys call nothing else.",
            )));
        }
        let answered = match version.as_str() {
            VERSION => self.operate(&action, &call, logged),
            sharing_api::VERSION => self.share_operate(&action, &call, logged),
            directory_api::VERSION => self.directory_operate(&action, &call, logged),
            _ => Err(Refusal::new("InvalidVersion", 400, "Specified parameter Version is not valid.").into()),
        };
        answered.map_err(|e| match e {
            Failure::Refused(r) => (r, None),
            Failure::Store(p) => {
                let (r, detail) = Refusal::internal(&p);
                (r, Some(detail))
            }
        })
    }

    /// The request's AccessKey id, action and version, once its signature, time and
    /// nonce check.
    fn authenticate(
        &self,
        request: &SignedRequest<'_>,
        pairs: &[(String, String)],
        params: &BTreeMap<String, String>,
    ) -> Result<(String, String, String), Refusal> {
        let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let incomplete =
            || Refusal::new("IncompleteSignature", 400, "The request signature does not conform to Aliyun standards.");
        if let Some(authorization) = header(request, "authorization") {
            // V3: every fact is in a header, and the headers it needs are signed.
            let read = signature::v3_authorization(authorization).ok_or_else(incomplete)?;
            for needed in
                ["host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256", "x-acs-action", "x-acs-version"]
            {
                if !read.signed_headers.contains(&needed) {
                    return Err(Refusal::new(
                        "IncompleteSignature",
                        400,
                        format!("The header {needed} must be signed."),
                    ));
                }
            }
            // How the body is read (as parameters or not) must be signed as the body is.
            if !request.payload.is_empty() && !read.signed_headers.contains(&"content-type") {
                return Err(Refusal::new(
                    "IncompleteSignature",
                    400,
                    "The header content-type must be signed with a body.",
                ));
            }
            let needed = |name: &str| header(request, name).ok_or_else(|| Refusal::missing(name));
            let (date, nonce) = (needed("x-acs-date")?, needed("x-acs-signature-nonce")?);
            let (action, version) = (needed("x-acs-action")?, needed("x-acs-version")?);
            let secret = self.secret(read.access_key_id)?;
            if needed("x-acs-content-sha256")? != crate::xks::sigv4::payload_hash(request.payload) {
                return Err(Refusal::new(
                    "SignatureDoesNotMatch",
                    400,
                    "The body is not the one x-acs-content-sha256 signs.",
                ));
            }
            let signed: Vec<&str> = read.signed_headers.clone();
            // The query as decoded (`+` a space, as Python's clients send one), so each
            // client's own escaping signs the same.
            let mut query = Vec::new();
            form_pairs(request.query.as_bytes(), &mut query)?;
            let query: Vec<String> = query
                .iter()
                .map(|(n, v)| format!("{}={}", signature::percent_encode(n), signature::percent_encode(v)))
                .collect();
            let query = query.join("&");
            let request = &SignedRequest { query: &query, ..*request };
            let sts = signature::v3_string_to_sign(request, &signed);
            if !signature::same(&signature::v3_signature(&secret, &sts), read.signature) {
                return Err(Refusal::new(
                    "SignatureDoesNotMatch",
                    400,
                    format!("Specified signature is not matched with our calculation. server string to sign is:{sts}"),
                ));
            }
            self.fresh(date, read.access_key_id, nonce)?;
            return Ok((read.access_key_id.to_string(), action.to_string(), version.to_string()));
        }
        let access_key_id = param("AccessKeyId").ok_or_else(|| Refusal::missing("AccessKeyId"))?;
        let given = param("Signature").ok_or_else(|| Refusal::missing("Signature"))?;
        if param("SignatureMethod") != Some("HMAC-SHA1") || param("SignatureVersion") != Some("1.0") {
            return Err(incomplete());
        }
        let timestamp = param("Timestamp").ok_or_else(|| Refusal::missing("Timestamp"))?;
        let nonce = param("SignatureNonce").ok_or_else(|| Refusal::missing("SignatureNonce"))?;
        let action = param("Action").ok_or_else(|| Refusal::missing("Action"))?;
        let version = param("Version").ok_or_else(|| Refusal::missing("Version"))?;
        let secret = self.secret(access_key_id)?;
        let sts = signature::v1_string_to_sign(request.method, pairs);
        if !signature::same(&signature::v1_signature(&secret, &sts), given) {
            return Err(Refusal::new(
                "SignatureDoesNotMatch",
                400,
                format!("Specified signature is not matched with our calculation. server string to sign is:{sts}"),
            ));
        }
        self.fresh(timestamp, access_key_id, nonce)?;
        Ok((access_key_id.to_string(), action.to_string(), version.to_string()))
    }

    fn secret(&self, access_key_id: &str) -> Result<Zeroizing<String>, Refusal> {
        self.settings
            .credentials
            .get(access_key_id)
            .map(|c| c.secret.clone())
            .ok_or_else(|| Refusal::new("InvalidAccessKeyId.NotFound", 404, "Specified access key is not found."))
    }

    /// A signature's time within the window, and its nonce not seen within it.
    fn fresh(&self, time: &str, access_key_id: &str, nonce: &str) -> Result<(), Refusal> {
        let illegal = || {
            Refusal::new("IllegalTimestamp", 400, "The input parameter \"Timestamp\" that is mandatory for processing this request is not supplied or is not within 15 minutes of the server's time.")
        };
        let at = OffsetDateTime::parse(time, &Rfc3339).map_err(|_| illegal())?;
        let skew = OffsetDateTime::now_utc().unix_timestamp().checked_sub(at.unix_timestamp());
        if skew.is_none_or(|s| s.checked_abs().is_none_or(|s| s > MAX_SKEW_SECS)) {
            return Err(illegal());
        }
        if nonce.len() > MAX_NONCE_BYTES {
            return Err(Refusal::invalid("SignatureNonce", "longer than 128 bytes"));
        }
        let now = Instant::now();
        // Kept while a request with its time could still be accepted: a time up to the
        // window ahead of arrival, the window after it, and a margin for whole seconds.
        let window = std::time::Duration::from_secs(MAX_SKEW_SECS.unsigned_abs().saturating_mul(2).saturating_add(60));
        let mut nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        while nonces.order.front().is_some_and(|(t, _)| now.duration_since(*t) > window) {
            if let Some((_, key)) = nonces.order.pop_front() {
                nonces.seen.remove(&key);
            }
        }
        let key = (access_key_id.to_string(), nonce.to_string());
        if nonces.seen.contains_key(&key) {
            return Err(Refusal::new("SignatureNonceUsed", 400, "Specified signature nonce was used already."));
        }
        if nonces.seen.len() >= MAX_NONCES {
            return Err(Refusal::throttled());
        }
        nonces.seen.insert(key.clone(), now);
        nonces.order.push_back((now, key));
        Ok(())
    }

    fn throttled(&self, access_key_id: &str) -> Result<(), Refusal> {
        let second = OffsetDateTime::now_utc().unix_timestamp().unsigned_abs();
        let mut throttle = self.throttle.lock().unwrap_or_else(|e| e.into_inner());
        let entry = throttle.entry(access_key_id.to_string()).or_insert((second, 0));
        if entry.0 != second {
            *entry = (second, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 > self.settings.requests_per_second {
            return Err(Refusal::throttled());
        }
        Ok(())
    }
}

/// Why an operation failed: refused, or the store failed.
enum Failure {
    Refused(Refusal),
    Store(Problem),
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Failure::Refused(r)
    }
}

impl From<Problem> for Failure {
    fn from(p: Problem) -> Self {
        Failure::Store(p)
    }
}

impl From<Unchanged> for Failure {
    fn from(u: Unchanged) -> Self {
        match u {
            Unchanged::Refused(rejection) => Failure::Refused(Refusal::of_rejection(&rejection)),
            Unchanged::Failed(p) => Failure::Store(p),
        }
    }
}

impl Endpoint {
    fn arn(&self, account: &str, resource: &str) -> String {
        format!("acs:kms:{}:{account}:{resource}", self.settings.region)
    }

    fn key_arn(&self, key: &Key) -> Result<KeyArn, Failure> {
        Ok(key_arn(&self.settings.region, &key.account, &key.id)?)
    }

    /// The key named by `KeyId`-like parameter `name` (a key id, an alias of the
    /// caller's, or the ARN of either), once the caller may do `action` with it.
    fn named_key(
        &self,
        call: &Call,
        name: &str,
        action: impl FnOnce(String) -> Action,
        logged: &mut Logged,
    ) -> Result<Key, Failure> {
        let given = call.required(name)?;
        let (id, account) = match given.strip_prefix("acs:kms:") {
            Some(rest) => {
                let rest =
                    rest.strip_prefix(&format!("{}:", self.settings.region)).ok_or_else(Refusal::key_not_found)?;
                let (account, resource) = rest.split_once(':').ok_or_else(Refusal::key_not_found)?;
                // A key of the account it names, or an alias of the caller's.
                match resource.strip_prefix("key/") {
                    Some(id) if !id.starts_with("alias/") => (id, Some(account)),
                    None if resource.starts_with("alias/") && account == call.account => (resource, None),
                    _ => return Err(Refusal::key_not_found().into()),
                }
            }
            None => (given, None),
        };
        let key = match self.store.key(&call.account, id)? {
            Some(key) => Some(key),
            None if id.starts_with("alias/") => self.instance_alias(&call.account, id)?,
            None => None,
        };
        let key = key.ok_or_else(|| {
            if id.starts_with("alias/") {
                Refusal::new("Forbidden.AliasNotFound", 404, "The specified Alias is not found.")
            } else {
                Refusal::key_not_found()
            }
        })?;
        if account.is_some_and(|a| a != key.account) {
            return Err(Refusal::key_not_found().into());
        }
        self.allow(call, &key, action(key.id.clone()), logged)?;
        Ok(key)
    }

    /// A key of an instance the caller is a member of, by an alias another member gave it:
    /// in joint mode a name is the instance's, in independent mode the caller's own or
    /// the owner's (R-SH-6, as the rule engine looks names up).
    fn instance_alias(&self, caller: &str, alias: &str) -> Result<Option<Key>, Problem> {
        match self.find_as_member(caller, |state| Some(state.key_named(caller, alias)?.key_id.clone()))? {
            Some((_, _, id)) => self.store.key(caller, &id),
            None => Ok(None),
        }
    }

    /// The first instance `caller` is a member of (its owner, or an associated principal)
    /// in whose state `find` finds something, with its id: what a name names for a caller
    /// among the instances it may see, and nothing of the others.
    fn find_as_member<T>(
        &self,
        caller: &str,
        find: impl Fn(&crate::State) -> Option<T>,
    ) -> Result<Option<(&str, &Instance, T)>, Problem> {
        for (id, instance) in &self.settings.instances {
            let live = instance.read(&self.store)?;
            if !access::is_member(&live.state.instance, caller) {
                continue;
            }
            if let Some(found) = find(&live.state) {
                return Ok(Some((id, instance, found)));
            }
        }
        Ok(None)
    }

    /// The instance of `DKMSInstanceId` (CreateKey, CreateSecret), for its owner or an
    /// associated principal; any other account is told it is not an instance of this
    /// endpoint, so neither it nor its state leaks.
    fn member_instance(&self, call: &Call, id: &str) -> Result<&Instance, Failure> {
        let unknown = || Refusal::invalid("DKMSInstanceId", "not an instance of this endpoint");
        let instance = self.settings.instances.get(id).ok_or_else(unknown)?;
        if !access::is_member(&instance.read(&self.store)?.state.instance, &call.account) {
            return Err(unknown().into());
        }
        Ok(instance)
    }

    /// Whether the caller may do `action` with `key`. A key is hidden (not found) from
    /// an account that is neither its own nor, for a key of an instance, the
    /// instance's owner or an associated principal of its share. For those, a key of an
    /// instance is the rule engine's decision, by its own checks in their order
    /// (RULES.md section 7: the instance's state and region, R-AZ-1 to R-AZ-3, then
    /// R-AZ-4 on the key's creator under the share's mode).
    fn allow(&self, call: &Call, key: &Key, action: Action, logged: &mut Logged) -> Result<(), Failure> {
        logged.key = Some(key.instance.clone().unwrap_or_else(|| key.id.clone()));
        logged.owner = Some(key.account.clone());
        let instance = key.instance.as_deref().and_then(|id| self.settings.instances.get(id));
        let live = instance.map(|i| i.read(&self.store)).transpose()?;
        let record = live.as_ref().map(|l| &l.state.instance);
        if key.account != call.account && !record.is_some_and(|r| access::is_member(r, &call.account)) {
            return Err(Refusal::key_not_found().into());
        }
        let Some(id) = key.instance.as_deref() else { return Ok(()) };
        let record = record.ok_or_else(|| {
            Refusal::new(
                "Forbidden.NoPermission",
                403,
                format!("This operation is forbidden: instance {id} is not served."),
            )
        })?;
        logged.owner = Some(record.owner_id.clone());
        let usage = match Feature::of(&action) {
            Feature::Cryptographic => Use::Use,
            _ => Use::Manage,
        };
        access::gate(record, &Self::request(call, action))
            .and_then(|actor| access::may_touch(record, actor, &call.account, &key.account, usage))
            .map_err(|p| Refusal::of_rule(&p).into())
    }

    /// Changes `key` with `write` (`false`: nothing to change); for a key of an instance,
    /// once the rule engine has applied `action` to the instance, the state saved with it.
    fn in_instance(
        &self,
        call: &Call,
        key: &Key,
        action: Action,
        write: impl FnOnce(Option<&Saved<'_>>) -> Result<bool, Problem>,
    ) -> Result<bool, Failure> {
        let Some(instance) = key.instance.as_deref().and_then(|id| self.settings.instances.get(id)) else {
            return Ok(write(None)?);
        };
        let request = Self::request(call, action);
        let (_, written) =
            instance.change(&self.store, &request, &call.env(), self.settings.connect_wait, |_, saved| {
                Ok(write(Some(saved))?.then_some(()))
            })?;
        Ok(written.is_some())
    }

    /// The rule engine's request for an event of the world (an expiry, an account
    /// moving folder): not a request of an account, so it passes no access check.
    fn world_event(action: Action) -> Request {
        Request { caller: "owner".into(), action, ram: None, region: None, credential: None }
    }

    /// The rule engine's request for the caller's `action`, from the region the call
    /// names (`RegionId`, which v1 signs and a V3 call may send; R-SH-10 refuses another
    /// region than the instance's). RAM grants are checked before (R-AZ-3).
    fn request(call: &Call, action: Action) -> Request {
        let region = call.get("RegionId").map(str::to_string);
        Request { caller: call.account.clone(), action, ram: None, region, credential: None }
    }

    /// Where the key's material is: the store (`None`) for a software key, else its
    /// instance's keeper, which must still keep keys of the key's kind.
    fn keeper(&self, key: &Key) -> Result<Option<&Keeper>, Failure> {
        if key.protection == super::keeper::IN_THE_STORE.0 {
            return Ok(None);
        }
        let keeper = key.instance.as_deref().and_then(|id| self.settings.instances.get(id)?.keeper.as_ref());
        match keeper {
            Some(k) if k.kind() == (key.protection.as_str(), key.origin.as_str()) => Ok(Some(k)),
            _ => Err(Failure::Store(Problem::new(
                crate::Code::BridgeUnavailable,
                format!(
                    "key {}: its instance no longer keeps {} keys of origin {}",
                    key.id, key.protection, key.origin
                ),
            ))),
        }
    }

    fn usable(key: &Key) -> Result<(), Refusal> {
        match key.state {
            KeyState::Enabled => Ok(()),
            KeyState::Disabled => Err(Refusal::new("Rejected.Disabled", 409, "The key is disabled.")),
            KeyState::PendingDeletion => Err(Refusal::pending_deletion()),
        }
    }

    /// A CiphertextBlob: `plaintext` under `key` with `context` bound (ENVELOPE.md's
    /// blob, base64): sealed here with the store's material, or by the key's keeper.
    fn seal(&self, key: &Key, plaintext: &[u8], context: &EncryptionContext) -> Result<String, Failure> {
        if let Some(keeper) = self.keeper(key)? {
            return Ok(b64(&keeper.seal(&self.key_arn(key)?, plaintext, context)?));
        }
        let mut iv = [0u8; IV_LEN];
        os_random(&mut iv)?;
        let mut sealed = Zeroizing::new(plaintext.to_vec());
        let tag = gcm::seal(Algorithm::AesGcm256, &key.material, &iv, &context_bytes(context), &mut sealed)?;
        sealed.extend_from_slice(&tag);
        Ok(b64(&Blob::encode(&key.id, &iv, &sealed)?))
    }

    /// A CiphertextBlob opened, once the caller may do `action` with its key: the key
    /// and the plaintext.
    fn open(
        &self,
        call: &Call,
        name: &str,
        context: &EncryptionContext,
        action: impl FnOnce(String) -> Action,
        logged: &mut Logged,
    ) -> Result<(Key, Zeroizing<Vec<u8>>), Failure> {
        let blob = call.base64(name)?;
        let not_a_blob = || Refusal::invalid(name, "not a CiphertextBlob");
        // Version 1 is read once, here; a proxy's version 2 is its keeper's to read.
        let (key_id, v1) = match blob.first() {
            Some(2) => (ProxyBlob::decode(&blob).map_err(|_| not_a_blob())?.key_id, None),
            _ => {
                let decoded = Blob::decode(&blob).map_err(|_| not_a_blob())?;
                (decoded.key_id, Some(decoded))
            }
        };
        let key = self.store.key(&call.account, key_id)?.ok_or_else(Refusal::key_not_found)?;
        self.allow(call, &key, action(key.id.clone()), logged)?;
        Self::usable(&key)?;
        let opened = match self.keeper(&key)? {
            Some(keeper) => keeper.open(&self.key_arn(&key)?, &blob, context),
            None => match &v1 {
                Some(decoded) => gcm::open_sealed(
                    Algorithm::AesGcm256,
                    &key.material,
                    &decoded.iv,
                    &context_bytes(context),
                    decoded.sealed,
                ),
                // A proxy's blob naming a key of the store: it does not open here.
                None => Err(crate::envelope::gcm::does_not_open()),
            },
        };
        match opened {
            Ok(plaintext) => Ok((key, plaintext)),
            Err(p) if p.code == crate::Code::InvalidCiphertext => Err(Refusal::does_not_open().into()),
            Err(p) => Err(p.into()),
        }
    }

    fn metadata(&self, key: &Key) -> Value {
        // An instance's key: its rotation and deletion protection, as its state keeps them.
        let kept = key.instance.as_deref().and_then(|id| self.settings.instances.get(id)).and_then(|instance| {
            let live = instance.read(&self.store).ok()?;
            let found = live.state.instance.keys.iter().find(|k| k.key_id == key.id)?;
            Some((found.rotation, found.deletion_protection))
        });
        let (rotation, protection) = kept.unwrap_or_default();
        let on = |yes: bool| if yes { "Enabled" } else { "Disabled" };
        json!({
            "KeyId": key.id, "Arn": self.arn(&key.account, &format!("key/{}", key.id)), "KeyState": key.state.as_str(),
            "KeySpec": key.spec, "KeyUsage": key.usage, "Origin": key.origin, "ProtectionLevel": key.protection,
            "Description": key.description, "CreationDate": key.created, "Creator": key.account,
            "DeleteDate": key.deletion.clone().unwrap_or_default(), "PrimaryKeyVersion": key.version,
            "DKMSInstanceId": key.instance.clone().unwrap_or_default(), "AutomaticRotation": on(rotation),
            "DeletionProtection": on(protection),
        })
    }

    fn operate(&self, action: &str, call: &Call, logged: &mut Logged) -> Result<Value, Failure> {
        match action {
            "GenerateDataKey" | "GenerateDataKeyWithoutPlaintext" => {
                let key = self.named_key(call, "KeyId", |key| Action::GenerateDataKey(KeyRef { key }), logged)?;
                Self::usable(&key)?;
                let len = match (call.get("NumberOfBytes"), call.get("KeySpec")) {
                    (Some(n), _) => n
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=1024).contains(n))
                        .ok_or_else(|| Refusal::invalid("NumberOfBytes", "not 1 to 1024"))?,
                    (None, None | Some("AES_256")) => 32,
                    // SM4_128: what the Java Encryption SDK asks for its SM4 algorithms.
                    (None, Some("AES_128" | "SM4_128")) => 16,
                    (None, Some(_)) => {
                        return Err(Refusal::invalid("KeySpec", "not AES_256, AES_128 or SM4_128").into())
                    }
                };
                let context = call.context("EncryptionContext")?;
                let mut data_key = Zeroizing::new(vec![0u8; len]);
                os_random(&mut data_key)?;
                let blob = self.seal(&key, &data_key, &context)?;
                let mut answer = json!({"KeyId": key.id, "KeyVersionId": key.version, "CiphertextBlob": blob});
                if let (true, Some(fields)) = (action == "GenerateDataKey", answer.as_object_mut()) {
                    fields.insert("Plaintext".into(), json!(b64(&data_key)));
                }
                Ok(answer)
            }
            "Encrypt" => {
                let key = self.named_key(call, "KeyId", |key| Action::Encrypt(KeyRef { key }), logged)?;
                Self::usable(&key)?;
                let plaintext = call.base64("Plaintext")?;
                if plaintext.len() > 6 << 10 {
                    return Err(Refusal::invalid("Plaintext", "longer than 6 KiB").into());
                }
                let blob = self.seal(&key, &plaintext, &call.context("EncryptionContext")?)?;
                Ok(json!({"KeyId": key.id, "KeyVersionId": key.version, "CiphertextBlob": blob}))
            }
            "Decrypt" => {
                let context = call.context("EncryptionContext")?;
                let (key, plaintext) =
                    self.open(call, "CiphertextBlob", &context, |key| Action::Decrypt(KeyRef { key }), logged)?;
                Ok(json!({"KeyId": key.id, "KeyVersionId": key.version, "Plaintext": b64(&plaintext)}))
            }
            "ReEncrypt" => {
                // The destination first: a refused one costs no opening.
                let re_encrypt = |key| Action::ReEncrypt(KeyRef { key });
                let destination = self.named_key(call, "DestinationKeyId", re_encrypt, logged)?;
                Self::usable(&destination)?;
                let context = call.context("SourceEncryptionContext")?;
                let (source, plaintext) = self.open(call, "CiphertextBlob", &context, re_encrypt, logged)?;
                let blob = self.seal(&destination, &plaintext, &call.context("DestinationEncryptionContext")?)?;
                Ok(json!({
                    "CiphertextBlob": blob, "KeyId": destination.id, "KeyVersionId": destination.version,
                    "SourceKeyId": source.id, "SourceKeyVersionId": source.version,
                }))
            }
            "CreateKey" => {
                let accepted = |name: &str, default: &str, only: &str| match call.get(name) {
                    None => Ok(default.to_string()),
                    Some(v) if v == only => Ok(v.to_string()),
                    Some(_) => Err(Refusal::invalid(name, &format!("this endpoint makes {only} keys only"))),
                };
                // An instance the caller is neither the owner nor a principal of is
                // answered as one that does not exist: neither it nor its state leaks.
                let instance = call.get("DKMSInstanceId").map(|id| self.member_instance(call, id)).transpose()?;
                let keeper = instance.and_then(|i| i.keeper.as_ref());
                let (protection, origin) = Keeper::kind_of(keeper);
                let spec = accepted("KeySpec", "Aliyun_AES_256", "Aliyun_AES_256")?;
                let usage = accepted("KeyUsage", "ENCRYPT/DECRYPT", "ENCRYPT/DECRYPT")?;
                let origin = accepted("Origin", origin, origin)?;
                let protection = accepted("ProtectionLevel", protection, protection)?;
                // This endpoint's own: an alias made with the key, in the same request (a
                // console's Create Key form names one), so that a name taken refuses both.
                let alias = call.get("Alias");
                if let Some(alias) = alias {
                    // In an instance, the rule engine checks it (R-NAME-4, R-SH-6).
                    if instance.is_none() {
                        names::validate(NameKind::Alias, alias).map_err(|p| Refusal::invalid("Alias", &p.message))?;
                    }
                    if self.store.key(&call.account, alias)?.is_some() {
                        return Err(Refusal::new("Rejected.AlreadyExists", 409, "The alias exists already.").into());
                    }
                }
                let aliases: Vec<String> = alias.map(str::to_string).into_iter().collect();
                let mut material = Zeroizing::new(vec![0u8; if keeper.is_some() { 0 } else { 32 }]);
                os_random(&mut material)?;
                let mut key = Key {
                    id: String::new(),
                    account: call.account.clone(),
                    state: KeyState::Enabled,
                    spec,
                    usage,
                    origin,
                    protection,
                    description: call.get("Description").unwrap_or_default().chars().take(8192).collect(),
                    created: now(),
                    deletion: None,
                    instance: call.get("DKMSInstanceId").map(str::to_string),
                    version: request_id().to_lowercase(),
                    material,
                };
                let Some(instance) = instance else {
                    let mut id_bytes = [0u8; 12];
                    os_random(&mut id_bytes)?;
                    key.id = format!("key-{}", hex::encode(id_bytes));
                    if !self.store.insert(&key, &aliases, None)? {
                        return Err(Failure::Store(Problem::new(crate::Code::Request, "a new key id was taken")));
                    }
                    logged.owner = Some(key.account.clone());
                    logged.key = Some(key.id.clone());
                    return Ok(json!({"KeyMetadata": self.metadata(&key)}));
                };
                // In an instance, as the rules allow (R-LC-1, the caller its owner or an
                // active principal, the key quota), the id the engine gives; the row and
                // the instance's state in one transaction, both taken back if the keeper
                // cannot make the key: a key is never left on a token without its row.
                logged.key = key.instance.clone();
                logged.owner = Some(instance.read(&self.store)?.state.instance.owner_id.clone());
                let create = Action::CreateKey(CreateKey {
                    alias: alias.unwrap_or_default().to_string(),
                    protection: None,
                    origin: None,
                });
                instance.change(
                    &self.store,
                    &Self::request(call, create),
                    &call.env(),
                    self.settings.connect_wait,
                    |outcome, saved| {
                        key.id = outcome.key_id.clone().unwrap_or_default();
                        match self.store.insert(&key, &aliases, Some(saved))? {
                            true => Ok(Some(())),
                            false => Err(Problem::new(crate::Code::Request, "a new key id was taken")),
                        }
                    },
                )?;
                if let Some(keeper) = keeper {
                    if let Err(p) = keeper.make(&self.key_arn(&key)?) {
                        instance.forget_key(&key.id, |saved| self.store.remove(&key.id, Some(saved)))?;
                        return Err(match p.code {
                            crate::Code::BridgeKeyNotFound => {
                                Refusal::invalid("DKMSInstanceId", "an external instance's keys are made at its proxy")
                                    .into()
                            }
                            _ => p.into(),
                        });
                    }
                }
                Ok(json!({"KeyMetadata": self.metadata(&key)}))
            }
            "DescribeKey" => {
                let key = self.named_key(call, "KeyId", |key| Action::DescribeKey(KeyRef { key }), logged)?;
                Ok(json!({"KeyMetadata": self.metadata(&key)}))
            }
            "ListKeys" => {
                let (number, size) = call.page(10)?;
                let (ids, total) =
                    self.store.key_ids(&call.account, number.saturating_sub(1).saturating_mul(size), size)?;
                let keys: Vec<Value> = ids
                    .iter()
                    .map(|id| json!({"KeyId": id, "KeyArn": self.arn(&call.account, &format!("key/{id}"))}))
                    .collect();
                Ok(json!({"Keys": {"Key": keys}, "TotalCount": total, "PageNumber": number, "PageSize": size}))
            }
            "CreateAlias" => {
                let name = call.required("AliasName")?;
                names::validate(NameKind::Alias, name).map_err(|p| Refusal::invalid("AliasName", &p.message))?;
                let add = |key| Action::CreateAlias(AddAlias { key, alias: name.to_string() });
                let key = self.named_key(call, "KeyId", add, logged)?;
                // An instance's key: R-SH-6's namespace too, and the alias in its state.
                let added = self.in_instance(call, &key, add(key.id.clone()), |saved| {
                    self.store.add_alias(&call.account, name, &key.id, saved)
                })?;
                if !added {
                    return Err(Refusal::new("Rejected.AlreadyExists", 409, "The alias exists already.").into());
                }
                Ok(json!({}))
            }
            "ListAliases" => {
                let (number, size) = call.page(10)?;
                let (aliases, total) =
                    self.store.aliases(&call.account, number.saturating_sub(1).saturating_mul(size), size)?;
                let aliases: Vec<Value> = aliases
                    .iter()
                    .map(|(name, key)| json!({"AliasName": name, "AliasArn": self.arn(&call.account, name), "KeyId": key}))
                    .collect();
                Ok(json!({"Aliases": {"Alias": aliases}, "TotalCount": total, "PageNumber": number, "PageSize": size}))
            }
            "EnableKey" | "DisableKey" => {
                // The model has no such action; it is the matrix's "manage keys" row,
                // checked as SetDeletionProtection (another action of that row).
                let toggle = |key| Action::SetDeletionProtection(Toggle { key, enabled: None });
                let key = self.named_key(call, "KeyId", toggle, logged)?;
                let state = if action == "EnableKey" { KeyState::Enabled } else { KeyState::Disabled };
                // Checked in the same statement that changes it: a deletion scheduled
                // meanwhile is not undone.
                if !self.store.set_state(&key.id, state, None, None)? {
                    return Err(Refusal::pending_deletion().into());
                }
                Ok(json!({}))
            }
            "ScheduleKeyDeletion" => {
                let key = self.named_key(call, "KeyId", |key| Action::ScheduleKeyDeletion(KeyRef { key }), logged)?;
                let days = call
                    .required("PendingWindowInDays")?
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (7..=366).contains(d))
                    .ok_or_else(|| Refusal::invalid("PendingWindowInDays", "not 7 to 366"))?;
                let at = OffsetDateTime::now_utc()
                    .checked_add(time::Duration::days(days))
                    .and_then(|at| at.format(&Rfc3339).ok())
                    .unwrap_or_default();
                // An instance's key: its deletion protection too, and the state's mark.
                let schedule = Action::ScheduleKeyDeletion(KeyRef { key: key.id.clone() });
                let scheduled = self.in_instance(call, &key, schedule, |saved| {
                    self.store.set_state(&key.id, KeyState::PendingDeletion, Some(&at), saved)
                })?;
                if !scheduled {
                    return Err(Refusal::pending_deletion().into());
                }
                Ok(json!({}))
            }
            _ => self.instance_operate(action, call, logged),
        }
    }
}

/// Every problem of a rejection, for `Errors`: code, message, JSON pointer, rule.
fn errors_json(problems: &[Problem]) -> Value {
    let listed: Vec<Value> = problems
        .iter()
        .map(|p| json!({"Code": p.code.as_str(), "Message": p.message, "Path": p.path, "Rule": p.rule}))
        .collect();
    json!(listed)
}

/// A change's answer with what it did beyond it (an SDK reads none of it): its warnings,
/// the access-management quota after it, the principals whose association failed
/// (R-Q-4), and BindVpcs' report.
fn with_outcome(mut answer: Value, outcome: &Outcome) -> Value {
    let warnings: Vec<Value> =
        outcome.warnings.iter().map(|w| json!({"Code": w.code.as_str(), "Message": w.message})).collect();
    if let Some(fields) = answer.as_object_mut() {
        fields.insert("Warnings".into(), json!(warnings));
        fields.insert(
            "AccessManagementQuota".into(),
            json!({"Used": outcome.quota.used, "Purchased": outcome.quota.purchased}),
        );
        fields.insert("FailedPrincipals".into(), json!(outcome.failed_principals));
        if let Some(report) = &outcome.bind_vpcs {
            fields.insert("BindVpcsReport".into(), json!(report));
        }
    }
    answer
}

/// The ARN of key `id` of `account` in `region`.
pub fn key_arn(region: &str, account: &str, id: &str) -> Result<KeyArn, Problem> {
    format!("acs:kms:{region}:{account}:key/{id}").parse()
}

/// Now, as the API writes times.
pub fn now() -> String {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .unwrap_or_default()
}
