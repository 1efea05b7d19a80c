//! The XKS proxy (`kms-instance xks-proxy`) over SoftHSM2 on 127.0.0.1, with TLS from a
//! CA made at test time, and the XKS client (`XksBridge`) against it and against
//! servers that misbehave. The proxy is the real binary, started and stopped here.
//!
//! Runs when SoftHSM2 is installed (`.ci/test` installs it; `KMS_REQUIRE_SOFTHSM=1`
//! makes its absence a failure).
#![cfg(all(feature = "xks-proxy", feature = "cli"))]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use kms_instance::envelope::{self, Algorithm, DecryptOptions, EncryptOptions, EncryptionContext, KeyProvider};
use kms_instance::key_providers::software::SoftwareKeyProvider;
use kms_instance::key_providers::xks::native::{ClientIdentity, NativeTransport, Trust};
use kms_instance::key_providers::xks::{Exchange, Transport, XksBridge, XksSettings};
use kms_instance::xks::sigv4::{self, Scope, SignedRequest};
use kms_instance::Code;
use pollster::block_on;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

#[path = "support/xks_world.rs"]
mod xks_world;
use xks_world::*;

fn world() -> Option<&'static World> {
    static WORLD: OnceLock<Option<World>> = OnceLock::new();
    WORLD.get_or_init(make_world).as_ref()
}

/// A proxy of the usual configuration (TLS, no client certificate) for one test.
fn proxy() -> Option<(Proxy, u16)> {
    let p = start(world()?, "usual", |_| {});
    let port = p.port;
    Some((p, port))
}

fn transport(w: &World) -> NativeTransport {
    NativeTransport::new(&Trust::Ca(w.ca_pem.clone().into_bytes()), None).unwrap()
}

fn settings(port: u16, keys: Value) -> XksSettings {
    serde_json::from_value(json!({
        "endpoint": format!("https://localhost:{port}"),
        "uriPrefix": PREFIX,
        "accessKeyId": ID_A,
        "principal": PRINCIPAL,
        "keys": keys,
    }))
    .unwrap()
}

fn bridge(w: &World, port: u16, keys: Value) -> XksBridge {
    XksBridge::new(settings(port, keys), SECRET_A.to_string().into(), Box::new(transport(w))).unwrap()
}

fn context() -> EncryptionContext {
    [("purpose".to_string(), "xks-test".to_string())].into()
}

/// A request signed as `id`/`secret`, at `skew_secs` from now; the status and JSON answer.
fn call(w: &World, port: u16, path: &str, body: &Value, id: &str, secret: &str, skew_secs: i64) -> (u16, Value) {
    let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    call_raw(w, port, "POST", path, body, id, secret, skew_secs)
}

#[allow(clippy::too_many_arguments)]
fn call_raw(
    w: &World,
    port: u16,
    method: &str,
    path: &str,
    body: Vec<u8>,
    id: &str,
    secret: &str,
    skew: i64,
) -> (u16, Value) {
    let host = format!("localhost:{port}");
    let all = signed_headers(method, &host, path, &body, id, secret, skew);
    if method == "GET" {
        let agent = ureq::AgentBuilder::new().tls_config(Arc::new(rustls_client(w))).build();
        let response = match agent.get(&format!("https://localhost:{port}{path}")).call() {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
        return (response.status(), Value::Null);
    }
    let exchange = Exchange {
        url: format!("https://localhost:{port}{path}"),
        headers: all,
        body: body.into(),
        timeout: Duration::from_secs(5),
    };
    let answer = block_on(transport(w).post(exchange)).unwrap();
    (answer.status, serde_json::from_slice(&answer.body).unwrap_or(Value::Null))
}

fn rustls_client(w: &World) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(
        rustls::pki_types::pem::PemObject::pem_slice_iter(w.ca_pem.as_bytes()).map(Result::unwrap),
    );
    assert_eq!(added, 1);
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn key_path(id: &str, op: &str) -> String {
    format!("{PREFIX}/kms/xks/v1/keys/{id}/{op}")
}

fn meta(op: &str) -> Value {
    json!({"awsPrincipalArn": PRINCIPAL, "kmsKeyArn": arn("k-both").as_str(), "kmsOperation": op, "kmsRequestId": "req-1"})
}

fn encrypt_body() -> Value {
    json!({
        "requestMetadata": meta("Encrypt"),
        "plaintext": STANDARD.encode(b"a data key of 32 bytes, exactly!"),
        "encryptionAlgorithm": "AES_GCM",
        "additionalAuthenticatedData": STANDARD.encode(b"context"),
        "ciphertextDataIntegrityValueAlgorithm": "SHA_256",
        "aFieldFromTheFuture": {"ignored": true}
    })
}

fn error_name(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["errorName"].as_str().unwrap_or(""))
}

#[test]
fn seals_and_opens_through_the_proxy_beside_software_keys() {
    let (Some(w), Some((_p, port))) = (world(), proxy()) else { return };
    let proxy = bridge(
        w,
        port,
        json!([arn("k-both").as_str(), {"arn": arn("renamed").as_str(), "externalKeyId": "ext.renamed_1"}]),
    );
    let mut software = SoftwareKeyProvider::new();
    software.add(arn("soft"), [7u8; 32]).unwrap();
    let providers: [&dyn KeyProvider; 2] = [&software, &proxy];
    let options = EncryptOptions { context: context(), ..EncryptOptions::default() };
    let keys = [arn("k-both"), arn("soft"), arn("renamed")];
    let message = block_on(envelope::encrypt(&providers, &keys, b"through the proxy", &options)).unwrap();
    let parsed = envelope::Message::from_der(&message).unwrap();
    assert_eq!(parsed.header.encrypted_data_keys.len(), 3);
    // Each provider alone opens it, with the key it holds.
    for (alone, expected) in [(&proxy as &dyn KeyProvider, "k-both"), (&software, "soft")] {
        let opened = block_on(envelope::decrypt(&[alone], &message, &DecryptOptions::default())).unwrap();
        assert_eq!(opened.plaintext, b"through the proxy");
        assert_eq!(opened.key_arn, arn(expected).as_str());
    }
    let description = block_on(proxy.describe_key(&arn("k-both"))).unwrap();
    assert_eq!(description.protection_level, "HSM");
    // SM4-GCM through the proxy: its data key is 16 bytes, wrapped as any other.
    let sm4 = EncryptOptions { algorithm: Algorithm::Sm4Gcm128, ..EncryptOptions::default() };
    let message_sm4 = block_on(envelope::encrypt(&[&proxy], &[arn("k-both")], &[9; 70_000], &sm4)).unwrap();
    let opened = block_on(envelope::decrypt(&[&proxy], &message_sm4, &DecryptOptions::default())).unwrap();
    assert_eq!(opened.plaintext, [9; 70_000]);
    // The mapped key reaches the same token key under its external id.
    let only_renamed = block_on(envelope::encrypt(&[&proxy], &[arn("renamed")], b"renamed", &options)).unwrap();
    let opened = block_on(envelope::decrypt(&[&proxy], &only_renamed, &DecryptOptions::default())).unwrap();
    assert_eq!(opened.plaintext, b"renamed");
    // A changed context does not open.
    let wrong = DecryptOptions {
        require_context: [("purpose".to_string(), "other".to_string())].into(),
        ..DecryptOptions::default()
    };
    assert!(block_on(envelope::decrypt(&[&proxy], &message, &wrong)).is_err());
}

