//! BindVpcs validation natively (criterion): the same 1,000-entry document as the
//! package's bench (benches/bench.mjs), text in, report out, and how the cost grows at
//! 10, 100, 1,000 and 10,000 entries. Prints the target (1,000 entries in ≤ 0.15 ms,
//! issue 25).
//!
//!   cargo bench --bench bind_vpcs

use criterion::{BenchmarkId, Criterion, Throughput};
use kms_instance::bind_vpcs::{self, Context};
use std::hint::black_box;
use std::path::PathBuf;

const OWNER: &str = "1207089758810000";
const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];
const TARGET_MS: f64 = 0.15;

/// `n` valid entries; every other owner id a JSON number, as consoles send them.
fn document(n: usize) -> String {
    let entries: Vec<String> = (0..n)
        .map(|i| {
            let owner = if i % 2 == 1 { format!("\"{OWNER}\"") } else { OWNER.to_string() };
            format!(
                r#"{{"VpcId":"vpc-bp1go9qvmj78j4f4c{i:05}","VSwitchId":"vsw-bp16c5pvvcf0fp5b9{i:05}","RegionId":"cn-hangzhou","VpcOwnerId":{owner}}}"#
            )
        })
        .collect();
    format!("[{}]", entries.join(","))
}

fn context() -> Context {
    Context {
        region: Some("cn-hangzhou".into()),
        owner: Some(OWNER.into()),
        primary_vpc: Some("vpc-bp1primary0000001".into()),
        ..Context::default()
    }
}

/// Criterion's median for one benchmark, in ms, from the estimates it wrote.
fn median_ms(group: &str, n: usize) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let path = dir.join("criterion").join(group).join(n.to_string()).join("new/estimates.json");
    let estimates: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    Some(estimates["median"]["point_estimate"].as_f64()? / 1e6)
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let ctx = context();
    let mut group = criterion.benchmark_group("bind_vpcs");
    for n in SIZES {
        let text = document(n);
        assert!(bind_vpcs::validate_str(&text, &ctx).ok, "the benchmark document should be valid");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| bind_vpcs::validate_str(black_box(text), &ctx))
        });
    }
    group.finish();
    // The report the package asks for: valid entries named by their index, not copied.
    let mut group = criterion.benchmark_group("bind_vpcs_indexed");
    for n in SIZES {
        let text = document(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| bind_vpcs::validate_str_indexed(black_box(text), &ctx))
        });
    }
    group.finish();
    criterion.final_summary();

    println!("\n| BindVpcs entries | median | per entry | indexed report (the package's) |\n|---:|---:|---:|---:|");
    for n in SIZES {
        if let (Some(ms), Some(indexed)) = (median_ms("bind_vpcs", n), median_ms("bind_vpcs_indexed", n)) {
            println!("| {n} | {ms:.3} ms | {:.0} ns | {indexed:.3} ms |", ms * 1e6 / n as f64);
        }
    }
    if let Some(ms) = median_ms("bind_vpcs", 1_000) {
        let status = if ms <= TARGET_MS { "met" } else { "NOT MET" };
        println!("\n| target | status | measured |\n|---|---|---|");
        println!("| BindVpcs 1,000 entries natively ≤ {TARGET_MS} ms | {status} | {ms:.3} ms |");
    }
}
