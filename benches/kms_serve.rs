//! Load on `kms-instance serve` (plain HTTP on loopback, the store on disk, requests
//! signed with RPC v1 as aliyun-python-sdk-core signs them): GenerateDataKey and Decrypt
//! at 1, 8, 32 and 64 concurrent keep-alive connections, each for a bounded time
//! (`KMS_BENCH_SECONDS`, default 3). Prints requests/s and latency percentiles against
//! the targets; what one request's signature check and store lookup cost, measured
//! apart in this process; and sealing 1 KiB through `KmsKeyProvider` with the data-key
//! cache off and on.
//!
//!   cargo bench --bench kms_serve
//!
//! The load generator shares the machine's two cores with the server.

use kms_instance::envelope::{self, CacheLimits, DataKeyCache, EncryptOptions, KeyArn};
use kms_instance::key_providers::kms::{KmsKeyProvider, KmsSettings, Signature};
use kms_instance::key_providers::xks::native::{NativeTransport, Trust};
use kms_instance::kms_api::signature;
use kms_instance::kms_server::store::{Key, KeyState, Store};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kms-instance");
const OWNER: &str = "1207089758810000";
const AK: &str = "LTAI5tBenchOwner00000001";
const SECRET: &str = "bench-secret";
const KEY: &str = "key-bench-one";

fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// A v1-signed form body for `params`, with a nonce of its own.
fn signed(params: &[(&str, &str)], nonce: &str) -> String {
    let mut pairs: Vec<(String, String)> = params.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    let time = now();
    for (n, v) in [
        ("Version", "2016-01-20"),
        ("Format", "JSON"),
        ("AccessKeyId", AK),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce),
        ("Timestamp", time.as_str()),
    ] {
        pairs.push((n.to_string(), v.to_string()));
    }
    let sts = signature::v1_string_to_sign("POST", &pairs);
    pairs.push(("Signature".into(), signature::v1_signature(SECRET, &sts)));
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", signature::percent_encode(n), signature::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn post(agent: &ureq::Agent, url: &str, body: &str) -> Result<Value, String> {
    match agent.post(url).set("content-type", "application/x-www-form-urlencoded").send_string(body) {
        Ok(r) => serde_json::from_str(&r.into_string().map_err(|e| e.to_string())?).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// `connections` threads sending `params` for `seconds`; requests/s, p50, p99 (ms), errors.
fn load(url: &str, connections: usize, seconds: f64, params: &[(&str, &str)]) -> (f64, f64, f64, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let threads: Vec<_> = (0..connections)
        .map(|c| {
            let (stop, url) = (Arc::clone(&stop), url.to_string());
            let params: Vec<(String, String)> = params.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().max_idle_connections(1).build();
                let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                let (mut latencies, mut errors, mut n) = (Vec::new(), 0usize, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let body = signed(&params, &format!("{c}-{n}-{}", started.elapsed().as_nanos()));
                    let t = Instant::now();
                    match post(&agent, &url, &body) {
                        Ok(_) => latencies.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX)),
                        Err(_) => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (l, e) = t.join().unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    (all.len() as f64 / elapsed, percentile(&all, 0.5), percentile(&all, 0.99), errors)
}

/// Mean µs of `f` over `n` runs.
fn micros(n: u32, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn main() {
    let seconds: f64 = std::env::var("KMS_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let dir = tempfile::tempdir().unwrap();
    let seed = json!({
        "region": "cn-hangzhou",
        "accounts": [{"id": OWNER, "accessKeys": [{"id": AK, "secret": SECRET}]}],
        "keys": [{"id": KEY, "account": OWNER, "aliases": ["alias/bench"]}]
    });
    std::fs::write(dir.path().join("seed.json"), seed.to_string()).unwrap();
    let mut child = Command::new(BIN)
        .env("KMS_SERVE_MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .args(["serve", "--seed"])
        .arg(dir.path().join("seed.json"))
        .arg("--data")
        .arg(dir.path().join("kms.db"))
        .args(["--requests-per-second", "4000000000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap().replace("listening on ", "") + "/";
    std::thread::spawn(move || lines.for_each(drop));

    let agent = ureq::AgentBuilder::new().build();
    let made = post(&agent, &url, &signed(&[("Action", "GenerateDataKey"), ("KeyId", KEY)], "first")).unwrap();
    let blob = made["CiphertextBlob"].as_str().unwrap().to_string();
    println!("kms-instance serve, store on disk, v1 signatures, {seconds} s per row");
    println!("{:<16} {:>5} {:>10} {:>9} {:>9} {:>7}", "operation", "conns", "req/s", "p50 ms", "p99 ms", "errors");
    let mut at_64 = Vec::new();
    for (name, params) in [
        ("GenerateDataKey", vec![("Action", "GenerateDataKey"), ("KeyId", KEY)]),
        ("Decrypt", vec![("Action", "Decrypt"), ("CiphertextBlob", blob.as_str())]),
    ] {
        for connections in [1, 8, 32, 64] {
            let (rps, p50, p99, errors) = load(&url, connections, seconds, &params);
            println!("{name:<16} {connections:>5} {rps:>10.0} {p50:>9.2} {p99:>9.2} {errors:>7}");
            if connections == 64 {
                at_64.push((name, rps, p99));
            }
        }
    }
    for (name, rps, p99) in at_64 {
        let met = rps >= 10_000.0 && p99 <= 20.0;
        println!("target {name} at 64 connections: >= 10,000 req/s with p99 <= 20 ms: {} ({rps:.0} req/s, {:.2}x; p99 {p99:.2} ms)", if met { "met" } else { "NOT met" }, rps / 10_000.0);
    }

    // One request's parts, apart: the v1 signature (string to sign and HMAC) and the store.
    let pairs: Vec<(String, String)> =
        [("Action", "GenerateDataKey"), ("KeyId", KEY), ("AccessKeyId", AK), ("Timestamp", "2026-01-01T00:00:00Z")]
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
    let sign = micros(20_000, || {
        let sts = signature::v1_string_to_sign("POST", &pairs);
        std::hint::black_box(signature::v1_signature(SECRET, &sts));
    });
    let store_dir = tempfile::tempdir().unwrap();
    let store = Store::open(Some(&store_dir.path().join("s.db")), zeroize::Zeroizing::new([7; 32])).unwrap();
    let key = Key {
        id: KEY.into(),
        account: OWNER.into(),
        state: KeyState::Enabled,
        spec: "Aliyun_AES_256".into(),
        usage: "ENCRYPT/DECRYPT".into(),
        origin: "Aliyun_KMS".into(),
        protection: "SOFTWARE".into(),
        description: String::new(),
        created: now(),
        deletion: None,
        instance: None,
        version: "v1".into(),
        material: zeroize::Zeroizing::new(vec![1; 32]),
    };
    store.insert(&key, &[], None).unwrap();
    let lookup = micros(20_000, || {
        std::hint::black_box(store.key(OWNER, KEY).unwrap());
    });
    println!("per request, measured apart: the v1 signature check {sign:.1} µs, the store's key lookup (and unsealing) {lookup:.1} µs");

    // Sealing 1 KiB through KmsKeyProvider: a KMS round trip per message, or the cache's.
    let settings = KmsSettings {
        endpoint: url.trim_end_matches('/').to_string(),
        region: "cn-hangzhou".into(),
        access_key_id: AK.into(),
        security_token: None,
        keys: Vec::new(),
        signature: Signature::V3,
        timeout_ms: None,
    };
    let provider = KmsKeyProvider::new(
        settings,
        zeroize::Zeroizing::new(SECRET.into()),
        Box::new(NativeTransport::new(&Trust::SystemRoots, None).unwrap()),
    )
    .unwrap();
    let arn: KeyArn = format!("acs:kms:cn-hangzhou:{OWNER}:key/{KEY}").parse().unwrap();
    let plaintext = vec![7u8; 1024];
    let cache = DataKeyCache::new(CacheLimits {
        max_messages: 1_000_000,
        max_bytes: u64::MAX,
        max_age: Duration::from_secs(600),
        max_entries: 16,
    });
    let mut per = Vec::new();
    for cached in [false, true] {
        let options = EncryptOptions { cache: cached.then_some(&cache), ..EncryptOptions::default() };
        let us = micros(500, || {
            pollster::block_on(envelope::encrypt(&[&provider], std::slice::from_ref(&arn), &plaintext, &options))
                .unwrap();
        });
        per.push(us);
    }
    println!(
        "seal 1 KiB through KmsKeyProvider (V3): cache off {:.0} µs, cache on {:.0} µs ({:.1}x)",
        per[0],
        per[1],
        per[0] / per[1]
    );
    let _ = child.kill();
    let _ = child.wait();
}
