//! Streams natively (issue 26): the memory a 1 GiB message takes to seal and to open,
//! file to file through the CLI (each run in a process of its own, its peak resident set
//! above what it started with, from Linux's /proc), and the throughput of the streams
//! against the whole-message calls at 64 MiB in memory, as ratios measured in this run.
//!
//! Run: `cargo bench --bench streams` (part of `bash .ci/bench`).

use kms_instance::envelope::stream::{self, Finished};
use kms_instance::envelope::{self, DecryptOptions, EncryptOptions, KeyArn};
use kms_instance::key_providers::software::SoftwareKeyProvider;
use std::io::Write;
use std::process::Command;
use std::time::Instant;

const GIB: u64 = 1 << 30;
const MIB: usize = 1 << 20;

fn keys() -> (SoftwareKeyProvider, Vec<KeyArn>) {
    let arn: KeyArn = "acs:kms:cn-hangzhou:1207089758810000:key/key-bench".parse().unwrap();
    let mut keys = SoftwareKeyProvider::new();
    keys.add(arn.clone(), [5; 32]).unwrap();
    (keys, vec![arn])
}

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok()).unwrap_or(0)
}

/// In a child process (`KMS_STREAM_BENCH_CHILD`): seals or opens a file through the
/// calls the CLI makes, and prints its peak resident set above its start, in KiB.
fn child(op: &str, input: &str, output: &str) {
    use kms_instance::envelope::stream_io::{self, OpenReader, SealWriter};
    let (keys, arns) = keys();
    let start = status_kib("VmRSS:");
    let file = std::fs::File::open(input).unwrap();
    let len = file.metadata().unwrap().len();
    let out = std::io::BufWriter::with_capacity(MIB, std::fs::File::create(output).unwrap());
    match op {
        "seal" => {
            let sealing =
                pollster::block_on(stream::begin_seal_stream(&[&keys], &arns, len, &EncryptOptions::default()))
                    .unwrap();
            let mut writer = SealWriter::new(sealing, out).unwrap();
            std::io::copy(&mut std::io::BufReader::with_capacity(MIB, file), &mut writer).unwrap();
            writer.finish().unwrap().flush().unwrap();
        }
        _ => {
            let mut file = file;
            let head = stream_io::read_head(&mut file).unwrap();
            let opening =
                pollster::block_on(stream::begin_open_stream(&[&keys], head, &DecryptOptions::default())).unwrap();
            let mut reader = OpenReader::verified(opening, file).unwrap();
            let mut out = out;
            std::io::copy(&mut reader, &mut out).unwrap();
            out.flush().unwrap();
        }
    }
    let peak = status_kib("VmHWM:");
    println!("{}", peak.saturating_sub(start));
}

/// Runs `op` in a child process; its peak resident set above its start, in MiB, and the
/// seconds it took.
fn measured(op: &str, input: &str, output: &str) -> (f64, f64) {
    let started = Instant::now();
    let out = Command::new(std::env::current_exe().unwrap())
        .env("KMS_STREAM_BENCH_CHILD", format!("{op} {input} {output}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let kib: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    (kib / 1024.0, started.elapsed().as_secs_f64())
}

/// The best of `runs` timings of `f`, in seconds.
fn best(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    if let Ok(args) = std::env::var("KMS_STREAM_BENCH_CHILD") {
        let parts: Vec<&str> = args.splitn(3, ' ').collect();
        child(parts[0], parts[1], parts[2]);
        return;
    }
    if std::env::args().any(|a| a == "--test") {
        return; // `cargo test --benches` builds it; the measurements are the bench's.
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path("plain")).unwrap());
        let block: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
        for _ in 0..(GIB / MIB as u64) {
            f.write_all(&block).unwrap();
        }
    }
    let target = 64.0;
    println!("## Memory: 1 GiB, file to file (peak resident set above the process's start)\n");
    println!("| operation | peak above start | target | met | seconds | MB/s |");
    println!("|---|---:|---:|---|---:|---:|");
    for (op, from, to) in [("seal", "plain", "sealed"), ("open (verified first: two passes)", "sealed", "opened")] {
        let (mib, secs) = measured(op.split(' ').next().unwrap(), &path(from), &path(to));
        let met = if mib <= target { "met" } else { "not met" };
        println!("| {op} | {mib:.1} MiB | ≤ {target} MiB | {met} | {secs:.2} | {:.0} |", GIB as f64 / secs / 1e6);
    }
    let same = std::fs::metadata(path("opened")).unwrap().len() == GIB;
    assert!(same, "the opened file is not the plaintext's length");

    let (keys, arns) = keys();
    let len = 64 * MIB;
    let plaintext: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
    let options = EncryptOptions::default();
    let message = pollster::block_on(envelope::encrypt(&[&keys], &arns, &plaintext, &options)).unwrap();
    println!("\n## Throughput: 64 MiB in memory, streams against the whole-message calls (best of 5)\n");
    println!("| operation | whole | stream | ratio | target | met |");
    println!("|---|---:|---:|---:|---:|---|");
    let whole_seal = best(5, || {
        pollster::block_on(envelope::encrypt(&[&keys], &arns, &plaintext, &options)).unwrap();
    });
    let whole_open = best(5, || {
        pollster::block_on(envelope::decrypt(&[&keys], &message, &DecryptOptions::default())).unwrap();
    });
    let mut rows = Vec::new();
    for piece in [64 << 10, 256 << 10, MIB] {
        let seal = best(5, || {
            let mut s = pollster::block_on(stream::begin_seal_stream(&[&keys], &arns, len as u64, &options)).unwrap();
            let mut out = Vec::with_capacity(len + 1024);
            out.extend_from_slice(s.head());
            let mut buf = vec![0u8; piece];
            for part in plaintext.chunks(piece) {
                let b = &mut buf[..part.len()];
                b.copy_from_slice(part);
                s.update(b).unwrap();
                out.extend_from_slice(b);
            }
            out.extend_from_slice(&s.finish().unwrap());
        });
        let open = best(5, || {
            let head = envelope::message::StreamHead::read(&message).unwrap().unwrap();
            let body = &message[head.len..];
            let o = pollster::block_on(stream::begin_open_stream(&[&keys], head, &DecryptOptions::default())).unwrap();
            let mut first = o.verifier().unwrap();
            let mut none = Vec::new();
            body.chunks(piece).for_each(|p| first.update(p, &mut none).unwrap());
            let Finished::Verified(v) = first.finish().unwrap() else { panic!() };
            let mut second = o.decryptor(v).unwrap();
            let mut out = Vec::with_capacity(len);
            body.chunks(piece).for_each(|p| second.update(p, &mut out).unwrap());
            let Finished::Opened(last) = second.finish().unwrap() else { panic!() };
            out.extend_from_slice(&last);
        });
        rows.push((format!("seal, pieces of {} KiB", piece >> 10), whole_seal, seal));
        rows.push((format!("open verified first, pieces of {} KiB", piece >> 10), whole_open, open));
    }
    for (name, whole, stream) in rows {
        let ratio = whole / stream;
        let met = if ratio >= 0.8 { "met" } else { "not met" };
        let mbs = |s: f64| len as f64 / s / 1e6;
        println!("| {name} | {:.0} MB/s | {:.0} MB/s | {ratio:.2}× | ≥ 0.8× | {met} |", mbs(whole), mbs(stream));
    }
}