#[test]
fn keys_are_refused_for_the_usage_they_lack_and_when_missing() {
    let (Some(w), Some((_p, port))) = (world(), proxy()) else { return };
    let proxy = bridge(w, port, json!([arn("k-enc").as_str(), arn("k-dec").as_str(), arn("k-missing").as_str()]));
    let options = EncryptOptions::default();
    for (key, code) in [("k-dec", Code::BridgeKeyUnusable), ("k-missing", Code::BridgeKeyNotFound)] {
        let e = block_on(envelope::encrypt(&[&proxy], &[arn(key)], b"x", &options)).unwrap_err();
        assert_eq!(e.code, code, "{key}: {e}");
        // The proxy's answer names the request; the usage refusal is the client's own.
        assert_eq!(e.message.contains("kmsRequestId"), key == "k-missing", "{e}");
    }
    // An encrypt-only key gives no integrity value (that needs a decrypt): refused.
    let e = block_on(envelope::encrypt(&[&proxy], &[arn("k-enc")], b"x", &options)).unwrap_err();
    assert_eq!(e.code, Code::BridgeKeyUnusable, "{e}");
    // At the API: encrypt without an integrity value works with k-enc; decrypt with it does not.
    let mut body = encrypt_body();
    body.as_object_mut().unwrap().remove("ciphertextDataIntegrityValueAlgorithm");
    let sealed = call(w, port, &key_path("k-enc", "encrypt"), &body, ID_A, SECRET_A, 0);
    assert_eq!(sealed.0, 200, "{:?}", sealed.1);
    let decrypt = json!({
        "requestMetadata": meta("Decrypt"), "encryptionAlgorithm": "AES_GCM",
        "ciphertext": sealed.1["ciphertext"], "initializationVector": sealed.1["initializationVector"],
        "authenticationTag": sealed.1["authenticationTag"], "additionalAuthenticatedData": STANDARD.encode(b"context"),
    });
    let refused = call(w, port, &key_path("k-enc", "decrypt"), &decrypt, ID_A, SECRET_A, 0);
    assert_eq!(error_name(&refused), (400, "InvalidKeyUsageException"));
    let refused = call(w, port, &key_path("k-dec", "encrypt"), &body, ID_A, SECRET_A, 0);
    assert_eq!(error_name(&refused), (400, "InvalidKeyUsageException"));
    let missing = call(
        w,
        port,
        &key_path("k-missing", "metadata"),
        &json!({"requestMetadata": meta("DescribeKey")}),
        ID_A,
        SECRET_A,
        0,
    );
    assert_eq!(error_name(&missing), (404, "KeyNotFoundException"));
    let unknown = call(w, port, &key_path("nope", "encrypt"), &encrypt_body(), ID_A, SECRET_A, 0);
    assert_eq!(error_name(&unknown), (404, "KeyNotFoundException"));
}

#[test]
fn keys_do_what_the_token_allows_and_the_configuration_narrows() {
    let (Some(w), Some((_p, port))) = (world(), proxy()) else { return };
    let metadata = |key: &str| {
        call(w, port, &key_path(key, "metadata"), &json!({"requestMetadata": meta("DescribeKey")}), ID_A, SECRET_A, 0)
    };
    // What the token allows (t-*: generated with --usage / --bits), narrowed by the
    // configuration (k-enc: both on the token, ENCRYPT configured; c-none: none configured).
    for (key, spec, usage) in [
        ("k-both", "AES_256", json!(["ENCRYPT", "DECRYPT"])),
        ("k-enc", "AES_256", json!(["ENCRYPT"])),
        ("t-enc", "AES_256", json!(["ENCRYPT"])),
        ("t-none", "AES_256", json!([])),
        ("c-none", "AES_256", json!([])),
        ("t-aes128", "AES_128", json!(["ENCRYPT", "DECRYPT"])),
    ] {
        let (status, body) = metadata(key);
        assert_eq!((status, &body["keySpec"], &body["keyUsage"]), (200, &json!(spec), &usage), "{key}: {body}");
    }
    let mut plain = encrypt_body();
    plain.as_object_mut().unwrap().remove("ciphertextDataIntegrityValueAlgorithm");
    let sealed = call(w, port, &key_path("t-enc", "encrypt"), &plain, ID_A, SECRET_A, 0);
    assert_eq!(sealed.0, 200, "{}", sealed.1);
    let decrypt = json!({
        "requestMetadata": meta("Decrypt"), "encryptionAlgorithm": "AES_GCM",
        "ciphertext": sealed.1["ciphertext"], "initializationVector": sealed.1["initializationVector"],
        "authenticationTag": sealed.1["authenticationTag"], "additionalAuthenticatedData": STANDARD.encode(b"context"),
    });
    let unusable = (400, "InvalidKeyUsageException");
    assert_eq!(error_name(&call(w, port, &key_path("t-enc", "decrypt"), &decrypt, ID_A, SECRET_A, 0)), unusable);
    for key in ["t-none", "c-none", "t-aes128"] {
        assert_eq!(error_name(&call(w, port, &key_path(key, "encrypt"), &plain, ID_A, SECRET_A, 0)), unusable, "{key}");
        assert_eq!(
            error_name(&call(w, port, &key_path(key, "decrypt"), &decrypt, ID_A, SECRET_A, 0)),
            unusable,
            "{key}"
        );
    }
}

#[test]
fn validation_messages_name_the_field() {
    let (Some(w), Some((_p, port))) = (world(), proxy()) else { return };
    let path = key_path("k-both", "encrypt");
    let message = |body: Vec<u8>| {
        let answer = call_raw(w, port, "POST", &path, body, ID_A, SECRET_A, 0);
        assert_eq!(error_name(&answer), (400, "ValidationException"));
        answer.1["errorMessage"].as_str().unwrap_or("").to_string()
    };
    assert!(message(b"{not json".to_vec()).starts_with("the body is not JSON (line 1, column"));
    let mut body = encrypt_body();
    body["requestMetadata"].as_object_mut().unwrap().remove("kmsRequestId");
    assert_eq!(message(body.to_string().into_bytes()), "requestMetadata.kmsRequestId is required");
    let mut body = encrypt_body();
    body.as_object_mut().unwrap().remove("encryptionAlgorithm");
    assert_eq!(message(body.to_string().into_bytes()), "encryptionAlgorithm is required");
}

