//! `kms-instance serve` (the real binary, on 127.0.0.1) against clients no one here
//! wrote: Alibaba's Python SDKs (RPC v1, V3 and v2 signatures) and its Encryption SDK
//! with its own `DefaultDataKeyProvider` over HTTPS, both ways with this project's
//! `KmsKeyProvider` (CLI `--kms-endpoint`); and against requests crafted here: a
//! replayed nonce, a skewed time, a body changed after signing, an unknown AccessKey,
//! each leaving the store as it was. The store survives `kill -9`, refuses a second
//! server and a wrong master key.
//!
//! The Python clients run when `KMS_ALIBABA_SDK_PYTHON` names a Python that has them
//! (`.ci/test` makes one); `KMS_REQUIRE_INTEROP=1` turns their absence into a failure.
#![cfg(all(feature = "kms-server", feature = "cli"))]

use kms_instance::kms_api::signature;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kms-instance");
const OWNER: &str = "1207089758810000";
const AK: &str = "LTAI5tTestOwner000000001";
const SECRET: &str = "test-secret-of-the-owner";
const MASTER: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn arn(id: &str) -> String {
    format!("acs:kms:cn-hangzhou:{OWNER}:key/{id}")
}

fn seed() -> Value {
    json!({
        "region": "cn-hangzhou",
        "accounts": [
            {"id": OWNER, "accessKeys": [{"id": AK, "secret": SECRET}]},
            {"id": "1207089758820000", "accessKeys": [{"id": "LTAI5tTestOther000000001", "secret": "other-secret"}]}
        ],
        "keys": [
            {"id": "key-test-one", "account": OWNER, "material": "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=", "aliases": ["alias/one"]},
            {"id": "key-test-two", "account": OWNER, "aliases": ["alias/two"]}
        ]
    })
}

/// A directory with the seed, a test CA and a server certificate for 127.0.0.1.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("seed.json"), seed().to_string()).unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name.push(rcgen::DnType::CommonName, "kms-instance test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let server_key = rcgen::KeyPair::generate().unwrap();
        let server = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key).unwrap();
        std::fs::write(d.join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(d.join("server.pem"), server_cert.pem()).unwrap();
        std::fs::write(d.join("server.key"), server_key.serialize_pem()).unwrap();
        World { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A running server, killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    port: u16,
    tls: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", if self.tls { "https" } else { "http" }, self.port)
    }
}

