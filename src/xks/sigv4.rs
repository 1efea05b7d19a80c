//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`), the XKS Proxy API's authentication:
//! the client signs each request, the proxy verifies it. Both sides build the same
//! canonical request here, so a request signed by one verifies on the other, and both
//! are tested against AWS's published SigV4 test suite (`tests/vectors/sigv4/`).
//!
//! Only header signing is implemented (no presigned URLs, no chunked payloads): the
//! XKS Proxy API uses nothing else.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The algorithm's name, first in the `Authorization` header.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Bytes of an `Authorization` header, and names in its `SignedHeaders`, that are read
/// at most: the work of a verification is bounded before the secret is looked up.
pub const MAX_AUTHORIZATION_BYTES: usize = 4096;
/// Names in `SignedHeaders`, at most.
pub const MAX_SIGNED_HEADERS: usize = 32;

/// A request as the signature sees it. `path` is the path as sent (percent-encoded
/// or not: it is encoded once more for the canonical request, as SigV4 does for every
/// service but S3), `query` the part after `?` without it.
#[derive(Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `POST`, `GET`, …
    pub method: &'a str,
    /// The path, from its first `/`.
    pub path: &'a str,
    /// The query string, without `?` (empty when there is none).
    pub query: &'a str,
    /// Every header of the request, names in any case, repeated names allowed.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub payload: &'a [u8],
}

/// The payload may hold a data key in plaintext: never shown.
impl std::fmt::Debug for SignedRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("payload", &format_args!("<{} bytes>", self.payload.len()))
            .finish_non_exhaustive()
    }
}

/// Where a signature is valid: the credential scope's region and service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    /// `us-east-1`, `cn-hangzhou`, …
    pub region: &'a str,
    /// `kms-xks-proxy` unless configured otherwise.
    pub service: &'a str,
}

/// The hex SHA-256 of a payload (`x-amz-content-sha256`).
pub fn payload_hash(payload: &[u8]) -> String {
    hex::encode(Sha256::digest(payload))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length: new_from_slice cannot fail for it.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| HmacSha256::new(&Default::default()));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Percent-encodes every byte but the unreserved ones (and `/` when `keep_slash`).
fn encode(out: &mut String, bytes: &[u8], keep_slash: bool) {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Undoes percent-encoding (a `%` not followed by two hex digits stays as it is).
fn decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes.get(i.saturating_add(1)..i.saturating_add(3)).and_then(|h| std::str::from_utf8(h).ok());
        match hex.map(|h| u8::from_str_radix(h, 16)) {
            Some(Ok(v)) if b == b'%' => {
                out.push(v);
                i = i.saturating_add(3);
            }
            _ => {
                out.push(b);
                i = i.saturating_add(1);
            }
        }
    }
    out
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let (mut key, mut value) = (String::new(), String::new());
            encode(&mut key, &decode(k), false);
            encode(&mut value, &decode(v), false);
            (key, value)
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        let _ = write!(out, "{k}={v}");
    }
    out
}

/// A header value as SigV4 signs it: trimmed, runs of spaces made one.
fn canonical_value(value: &str) -> String {
    value.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical request of `request` over the `signed` header names (lowercase,
/// sorted, as the `SignedHeaders` list has them). A signed header the request lacks
/// is signed as empty, so it cannot verify against one that has it.
pub fn canonical_request(request: &SignedRequest<'_>, signed: &[&str]) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(request.method);
    out.push('\n');
    encode(&mut out, request.path.as_bytes(), true);
    out.push('\n');
    out.push_str(&canonical_query(request.query));
    out.push('\n');
    for name in signed {
        let values: Vec<String> = request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| canonical_value(v))
            .collect();
        let _ = writeln!(out, "{name}:{}", values.join(","));
    }
    out.push('\n');
    out.push_str(&signed.join(";"));
    out.push('\n');
    out.push_str(&payload_hash(request.payload));
    out
}

/// The string to sign: algorithm, time (`20150830T123600Z`), scope, hash of the
/// canonical request.
pub fn string_to_sign(amz_date: &str, scope: Scope<'_>, canonical_request: &str) -> String {
    let day = amz_date.get(..8).unwrap_or(amz_date);
    format!(
        "{ALGORITHM}\n{amz_date}\n{day}/{}/{}/aws4_request\n{}",
        scope.region,
        scope.service,
        payload_hash(canonical_request.as_bytes())
    )
}

/// The hex signature of `string_to_sign` with `secret`, for the day of `amz_date`.
pub fn signature(secret: &[u8], amz_date: &str, scope: Scope<'_>, string_to_sign: &str) -> String {
    let day = amz_date.get(..8).unwrap_or(amz_date);
    let mut key = b"AWS4".to_vec();
    key.extend_from_slice(secret);
    let mut k_date = hmac(&key, day.as_bytes());
    let mut k_region = hmac(&k_date, scope.region.as_bytes());
    let mut k_service = hmac(&k_region, scope.service.as_bytes());
    let mut k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
    for secret in [&mut key[..], &mut k_date[..], &mut k_region[..], &mut k_service[..], &mut k_signing[..]] {
        zeroize::Zeroize::zeroize(secret);
    }
    signature
}

/// The signed-header list of a request: every header's name, lowercase, sorted, once.
pub fn signed_header_names<'a>(headers: &[(&'a str, &'a str)]) -> Vec<String> {
    let mut names: Vec<String> = headers.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    names
}