#[test]
fn every_route_answers_as_the_specification_says() {
    let (Some(w), Some((p, port))) = (world(), proxy()) else { return };
    let health = call(
        w,
        port,
        &format!("{PREFIX}/kms/xks/v1/health"),
        &json!({"requestMetadata": {"kmsRequestId": "h-1", "kmsOperation": "KmsHealthCheck"}}),
        ID_A,
        SECRET_A,
        0,
    );
    assert_eq!(health.0, 200, "{:?}", health.1);
    assert_eq!(health.1["ekmFleetDetails"][0]["id"], TOKEN);
    assert_eq!(
        health.1["ekmFleetDetails"][0]["healthStatus"], "DEGRADED",
        "k-missing is configured but not on the token"
    );
    assert!(health.1["xksProxyFleetSize"].as_u64().unwrap() >= 1);

    let metadata = call(
        w,
        port,
        &key_path("k-enc", "metadata"),
        &json!({"requestMetadata": meta("CreateKey")}),
        ID_B,
        SECRET_B,
        0,
    );
    assert_eq!(metadata.1, json!({"keySpec": "AES_256", "keyUsage": ["ENCRYPT"], "keyStatus": "ENABLED"}));

    let sealed = call(w, port, &key_path("k-both", "encrypt"), &encrypt_body(), ID_A, SECRET_A, 0);
    assert_eq!(sealed.0, 200, "{:?}", sealed.1);
    let b = |f: &str| STANDARD.decode(sealed.1[f].as_str().unwrap()).unwrap();
    assert_eq!(b("initializationVector").len(), 12);
    assert_eq!(b("authenticationTag").len(), 16);
    assert_eq!(b("ciphertext").len(), 32);
    let cdiv = kms_instance::xks::wire::integrity_value(
        b"context",
        b"",
        &b("initializationVector"),
        &b("ciphertext"),
        &b("authenticationTag"),
    );
    assert_eq!(b("ciphertextDataIntegrityValue"), cdiv);
    let mut decrypt = json!({
        "requestMetadata": meta("SomeFutureOperation"), "encryptionAlgorithm": "AES_GCM",
        "ciphertext": sealed.1["ciphertext"], "initializationVector": sealed.1["initializationVector"],
        "authenticationTag": sealed.1["authenticationTag"], "additionalAuthenticatedData": STANDARD.encode(b"context"),
    });
    let opened = call(w, port, &key_path("k-both", "decrypt"), &decrypt, ID_A, SECRET_A, 0);
    assert_eq!(opened.1["plaintext"], STANDARD.encode(b"a data key of 32 bytes, exactly!"));
    // The AAD and the metadata are bound: either changed, or one passed as the other, does not open.
    for (field, value) in [
        ("additionalAuthenticatedData", json!(STANDARD.encode(b"other"))),
        ("ciphertextMetadata", json!(STANDARD.encode(b"context"))),
    ] {
        let mut changed = decrypt.clone();
        changed[field] = value;
        if field == "ciphertextMetadata" {
            changed.as_object_mut().unwrap().remove("additionalAuthenticatedData");
        }
        let refused = call(w, port, &key_path("k-both", "decrypt"), &changed, ID_A, SECRET_A, 0);
        assert_eq!(error_name(&refused), (400, "InvalidCiphertextException"), "{field}");
    }
    decrypt["authenticationTag"] = json!(STANDARD.encode([0u8; 16]));
    assert_eq!(
        error_name(&call(w, port, &key_path("k-both", "decrypt"), &decrypt, ID_A, SECRET_A, 0)),
        (400, "InvalidCiphertextException")
    );

    // Paths: another prefix's, none, an unknown operation; GET on a route.
    for path in [
        "/tenant-c/kms/xks/v1/health",
        "/kms/xks/v1/health",
        &format!("{PREFIX}/kms/xks/v1/keys/k-both/sign"),
        &format!("{PREFIX}/kms/xks/v1/keys//encrypt"),
        &format!("{PREFIX}/kms/xks/v2/health"),
    ] {
        assert_eq!(
            error_name(&call(w, port, path, &encrypt_body(), ID_A, SECRET_A, 0)),
            (404, "InvalidUriPathException"),
            "{path}"
        );
    }
    assert_eq!(call_raw(w, port, "GET", &key_path("k-both", "metadata"), Vec::new(), ID_A, SECRET_A, 0).0, 405);
    // The other tenant's credential is not this prefix's.
    let other = call(w, port, &key_path("k-both", "encrypt"), &encrypt_body(), "AKIAOTHERTENANT00000", SECRET_B, 0);
    assert_eq!(error_name(&other), (401, "AuthenticationFailedException"));

    // One access-log line per request, with the operation, key, result; no secret, no plaintext.
    std::thread::sleep(Duration::from_millis(100));
    let log = p.log.lock().unwrap().join("\n");
    assert!(log.lines().any(|l| l.contains(" Encrypt ") && l.contains(" k-both ") && l.ends_with(" Success")), "{log}");
    assert!(log.lines().any(|l| l.contains("InvalidCiphertextException")), "{log}");
    assert!(log.contains("AKIAXKST****"), "{log}");
    for secret in [SECRET_A, SECRET_B, "a data key of 32", &STANDARD.encode(b"a data key of 32 bytes, exactly!")] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}

