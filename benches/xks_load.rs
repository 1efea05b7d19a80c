//! Load on `kms-instance xks-proxy` (TLS, SoftHSM2) from this machine: encrypt and
//! decrypt of 32-byte and 4 KiB plaintexts at 1, 16, 64 and 256 concurrent keep-alive
//! connections, each for a bounded time (`KMS_BENCH_SECONDS`, default 3). Each
//! connection is a thread with its own signing client (SigV4 per request, the
//! integrity value asked for on every encrypt, as KMS does). Prints requests/s,
//! latency percentiles, errors, the server's memory, and the targets met or not; then
//! the npm package's seal latency through the proxy in Node, when the package is built.
//!
//!   cargo bench --bench xks_load
//!
//! The load generator shares the machine's two cores with the proxy and the token.

#[path = "../tests/support/xks_world.rs"]
mod xks_world;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xks_world::*;

fn agent(w: &World) -> ureq::Agent {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(w.ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    ureq::AgentBuilder::new().tls_config(Arc::new(config)).max_idle_connections(1).build()
}

fn meta(op: &str) -> Value {
    json!({"awsPrincipalArn": PRINCIPAL, "kmsKeyArn": arn("k-both").as_str(), "kmsOperation": op, "kmsRequestId": "bench"})
}

fn encrypt_body(size: usize) -> Value {
    json!({
        "requestMetadata": meta("Encrypt"),
        "plaintext": STANDARD.encode(vec![7u8; size]),
        "encryptionAlgorithm": "AES_GCM",
        "additionalAuthenticatedData": STANDARD.encode(b"bench"),
        "ciphertextDataIntegrityValueAlgorithm": "SHA_256",
    })
}

/// One request; its status and answer.
fn post(agent: &ureq::Agent, port: u16, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let host = format!("localhost:{port}");
    let mut request = agent.post(&format!("https://{host}{path}")).timeout(Duration::from_secs(10));
    for (name, value) in signed_headers("POST", &host, path, body, ID_A, SECRET_A, 0) {
        request = request.set(&name, &value);
    }
    match request.send_bytes(body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => {
            let status = r.status();
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut r.into_reader(), &mut out).map_err(|e| e.to_string())?;
            Ok((status, out))
        }
        Err(e) => Err(e.to_string()),
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

struct Run {
    requests_per_s: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    errors: usize,
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn load(w: &World, port: u16, connections: usize, seconds: f64, path: &str, body: &[u8]) -> Run {
    let (counting, stop) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let (agent, path, body) = (agent(w), path.to_string(), body.to_vec());
            let (counting, stop) = (Arc::clone(&counting), Arc::clone(&stop));
            std::thread::spawn(move || {
                // The connection (and its TLS handshake) before the clock starts.
                let _ = post(&agent, port, &path, &body);
                let (mut latencies, mut errors) = (Vec::new(), 0usize);
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let ok = matches!(post(&agent, port, &path, &body), Ok((200, _)));
                    if counting.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                        match ok {
                            true => latencies.push(started.elapsed().as_micros() as u32),
                            false => errors += 1,
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    // Every connection made (and warm) before the measured window.
    std::thread::sleep(Duration::from_millis(300 + 4 * connections as u64));
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in threads {
        let (l, e) = t.join().unwrap();
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    Run {
        requests_per_s: all.len() as f64 / elapsed,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        p999: percentile(&all, 0.999),
        errors,
    }
}

fn main() {
    let Some(w) = make_world() else { return };
    let seconds: f64 = std::env::var("KMS_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let proxy = start_with(&w, "bench", |c| c["limits"]["maxConnections"] = json!(1024), &[]);
    let (port, pid) = (proxy.port, proxy.child.id());
    let agent = agent(&w);
    let started = Instant::now();
    let (mut rss_at_5s, mut rss_after_first_256) = (None, None);
    println!("| operation | plaintext | connections | requests/s | p50 ms | p99 ms | p99.9 ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut at_64 = Vec::new();
    for size in [32usize, 4096] {
        let encrypt = encrypt_body(size).to_string().into_bytes();
        let (status, sealed) =
            post(&agent, port, &format!("{PREFIX}/kms/xks/v1/keys/k-both/encrypt"), &encrypt).unwrap();
        assert_eq!(status, 200);
        let sealed: Value = serde_json::from_slice(&sealed).unwrap();
        let decrypt = json!({
            "requestMetadata": meta("Decrypt"), "encryptionAlgorithm": "AES_GCM",
            "ciphertext": sealed["ciphertext"], "initializationVector": sealed["initializationVector"],
            "authenticationTag": sealed["authenticationTag"], "additionalAuthenticatedData": STANDARD.encode(b"bench"),
        })
        .to_string()
        .into_bytes();
        for (operation, body) in [("encrypt", &encrypt), ("decrypt", &decrypt)] {
            for connections in [1usize, 16, 64, 256] {
                let path = format!("{PREFIX}/kms/xks/v1/keys/k-both/{operation}");
                let run = load(&w, port, connections, seconds, &path, body);
                if rss_at_5s.is_none() && started.elapsed() >= Duration::from_secs(5) {
                    rss_at_5s = Some(rss_kib(pid));
                }
                if connections == 256 && rss_after_first_256.is_none() {
                    rss_after_first_256 = Some(rss_kib(pid));
                }
                println!(
                    "| {operation} | {size} B | {connections} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
                    run.requests_per_s, run.p50, run.p99, run.p999, run.errors
                );
                if connections == 64 {
                    at_64.push((format!("{operation} {size} B"), run));
                }
            }
        }
    }
    // Then the same load again and again (KMS_BENCH_SOAK rounds, default 6) of 256
    // connections encrypting 32 B, the server's memory after each: flat means it levels
    // off under the same work rather than growing with it.
    let soak: usize = std::env::var("KMS_BENCH_SOAK").ok().and_then(|s| s.parse().ok()).unwrap_or(6);
    let path = format!("{PREFIX}/kms/xks/v1/keys/k-both/encrypt");
    let body = encrypt_body(32).to_string().into_bytes();
    let mut soaked = Vec::new();
    for _ in 0..soak {
        let run = load(&w, port, 256, seconds, &path, &body);
        soaked.push((rss_kib(pid), run));
    }
    if !soaked.is_empty() {
        let rounds: Vec<String> = soaked
            .iter()
            .map(|(rss, run)| format!("{rss} KiB ({:.0}/s, {} errors)", run.requests_per_s, run.errors))
            .collect();
        println!(
            "\nSoak, 256 connections encrypting 32 B, the server's memory after each round: {}.",
            rounds.join(", ")
        );
    }
    let end = rss_kib(pid);
    let (early, loaded) = (rss_at_5s.unwrap_or(end), rss_after_first_256.unwrap_or(end));
    println!();
    println!("Server memory (RSS): {early} KiB after 5 s, {loaded} KiB after the first 256-connection run, {end} KiB at the end.");
    for (what, run) in &at_64 {
        let met = run.requests_per_s >= 5000.0 && run.p99 <= 25.0 && run.errors == 0;
        println!(
            "Target at 64 connections, {what}: ≥ 5,000 requests/s with p99 ≤ 25 ms and no error: {} ({:.0} requests/s, p99 {:.2} ms, {} errors).",
            if met { "met" } else { "not met" },
            run.requests_per_s,
            run.p99,
            run.errors
        );
    }
    // 256 connections hold 256 TLS sessions and buffers: memory grows with connections
    // (the 5 s figure had at most 16). Flat: the soak's last round within 10 % of its first.
    if let (Some((first, _)), Some((last, _))) = (soaked.first(), soaked.last()) {
        let flat = (*last as f64) <= *first as f64 * 1.1;
        println!(
            "Target, memory flat under the same load (the soak's last round within 1.1× of its first): {} ({first} → {last} KiB).",
            if flat { "met" } else { "not met" }
        );
    }

    // The package's seal latency through the proxy, in Node, when it is built.
    let root = env!("CARGO_MANIFEST_DIR");
    if std::path::Path::new(&format!("{root}/pkg/dist/index.js")).exists() {
        let out = std::process::Command::new("node")
            .arg(format!("{root}/benches/xks-seal.mjs"))
            .arg(port.to_string())
            .env("NODE_EXTRA_CA_CERTS", w.dir.path().join("ca.pem"))
            .output();
        match out {
            Ok(o) => print!("\n{}", String::from_utf8_lossy(&o.stdout)),
            Err(e) => println!("\n(node: {e})"),
        }
    }
    drop(proxy);
}
