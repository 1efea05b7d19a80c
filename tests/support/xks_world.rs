//! What the XKS proxy's tests and its load benchmark share: a SoftHSM2 token with keys
//! made by the CLI, a CA and certificates made now, the proxy binary started on
//! 127.0.0.1 and stopped when dropped, and signed requests.
#![allow(dead_code)]

use kms_instance::envelope::KeyArn;
use kms_instance::xks::sigv4::{self, Scope, SignedRequest};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_kms-instance");
pub const TOKEN: &str = "xks-test";
pub const PIN: &str = "112233";
pub const PREFIX: &str = "/tenant-a";
pub const ID_A: &str = "AKIAXKSTESTCREDENTIALA";
pub const SECRET_A: &str = "secret-a-0123456789abcdefghijklmnopqrstuvwxyz";
pub const ID_B: &str = "AKIAXKSTESTCREDENTIALB";
pub const SECRET_B: &str = "secret-b-0123456789abcdefghijklmnopqrstuvwxyz";
pub const PRINCIPAL: &str = "acs:ram::1207089758810000:user/alice";

pub fn arn(id: &str) -> KeyArn {
    format!("acs:kms:cn-hangzhou:1207089758810000:key/{id}").parse().unwrap()
}

/// The token (its keys made by the CLI), the test CA and the certificates.
pub struct World {
    pub dir: tempfile::TempDir,
    pub ca_pem: String,
    pub server_der: Vec<u8>,
    pub client_cert: String,
    pub client_key: String,
}

pub fn softhsm_module() -> Option<PathBuf> {
    let path =
        PathBuf::from(std::env::var("KMS_SOFTHSM_MODULE").unwrap_or_else(|_| "/usr/lib/softhsm/libsofthsm2.so".into()));
    if path.exists() && Command::new("softhsm2-util").arg("--version").output().is_ok() {
        return Some(path);
    }
    assert!(std::env::var_os("KMS_REQUIRE_SOFTHSM").is_none(), "KMS_REQUIRE_SOFTHSM is set but SoftHSM2 is missing");
    eprintln!("skipped: SoftHSM2 is not installed");
    None
}