/// The `Authorization` header of `request`, signing every header it has (the caller
/// puts `host` and `x-amz-date` among them).
pub fn authorization(
    request: &SignedRequest<'_>,
    access_key_id: &str,
    secret: &[u8],
    scope: Scope<'_>,
    amz_date: &str,
) -> String {
    let names = signed_header_names(request.headers);
    let signed: Vec<&str> = names.iter().map(String::as_str).collect();
    let sts = string_to_sign(amz_date, scope, &canonical_request(request, &signed));
    let day = amz_date.get(..8).unwrap_or(amz_date);
    format!(
        "{ALGORITHM} Credential={access_key_id}/{day}/{}/{}/aws4_request, SignedHeaders={}, Signature={}",
        scope.region,
        scope.service,
        signed.join(";"),
        signature(secret, amz_date, scope, &sts)
    )
}

/// An `Authorization` header, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The credential's access key id.
    pub access_key_id: &'a str,
    /// The scope's day (`20150830`).
    pub day: &'a str,
    /// The scope's region and service.
    pub scope: Scope<'a>,
    /// The signed headers, lowercase, in the order given.
    pub signed_headers: Vec<&'a str>,
    /// The hex signature.
    pub signature: &'a str,
}

impl<'a> Authorization<'a> {
    /// Reads `AWS4-HMAC-SHA256 Credential=…/day/region/service/aws4_request,
    /// SignedHeaders=a;b, Signature=hex`; `None` for anything else.
    pub fn parse(header: &'a str) -> Option<Self> {
        if header.len() > MAX_AUTHORIZATION_BYTES {
            return None;
        }
        let rest = header.strip_prefix(ALGORITHM)?.strip_prefix(' ')?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (name, value) = part.trim().split_once('=')?;
            let slot = match name {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed,
                "Signature" => &mut signature,
                _ => return None,
            };
            if slot.replace(value).is_some() {
                return None;
            }
        }
        let mut credential = credential?.split('/');
        let (access_key_id, day, region, service) =
            (credential.next()?, credential.next()?, credential.next()?, credential.next()?);
        if credential.next()? != "aws4_request" || credential.next().is_some() {
            return None;
        }
        let signed_headers: Vec<&str> = signed?.split(';').take(MAX_SIGNED_HEADERS.saturating_add(1)).collect();
        if signed_headers.len() > MAX_SIGNED_HEADERS {
            return None;
        }
        let well_formed = |names: &[&str]| {
            names.iter().all(|n| !n.is_empty() && !n.bytes().any(|b| b.is_ascii_uppercase()))
                && names.windows(2).all(|w| matches!(w, [a, b] if a < b))
        };
        let signature = signature?;
        if access_key_id.is_empty() || !well_formed(&signed_headers) || signature.len() != 64 {
            return None;
        }
        Some(Authorization { access_key_id, day, scope: Scope { region, service }, signed_headers, signature })
    }

    /// Whether the signature is right for `request` signed at `amz_date` with `secret`:
    /// recomputed over the headers this authorization lists, compared in constant time.
    pub fn verifies(&self, request: &SignedRequest<'_>, amz_date: &str, secret: &[u8]) -> bool {
        if amz_date.get(..8) != Some(self.day) {
            return false;
        }
        let sts = string_to_sign(amz_date, self.scope, &canonical_request(request, &self.signed_headers));
        let expected = signature(secret, amz_date, self.scope, &sts);
        bool::from(expected.as_bytes().ct_eq(self.signature.as_bytes()))
    }
}