#[test]
fn signatures_are_checked_with_both_credentials_and_the_clock() {
    let (Some(w), Some((_p, port))) = (world(), proxy()) else { return };
    let path = key_path("k-both", "metadata");
    let body = json!({"requestMetadata": meta("DescribeKey")});
    for (id, secret) in [(ID_A, SECRET_A), (ID_B, SECRET_B)] {
        assert_eq!(call(w, port, &path, &body, id, secret, 0).0, 200);
        assert_eq!(call(w, port, &path, &body, id, secret, 240).0, 200);
        assert_eq!(error_name(&call(w, port, &path, &body, id, secret, 360)), (401, "AuthenticationFailedException"));
        assert_eq!(error_name(&call(w, port, &path, &body, id, secret, -360)), (401, "AuthenticationFailedException"));
    }
    for (id, secret) in [(ID_A, SECRET_B), ("AKIAUNKNOWN000000000", SECRET_A)] {
        assert_eq!(error_name(&call(w, port, &path, &body, id, secret, 0)), (401, "AuthenticationFailedException"));
    }
    // A body changed after signing, and a request with no signature at all.
    let host = format!("localhost:{port}");
    let amz_date = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"))
        .unwrap();
    let signed_body = body.to_string().into_bytes();
    let headers = [("host", host.as_str()), ("x-amz-date", amz_date.as_str())];
    let auth = sigv4::authorization(
        &SignedRequest { method: "POST", path: &path, query: "", headers: &headers, payload: &signed_body },
        ID_A,
        SECRET_A.as_bytes(),
        Scope { region: "us-east-1", service: "kms-xks-proxy" },
        &amz_date,
    );
    for (authorization, payload) in
        [(Some(auth.clone()), b"{\"requestMetadata\":{}}".to_vec()), (None, signed_body.clone())]
    {
        let mut all = vec![("host".to_string(), host.clone()), ("x-amz-date".to_string(), amz_date.clone())];
        all.extend(authorization.map(|a| ("authorization".to_string(), a)));
        let exchange = Exchange {
            url: format!("https://localhost:{port}{path}"),
            headers: all,
            body: payload.into(),
            timeout: Duration::from_secs(5),
        };
        let answer = block_on(transport(w).post(exchange)).unwrap();
        assert_eq!(answer.status, 401);
    }
    // Signed with only host;x-amz-date (as KMS signs), from any region: accepted.
    let all = vec![
        ("host".to_string(), host.clone()),
        ("x-amz-date".to_string(), amz_date.clone()),
        ("authorization".to_string(), auth),
    ];
    let exchange = Exchange {
        url: format!("https://localhost:{port}{path}"),
        headers: all,
        body: signed_body.into(),
        timeout: Duration::from_secs(5),
    };
    assert_eq!(block_on(transport(w).post(exchange)).unwrap().status, 200);
}

