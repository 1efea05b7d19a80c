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
#[path = "support/xks_world.rs"]
mod xks_world;
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
        World::with(&seed())
    }

    /// A world whose seed is `seed`.
    fn with(seed: &Value) -> World {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("seed.json"), seed.to_string()).unwrap();
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

/// A running server, killed (SIGKILL) when dropped, and the access log it wrote.
struct Server {
    child: Child,
    port: u16,
    tls: bool,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
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
    serve_with(w, "seed.json", extra, master, &[])
}

fn serve_with(w: &World, seed: &str, extra: &[&str], master: &str, env: &[(&str, &str)]) -> Result<Server, String> {
    let mut child = Command::new(BIN)
        .env("KMS_SERVE_MASTER_KEY", master)
        .envs(env.iter().copied())
        .arg("serve")
        .arg("--seed")
        .arg(w.path(seed))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    match lines.next() {
        Some(Ok(first)) => {
            let port = first.rsplit(':').next().unwrap().parse().unwrap_or_else(|_| panic!("{first}"));
            // The access log is read as it comes, so the server never waits on it.
            let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = std::sync::Arc::clone(&log);
            std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| sink.lock().unwrap().push(l)));
            Ok(Server { child, port, tls: extra.contains(&"--tls-certificate"), log })
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

/// Runs one suite of `kms_clients.py` against a fresh server (with shared instances);
/// every check must pass. Its report, or `None` without the Python clients.
fn python_suite(suite: &str) -> Option<String> {
    let python = python()?;
    let w = World::with(&shared_seed());
    let server = serve(&w, &[], MASTER).unwrap();
    let seed = w.path("seed.json");
    let (ok, out, err) = clients(&python, &w, &[suite, &server.url(), seed.to_str().unwrap()], b"");
    let out = String::from_utf8_lossy(&out).into_owned();
    assert!(ok, "{out}{err}");
    Some(out)
}

#[test]
fn alibabas_python_sdk_calls_every_operation_with_v1_signatures() {
    let Some(report) = python_suite("sdk-v1") else { return };
    assert!(report.contains("ok   a principal is refused the owner's key in independent mode"), "{report}");
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
    post_v1_as(server, params, (AK, secret), time, nonce)
}

/// [`post_v1`] signed with the AccessKey pair `(id, secret)`.
fn post_v1_as(server: &Server, params: &[(&str, &str)], key: (&str, &str), time: &str, nonce: &str) -> (u16, Value) {
    let (access_key_id, secret) = key;
    let mut pairs: Vec<(String, String)> = params.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    for (n, v) in [
        ("Version", "2016-01-20"),
        ("Format", "JSON"),
        ("AccessKeyId", access_key_id),
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
    // A whole SM4-GCM message through KMS: its 16-byte data key is KMS's Encrypt's plaintext.
    let sm4 = kms_instance::envelope::EncryptOptions {
        algorithm: kms_instance::envelope::Algorithm::Sm4Gcm128,
        ..Default::default()
    };
    let message = pollster::block_on(kms_instance::envelope::encrypt(
        &[&provider],
        std::slice::from_ref(&key),
        b"SM4 via KMS",
        &sm4,
    ))
    .unwrap();
    let opened =
        pollster::block_on(kms_instance::envelope::decrypt(&[&provider], &message, &Default::default())).unwrap();
    assert_eq!(opened.plaintext, b"SM4 via KMS");
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
    // The Java Encryption SDK asks for an SM4 data key with KeySpec SM4_128.
    let (status, sm4) = call(&[("Action", "GenerateDataKey"), ("KeyId", "alias/one"), ("KeySpec", "SM4_128")]);
    assert_eq!((status, sm4["Plaintext"].as_str().map(|p| p.len())), (200, Some(24)), "16 bytes, base64: {sm4}");
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

const OTHER: (&str, &str) = ("LTAI5tTestOther000000001", "other-secret");
const THIRD: (&str, &str) = ("LTAI5tTestThird000000001", "third-secret");

/// An instance's state as a change plan writes it: `kind`, `status`, and a share with
/// account 1207089758820000 associated in `mode` (none when `mode` is empty).
fn instance_state(id: &str, kind: &str, status: &str, mode: &str) -> Value {
    let mut instance = json!({
        "instanceId": id, "type": kind, "regionId": "cn-hangzhou", "ownerId": OWNER, "status": status,
        "spec": {"accessManagementQuota": 5, "keyQuota": 100, "secretQuota": 10}
    });
    if !mode.is_empty() {
        instance["share"] = json!({
            "name": "kms-share", "mode": mode,
            "permission": {"name": "AliyunRSDefaultPermissionKMSInstance", "version": "v2"},
            "principals": [{"type": "account", "id": "1207089758820000"}],
            "associations": [{"account": "1207089758820000", "status": "associated"}]
        });
    }
    json!({
        "directory": {"resourceDirectoryId": "rd-a1b2c3", "enterpriseId": "ent-acme", "accounts": [
            {"id": OWNER, "name": "security-team"}, {"id": "1207089758820000", "name": "app-team"},
            {"id": "1207089758830000", "name": "third-team"}]},
        "instance": instance
    })
}

const JOINT: &str = "kst-hzz62f4a5c2d7ab12cd";
const INDEPENDENT: &str = "kst-hzz62f4a5c2d7ab12ce";
const EXPIRED: &str = "kst-hzz62f4a5c2d7ab12cf";

fn shared_seed() -> Value {
    let mut seed = seed();
    seed["accounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "1207089758830000", "accessKeys": [{"id": THIRD.0, "secret": THIRD.1}]}));
    seed["instances"] = json!([
        {"state": instance_state(JOINT, "software", "enabled", "joint")},
        {"state": instance_state(INDEPENDENT, "software", "enabled", "independent")},
        {"state": instance_state(EXPIRED, "software", "expired", "")}
    ]);
    for (id, instance) in [("key-joint", JOINT), ("key-independent", INDEPENDENT), ("key-expired", EXPIRED)] {
        seed["keys"].as_array_mut().unwrap().push(json!({"id": id, "account": OWNER, "instance": instance}));
    }
    seed
}

#[test]
fn an_instances_keys_are_used_as_its_share_and_its_mode_allow() {
    let w = World::with(&shared_seed());
    let server = serve(&w, &[], MASTER).unwrap();
    let call = |key: (&str, &str), params: &[(&str, &str)]| post_v1_as(&server, params, key, &now(), &rand_nonce());
    let owner = (AK, SECRET);
    let code = |answer: &(u16, Value)| (answer.0, answer.1["Code"].as_str().unwrap_or("").to_string());
    let message = |answer: &(u16, Value)| answer.1["Message"].as_str().unwrap_or("").to_string();
    let data_key = |key: (&str, &str), id: &str| call(key, &[("Action", "GenerateDataKey"), ("KeyId", id)]);

    // Joint: the principal uses the owner's key, by ARN or by key id; both open it.
    let made = data_key(OTHER, &arn("key-joint"));
    assert_eq!(made.0, 200, "{}", made.1);
    let blob = made.1["CiphertextBlob"].as_str().unwrap();
    for who in [OTHER, owner] {
        let opened = call(who, &[("Action", "Decrypt"), ("CiphertextBlob", blob)]);
        assert_eq!((opened.0, &opened.1["Plaintext"]), (200, &made.1["Plaintext"]), "{}", opened.1);
    }
    assert_eq!(data_key(OTHER, "key-joint").0, 200);
    // ...but does not manage it (R-AZ-4: a principal manages its own keys only).
    let disabled = call(OTHER, &[("Action", "DisableKey"), ("KeyId", "key-joint")]);
    assert_eq!(code(&disabled), (403, "Forbidden.NoPermission".into()));
    assert!(message(&disabled).contains("Forbidden.NotOwner, R-AZ-4"), "{}", disabled.1);
    assert_eq!(data_key(owner, "key-joint").0, 200, "the key is still enabled");

    // To an account the instance is not shared with, its keys do not exist.
    let third = data_key(THIRD, &arn("key-joint"));
    assert_eq!(code(&third), (404, "Forbidden.KeyNotFound".into()), "{}", third.1);
    let third_decrypt = call(THIRD, &[("Action", "Decrypt"), ("CiphertextBlob", blob)]);
    assert_eq!(code(&third_decrypt), (404, "Forbidden.KeyNotFound".into()), "{}", third_decrypt.1);
    // ...and the instance does not exist either: answered as an unknown one.
    let third_create = call(THIRD, &[("Action", "CreateKey"), ("DKMSInstanceId", JOINT)]);
    let unknown = call(THIRD, &[("Action", "CreateKey"), ("DKMSInstanceId", "kst-hzz62f4a5c2d7ab1299")]);
    assert_eq!(code(&third_create), (400, "InvalidParameter".into()));
    assert_eq!(message(&third_create), message(&unknown));

    // Joint: the owner manages a principal's key, and its alias ARN names that key.
    let made = call(OTHER, &[("Action", "CreateKey"), ("DKMSInstanceId", JOINT)]);
    let principals = made.1["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    let aliased = call(owner, &[("Action", "CreateAlias"), ("AliasName", "alias/theirs"), ("KeyId", &principals)]);
    assert_eq!(aliased.0, 200, "{}", aliased.1);
    let by_alias_arn = data_key(owner, &format!("acs:kms:cn-hangzhou:{OWNER}:alias/theirs"));
    assert_eq!(
        (by_alias_arn.0, by_alias_arn.1["KeyId"].as_str()),
        (200, Some(principals.as_str())),
        "{}",
        by_alias_arn.1
    );
    // An alias ARN names the caller's aliases only.
    let foreign = data_key(owner, "acs:kms:cn-hangzhou:1207089758820000:alias/theirs");
    assert_eq!(code(&foreign), (404, "Forbidden.KeyNotFound".into()), "{}", foreign.1);

    // Independent: the owner's key is the owner's alone, the principal's the principal's.
    let refused = data_key(OTHER, &arn("key-independent"));
    assert_eq!(code(&refused), (403, "Forbidden.NoPermission".into()));
    assert!(message(&refused).contains("Forbidden.NotOwner, R-AZ-4"), "{}", refused.1);
    let created = call(OTHER, &[("Action", "CreateKey"), ("DKMSInstanceId", INDEPENDENT)]);
    assert_eq!(created.0, 200, "{}", created.1);
    let theirs = created.1["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    assert_eq!(created.1["KeyMetadata"]["DKMSInstanceId"], INDEPENDENT);
    assert_eq!(data_key(OTHER, &theirs).0, 200);
    assert_eq!(code(&data_key(owner, &theirs)), (403, "Forbidden.NoPermission".into()));
    let owner_disables = call(owner, &[("Action", "DisableKey"), ("KeyId", &theirs)]);
    assert_eq!(code(&owner_disables).0, 403, "in independent mode the owner manages its own keys only");
    assert_eq!(data_key(OTHER, &theirs).0, 200, "the principal's key is still enabled");

    // A key of no instance is its account's alone: to any other it does not exist.
    assert_eq!(code(&data_key(OTHER, &arn("key-test-one"))), (404, "Forbidden.KeyNotFound".into()));
    // An expired instance serves no one (R-LC-1), its owner included.
    let expired = data_key(owner, "key-expired");
    assert_eq!(code(&expired), (403, "Rejected.InstanceExpired".into()), "{}", expired.1);

    // Refusals changed nothing: the third account made no key.
    let listed = call(THIRD, &[("Action", "ListKeys")]);
    assert_eq!(listed.1["TotalCount"], 0, "{}", listed.1);
    // The audit line names the instance, its owner, the caller and the result.
    let log = server.log.lock().unwrap().clone();
    assert!(
        log.iter().any(|l| l.contains(JOINT)
            && l.contains("DisableKey")
            && l.contains("Forbidden.NoPermission")
            && l.contains("1207089758820000")
            && l.contains(OWNER)),
        "{log:#?}"
    );
}

#[test]
fn a_toml_seed_is_read_as_its_json_is() {
    let w = World::with(&shared_seed());
    std::fs::write(w.path("seed.toml"), toml::to_string(&shared_seed()).unwrap()).unwrap();
    let server = serve_with(&w, "seed.toml", &[], MASTER, &[]).unwrap();
    let made =
        post_v1_as(&server, &[("Action", "GenerateDataKey"), ("KeyId", "key-joint")], OTHER, &now(), &rand_nonce());
    assert_eq!(made.0, 200, "{}", made.1);
    // A mistake is placed by line and column, and quotes nothing of the file.
    std::fs::write(w.path("bad.toml"), "region = \"cn-hangzhou\"\naccounts = [{ id = \"x\", secret = \"hunter2\" ]\n")
        .unwrap();
    let refused = serve_with(&w, "bad.toml", &[], MASTER, &[]).err().expect("refused");
    assert!(refused.contains("line 2") && !refused.contains("hunter2"), "{refused}");
}

#[test]
fn hardware_and_external_instances_keep_their_keys_on_the_token_and_behind_the_proxy() {
    use xks_world::{PIN, PREFIX, PRINCIPAL, TOKEN};
    let Some(token) = xks_world::make_world() else { return };
    let conf = token.dir.path().join("softhsm2.conf");
    let proxy = xks_world::start(&token, "kms", |_| {});
    let endpoint = format!("https://localhost:{}", proxy.port);
    let (hardware, external) = ("kst-hzz62f4a5c2d7ab12d0", "kst-hzz62f4a5c2d7ab12d1");
    let mut seed = seed();
    seed["instances"] = json!([
        {"state": instance_state(hardware, "hardware", "enabled", ""),
         "pkcs11": {"module": xks_world::softhsm_module().unwrap(), "token": TOKEN, "pinEnv": "KMS_TEST_PIN"}},
        {"state": instance_state(external, "external", "enabled", ""),
         "xks": {"file": "xks.json", "secretEnv": "KMS_TEST_XKS_SECRET"}}
    ]);
    for (id, instance) in [("key-hsm-one", hardware), ("key-ext-one", external)] {
        seed["keys"].as_array_mut().unwrap().push(json!({"id": id, "account": OWNER, "instance": instance}));
    }
    let w = World::with(&seed);
    let proxy_keys = json!([{"arn": arn("key-ext-one"), "externalKeyId": "k-both"}]);
    let provider_file = json!({
        "proxy": {"endpoint": endpoint, "uriPrefix": PREFIX, "accessKeyId": xks_world::ID_A, "principal": PRINCIPAL, "keys": proxy_keys},
        "trust": {"caFile": token.dir.path().join("ca.pem")}
    });
    std::fs::write(w.path("xks.json"), provider_file.to_string()).unwrap();
    let env = [
        ("SOFTHSM2_CONF", conf.to_str().unwrap()),
        ("KMS_TEST_PIN", PIN),
        ("KMS_TEST_XKS_SECRET", xks_world::SECRET_A),
    ];
    let context_json = r#"{"tenant":"t-1"}"#;
    let b64 = |text: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.decode(text.as_str().unwrap()).unwrap()
    };

    // Hardware: the material is on the token, not in the store: a server with a new
    // store and another master key opens what the first sealed.
    let first = serve_with(&w, "seed.json", &[], MASTER, &env).unwrap();
    let sealed = post_v1(
        &first,
        &[("Action", "GenerateDataKey"), ("KeyId", "key-hsm-one"), ("EncryptionContext", context_json)],
        SECRET,
        &now(),
        &rand_nonce(),
    );
    assert_eq!(sealed.0, 200, "{}", sealed.1);
    drop(first);
    let server = serve_with(&w, "seed.json", &[], "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=", &env).unwrap();
    let call = |params: &[(&str, &str)]| post_v1(&server, params, SECRET, &now(), &rand_nonce());
    let blob_text = sealed.1["CiphertextBlob"].as_str().unwrap();
    let decrypted = call(&[("Action", "Decrypt"), ("CiphertextBlob", blob_text), ("EncryptionContext", context_json)]);
    assert_eq!((decrypted.0, &decrypted.1["Plaintext"]), (200, &sealed.1["Plaintext"]), "{}", decrypted.1);
    let wrong =
        call(&[("Action", "Decrypt"), ("CiphertextBlob", blob_text), ("EncryptionContext", r#"{"tenant":"t-2"}"#)]);
    assert_eq!((wrong.0, wrong.1["Code"].as_str()), (400, Some("InvalidCiphertext")), "{}", wrong.1);
    // A key created now is made on the token, and says so.
    let created = call(&[("Action", "CreateKey"), ("DKMSInstanceId", hardware)]);
    assert_eq!(created.1["KeyMetadata"]["ProtectionLevel"], "HSM", "{}", created.1);
    let made = call(&[("Action", "GenerateDataKey"), ("KeyId", created.1["KeyMetadata"]["KeyId"].as_str().unwrap())]);
    assert_eq!(made.0, 200, "{}", made.1);
    let opened = call(&[("Action", "Decrypt"), ("CiphertextBlob", made.1["CiphertextBlob"].as_str().unwrap())]);
    assert_eq!(opened.1["Plaintext"], made.1["Plaintext"], "{}", opened.1);

    // External: sealed by the proxy (a version-2 blob), opened through it.
    let before = proxy.log.lock().unwrap().len();
    let sealed = call(&[("Action", "GenerateDataKey"), ("KeyId", "key-ext-one"), ("EncryptionContext", context_json)]);
    assert_eq!(sealed.0, 200, "{}", sealed.1);
    let blob_text = sealed.1["CiphertextBlob"].as_str().unwrap();
    assert_eq!(b64(&sealed.1["CiphertextBlob"])[0], 2, "a proxy's blob is version 2");
    let decrypted = call(&[("Action", "Decrypt"), ("CiphertextBlob", blob_text), ("EncryptionContext", context_json)]);
    assert_eq!((decrypted.0, &decrypted.1["Plaintext"]), (200, &sealed.1["Plaintext"]), "{}", decrypted.1);
    assert!(proxy.log.lock().unwrap().len() > before, "the proxy was called");
    let wrong =
        call(&[("Action", "Decrypt"), ("CiphertextBlob", blob_text), ("EncryptionContext", r#"{"tenant":"t-2"}"#)]);
    assert_eq!((wrong.0, wrong.1["Code"].as_str()), (400, Some("InvalidCiphertext")), "{}", wrong.1);
    let described = call(&[("Action", "DescribeKey"), ("KeyId", "key-ext-one")]);
    assert_eq!(described.1["KeyMetadata"]["Origin"], "EXTERNAL", "{}", described.1);
    // An external key is made at the proxy, not here: refused, and no row is left behind.
    let before = key_count(&server);
    let in_state = || {
        call(&[("Action", "GetKmsInstance"), ("KmsInstanceId", external)]).1["KmsInstance"]["Usage"]["KeyNum"].clone()
    };
    let state_before = in_state();
    let refused = call(&[("Action", "CreateKey"), ("DKMSInstanceId", external)]);
    assert_eq!((refused.0, refused.1["Code"].as_str()), (400, Some("InvalidParameter")), "{}", refused.1);
    assert_eq!(key_count(&server), before);
    // ...nor in the instance's state, which the rules count.
    assert_eq!(in_state(), state_before);
    assert_eq!(state_before, 1, "the seed's key is in the state");
    // The proxy gone: the endpoint says it failed (the cause goes to its standard error only).
    drop(proxy);
    let gone = call(&[("Action", "Decrypt"), ("CiphertextBlob", blob_text), ("EncryptionContext", context_json)]);
    assert_eq!((gone.0, gone.1["Code"].as_str()), (500, Some("InternalFailure")), "{}", gone.1);
}

#[test]
fn a_kept_key_the_seed_moves_to_an_instance_is_refused_at_start() {
    let w = World::with(&shared_seed());
    let data = w.path("kms.db");
    let data_args = ["--data", data.to_str().unwrap()];
    drop(serve(&w, &data_args, MASTER).unwrap());
    // The same key id, now said to be in the joint instance: its blobs were made as a key of no instance.
    let mut moved = shared_seed();
    moved["keys"][0]["instance"] = json!(JOINT);
    std::fs::write(w.path("seed.json"), moved.to_string()).unwrap();
    let refused = serve(&w, &data_args, MASTER).err().expect("refused");
    assert!(refused.contains("key-test-one") && refused.contains("another account, instance or kind"), "{refused}");
}

/// Two new software instances of the owner (quota 5 and 4), a directory of three
/// accounts, and what the endpoint is told of the vSwitches they connect in.
fn story_seed() -> Value {
    let mut seed = shared_seed();
    let fresh = |id: &str, quota: u32| {
        let mut state = instance_state(id, "software", "pendingEnable", "");
        state["instance"]["spec"]["accessManagementQuota"] = json!(quota);
        json!({"state": state})
    };
    seed["instances"] = json!([fresh("kst-hzz62f4a5c2d7ab12d1", 5), fresh("kst-hzz62f4a5c2d7ab12d2", 4)]);
    seed["keys"] = json!([]);
    let mut network = serde_json::Map::new();
    for n in 1..=2 {
        for (zone, letter) in [("cn-hangzhou-h", "a"), ("cn-hangzhou-i", "b")] {
            network.insert(
                format!("vsw-bp1zone{letter}0000000{n}"),
                json!({"vpcId": format!("vpc-bp1primary000000{n}"), "zone": zone, "availableIps": 8}),
            );
        }
    }
    seed["network"] = Value::Object(network);
    seed
}

#[test]
fn alibabas_python_sdks_run_the_instance_story_across_a_kill_9() {
    let Some(python) = python() else { return };
    let w = World::with(&story_seed());
    let data = w.path("kms.db");
    let args = ["--data", data.to_str().unwrap(), "--connect-seconds", "1"];
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/instance_story.py");
    let run = |half: &str, server: &Server| {
        let out = Command::new(&python)
            .arg(&script)
            .args([half, &server.url(), w.path("seed.json").to_str().unwrap(), w.path("notes.json").to_str().unwrap()])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{report}{}", String::from_utf8_lossy(&out.stderr));
        report
    };
    let server = serve(&w, &args, MASTER).unwrap();
    let report = run("first", &server);
    assert!(report.contains("ok   independent mode: the owner is refused the principal's key"), "{report}");
    drop(server); // SIGKILL: what was answered must be in the data file
    let server = serve(&w, &args, MASTER).unwrap();
    let report = run("second", &server);
    assert!(report.contains("ok   quota 4: the second account's association failed"), "{report}");
    // Every change was a request of the engine, in the audit log with its result.
    let log = server.log.lock().unwrap().clone();
    assert!(log.iter().any(|l| l.contains("CreateResourceShare") && l.contains("Success")), "{log:#?}");
}

#[test]
fn an_instance_expires_on_the_servers_clock_and_renewing_and_upgrading_are_the_owners() {
    let mut seed = shared_seed();
    // Enabled, its subscription ended a minute ago; a key of its owner.
    let mut state = instance_state(EXPIRED, "software", "enabled", "joint");
    let ended = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    state["instance"]["expiresAt"] = json!(ended.format(&time::format_description::well_known::Rfc3339).unwrap());
    seed["instances"] = json!([{"state": state}]);
    seed["keys"] = json!([{"id": "key-expiring", "account": OWNER, "instance": EXPIRED}]);
    let w = World::with(&seed);
    let server = serve(&w, &[], MASTER).unwrap();
    let call = |key: (&str, &str), params: &[(&str, &str)]| post_v1_as(&server, params, key, &now(), &rand_nonce());
    let owner = (AK, SECRET);
    let get = || call(owner, &[("Action", "GetKmsInstance"), ("KmsInstanceId", EXPIRED)]).1["KmsInstance"].clone();

    let got = get();
    assert_eq!((got["Status"].as_str(), got["SaleStatus"].as_str()), (Some("Disconnected"), Some("Expired")), "{got}");
    let refused = call(owner, &[("Action", "GenerateDataKey"), ("KeyId", "key-expiring")]);
    assert_eq!((refused.0, refused.1["Code"].as_str()), (403, Some("Rejected.InstanceExpired")), "{}", refused.1);

    // The principal may not renew or upgrade (an owner-only row of the matrix).
    let renew = [("Action", "RenewKmsInstance"), ("KmsInstanceId", EXPIRED), ("RenewPeriod", "12")];
    let by_principal = call(OTHER, &renew);
    assert_eq!(by_principal.1["Code"], "Forbidden.NoPermission", "{}", by_principal.1);
    let out_of_range =
        call(owner, &[("Action", "RenewKmsInstance"), ("KmsInstanceId", EXPIRED), ("RenewPeriod", "37")]);
    assert_eq!(
        (out_of_range.0, out_of_range.1["Code"].as_str()),
        (400, Some("InvalidParameter.Months")),
        "{}",
        out_of_range.1
    );
    let renewed = call(owner, &renew);
    assert_eq!(renewed.0, 200, "{}", renewed.1);
    let got = get();
    assert_eq!(got["Status"], "Connected", "{got}");
    assert!(got["EndDate"].as_str().unwrap() > now().as_str(), "{got}");
    assert_eq!(call(owner, &[("Action", "GenerateDataKey"), ("KeyId", "key-expiring")]).0, 200);

    // An upgrade below what is in use is refused whole (R-LC-7); one above it holds.
    let used = got["Usage"]["VpcNum"].as_u64().unwrap();
    assert_eq!(used, 1, "the share's one account");
    let below = call(
        owner,
        &[("Action", "UpgradeKmsInstance"), ("KmsInstanceId", EXPIRED), ("VpcNum", "0"), ("KeyNum", "200")],
    );
    assert_eq!(below.1["Code"], "Rejected.QuotaBelowUsage", "{}", below.1);
    assert_eq!(get()["KeyNum"], 100, "nothing of a refused upgrade is applied");
    let upgraded = call(owner, &[("Action", "UpgradeKmsInstance"), ("KmsInstanceId", EXPIRED), ("VpcNum", "8")]);
    assert_eq!(upgraded.1["AccessManagementQuota"], json!({"Used": 1, "Purchased": 8}), "{}", upgraded.1);
    // To an account it is not shared with, the instance does not exist.
    let hidden = call(THIRD, &[("Action", "GetKmsInstance"), ("KmsInstanceId", EXPIRED)]);
    assert_eq!((hidden.0, hidden.1["Code"].as_str()), (404, Some("Forbidden.ResourceNotFound")), "{}", hidden.1);
}

/// The status line and headers (lower-cased) of a raw HTTP/1.1 request.
fn raw(server: &Server, request: &str) -> (String, Vec<String>) {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let head = text.split("\r\n\r\n").next().unwrap_or_default().to_string();
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_string();
    (status, lines.map(str::to_lowercase).collect())
}

#[test]
fn a_page_may_call_from_the_cors_origin_only() {
    let w = World::new();
    let page = "http://localhost:8080";
    let server = serve(&w, &["--cors", page], MASTER).unwrap();
    let preflight = |origin: &str| {
        raw(&server, &format!("OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, x-acs-action\r\nConnection: close\r\n\r\n"))
    };
    let (status, headers) = preflight(page);
    assert!(status.contains("204"), "{status}");
    assert!(headers.contains(&format!("access-control-allow-origin: {page}")), "{headers:?}");
    assert!(
        headers.iter().any(|h| h.starts_with("access-control-allow-headers:") && h.contains("x-acs-signature-nonce")),
        "{headers:?}"
    );
    let (status, headers) = preflight("http://evil.example");
    assert!(!status.contains("204"), "{status}");
    assert!(!headers.iter().any(|h| h.starts_with("access-control-")), "{headers:?}");
    // An answer to the origin's page carries the header; a signed call is still needed.
    let (status, headers) = raw(
        &server,
        &format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {page}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(status.contains("400"), "{status}");
    assert!(headers.contains(&format!("access-control-allow-origin: {page}")), "{headers:?}");
    // Without --cors, no page may call.
    drop(server);
    let plain = serve(&w, &[], MASTER).unwrap();
    let (_, headers) =
        raw(&plain, &format!("OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {page}\r\nConnection: close\r\n\r\n"));
    assert!(!headers.iter().any(|h| h.starts_with("access-control-")), "{headers:?}");
    for origin in ["http://localhost:8080/console", "http://LOCALHOST:8080", "http://a@b", "localhost:8080", "http://*"]
    {
        let refused = serve(&w, &["--cors", origin], MASTER).err().expect("refused");
        assert!(refused.contains("not one web origin"), "{origin}: {refused}");
    }
}

#[test]
fn a_ram_identitys_access_key_calls_what_its_policy_grants() {
    let mut seed = seed();
    seed["accounts"][0]["accessKeys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "LTAI5tTestEncryptOnly001", "secret": "ram-secret", "ram": ["kms:GenerateDataKey", "kms:Encrypt"]}));
    let w = World::with(&seed);
    let server = serve(&w, &[], MASTER).unwrap();
    let ram = ("LTAI5tTestEncryptOnly001", "ram-secret");
    let call = |key: (&str, &str), params: &[(&str, &str)]| post_v1_as(&server, params, key, &now(), &rand_nonce());
    let made = call(ram, &[("Action", "GenerateDataKey"), ("KeyId", "key-test-one")]);
    assert_eq!(made.0, 200, "{}", made.1);
    let blob = made.1["CiphertextBlob"].as_str().unwrap();
    let refused = call(ram, &[("Action", "Decrypt"), ("CiphertextBlob", blob)]);
    assert_eq!((refused.0, refused.1["Code"].as_str()), (403, Some("Forbidden.NoPermission")), "{}", refused.1);
    assert!(refused.1["Message"].as_str().unwrap().contains("Forbidden.RamPolicy, R-AZ-3"), "{}", refused.1);
    assert!(refused.1["Message"].as_str().unwrap().contains("kms:Decrypt"), "{}", refused.1);
    // The account's own key calls everything; the RAM identity's refusal changed nothing.
    let opened = call((AK, SECRET), &[("Action", "Decrypt"), ("CiphertextBlob", blob)]);
    assert_eq!(opened.1["Plaintext"], made.1["Plaintext"], "{}", opened.1);
    let listed = call(ram, &[("Action", "ListKeys")]);
    assert_eq!(listed.1["Code"], "Forbidden.NoPermission", "{}", listed.1);
}

/// The change plans of the scenarios folder (`../shared/scenarios` beside the repository,
/// or `$KMS_SCENARIOS`), then this project's own of the operations they do not use
/// (`tests/plans`).
fn plans() -> Vec<PathBuf> {
    let shared = std::env::var_os("KMS_SCENARIOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/scenarios"));
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plans");
    let mut all = Vec::new();
    for dir in [shared, own] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        assert!(!files.is_empty(), "no plan in {}", dir.display());
        files.sort();
        all.extend(files);
    }
    all
}

/// `plan --json` of `file` (with `extra` arguments): each step's result, as compared.
fn plan_steps(file: &Path, extra: &[&str]) -> Vec<Value> {
    let out = Command::new(BIN).arg("plan").arg("--json").arg(file).args(extra).output().unwrap();
    let results: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let fields = ["index", "action", "caller", "ok", "errors", "warnings", "quotaUsed", "quotaPurchased", "matched"];
    results[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| {
            let mut kept: serde_json::Map<String, Value> =
                fields.iter().map(|f| (f.to_string(), step[*f].clone())).collect();
            let mut failed: Vec<Value> = step["failedPrincipals"].as_array().unwrap().clone();
            failed.sort_by_key(Value::to_string);
            kept.insert("failedPrincipals".into(), Value::Array(failed));
            Value::Object(kept)
        })
        .collect()
}

/// Issue 29: every change plan (the scenarios and `tests/plans`) gives, step for step,
/// the same results as API calls to `serve` (a seed of its world from `plan
/// --write-seed`; a hardware instance's keys on a SoftHSM token) as in the library, where
/// each matches what it expects.
#[test]
fn every_plan_gives_through_the_server_what_it_gives_in_the_library() {
    let Some(token) = xks_world::make_world() else { return };
    let conf = token.dir.path().join("softhsm2.conf");
    let module = xks_world::softhsm_module().unwrap();
    for file in &plans() {
        let plan: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let seed = dir.path().join("seed.json");
        let mut write = Command::new(BIN);
        write.arg("plan").arg(file).arg("--write-seed").arg(&seed);
        if plan["instance"]["type"] == "hardware" {
            write.arg("--pkcs11-module").arg(&module);
            write.args(["--token-label", xks_world::TOKEN, "--pin-env", "KMS_TEST_PIN"]);
        }
        let written = write.output().unwrap();
        assert!(written.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&written.stderr));
        let w = World::with(&serde_json::from_str(&std::fs::read_to_string(&seed).unwrap()).unwrap());
        let env = [("SOFTHSM2_CONF", conf.to_str().unwrap()), ("KMS_TEST_PIN", xks_world::PIN)];
        let server = serve_with(&w, "seed.json", &["--connect-seconds", "0"], MASTER, &env).unwrap();
        let credentials = w.path("seed.json");
        let through_server =
            plan_steps(file, &["--endpoint", &server.url(), "--credentials", credentials.to_str().unwrap()]);
        let in_library = plan_steps(file, &[]);
        assert!(in_library.iter().all(|step| step["matched"] == true), "{}: {in_library:#?}", file.display());
        assert_eq!(through_server.len(), in_library.len());
        for (served, library) in through_server.iter().zip(&in_library) {
            assert_eq!(served, library, "{}: step {}", file.display(), library["index"]);
        }
    }
}
