//! The two signatures of Alibaba Cloud's OpenAPI that the KMS API takes, built the same
//! way by the client and the server: RPC v1 (`HMAC-SHA1`, over the sorted parameters)
//! and V3 (`ACS3-HMAC-SHA256`, over a canonical request shaped as SigV4's, whose
//! builder it shares).

use crate::xks::sigv4::{self, SignedRequest};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use subtle::ConstantTimeEq;

/// The V3 algorithm's name, first in its `Authorization` header.
pub const ACS3: &str = "ACS3-HMAC-SHA256";

/// Percent-encodes as the OpenAPI does (RFC 3986: every byte but `A-Z a-z 0-9 - _ . ~`).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// RPC v1's string to sign: `METHOD&%2F&` and the percent-encoded, sorted
/// `name=value` pairs of every parameter but `Signature`.
pub fn v1_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| name != "Signature")
        .map(|(name, value)| (percent_encode(name), percent_encode(value)))
        .collect();
    pairs.sort();
    let canonical = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&");
    format!("{method}&{}&{}", percent_encode("/"), percent_encode(&canonical))
}

/// RPC v1's signature: the base64 of HMAC-SHA1 keyed with `secret&`.
pub fn v1_signature(secret: &str, string_to_sign: &str) -> String {
    let mut key = zeroize::Zeroizing::new(secret.as_bytes().to_vec());
    key.push(b'&');
    // HMAC takes a key of any length: new_from_slice cannot fail for it.
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap_or_else(|_| Hmac::new(&Default::default()));
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// V3's string to sign: the algorithm and the hex SHA-256 of the canonical request over
/// the `signed` header names (lowercase, sorted).
pub fn v3_string_to_sign(request: &SignedRequest<'_>, signed: &[&str]) -> String {
    let canonical = sigv4::canonical_request(request, signed);
    format!("{ACS3}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())))
}

/// V3's signature: the hex HMAC-SHA256 of the string to sign, keyed with the secret.
pub fn v3_signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| Hmac::new(&Default::default()));
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether two signatures are the same, in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A V3 `Authorization` header, read.
#[derive(Debug, PartialEq, Eq)]
pub struct V3Authorization<'a> {
    /// The AccessKey id of `Credential=`.
    pub access_key_id: &'a str,
    /// The header names of `SignedHeaders=`, as given.
    pub signed_headers: Vec<&'a str>,
    /// The hex signature of `Signature=`.
    pub signature: &'a str,
}

/// Reads `ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`; `None` when it is
/// not one, or names more than 32 headers.
pub fn v3_authorization(header: &str) -> Option<V3Authorization<'_>> {
    let fields = header.strip_prefix(ACS3)?.trim_start();
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for field in fields.split(',') {
        let (name, value) = field.trim().split_once('=')?;
        match name {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed = Some(value),
            "Signature" => signature = Some(value),
            _ => return None,
        }
    }
    let signed_headers: Vec<&str> = signed?.split(';').filter(|n| !n.is_empty()).collect();
    if signed_headers.len() > sigv4::MAX_SIGNED_HEADERS {
        return None;
    }
    Some(V3Authorization { access_key_id: credential?, signed_headers, signature: signature? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_the_unreserved() {
        assert_eq!(percent_encode("a b*~/=é"), "a%20b%2A~%2F%3D%C3%A9");
    }

    #[test]
    fn v1_signs_the_sorted_parameters() {
        // The example of Alibaba Cloud's RPC signature documentation (DescribeRegions).
        let params: Vec<(String, String)> = [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        let sts = v1_string_to_sign("GET", &params);
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        assert_eq!(v1_signature("testsecret", &sts), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
    }

    #[test]
    fn v3_authorization_is_read_and_refused_when_malformed() {
        let read = v3_authorization("ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host;x-acs-date,Signature=ab12");
        assert_eq!(
            read,
            Some(V3Authorization {
                access_key_id: "ak",
                signed_headers: vec!["host", "x-acs-date"],
                signature: "ab12"
            })
        );
        for bad in
            ["", "AWS4-HMAC-SHA256 Credential=a", "ACS3-HMAC-SHA256 Credential=a,Signature=b", "ACS3-HMAC-SHA256 X=1"]
        {
            assert_eq!(v3_authorization(bad), None, "{bad}");
        }
    }
}