fn serve(w: &World, extra: &[&str], master: &str) -> Result<Server, String> {
    let mut child = Command::new(BIN)
        .env("KMS_SERVE_MASTER_KEY", master)
        .arg("serve")
        .arg("--seed")
        .arg(w.path("seed.json"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    match lines.next() {
        Some(Ok(first)) => {
            let port = first.rsplit(':').next().unwrap().parse().unwrap_or_else(|_| panic!("{first}"));
            // The access log is drained so the server never waits on it.
            std::thread::spawn(move || lines.for_each(drop));
            Ok(Server { child, port, tls: extra.contains(&"--tls-certificate") })
        }
        _ => {
            let out = child.wait_with_output().unwrap();
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

fn python() -> Option<PathBuf> {
    match std::env::var_os("KMS_ALIBABA_SDK_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("KMS_REQUIRE_INTEROP").is_some() => {
            panic!("KMS_REQUIRE_INTEROP is set but KMS_ALIBABA_SDK_PYTHON is not")
        }
        None => {
            eprintln!("skipped: set KMS_ALIBABA_SDK_PYTHON to a Python with Alibaba's SDKs (see .ci/test)");
            None
        }
    }
}

fn clients(python: &Path, w: &World, args: &[&str], input: &[u8]) -> (bool, Vec<u8>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/kms_clients.py");
    let mut child = Command::new(python)
        .arg(script)
        .args(args)
        .env("ALIBABA_CLOUD_CA_BUNDLE", w.path("ca.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn cli(server: &Server, w: &World, args: &[&str], input: &[u8]) -> (i32, Vec<u8>, String) {
    let url = server.url();
    let ca = w.path("ca.pem");
    let mut kms = vec!["--kms-endpoint", &url, "--kms-region", "cn-hangzhou", "--kms-access-key-id", AK];
    if server.tls {
        kms.extend(["--kms-ca-file", ca.to_str().unwrap()]);
    }
    let mut child = Command::new(BIN)
        .args(args)
        .args(&kms)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs one suite of `kms_clients.py` against a fresh server; every check must pass.
fn python_suite(suite: &str) {
    let Some(python) = python() else { return };
    let w = World::new();
    let server = serve(&w, &[], MASTER).unwrap();
    let seed = w.path("seed.json");
    let (ok, out, err) = clients(&python, &w, &[suite, &server.url(), seed.to_str().unwrap()], b"");
    assert!(ok, "{}{err}", String::from_utf8_lossy(&out));
}

#[test]
fn alibabas_python_sdk_calls_every_operation_with_v1_signatures() {
    python_suite("sdk-v1");
}

#[test]
fn alibabas_openapi_sdk_signs_with_v3_and_with_v2() {
    python_suite("sdk-v3");
}

#[test]
fn the_encryption_sdk_and_this_project_open_each_others_messages_over_https() {
    let Some(python) = python() else { return };
    let w = World::new();
    let (cert, key) = (w.path("server.pem"), w.path("server.key"));
    let tls = ["--tls-certificate", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let server = serve(&w, &tls, MASTER).unwrap();
    let seed = w.path("seed.json");
    let seed = seed.to_str().unwrap();
    let hostport = format!("127.0.0.1:{}", server.port);
    let plaintext = b"sealed on one side, opened on the other";
    let (one, two) = (arn("key-test-one"), arn("key-test-two"));
    for keys in [vec![one.as_str()], vec![one.as_str(), two.as_str()]] {
        for context in [vec![], vec!["tenant=t-1", "app=docs"]] {
            // The SDK seals (GenerateDataKey, then Encrypt for a second key) and this project opens.
            let mut args = vec!["esdk-encrypt", hostport.as_str(), seed];
            for key in &keys {
                args.extend(["--key", key]);
            }
            for entry in &context {
                args.extend(["--context", entry]);
            }
            let (ok, message, err) = clients(&python, &w, &args, plaintext);
            assert!(ok, "{keys:?} {context:?}: {err}");
            let (status, opened, err) = cli(&server, &w, &["decrypt"], &message);
            assert_eq!((status, opened.as_slice()), (0, &plaintext[..]), "{keys:?} {context:?}: {err}");
            // And the reverse.
            let mut args = vec!["encrypt"];
            for key in &keys {
                args.extend(["--key", key]);
            }
            for entry in &context {
                args.extend(["--context", entry]);
            }
            let (status, message, err) = cli(&server, &w, &args, plaintext);
            assert_eq!(status, 0, "{err}");
            let (ok, opened, err) = clients(&python, &w, &["esdk-decrypt", hostport.as_str(), seed], &message);
            assert!(ok, "{keys:?} {context:?}: {err}");
            assert_eq!(opened, plaintext);
        }
    }
}

/// A v1-signed POST of `params` to `server`, with the time and nonce given; the status
/// and the answer's JSON.
fn post_v1(server: &Server, params: &[(&str, &str)], secret: &str, time: &str, nonce: &str) -> (u16, Value) {
    let mut pairs: Vec<(String, String)> = params.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    for (n, v) in [
        ("Version", "2016-01-20"),
        ("Format", "JSON"),
        ("AccessKeyId", AK),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce),
        ("Timestamp", time),
    ] {
        pairs.push((n.to_string(), v.to_string()));
    }
    let sts = signature::v1_string_to_sign("POST", &pairs);
    pairs.push(("Signature".into(), signature::v1_signature(secret, &sts)));
    let body: Vec<String> = pairs
        .iter()
        .map(|(n, v)| format!("{}={}", signature::percent_encode(n), signature::percent_encode(v)))
        .collect();
    send(server, body.join("&").into_bytes(), &[])
}

fn send(server: &Server, body: Vec<u8>, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request =
        ureq::post(&format!("{}/", server.url())).set("content-type", "application/x-www-form-urlencoded");
    for (n, v) in headers {
        request = request.set(n, v);
    }
    let response = match request.send_bytes(&body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = response.status();
    (status, serde_json::from_str(&response.into_string().unwrap()).unwrap_or(Value::Null))
}

fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap()
}

fn key_count(server: &Server) -> u64 {
    let nonce = format!("count-{}", rand_nonce());
    let (status, body) = post_v1(server, &[("Action", "ListKeys"), ("PageSize", "100")], SECRET, &now(), &nonce);
    assert_eq!(status, 200, "{body}");
    body["TotalCount"].as_u64().unwrap()
}

fn rand_nonce() -> String {
    let mut b = [0u8; 8];
    kms_instance::platform::os_random(&mut b).unwrap();
    hex_of(&b)
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn forged_replayed_and_stale_requests_are_refused_and_change_nothing() {
    let w = World::new();
    let server = serve(&w, &[], MASTER).unwrap();
    let create = [("Action", "CreateKey")];
    let before = key_count(&server);
    let code = |answer: &(u16, Value)| (answer.0, answer.1["Code"].as_str().unwrap_or("").to_string());
    // A wrong secret: the server's string to sign is in the message, as aliyunsdkcore reads it.
    let wrong = post_v1(&server, &create, "wrong", &now(), &rand_nonce());
    assert_eq!(code(&wrong), (400, "SignatureDoesNotMatch".into()));
    assert!(wrong.1["Message"].as_str().unwrap().contains("server string to sign is:POST&%2F&"), "{}", wrong.1);
    // A replayed nonce: the first is applied, the second refused.
    let nonce = rand_nonce();
    let time = now();
    assert_eq!(post_v1(&server, &create, SECRET, &time, &nonce).0, 200);
    assert_eq!(code(&post_v1(&server, &create, SECRET, &time, &nonce)), (400, "SignatureNonceUsed".into()));
    // A time 20 minutes off.
    let skewed = (time::OffsetDateTime::now_utc() - time::Duration::minutes(20))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(code(&post_v1(&server, &create, SECRET, &skewed, &rand_nonce())), (400, "IllegalTimestamp".into()));
    // An unknown AccessKey.
    let (status, body) = send(&server, b"Action=CreateKey&AccessKeyId=LTAI-none&Signature=x&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce=n&Timestamp=2026-01-01T00:00:00Z&Version=2016-01-20".to_vec(), &[]);
    assert_eq!((status, body["Code"].as_str().unwrap()), (404, "InvalidAccessKeyId.NotFound"));
    // V3 with the body changed after signing.
    let body = b"Description=signed".to_vec();
    let date = now();
    let nonce = rand_nonce();
    let hash = kms_instance::xks::sigv4::payload_hash(&body);
    let host = format!("127.0.0.1:{}", server.port);
    let mut headers = vec![
        ("content-type", "application/x-www-form-urlencoded"),
        ("host", host.as_str()),
        ("x-acs-action", "CreateKey"),
        ("x-acs-content-sha256", hash.as_str()),
        ("x-acs-date", date.as_str()),
        ("x-acs-signature-nonce", nonce.as_str()),
        ("x-acs-version", "2016-01-20"),
    ];
    let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
    let request = kms_instance::xks::sigv4::SignedRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        payload: &body,
    };
    let signed = signature::v3_signature(SECRET, &signature::v3_string_to_sign(&request, &names));
    let authorization =
        format!("ACS3-HMAC-SHA256 Credential={AK},SignedHeaders={},Signature={signed}", names.join(";"));
    headers.push(("authorization", authorization.as_str()));
    let headers: Vec<(&str, &str)> = headers.into_iter().filter(|(n, _)| *n != "host").collect();
    let changed = send(&server, b"Description=changed".to_vec(), &headers);
    assert_eq!(code(&changed), (400, "SignatureDoesNotMatch".into()));
    // A signed header changed (the action), the body's hash right: the HMAC does not match.
    let renamed: Vec<(&str, &str)> =
        headers.iter().map(|&(n, v)| if n == "x-acs-action" { (n, "ScheduleKeyDeletion") } else { (n, v) }).collect();
    let answer = send(&server, body.clone(), &renamed);
    assert_eq!(code(&answer), (400, "SignatureDoesNotMatch".into()));
    assert!(
        answer.1["Message"].as_str().unwrap().contains("server string to sign is:ACS3-HMAC-SHA256\n"),
        "{}",
        answer.1
    );
    // The same request, unchanged, is accepted once.
    assert_eq!(send(&server, body, &headers).0, 200);
    assert_eq!(key_count(&server), before + 2, "only the two signed, fresh requests made keys");
}

#[test]
fn kms_refusals_become_the_envelopes_codes_and_a_deletion_is_not_undone() {
    use kms_instance::envelope::{EncryptionContext, KeyArn, KeyProvider};
    use kms_instance::key_providers::kms::{KmsKeyProvider, KmsSettings, Signature};
    use kms_instance::key_providers::xks::native::{NativeTransport, Trust};
    use kms_instance::Code;
    let w = World::new();
    let server = serve(&w, &[], MASTER).unwrap();
    let settings = KmsSettings {
        endpoint: server.url(),
        region: "cn-hangzhou".into(),
        access_key_id: AK.into(),
        security_token: None,
        keys: Vec::new(),
        signature: Signature::V3,
        timeout_ms: None,
    };
    let transport = Box::new(NativeTransport::new(&Trust::SystemRoots, None).unwrap());
    let provider = KmsKeyProvider::new(settings, zeroize::Zeroizing::new(SECRET.into()), transport).unwrap();
    let key: KeyArn = arn("key-test-one").parse().unwrap();
    let context: EncryptionContext = [("tenant".to_string(), "t-1".to_string())].into();
    let mut blob = pollster::block_on(provider.encrypt(&key, &[5; 32], &context)).unwrap();
    assert_eq!(*pollster::block_on(provider.decrypt(&key, &blob, &context)).unwrap(), [5; 32]);
    // KMS's InvalidCiphertext (a changed blob, another context) is the envelope's.
    let other: EncryptionContext = [("tenant".to_string(), "t-2".to_string())].into();
    assert_eq!(pollster::block_on(provider.decrypt(&key, &blob, &other)).unwrap_err().code, Code::InvalidCiphertext);
    let last = blob.len() - 1;
    blob[last] ^= 1;
    assert_eq!(pollster::block_on(provider.decrypt(&key, &blob, &context)).unwrap_err().code, Code::InvalidCiphertext);
    // A key scheduled for deletion stays so: EnableKey is refused, and so is using it.
    let call = |params: &[(&str, &str)]| post_v1(&server, params, SECRET, &now(), &rand_nonce());
    let scheduled = call(&[("Action", "ScheduleKeyDeletion"), ("KeyId", "alias/two"), ("PendingWindowInDays", "7")]);
    assert_eq!(scheduled.0, 200, "{}", scheduled.1);
    let enabled = call(&[("Action", "EnableKey"), ("KeyId", "alias/two")]);
    assert_eq!((enabled.0, enabled.1["Code"].as_str()), (409, Some("Rejected.Disabled")));
    let two: KeyArn = arn("key-test-two").parse().unwrap();
    let refused = pollster::block_on(provider.encrypt(&two, &[5; 32], &context)).unwrap_err();
    assert_eq!(refused.code, Code::BridgeKeyUnusable, "{refused}");
    assert!(refused.message.contains("Rejected.Disabled") && refused.message.contains("RequestId"), "{refused}");
}

#[test]
fn past_its_rate_an_access_key_is_throttled_and_told_so() {
    let w = World::new();
    let server = serve(&w, &["--requests-per-second", "3"], MASTER).unwrap();
    let codes: Vec<(u16, String)> = (0..8)
        .map(|_| {
            let (status, body) =
                post_v1(&server, &[("Action", "DescribeKey"), ("KeyId", "alias/one")], SECRET, &now(), &rand_nonce());
            (status, body["Code"].as_str().unwrap_or("").to_string())
        })
        .collect();
    // Eight requests span at most two seconds: at most six are let through, three at least.
    let through = codes.iter().filter(|(status, _)| *status == 200).count();
    assert!((3..=6).contains(&through), "{codes:?}");
    assert!(codes.iter().all(|c| c.0 == 200 || *c == (429, "Rejected.Throttling".to_string())), "{codes:?}");
}

#[test]
fn a_context_may_come_flattened_as_the_npm_client_sends_it() {
    let w = World::new();
    let server = serve(&w, &[], MASTER).unwrap();
    let call = |params: &[(&str, &str)]| post_v1(&server, params, SECRET, &now(), &rand_nonce());
    let (status, made) =
        call(&[("Action", "GenerateDataKey"), ("KeyId", "alias/one"), ("EncryptionContext.tenant", "t 1")]);
    assert_eq!(status, 200, "{made}");
    let blob = made["CiphertextBlob"].as_str().unwrap();
    let (status, opened) =
        call(&[("Action", "Decrypt"), ("CiphertextBlob", blob), ("EncryptionContext", r#"{"tenant": "t 1"}"#)]);
    assert_eq!((status, &opened["Plaintext"]), (200, &made["Plaintext"]), "{opened}");
    let both = call(&[
        ("Action", "Decrypt"),
        ("CiphertextBlob", blob),
        ("EncryptionContext", r#"{"tenant": "t 1"}"#),
        ("EncryptionContext.tenant", "t 1"),
    ]);
    assert_eq!((both.0, both.1["Code"].as_str()), (400, Some("InvalidParameter")));
}

#[test]
fn the_store_survives_kill_9_and_is_held_by_one_server_with_its_master_key() {
    let w = World::new();
    let data = w.path("kms.db");
    let data_args = ["--data", data.to_str().unwrap()];
    let first = serve(&w, &data_args, MASTER).unwrap();
    let (status, made) =
        post_v1(&first, &[("Action", "CreateKey"), ("Description", "kept")], SECRET, &now(), &rand_nonce());
    assert_eq!(status, 200, "{made}");
    let id = made["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    let refused = serve(&w, &data_args, MASTER).err().expect("a second server on the file is refused");
    assert!(refused.contains("in use by another server"), "{refused}");
    drop(first); // SIGKILL
    let wrong = serve(&w, &data_args, "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=").err().expect("refused");
    assert!(wrong.contains("master key is not the one"), "{wrong}");
    let again = serve(&w, &data_args, MASTER).unwrap();
    let (status, described) =
        post_v1(&again, &[("Action", "DescribeKey"), ("KeyId", &id)], SECRET, &now(), &rand_nonce());
    assert_eq!((status, described["KeyMetadata"]["Description"].as_str()), (200, Some("kept")), "{described}");
    assert_eq!(key_count(&again), 3, "the seed's two keys once, and the one made");
}
