//! The cost of every input at its documented limit (src/limits.rs), and how it grows
//! from 1/100 of the limit to the limit: time (median of several runs) and peak heap
//! (a counting allocator). Prints a Markdown table; docs/performance.md keeps one.
//!
//!   cargo bench --bench limits

use kms_instance::bind_vpcs::{self, Context};
use kms_instance::envelope::message::{MAX_BODY_BYTES, MAX_CONTEXT_PAIRS, MAX_DATA_KEYS};
use kms_instance::envelope::{self, DecryptOptions, EncryptOptions, EncryptionContext, KeyArn};
use kms_instance::key_providers::software::SoftwareKeyProvider;
use kms_instance::limits::{MAX_BIND_VPCS_ENTRIES, MAX_ENTRIES, MAX_KEYRING_KEYS, MAX_PLAN_STEPS};
use kms_instance::plan::Plan;
use kms_instance::{Env, Request, State};
use serde_json::{json, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The system allocator, counting the bytes in use and the most ever in use.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        IN_USE.fetch_sub(layout.size(), Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Median time of `f` over a few runs, and the peak heap it added above what was in use.
fn measure(runs: usize, mut f: impl FnMut()) -> (Duration, usize) {
    let base = IN_USE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[runs / 2], PEAK.load(Relaxed) - base)
}

const OWNER: &str = "1207089758810000";

fn account(i: usize) -> String {
    format!("{}", 1_300_000_000_000_000u64 + i as u64)
}

fn state(n: usize) -> Value {
    json!({
        "directory": {"resourceDirectoryId": "rd-a1b2c3", "enterpriseId": "ent-acme",
            "accounts": std::iter::once(json!({"id": OWNER, "name": "owner"}))
                .chain((1..n).map(|i| json!({"id": account(i), "name": format!("member-{i}")}))).collect::<Vec<_>>()},
        "instance": {"instanceId": "kst-hzz62f4a5c2d7ab12cd", "type": "software", "regionId": "cn-hangzhou",
            "ownerId": OWNER, "status": "enabled", "vpcId": "vpc-bp1primary0000001",
            "spec": {"accessManagementQuota": MAX_ENTRIES, "keyQuota": MAX_ENTRIES, "secretQuota": MAX_ENTRIES},
            "keys": (0..n).map(|i| json!({"keyId": format!("key-{i}"), "alias": format!("alias/key-{i}"), "creator": OWNER})).collect::<Vec<_>>(),
            "secrets": (0..n).map(|i| json!({"name": format!("secret-{i}"), "creator": OWNER})).collect::<Vec<_>>()}
    })
}

fn bind_vpcs_text(n: usize, valid: bool) -> String {
    let entries: Vec<Value> = (0..n)
        .map(|i| {
            if valid {
                json!({"VpcId": format!("vpc-bp1go9qvmj78j{i:08}"), "VSwitchId": format!("vsw-bp16c5pvvcf0f{i:08}"),
                       "RegionId": "cn-hangzhou", "VpcOwnerId": OWNER})
            } else {
                json!({"VpcId": i, "VswitchId": "x", "RegionId": "cn-shanghai"})
            }
        })
        .collect();
    Value::Array(entries).to_string()
}

fn keyring(n: usize) -> String {
    let keys: Vec<Value> = (0..n)
        .map(|i| json!({"arn": format!("acs:kms:cn-hangzhou:{OWNER}:key/key-{i}"), "material": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}))
        .collect();
    json!({ "keys": keys }).to_string()
}

struct Row {
    input: String,
    limit: String,
    cells: Vec<(Duration, usize)>,
}

fn row<'a>(
    input: &str,
    limit: String,
    sizes: [usize; 3],
    runs: usize,
    mut f: impl FnMut(usize) -> Box<dyn FnMut() + 'a>,
) -> Row {
    Row { input: input.into(), limit, cells: sizes.iter().map(|&n| measure(runs, f(n))).collect() }
}

fn fractions(limit: usize) -> [usize; 3] {
    [(limit / 100).max(1), (limit / 10).max(1), limit]
}