/// Makes the token (keys `k-both`, `k-enc`, `k-dec`, by the CLI), a test CA and the
/// certificates, in a new temporary directory; `None` without SoftHSM2.
pub fn make_world() -> Option<World> {
    let module = softhsm_module()?;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("tokens")).unwrap();
    std::fs::write(
        d.join("softhsm2.conf"),
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            d.join("tokens").display()
        ),
    )
    .unwrap();
    let init = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", d.join("softhsm2.conf"))
        .args(["--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "13579"])
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    // t-*: keys the token itself restricts (what the operation may do, the key's size).
    for (key, extra) in [
        ("k-both", &[][..]),
        ("k-enc", &[]),
        ("k-dec", &[]),
        ("t-enc", &["--usage", "encrypt"]),
        ("t-none", &["--usage", "none"]),
        ("t-aes128", &["--bits", "128"]),
    ] {
        let out = Command::new(BIN)
            .env("SOFTHSM2_CONF", d.join("softhsm2.conf"))
            .env("XKS_PIN", PIN)
            .args(["pkcs11", "generate-key", "--pkcs11-module"])
            .arg(&module)
            .args(["--token-label", TOKEN, "--pin-env", "XKS_PIN", "--key", arn(key).as_str()])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "kms-instance test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key).unwrap();
    let client_key = rcgen::KeyPair::generate().unwrap();
    let mut client = rcgen::CertificateParams::new(vec!["kms-client.test".to_string()]).unwrap();
    client.distinguished_name.push(rcgen::DnType::CommonName, "kms client");
    client.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client.signed_by(&client_key, &ca_cert, &ca_key).unwrap();
    std::fs::write(d.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(d.join("server.pem"), server_cert.pem()).unwrap();
    std::fs::write(d.join("server.key"), server_key.serialize_pem()).unwrap();
    std::fs::write(d.join("pin"), format!("{PIN}\n")).unwrap();
    Some(World {
        ca_pem: ca_cert.pem(),
        server_der: server_cert.der().to_vec(),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
        dir,
    })
}

/// A running `kms-instance xks-proxy`, killed when dropped (a test that wants the
/// graceful stop sends SIGTERM itself).
pub struct Proxy {
    pub child: Child,
    pub port: u16,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(w: &World, name: &str, edit: impl FnOnce(&mut Value)) -> Proxy {
    start_with(w, name, edit, &[])
}

pub fn start_with(w: &World, name: &str, edit: impl FnOnce(&mut Value), env: &[(&str, PathBuf)]) -> Proxy {
    launch(w, name, edit, env, true)
}

/// A proxy whose standard output is not read after its first line (its pipe fills).
pub fn start_unread(w: &World, name: &str) -> Proxy {
    launch(w, name, |_| {}, &[], false)
}

fn launch(w: &World, name: &str, edit: impl FnOnce(&mut Value), env: &[(&str, PathBuf)], drain: bool) -> Proxy {
    let d = w.dir.path();
    let mut config = json!({
        "listen": "127.0.0.1:0",
        "tls": {"certificateFile": "server.pem", "keyFile": "server.key"},
        "token": {"module": softhsm_module().unwrap(), "tokenLabel": TOKEN, "pin": {"file": "pin"}},
        "prefixes": [
            {"uriPrefix": PREFIX, "credentials": [
                {"accessKeyId": ID_A, "secretAccessKey": {"env": "XKS_SECRET_A"}},
                {"accessKeyId": ID_B, "secretAccessKey": {"env": "XKS_SECRET_B"}}
            ]},
            {"uriPrefix": "/tenant-b", "credentials": [{"accessKeyId": "AKIAOTHERTENANT00000", "secretAccessKey": {"env": "XKS_SECRET_B"}}]}
        ],
        "keys": [
            {"externalKeyId": "k-both", "label": "k-both"},
            {"externalKeyId": "k-enc", "label": "k-enc", "usage": ["ENCRYPT"]},
            {"externalKeyId": "k-dec", "label": "k-dec", "usage": ["DECRYPT"]},
            {"externalKeyId": "k-missing", "label": "k-missing"},
            {"externalKeyId": "t-enc", "label": "t-enc"},
            {"externalKeyId": "t-none", "label": "t-none"},
            {"externalKeyId": "t-aes128", "label": "t-aes128"},
            {"externalKeyId": "c-none", "label": "k-both", "usage": []},
            {"externalKeyId": "ext.renamed_1", "label": "k-both"}
        ],
        "limits": {"headerTimeoutMs": 1500, "maxConnections": 512}
    });
    edit(&mut config);
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = d.join(format!("{name}-{n}.json"));
    std::fs::write(&file, config.to_string()).unwrap();
    let mut child = Command::new(BIN)
        .env("SOFTHSM2_CONF", d.join("softhsm2.conf"))
        .env("XKS_SECRET_A", SECRET_A)
        .env("XKS_SECRET_B", SECRET_B)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .args(["xks-proxy", "--config"])
        .arg(&file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("the proxy printed nothing").unwrap();
    let port = first.rsplit(':').next().unwrap().parse().unwrap_or_else(|_| panic!("{first}"));
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        if !drain {
            // Held open, never read.
            std::thread::sleep(Duration::from_secs(3600));
        }
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Proxy { child, port, log }
}

/// The headers of a request signed as `id`/`secret` for `host`, at `skew` seconds from now.
pub fn signed_headers(
    method: &str,
    host: &str,
    path: &str,
    body: &[u8],
    id: &str,
    secret: &str,
    skew: i64,
) -> Vec<(String, String)> {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(skew);
    let amz_date = at.format(time::macros::format_description!("[year][month][day]T[hour][minute][second]Z")).unwrap();
    let headers = [("content-type", "application/json"), ("host", host), ("x-amz-date", amz_date.as_str())];
    let request = SignedRequest { method, path, query: "", headers: &headers, payload: body };
    let scope = Scope { region: "cn-hangzhou", service: "kms-xks-proxy" };
    let authorization = sigv4::authorization(&request, id, secret.as_bytes(), scope, &amz_date);
    let mut all: Vec<(String, String)> = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    all.push(("authorization".into(), authorization));
    all
}