/// The status of a POST with exactly these headers (repeated names too) and a
/// content-length, written by hand over TLS.
fn status_of(w: &World, port: u16, path: &str, body: &[u8], headers: &[(&str, &str)]) -> u16 {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let connection =
        rustls::ClientConnection::new(Arc::new(rustls_client(w)), "localhost".try_into().unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    let mut request = format!("POST {path} HTTP/1.1\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    tls.write_all(request.as_bytes()).unwrap();
    tls.write_all(body).unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {text:?}"))
}

#[test]
fn the_proxy_refuses_each_way_a_signature_can_be_wrong() {
    let (Some(w), Some((_p, port))) = (world(), proxy()) else { return };
    let path = key_path("k-both", "metadata");
    let body = json!({"requestMetadata": meta("DescribeKey")}).to_string().into_bytes();
    let host = format!("localhost:{port}");
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let now = time::OffsetDateTime::now_utc().format(format).unwrap();
    let scope = Scope { region: "cn-hangzhou", service: "kms-xks-proxy" };
    // The Authorization of a request whose signed headers are exactly `signed`.
    let sign = |signed: &[(&str, &str)], scope: Scope<'_>, date: &str| {
        let request = SignedRequest { method: "POST", path: &path, query: "", headers: signed, payload: &body };
        sigv4::authorization(&request, ID_A, SECRET_A.as_bytes(), scope, date)
    };
    let both = [("host", host.as_str()), ("x-amz-date", now.as_str())];
    let good = sign(&both, scope, &now);
    assert_eq!(status_of(w, port, &path, &body, &[both[0], both[1], ("authorization", &good)]), 200);

    let host_unsigned = sign(&both[1..], scope, &now);
    let date_unsigned = sign(&both[..1], scope, &now);
    let other_service = sign(&both, Scope { service: "kms", ..scope }, &now);
    let yesterday = good.replacen(&format!("/{}/", &now[..8]), "/20200101/", 1);
    let bad_date = "2026-12-02T10:00:00Z";
    let bad_dated = sign(&[both[0], ("x-amz-date", bad_date)], scope, bad_date);
    let cases: [(&str, Vec<(&str, &str)>); 8] = [
        ("host not signed", vec![both[0], both[1], ("authorization", &host_unsigned)]),
        ("x-amz-date not signed", vec![both[0], both[1], ("authorization", &date_unsigned)]),
        ("two Authorization headers", vec![both[0], both[1], ("authorization", &good), ("authorization", &good)]),
        ("two X-Amz-Date headers", vec![both[0], both[1], both[1], ("authorization", &good)]),
        (
            "an X-Amz-Date that is not the format",
            vec![both[0], ("x-amz-date", bad_date), ("authorization", &bad_dated)],
        ),
        ("a credential scope of another day", vec![both[0], both[1], ("authorization", &yesterday)]),
        ("another service", vec![both[0], both[1], ("authorization", &other_service)]),
        ("a host changed after signing", vec![("host", "xks.example.com"), both[1], ("authorization", &good)]),
    ];
    for (what, headers) in cases {
        assert_eq!(status_of(w, port, &path, &body, &headers), 401, "{what}");
    }

    // A prefix that names its region takes signatures for that region only.
    let regional = start(w, "regional", |c| c["prefixes"][0]["region"] = json!("cn-hangzhou"));
    let host = format!("localhost:{}", regional.port);
    let both = [("host", host.as_str()), ("x-amz-date", now.as_str())];
    for (region, expected) in [("cn-hangzhou", 200), ("us-east-1", 401)] {
        let request = SignedRequest { method: "POST", path: &path, query: "", headers: &both, payload: &body };
        let auth = sigv4::authorization(&request, ID_A, SECRET_A.as_bytes(), Scope { region, ..scope }, &now);
        assert_eq!(
            status_of(w, regional.port, &path, &body, &[both[0], both[1], ("authorization", &auth)]),
            expected,
            "{region}"
        );
    }
}

#[test]
fn every_field_is_validated() {
    let (Some(w), Some((_p, port))) = (world(), proxy()) else { return };
    let path = key_path("k-both", "encrypt");
    let check = |path: &str, body: Value, expected: (u16, &str), what: &str| {
        let answer = call(w, port, path, &body, ID_A, SECRET_A, 0);
        assert_eq!(error_name(&answer), expected, "{what}: {:?}", answer.1);
    };
    let validation = (400, "ValidationException");
    let mut cases: Vec<(String, Value)> = Vec::new();
    for field in ["requestMetadata", "plaintext", "encryptionAlgorithm"] {
        let mut body = encrypt_body();
        body.as_object_mut().unwrap().remove(field);
        cases.push((format!("without {field}"), body));
    }
    for field in ["awsPrincipalArn", "kmsKeyArn", "kmsOperation", "kmsRequestId"] {
        let mut body = encrypt_body();
        body["requestMetadata"].as_object_mut().unwrap().remove(field);
        cases.push((format!("without requestMetadata.{field}"), body));
    }
    for (field, value) in [
        ("plaintext", json!("not base64!")),
        ("plaintext", json!(12)),
        ("additionalAuthenticatedData", json!("YWJj=")),
        ("encryptionAlgorithm", json!("AES_CBC")),
        ("ciphertextDataIntegrityValueAlgorithm", json!("MD5")),
        ("requestMetadata", json!("a string")),
    ] {
        let mut body = encrypt_body();
        body[field] = value.clone();
        cases.push((format!("{field} = {value}"), body));
    }
    for (what, body) in cases {
        check(&path, body, validation, &what);
    }
    check(&format!("{PREFIX}/kms/xks/v1/health"), Value::Null, validation, "an empty health body");
    check(&path, Value::Null, validation, "an empty encrypt body");
    // Past the sizes every proxy must take: 501.
    let mut big = encrypt_body();
    big["plaintext"] = json!(STANDARD.encode(vec![1u8; 4301]));
    check(&path, big, (501, "UnsupportedOperationException"), "4,301 bytes of plaintext");
    let mut big = encrypt_body();
    big["additionalAuthenticatedData"] = json!(STANDARD.encode(vec![1u8; 8193]));
    check(&path, big, (501, "UnsupportedOperationException"), "8,193 bytes of AAD");
    let mut at_limit = encrypt_body();
    at_limit["plaintext"] = json!(STANDARD.encode(vec![1u8; 4300]));
    at_limit["additionalAuthenticatedData"] = json!(STANDARD.encode(vec![1u8; 8192]));
    assert_eq!(call(w, port, &path, &at_limit, ID_A, SECRET_A, 0).0, 200);

    let decrypt = |edit: &dyn Fn(&mut Value)| {
        let mut body = json!({
            "requestMetadata": meta("Decrypt"), "encryptionAlgorithm": "AES_GCM",
            "ciphertext": STANDARD.encode([1u8; 32]), "initializationVector": STANDARD.encode([1u8; 12]),
            "authenticationTag": STANDARD.encode([1u8; 16]),
        });
        edit(&mut body);
        body
    };
    let dpath = key_path("k-both", "decrypt");
    check(&dpath, decrypt(&|_| {}), (400, "InvalidCiphertextException"), "a ciphertext that does not open");
    // The specification's InvalidCiphertextException row names the IV and the tag.
    for (what, field, len) in [
        ("an 8-byte IV", "initializationVector", 8),
        ("a 13-byte IV", "initializationVector", 13),
        ("a 15-byte tag", "authenticationTag", 15),
        ("a 17-byte tag", "authenticationTag", 17),
    ] {
        let body = decrypt(&|b: &mut Value| b[field] = json!(STANDARD.encode(vec![1u8; len])));
        check(&dpath, body, (400, "InvalidCiphertextException"), what);
    }
    for (what, edit) in [
        (
            "21 bytes of metadata",
            Box::new(|b: &mut Value| b["ciphertextMetadata"] = json!(STANDARD.encode([1u8; 21])))
                as Box<dyn Fn(&mut Value)>,
        ),
        (
            "no ciphertext",
            Box::new(|b: &mut Value| {
                b.as_object_mut().unwrap().remove("ciphertext");
            }),
        ),
        (
            "no IV",
            Box::new(|b: &mut Value| {
                b.as_object_mut().unwrap().remove("initializationVector");
            }),
        ),
        (
            "no tag",
            Box::new(|b: &mut Value| {
                b.as_object_mut().unwrap().remove("authenticationTag");
            }),
        ),
        ("a bad base64 tag", Box::new(|b: &mut Value| b["authenticationTag"] = json!("####"))),
        ("a bad base64 ciphertext", Box::new(|b: &mut Value| b["ciphertext"] = json!("AAA"))),
        ("a bad base64 IV", Box::new(|b: &mut Value| b["initializationVector"] = json!("=AAA"))),
        (
            "no encryptionAlgorithm",
            Box::new(|b: &mut Value| {
                b.as_object_mut().unwrap().remove("encryptionAlgorithm");
            }),
        ),
        (
            "no kmsKeyArn",
            Box::new(|b: &mut Value| {
                b["requestMetadata"].as_object_mut().unwrap().remove("kmsKeyArn");
            }),
        ),
        (
            "no awsPrincipalArn",
            Box::new(|b: &mut Value| {
                b["requestMetadata"].as_object_mut().unwrap().remove("awsPrincipalArn");
            }),
        ),
    ] {
        check(&dpath, decrypt(&*edit), validation, what);
    }
    for (what, edit) in [
        (
            "4,301 bytes of ciphertext",
            Box::new(|b: &mut Value| b["ciphertext"] = json!(STANDARD.encode(vec![1u8; 4301])))
                as Box<dyn Fn(&mut Value)>,
        ),
        (
            "8,193 bytes of AAD",
            Box::new(|b: &mut Value| b["additionalAuthenticatedData"] = json!(STANDARD.encode(vec![1u8; 8193]))),
        ),
    ] {
        check(&dpath, decrypt(&*edit), (501, "UnsupportedOperationException"), what);
    }
    // Metadata and health: their required fields.
    let mut metadata = json!({"requestMetadata": meta("DescribeKey")});
    metadata["requestMetadata"].as_object_mut().unwrap().remove("awsPrincipalArn");
    check(&key_path("k-both", "metadata"), metadata, validation, "metadata without awsPrincipalArn");
    for field in ["kmsRequestId", "kmsOperation"] {
        let mut health = json!({"requestMetadata": {"kmsRequestId": "h", "kmsOperation": "KmsHealthCheck"}});
        health["requestMetadata"].as_object_mut().unwrap().remove(field);
        check(&format!("{PREFIX}/kms/xks/v1/health"), health, validation, &format!("health without {field}"));
    }
    check(
        &dpath,
        decrypt(&|b| b["initializationVector"] = json!(STANDARD.encode([1u8; 16]))),
        (400, "InvalidCiphertextException"),
        "a 16-byte IV is valid",
    );
}

/// How a client certificate the proxy refuses reaches the client. In TLS 1.3 the client
/// finishes its handshake before the server has checked its certificate, so the
/// refusal arrives as the server's alert or, when the client's request is already on
/// its way to a socket the server closed, as a reset: `Bridge.Tls` or
/// `Bridge.Unavailable`, never an answer.
fn refused_by_mtls(code: Code) -> bool {
    matches!(code, Code::BridgeTls | Code::BridgeUnavailable)
}

#[test]
fn pinned_fingerprints_and_client_certificates() {
    let Some(w) = world() else { return };
    let Some((_p, port)) = proxy() else { return };
    let keys = json!([arn("k-both").as_str()]);
    let options = EncryptOptions::default();
    let pinned = |fp: [u8; 32]| {
        let t = NativeTransport::new(&Trust::Fingerprint(fp), None).unwrap();
        XksBridge::new(settings(port, keys.clone()), SECRET_A.to_string().into(), Box::new(t)).unwrap()
    };
    use sha2::Digest;
    let right: [u8; 32] = sha2::Sha256::digest(&w.server_der).into();
    let good = pinned(right);
    assert!(block_on(envelope::encrypt(&[&good], &[arn("k-both")], b"pinned", &options)).is_ok());
    let mut wrong = right;
    wrong[0] ^= 1;
    let e = block_on(envelope::encrypt(&[&pinned(wrong)], &[arn("k-both")], b"pinned", &options)).unwrap_err();
    assert_eq!(e.code, Code::BridgeTls, "{e}");
    // The system roots do not know the test CA.
    let system = NativeTransport::new(&Trust::SystemRoots, None);
    if let Ok(t) = system {
        let b = XksBridge::new(settings(port, keys.clone()), SECRET_A.to_string().into(), Box::new(t)).unwrap();
        let e = block_on(envelope::encrypt(&[&b], &[arn("k-both")], b"x", &options)).unwrap_err();
        assert_eq!(e.code, Code::BridgeTls, "{e}");
    }

    // mTLS: a proxy that asks for a client certificate from the test CA.
    let mtls = start(w, "mtls", |c| c["tls"]["clientCaFile"] = json!("ca.pem"));
    let identity = ClientIdentity {
        certificates: w.client_cert.clone().into_bytes(),
        key: w.client_key.clone().into_bytes().into(),
    };
    let with = NativeTransport::new(&Trust::Ca(w.ca_pem.clone().into_bytes()), Some(&identity)).unwrap();
    let b = XksBridge::new(settings(mtls.port, keys.clone()), SECRET_A.to_string().into(), Box::new(with)).unwrap();
    assert!(block_on(envelope::encrypt(&[&b], &[arn("k-both")], b"mtls", &options)).is_ok());
    let b =
        XksBridge::new(settings(mtls.port, keys.clone()), SECRET_A.to_string().into(), Box::new(transport(w))).unwrap();
    let e = block_on(envelope::encrypt(&[&b], &[arn("k-both")], b"mtls", &options)).unwrap_err();
    assert!(refused_by_mtls(e.code), "{e}");

    // With subjects configured, the certificate must also be for one of them.
    for (subject, accepted) in [("kms-client.test", true), ("cks.kms.eu-west-1.amazonaws.com", false)] {
        let strict = start(w, "subjects", |c| {
            c["tls"]["clientCaFile"] = json!("ca.pem");
            c["tls"]["clientSubjects"] = json!([subject]);
        });
        let with = NativeTransport::new(&Trust::Ca(w.ca_pem.clone().into_bytes()), Some(&identity)).unwrap();
        let b =
            XksBridge::new(settings(strict.port, keys.clone()), SECRET_A.to_string().into(), Box::new(with)).unwrap();
        let sealed = block_on(envelope::encrypt(&[&b], &[arn("k-both")], b"mtls", &options));
        match sealed {
            Ok(_) => assert!(accepted, "{subject}"),
            Err(e) => assert!(!accepted && refused_by_mtls(e.code), "{subject}: {e}"),
        }
    }
}

/// A one-shot HTTP server on 127.0.0.1 that does `misbehave` with each connection.
fn fake(misbehave: impl Fn(TcpStream) + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let misbehave = Arc::new(misbehave);
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let m = Arc::clone(&misbehave);
            std::thread::spawn(move || m(stream));
        }
    });
    port
}

fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut buf = vec![0u8; 65536];
    let mut got = 0;
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    while let Ok(n) = stream.read(&mut buf[got..]) {
        if n == 0 {
            break;
        }
        got += n;
        let text = String::from_utf8_lossy(&buf[..got]);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= len {
                break;
            }
        }
    }
    buf.truncate(got);
    buf
}

fn answer(stream: &mut TcpStream, status: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
}

fn plain_bridge(port: u16, timeout_ms: u64) -> XksBridge {
    let mut s = settings(port, json!([arn("k-both").as_str()]));
    s.endpoint = format!("http://127.0.0.1:{port}");
    s.timeout_ms = Some(timeout_ms);
    // Plain HTTP: the trust is never used.
    let transport = NativeTransport::new(&Trust::Fingerprint([0; 32]), None).unwrap();
    XksBridge::new(s, SECRET_A.to_string().into(), Box::new(transport)).unwrap()
}

const METADATA_OK: &str = r#"{"keySpec":"AES_256","keyUsage":["ENCRYPT","DECRYPT"],"keyStatus":"ENABLED"}"#;

#[test]
fn the_client_returns_the_right_code_for_each_fault() {
    let options = EncryptOptions::default();
    let seal =
        |b: &XksBridge| block_on(envelope::encrypt(&[b], &[arn("k-both")], b"x", &options)).map(|_| ()).unwrap_err();
    // Nobody listening.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_eq!(seal(&plain_bridge(closed, 2000)).code, Code::BridgeUnavailable);
    // A server that stalls past the timeout.
    let stall = fake(|s| {
        std::thread::sleep(Duration::from_secs(3));
        drop(s)
    });
    assert_eq!(seal(&plain_bridge(stall, 300)).code, Code::BridgeTimeout);
    // Closes mid-body.
    let cut = fake(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n{\"keySpec\"");
    });
    assert_eq!(seal(&plain_bridge(cut, 2000)).code, Code::BridgeUnavailable);
    // Garbage, a 502 without an API error, an oversized answer, an API error.
    let garbage = fake(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"SSH-2.0-OpenSSH\r\n\r\n");
    });
    assert_eq!(seal(&plain_bridge(garbage, 2000)).code, Code::BridgeUnavailable);
    let bad_gateway = fake(|mut s| {
        read_request(&mut s);
        answer(&mut s, "502 Bad Gateway", "<html>");
    });
    assert_eq!(seal(&plain_bridge(bad_gateway, 2000)).code, Code::BridgeUnavailable);
    let not_json = fake(|mut s| {
        read_request(&mut s);
        answer(&mut s, "200 OK", "{\"keySpec\": 5}");
    });
    assert_eq!(seal(&plain_bridge(not_json, 2000)).code, Code::BridgeInvalidResponse);
    let huge = fake(|mut s| {
        read_request(&mut s);
        answer(&mut s, "200 OK", &" ".repeat(70_000));
    });
    assert_eq!(seal(&plain_bridge(huge, 2000)).code, Code::BridgeInvalidResponse);
    for (name, status, code) in [
        ("ThrottlingException", "429 Too Many Requests", Code::BridgeThrottled),
        ("DependencyTimeoutException", "503 Service Unavailable", Code::BridgeDependencyTimeout),
        ("AuthenticationFailedException", "401 Unauthorized", Code::BridgeAuthenticationFailed),
        ("AccessDeniedException", "403 Forbidden", Code::BridgeAccessDenied),
        ("InternalException", "500 Internal Server Error", Code::BridgeHsm),
        ("InvalidStateException", "400 Bad Request", Code::BridgeKeyUnusable),
        ("KeyNotFoundException", "404 Not Found", Code::BridgeKeyNotFound),
        ("ValidationException", "400 Bad Request", Code::BridgeRejected),
        ("UnsupportedOperationException", "501 Not Implemented", Code::BridgeRejected),
    ] {
        let port = fake(move |mut s| {
            read_request(&mut s);
            answer(&mut s, status, &format!("{{\"errorName\":\"{name}\",\"errorMessage\":\"said\\u0007 so\"}}"));
        });
        let e = seal(&plain_bridge(port, 2000));
        assert_eq!(e.code, code, "{name}: {e}");
        assert!(e.message.contains("said so") && e.message.contains("kmsRequestId"), "{e}");
    }
    // A disabled key is refused before use; a wrong integrity value is not trusted.
    let disabled = fake(|mut s| {
        read_request(&mut s);
        answer(&mut s, "200 OK", r#"{"keySpec":"AES_256","keyUsage":["ENCRYPT","DECRYPT"],"keyStatus":"DISABLED"}"#);
    });
    assert_eq!(seal(&plain_bridge(disabled, 2000)).code, Code::BridgeKeyUnusable);
    let liar = fake(|mut s| loop {
        let request = read_request(&mut s);
        if request.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&request).to_string();
        let plaintext_len = if text.contains("/metadata ") { 0 } else { 32 };
        if plaintext_len == 0 {
            answer(&mut s, "200 OK", METADATA_OK);
            continue;
        }
        let b = |n: usize| STANDARD.encode(vec![7u8; n]);
        answer(
            &mut s,
            "200 OK",
            &format!(
                r#"{{"ciphertext":"{}","initializationVector":"{}","authenticationTag":"{}","ciphertextDataIntegrityValue":"{}"}}"#,
                b(32),
                b(12),
                b(16),
                b(32)
            ),
        );
    });
    assert_eq!(seal(&plain_bridge(liar, 2000)).code, Code::BridgeIntegrity);
}