fn fmt_time(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 1e6 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

fn fmt_bytes(b: usize) -> String {
    let k = b as f64 / 1024.0;
    if k < 1024.0 {
        format!("{k:.0} KiB")
    } else {
        format!("{:.1} MiB", k / 1024.0)
    }
}

fn main() {
    let env = Env { now: time::macros::datetime!(2026-06-15 08:00 UTC), request_id: "bench".into(), latency_ms: 1 };
    let ctx = Context { region: Some("cn-hangzhou".into()), owner: Some(OWNER.into()), ..Context::default() };
    let mut rows = Vec::new();

    rows.push(row(
        "BindVpcs, valid entries (validate_str)",
        format!("{MAX_BIND_VPCS_ENTRIES} entries"),
        fractions(MAX_BIND_VPCS_ENTRIES),
        9,
        |n| {
            let text = bind_vpcs_text(n, true);
            let ctx = ctx.clone();
            Box::new(move || assert!(bind_vpcs::validate_str(&text, &ctx).ok))
        },
    ));
    rows.push(row(
        "BindVpcs, every entry wrong (report capped at 100)",
        format!("{MAX_BIND_VPCS_ENTRIES} entries"),
        fractions(MAX_BIND_VPCS_ENTRIES),
        9,
        |n| {
            let text = bind_vpcs_text(n, false);
            let ctx = ctx.clone();
            Box::new(move || assert!(!bind_vpcs::validate_str(&text, &ctx).ok))
        },
    ));
    rows.push(row(
        "State: load and check (accounts, keys, secrets)",
        format!("{MAX_ENTRIES} each"),
        fractions(MAX_ENTRIES),
        5,
        |n| {
            let text = state(n).to_string();
            Box::new(move || drop(State::from_json(&text).unwrap()))
        },
    ));
    rows.push(row(
        "Request on that state: UpdateRotationPolicy (copies the state)",
        format!("{MAX_ENTRIES} each"),
        fractions(MAX_ENTRIES),
        9,
        |n| {
            let world = State::from_json(&state(n).to_string()).unwrap();
            let request: Request = serde_json::from_value(
                json!({"as": "owner", "action": "UpdateRotationPolicy", "params": {"key": "alias/key-0"}}),
            )
            .unwrap();
            let env = env.clone();
            Box::new(move || assert!(world.clone().apply(&request, &env).is_ok()))
        },
    ));
    rows.push(row(
        "Plan: steps on a small state",
        format!("{MAX_PLAN_STEPS} steps"),
        fractions(MAX_PLAN_STEPS),
        5,
        |n| {
            let mut plan = state(2);
            plan["name"] = json!("bench");
            plan["steps"] = Value::Array(
                (0..n)
                    .map(|i| json!({"as": "owner", "action": "CreateSecret", "params": {"name": format!("s-{i}")}}))
                    .collect(),
            );
            let text = plan.to_string();
            Box::new(move || drop(Plan::from_json(&text).unwrap().run()))
        },
    ));
    rows.push(row(
        "Plan: 1,000 steps on a state at its limits",
        format!("{MAX_PLAN_STEPS} steps"),
        fractions(MAX_PLAN_STEPS),
        3,
        |n| {
            let mut plan = state(MAX_ENTRIES - 1);
            plan["name"] = json!("bench");
            plan["steps"] = Value::Array(
                (0..n)
                    .map(|_| json!({"as": "owner", "action": "DescribeKey", "params": {"key": "alias/key-9000"}}))
                    .collect(),
            );
            let text = plan.to_string();
            Box::new(move || drop(Plan::from_json(&text).unwrap().run()))
        },
    ));
    rows.push(row("Keyring: read", format!("{MAX_KEYRING_KEYS} keys"), fractions(MAX_KEYRING_KEYS), 9, |n| {
        let text = keyring(n);
        Box::new(move || drop(SoftwareKeyProvider::from_keyring_json(&text).unwrap()))
    }));

    let bridge = SoftwareKeyProvider::from_keyring_json(&keyring(MAX_DATA_KEYS)).unwrap();
    let arns: Vec<KeyArn> = bridge.arns().cloned().collect();
    let context: EncryptionContext = (0..MAX_CONTEXT_PAIRS).map(|i| (format!("key-{i:03}"), "v".repeat(200))).collect();
    let options = EncryptOptions { context, ..EncryptOptions::default() };
    let b = &bridge;
    rows.push(row(
        "Message: open, 16 data keys, 64 context pairs, body of",
        fmt_bytes(MAX_BODY_BYTES),
        fractions(MAX_BODY_BYTES),
        3,
        |n| {
            let sealed = pollster::block_on(envelope::encrypt(&[b], &arns, &vec![7u8; n], &options)).unwrap();
            Box::new(move || {
                drop(pollster::block_on(envelope::decrypt(&[b], &sealed, &DecryptOptions::default())).unwrap())
            })
        },
    ));
    rows.push(row(
        "Message: seal, 16 data keys, 64 context pairs, body of",
        fmt_bytes(MAX_BODY_BYTES),
        fractions(MAX_BODY_BYTES),
        3,
        |n| {
            let plaintext = vec![7u8; n];
            let (arns, options) =
                (arns.clone(), EncryptOptions { context: options.context.clone(), ..EncryptOptions::default() });
            Box::new(move || drop(pollster::block_on(envelope::encrypt(&[b], &arns, &plaintext, &options)).unwrap()))
        },
    ));

    println!("| input | limit | 1/100 of it | 1/10 | at the limit | growth, 1/100 → limit (linear: 100×) |");
    println!("|---|---|---:|---:|---:|---:|");
    for r in &rows {
        let cell = |(t, m): (Duration, usize)| format!("{} · {}", fmt_time(t), fmt_bytes(m));
        let growth = r.cells[2].0.as_secs_f64() / r.cells[0].0.as_secs_f64().max(1e-9);
        println!(
            "| {} | {} | {} | {} | {} | {growth:.0}× |",
            r.input,
            r.limit,
            cell(r.cells[0]),
            cell(r.cells[1]),
            cell(r.cells[2])
        );
    }
}
