//! A client of Alibaba Cloud's OpenAPI in the RPC style, as its SDKs call it: a request
//! signed with RPC v1 (`HMAC-SHA1`) or V3 (`ACS3-HMAC-SHA256`), posted as a form over the
//! XKS client's [`Transport`] (natively ureq and rustls; in wasm the host's `fetch`), and
//! its answer as it came. [`crate::key_providers::kms`] calls KMS with it; the npm
//! package's `KmsApiClient` and `kms-instance plan --endpoint` call any operation.

use super::signature;
use crate::code::{Code, Problem};
use crate::key_providers::kms::{KmsSettings, Signature};
use crate::key_providers::xks::{endpoint_host, Exchange, Transport};
use crate::platform::os_random;
use std::time::Duration;
use zeroize::Zeroizing;

/// Where the API is, who signs, and how.
pub struct Client {
    endpoint: String,
    host: String,
    region: String,
    access_key_id: String,
    secret: Zeroizing<String>,
    security_token: Option<String>,
    signature: Signature,
    timeout: Duration,
    transport: Box<dyn Transport>,
}

fn setting(message: impl Into<String>) -> Problem {
    Problem::new(Code::Keyring, message)
}

impl Client {
    /// A client of `settings` (its `keys` are the provider's, not read here), signing
    /// with `secret`, over `transport`.
    pub fn new(
        settings: &KmsSettings,
        secret: Zeroizing<String>,
        transport: Box<dyn Transport>,
    ) -> Result<Self, Problem> {
        let host = endpoint_host(&settings.endpoint)?;
        // A region id's characters (the envelope's builds carry no rules module).
        let region_like = |r: &str| {
            !r.is_empty()
                && r.len() <= 64
                && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !region_like(&settings.region) {
            return Err(setting("region: not a region id"));
        }
        if settings.access_key_id.is_empty() || secret.is_empty() {
            return Err(setting("an AccessKey id and secret are required"));
        }
        Ok(Client {
            endpoint: settings.endpoint.trim_end_matches('/').to_string(),
            host,
            region: settings.region.clone(),
            access_key_id: settings.access_key_id.clone(),
            secret,
            security_token: settings.security_token.clone(),
            signature: settings.signature,
            timeout: Duration::from_millis(settings.timeout_ms.unwrap_or(5_000).clamp(1, 600_000)),
            transport,
        })
    }

    /// The endpoint it calls.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The region it signs for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// One signed call of `action` of API `version` with `params`: the HTTP status and
    /// the body as they came (a body may hold a plaintext: wiped when dropped). Nothing
    /// is retried; the transport's failure is a problem.
    pub async fn call(
        &self,
        version: &str,
        action: &str,
        params: Vec<(String, String)>,
    ) -> Result<(u16, Zeroizing<Vec<u8>>), Problem> {
        // A parameter may be a data key (Encrypt's Plaintext): every string made of the
        // parameters is wiped once sent.
        let mut params = Params(params);
        let mut nonce = [0u8; 16];
        os_random(&mut nonce)?;
        let nonce = hex::encode(nonce);
        // The platform's clock: wasm has no system clock for `time` to read.
        let now = crate::platform::utc_now().unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let timestamp = crate::platform::timestamp(now, true);
        let form = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(n, v)| format!("{}={}", signature::percent_encode(n), signature::percent_encode(v)))
                .collect::<Vec<_>>()
                .join("&")
        };
        let content_type = ("content-type".to_string(), "application/x-www-form-urlencoded".to_string());
        let (headers, body) = match self.signature {
            Signature::V1 => {
                let pairs = &mut params.0;
                let common = [
                    ("Action", action),
                    ("Version", version),
                    ("Format", "JSON"),
                    ("AccessKeyId", &self.access_key_id),
                    ("SignatureMethod", "HMAC-SHA1"),
                    ("SignatureVersion", "1.0"),
                    ("SignatureNonce", &nonce),
                    ("Timestamp", &timestamp),
                    ("RegionId", &self.region),
                ];
                pairs.extend(common.iter().map(|(n, v)| (n.to_string(), v.to_string())));
                if let Some(token) = &self.security_token {
                    pairs.push(("SecurityToken".into(), token.clone()));
                }
                let sts = Zeroizing::new(signature::v1_string_to_sign("POST", pairs));
                pairs.push(("Signature".into(), signature::v1_signature(&self.secret, &sts)));
                (vec![("host".to_string(), self.host.clone()), content_type], form(pairs))
            }
            Signature::V3 => {
                let body = form(&params.0);
                let mut headers = vec![
                    ("host".to_string(), self.host.clone()),
                    content_type,
                    ("x-acs-action".to_string(), action.to_string()),
                    ("x-acs-version".to_string(), version.to_string()),
                    ("x-acs-date".to_string(), timestamp),
                    ("x-acs-signature-nonce".to_string(), nonce),
                    ("x-acs-content-sha256".to_string(), crate::xks::sigv4::payload_hash(body.as_bytes())),
                ];
                if let Some(token) = &self.security_token {
                    headers.push(("x-acs-security-token".into(), token.clone()));
                }
                headers.sort();
                let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                let names: Vec<&str> = borrowed.iter().map(|(n, _)| *n).collect();
                let request = crate::xks::sigv4::SignedRequest {
                    method: "POST",
                    path: "/",
                    query: "",
                    headers: &borrowed,
                    payload: body.as_bytes(),
                };
                let sts = signature::v3_string_to_sign(&request, &names);
                let authorization = format!(
                    "{} Credential={},SignedHeaders={},Signature={}",
                    signature::ACS3,
                    self.access_key_id,
                    names.join(";"),
                    signature::v3_signature(&self.secret, &sts)
                );
                headers.push(("authorization".into(), authorization));
                (headers, body)
            }
        };
        let exchange = Exchange {
            url: format!("{}/", self.endpoint),
            headers,
            body: Zeroizing::new(body.into_bytes()),
            timeout: self.timeout,
        };
        drop(params);
        let answer = self.transport.post(exchange).await?;
        Ok((answer.status, answer.body))
    }
}

/// A request's parameters, wiped when dropped.
struct Params(Vec<(String, String)>);

impl Drop for Params {
    fn drop(&mut self) {
        for (name, value) in &mut self.0 {
            zeroize::Zeroize::zeroize(name);
            zeroize::Zeroize::zeroize(value);
        }
    }
}