#[test]
fn the_proxy_survives_slow_and_many_clients() {
    let (Some(w), Some((_p, port))) = (world(), proxy()) else { return };
    // A client that sends its headers one byte a second loses its connection at the
    // header timeout (1.5 s here), while others are served meanwhile.
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let started = std::time::Instant::now();
        for b in b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".iter().cycle().take(10) {
            if s.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1000));
        }
        let mut rest = Vec::new();
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.read_to_end(&mut rest);
        started.elapsed()
    });
    // And one that completes its TLS handshake, then sends its request's headers one
    // byte a second: closed at the header timeout too.
    let config = Arc::new(rustls_client(w));
    let slow_headers = std::thread::spawn(move || {
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let connection = rustls::ClientConnection::new(config, "localhost".try_into().unwrap()).unwrap();
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        let started = std::time::Instant::now();
        for b in b"POST /tenant-a/kms/xks/v1/health HTTP/1.1\r\nHost: localhost\r\n" {
            if tls.write_all(&[*b]).and_then(|()| tls.flush()).is_err() || started.elapsed() > Duration::from_secs(12) {
                break;
            }
            std::thread::sleep(Duration::from_millis(1000));
        }
        started.elapsed()
    });
    let body = json!({"requestMetadata": meta("DescribeKey")});
    assert_eq!(call(w, port, &key_path("k-both", "metadata"), &body, ID_A, SECRET_A, 0).0, 200);
    // Thousands of connections opened at once: past the bound they are closed; the
    // proxy still answers afterwards.
    let many: Vec<TcpStream> = (0..2000).filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok()).collect();
    assert!(many.len() > 500);
    drop(many);
    for (what, client) in [("handshake", slow), ("headers", slow_headers)] {
        let elapsed = client.join().unwrap();
        assert!(elapsed < Duration::from_secs(8), "the client slow with its {what} was held {elapsed:?}");
    }
    assert_eq!(call(w, port, &key_path("k-both", "metadata"), &body, ID_A, SECRET_A, 0).0, 200);
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let (Some(w), Some((_p, port))) = (world(), proxy()) else { return };
    let path = key_path("k-both", "metadata");
    let body = json!({"requestMetadata": meta("DescribeKey")}).to_string().into_bytes();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let connection =
        rustls::ClientConnection::new(Arc::new(rustls_client(w)), "localhost".try_into().unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    let mut request = format!("POST {path} HTTP/1.1\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in signed_headers("POST", &format!("localhost:{port}"), &path, &body, ID_A, SECRET_A, 0) {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    tls.write_all(request.as_bytes()).unwrap();
    tls.write_all(&body).unwrap();
    tls.sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    // The answer, then (the connection kept alive, then idle) the server's close.
    while let Ok(n) = tls.read(&mut buf) {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let idle = started.elapsed();
    assert!(idle < Duration::from_secs(6), "an idle connection was kept {idle:?} (header timeout 1.5 s)");
}

#[test]
fn a_log_reader_that_stops_reading_holds_no_request_up() {
    let Some(w) = world() else { return };
    let stalled = start_unread(w, "unread");
    let client = transport(w);
    let path = key_path("k-both", "metadata");
    let body = json!({"requestMetadata": meta("DescribeKey")}).to_string().into_bytes();
    let host = format!("localhost:{}", stalled.port);
    // Far more access-log lines than a pipe holds (about 300 of these).
    for i in 0..1500 {
        let exchange = Exchange {
            url: format!("https://{host}{path}"),
            headers: signed_headers("POST", &host, &path, &body, ID_A, SECRET_A, 0),
            body: body.clone().into(),
            timeout: Duration::from_secs(5),
        };
        let answer = block_on(client.post(exchange)).unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(answer.status, 200, "request {i}");
    }
}

#[test]
fn the_cli_seals_and_opens_through_the_proxy_and_stops_on_sigterm() {
    let Some(w) = world() else { return };
    let proxy = start(w, "cli", |_| {});
    let d = w.dir.path();
    let provider = json!({
        "proxy": {"endpoint": format!("https://localhost:{}", proxy.port), "uriPrefix": PREFIX, "accessKeyId": ID_B, "principal": PRINCIPAL, "keys": [arn("k-both").as_str()]},
        "trust": {"caFile": "ca.pem"}
    });
    std::fs::write(d.join("provider.json"), provider.to_string()).unwrap();
    let run = |args: &[&str], input: &[u8]| {
        let mut child = Command::new(BIN)
            .env("XKS_SECRET", SECRET_B)
            .args(args)
            .args(["--xks", d.join("provider.json").to_str().unwrap(), "--xks-secret-env", "XKS_SECRET"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    let sealed = run(&["encrypt", "--context", "app=cli"], b"sealed by the CLI");
    assert!(sealed.status.success(), "{}", String::from_utf8_lossy(&sealed.stderr));
    let opened = run(&["decrypt", "--require-context", "app=cli"], &sealed.stdout);
    assert!(opened.status.success(), "{}", String::from_utf8_lossy(&opened.stderr));
    assert_eq!(opened.stdout, b"sealed by the CLI");

    // SIGTERM: the proxy stops accepting and exits 0.
    let mut proxy = proxy;
    let status = Command::new("kill").args(["-TERM", &proxy.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = proxy.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn a_configuration_with_a_secret_on_the_command_line_is_not_possible_and_plain_http_needs_loopback() {
    let Some(w) = world() else { return };
    let d = w.dir.path();
    let config = json!({
        "listen": "0.0.0.0:0", "plainHttp": true,
        "token": {"module": "/nonexistent.so", "tokenLabel": TOKEN, "pin": {"env": "XKS_PIN"}},
        "prefixes": [{"uriPrefix": PREFIX, "credentials": [{"accessKeyId": ID_A, "secretAccessKey": {"env": "XKS_SECRET_A"}}]}],
        "keys": []
    });
    std::fs::write(d.join("open.json"), config.to_string()).unwrap();
    let out = Command::new(BIN)
        .env("XKS_PIN", PIN)
        .env("XKS_SECRET_A", SECRET_A)
        .args(["xks-proxy", "--config"])
        .arg(d.join("open.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The PKCS#11 module of tests/support/pkcs11_fault.c, built once per test process.
fn fault_shim(w: &World) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let shim = w.dir.path().join("pkcs11_fault.so");
            let built = Command::new("cc")
                .args(["-shared", "-fPIC", "-O1", "-o"])
                .arg(&shim)
                .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/pkcs11_fault.c"))
                .arg("-ldl")
                .output()
                .unwrap();
            assert!(built.status.success(), "cc: {}", String::from_utf8_lossy(&built.stderr));
            shim
        })
        .clone()
}

/// A proxy over the fault shim, which watches `file` through the variable `var`.
fn start_shimmed(w: &World, var: &str, file: &std::path::Path, edit: impl FnOnce(&mut Value)) -> Proxy {
    let shim = fault_shim(w);
    let env = [("KMS_FAULT_TARGET", softhsm_module().unwrap()), (var, file.to_path_buf())];
    start_with(
        w,
        "shimmed",
        |c| {
            c["token"]["module"] = json!(shim);
            edit(c);
        },
        &env,
    )
}

#[test]
fn a_token_that_fails_mid_run_and_comes_back() {
    let Some(w) = world() else { return };
    let fault = w.dir.path().join("token-fails");
    let proxy = start_shimmed(w, "KMS_FAULT_FILE", &fault, |c| {
        c["keys"] = json!([{"externalKeyId": "k-both", "label": "k-both"}]);
        c["limits"]["healthCacheMs"] = json!(0);
    });
    let port = proxy.port;
    let health = || {
        let body = json!({"requestMetadata": {"kmsRequestId": "h", "kmsOperation": "KmsHealthCheck"}});
        call(w, port, &format!("{PREFIX}/kms/xks/v1/health"), &body, ID_A, SECRET_A, 0).1["ekmFleetDetails"][0]
            ["healthStatus"]
            .clone()
    };
    let client = bridge(w, port, json!([arn("k-both").as_str()]));
    let seal = || block_on(envelope::encrypt(&[&client], &[arn("k-both")], b"x", &EncryptOptions::default()));
    assert_eq!(health(), "ACTIVE");
    let before = seal().unwrap();

    std::fs::write(&fault, b"").unwrap();
    assert_eq!(health(), "UNAVAILABLE");
    let e = seal().unwrap_err();
    assert_eq!(e.code, Code::BridgeDependencyTimeout, "{e}");
    let e = block_on(envelope::decrypt(&[&client], &before, &DecryptOptions::default())).unwrap_err();
    assert_eq!(e.code, Code::BridgeDependencyTimeout, "{e}");

    // A token that answers with an error of its own (CKR_GENERAL_ERROR) is the proxy's
    // InternalException, the client's Bridge.Hsm.
    std::fs::write(&fault, b"5").unwrap();
    let failed = call(w, port, &key_path("k-both", "encrypt"), &encrypt_body(), ID_A, SECRET_A, 0);
    assert_eq!(error_name(&failed), (500, "InternalException"));
    assert_eq!(seal().unwrap_err().code, Code::BridgeHsm);

    std::fs::remove_file(&fault).unwrap();
    assert_eq!(health(), "ACTIVE");
    let opened = block_on(envelope::decrypt(&[&client], &before, &DecryptOptions::default())).unwrap();
    assert_eq!(opened.plaintext, b"x");
    assert!(seal().is_ok());
}

#[test]
fn a_slow_token_throttles_past_the_concurrency_bound_and_times_out() {
    let Some(w) = world() else { return };
    let slow = w.dir.path().join("token-slow");
    let proxy = start_shimmed(w, "KMS_SLOW_FILE", &slow, |c| {
        c["limits"]["maxConcurrentOperations"] = json!(1);
        c["limits"]["operationTimeoutMs"] = json!(1000);
    });
    let port = proxy.port;
    std::fs::write(&slow, b"400").unwrap();
    let metadata = || {
        call(
            w,
            port,
            &key_path("k-both", "metadata"),
            &json!({"requestMetadata": meta("DescribeKey")}),
            ID_A,
            SECRET_A,
            0,
        )
    };
    // One operation in flight (400 ms on the token): a second meanwhile is throttled.
    let first = std::thread::scope(|s| {
        let first = s.spawn(metadata);
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(error_name(&metadata()), (429, "ThrottlingException"));
        first.join().unwrap()
    });
    assert_eq!(first.0, 200);
    // An encrypt with its integrity check takes five token calls, 2 s: past the 1 s bound.
    let late = call(w, port, &key_path("k-both", "encrypt"), &encrypt_body(), ID_A, SECRET_A, 0);
    assert_eq!(error_name(&late), (503, "DependencyTimeoutException"));
    std::fs::remove_file(&slow).unwrap();
    // Once the late call is done on the token, its place is free again.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(metadata().0, 200);
    assert_eq!(call(w, port, &key_path("k-both", "encrypt"), &encrypt_body(), ID_A, SECRET_A, 0).0, 200);

    // SIGTERM while a request is on the (slow) token: it is answered, then the proxy exits 0.
    std::fs::write(&slow, b"400").unwrap();
    let mut proxy = proxy;
    let in_flight = std::thread::scope(|s| {
        let request = s.spawn(metadata);
        std::thread::sleep(Duration::from_millis(150));
        let status = Command::new("kill").args(["-TERM", &proxy.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        request.join().unwrap()
    });
    assert_eq!(in_flight.0, 200, "{:?}", in_flight.1);
    assert!(proxy.child.wait().unwrap().success());
}
