//! Careless and hostile input through the Rust API: the examples of the hostile-input
//! review, each a regression test, and the limits of src/limits.rs at their edges.

mod common;

use common::*;
use kms_instance::bind_vpcs::{self, Context};
use kms_instance::key_providers::software::SoftwareKeyProvider;
use kms_instance::limits::{MAX_BIND_VPCS_BYTES, MAX_ENTRIES, MAX_PLAN_STEPS, MAX_REPORTED_PROBLEMS};
use kms_instance::plan::Plan;
use kms_instance::{Code, Env, Request, State};
use serde_json::{json, Value};
use time::macros::datetime;

fn codes(r: &Result<kms_instance::Outcome, kms_instance::Rejection>) -> (&'static str, Option<String>) {
    match r {
        Ok(_) => ("ok", None),
        Err(r) => (r.errors[0].code.as_str(), r.errors[0].path.clone()),
    }
}

#[test]
fn a_latency_past_2_pow_53_is_refused_before_the_key_exists() {
    let mut w = enabled(5);
    let before = w.to_json().unwrap();
    let late = Env { latency_ms: (1 << 53) + 2, ..env() };
    let r = w.apply(&request("owner", "CreateKey", json!({"alias": "alias/app"})), &late);
    assert_eq!(codes(&r), ("InvalidParameter.TooLarge", Some("/env/latencyMs".into())));
    assert_eq!(w.to_json().unwrap(), before, "nothing was created");
    // The rejection's own record holds what can be written, so it reaches a JS caller.
    assert_eq!(r.unwrap_err().audit.latency_ms, (1 << 53) - 1);
    let ok = Env { latency_ms: (1 << 53) - 1, ..env() };
    assert!(w.apply(&request("owner", "CreateKey", json!({"alias": "alias/app"})), &ok).is_ok());
}

#[test]
fn an_env_the_audit_line_cannot_carry_is_refused() {
    let mut w = enabled(5);
    let odd_offset = Env { now: datetime!(2026-06-15 08:00 +01:00:30), ..env() };
    assert_eq!(
        codes(&w.apply(&request("owner", "DescribeKmsInstance", json!({})), &odd_offset)).1.as_deref(),
        Some("/env/now")
    );
    let long_id = Env { request_id: "x".repeat(257), ..env() };
    assert_eq!(
        codes(&w.apply(&request("owner", "DescribeKmsInstance", json!({})), &long_id)).0,
        "InvalidParameter.TooLarge"
    );
    // Whitespace in a request id or a caller cannot split the audit line.
    let spaced = Env { request_id: "a b\nc".into(), ..env() };
    let r = w.apply(&request("1 2\n3", "DescribeKmsInstance", json!({})), &spaced).unwrap_err();
    let line = r.audit.to_string();
    assert_eq!((line.lines().count(), line.split_whitespace().count()), (1, 16), "{line}");
    assert_eq!(line.parse::<kms_instance::audit::AuditRecord>().unwrap(), r.audit);
}

#[test]
fn renewing_past_the_last_representable_date_is_an_error_not_a_no_op() {
    let mut w = enabled(5);
    w.instance.expires_at = Some(datetime!(9999-12-15 00:00 UTC));
    assert_eq!(run(&mut w, "owner", "RenewKmsInstance", json!({"months": 1})), "Rejected.LimitExceeded");
    w.instance.expires_at = Some(datetime!(9999-11-15 00:00 +23:59));
    assert_eq!(run(&mut w, "owner", "RenewKmsInstance", json!({"months": 1})), "ok");
    assert_eq!(w.instance.expires_at, Some(datetime!(9999-12-15 00:00 +23:59)));
    let far = Env { now: datetime!(9999-12-31 23:59 UTC), ..env() };
    w.instance.expires_at = None;
    let r = w.apply(&request("owner", "RenewKmsInstance", json!({"months": 36})), &far);
    assert_eq!(codes(&r).0, "Rejected.LimitExceeded");
    let year_zero = Env { now: datetime!(0000-01-01 00:00 -23:59), ..env() };
    assert!(w.apply(&request("owner", "RenewKmsInstance", json!({"months": 36})), &year_zero).is_ok());
}

fn plan_json(now: &str, steps: usize) -> String {
    let step = json!({"as": "owner", "action": "DescribeKmsInstance", "expect": {"ok": true}});
    let w = enabled(5);
    json!({"name": "edge", "now": now, "directory": w.directory, "instance": w.instance, "steps": vec![step; steps]})
        .to_string()
}

#[test]
fn a_plan_whose_clock_runs_past_9999_is_refused_at_load() {
    assert!(Plan::from_json(&plan_json("9999-12-31T23:55:00Z", 4)).is_ok());
    let e = Plan::from_json(&plan_json("9999-12-31T23:58:00Z", 4)).unwrap_err();
    assert!(e.to_string().contains("9999-12-31"), "{e}");
    assert_eq!(e.problem().code, Code::Plan);
    // Built by hand and run without the check: the steps past the end are refused.
    let mut plan = Plan::from_json(&plan_json("2026-01-01T00:00:00Z", 3)).unwrap();
    plan.now = Some(datetime!(9999-12-31 23:58 UTC));
    let result = plan.run();
    let errors: Vec<Vec<Code>> = result.steps.iter().map(|s| s.errors.clone()).collect();
    assert_eq!(errors, [vec![], vec![], vec![Code::LimitExceeded]]);
}

#[test]
fn plans_and_states_have_limits() {
    let e = Plan::from_json(&plan_json("2026-01-01T00:00:00Z", MAX_PLAN_STEPS + 1)).unwrap_err();
    assert_eq!(e.problem().code, Code::TooLarge);
    assert!(Plan::from_json(&plan_json("2026-01-01T00:00:00Z", MAX_PLAN_STEPS)).is_ok());

    let mut state: Value = serde_json::from_str(&enabled(5).to_json().unwrap()).unwrap();
    let keys: Vec<Value> =
        (0..=MAX_ENTRIES).map(|i| json!({"alias": format!("alias/k{i}"), "creator": OWNER})).collect();
    state["instance"]["keys"] = Value::Array(keys);
    let e = State::from_json(&state.to_string()).unwrap_err();
    assert_eq!((e.code, e.path.as_deref()), (Code::TooLarge, Some("/instance/keys")));
}

#[test]
fn a_state_is_checked_field_by_field_at_load() {
    let good: Value = serde_json::from_str(&enabled(5).to_json().unwrap()).unwrap();
    let cases: [(&str, Value, &str); 8] = [
        ("/instance/nextKeyNumber", json!(1u64 << 60), "/instance/nextKeyNumber"),
        ("/directory/accounts/1/id", json!("12"), "/directory/accounts/1/id"),
        ("/directory/accounts/1/id", json!(OWNER), "/directory/accounts/1/id"),
        ("/instance/ownerId", json!("owner"), "/instance/ownerId"),
        ("/instance/spec/keyQuota", json!(4_000_000_000u32), "/instance/spec/keyQuota"),
        ("/instance/expiresAt", json!("2026-01-01T00:00:00Z"), ""),
        ("/directory/enterpriseId", json!("e".repeat(300)), "/directory/enterpriseId"),
        ("/instance/auditBucket", json!("Not A Bucket"), "/instance/auditBucket"),
    ];
    for (pointer, value, path) in cases {
        let mut state = good.clone();
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        state.pointer_mut(parent).unwrap().as_object_mut().unwrap().insert(field.to_string(), value);
        match State::from_json(&state.to_string()) {
            Ok(_) => assert_eq!(path, "", "{pointer} should be refused"),
            Err(e) => assert_eq!(e.path.as_deref(), Some(path), "{pointer}: {e}"),
        }
    }
}

#[test]
fn a_state_that_loads_is_written_back_and_read_again_after_every_request() {
    // Every step of every shared scenario, applied to the scenario's state as it goes.
    let dir = std::env::var_os("KMS_SCENARIOS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/scenarios"));
    let mut applied = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let plan: Value = serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let mut state =
            State::from_json(&json!({"directory": plan["directory"], "instance": plan["instance"]}).to_string())
                .expect("a scenario's state loads");
        for step in plan["steps"].as_array().unwrap() {
            let mut request = step.clone();
            request.as_object_mut().unwrap().remove("expect");
            let request: Request = serde_json::from_value(request).unwrap();
            let _ = state.apply(&request, &env());
            let written = state.to_json().unwrap();
            assert_eq!(State::from_json(&written).expect("what the engine reaches loads"), state);
            applied += 1;
        }
    }
    assert!(applied >= 25, "only {applied} steps");
}

#[test]
fn create_key_never_gives_an_id_twice() {
    // A starting state with key ids written by hand and no counter.
    let mut w = enabled(5);
    let taken = json!([{"keyId": "key-hzz62f4a5c2d7ab12cd-00000001", "alias": "alias/one", "creator": OWNER},
                       {"keyId": "key-hzz62f4a5c2d7ab12cd-00000007", "alias": "alias/seven", "creator": OWNER}]);
    w.instance.keys = serde_json::from_value(taken).unwrap();
    let w2 = State::from_json(&w.to_json().unwrap()).unwrap();
    let mut w = w2;
    let key_id = w.apply(&request("owner", "CreateKey", json!({"alias": "alias/new"})), &env()).unwrap().key_id;
    assert_eq!(key_id.as_deref(), Some("key-hzz62f4a5c2d7ab12cd-00000008"));
    State::from_json(&w.to_json().unwrap()).expect("still loads: no id twice");
    // An empty key id (a starting state may leave it out) is never found by name.
    w.instance.keys[0].key_id = String::new();
    assert_eq!(run(&mut w, "owner", "DescribeKey", json!({"key": ""})), "NotFound.Key");
}

#[test]
fn tag_formats_are_checked_before_the_key_is_looked_up() {
    let mut w = enabled(5);
    // RULES.md section 7: parameter formats (3) before finding the key (4).
    assert_eq!(
        run(&mut w, "owner", "TagResource", json!({"key": "alias/nope", "tags": {"": "x"}})),
        "InvalidParameter.Tag"
    );
}

#[test]
fn tags_and_aliases_stay_within_their_limits() {
    let mut w = enabled(5);
    assert_eq!(run(&mut w, "owner", "CreateKey", json!({"alias": "alias/app"})), "ok");
    let tags = |n: usize| Value::Object((0..n).map(|i| (format!("t{i}"), json!("v"))).collect());
    assert_eq!(
        run(&mut w, "owner", "TagResource", json!({"key": "alias/app", "tags": tags(21)})),
        "InvalidParameter.Tag"
    );
    assert_eq!(run(&mut w, "owner", "TagResource", json!({"key": "alias/app", "tags": tags(20)})), "ok");
    let long = json!({"key": "alias/app", "tags": {"k".repeat(129): "v"}});
    assert_eq!(run(&mut w, "owner", "TagResource", long), "InvalidParameter.Tag");
    assert_eq!(
        run(&mut w, "owner", "UpgradeKmsInstance", json!({"spec": {"keyQuota": 10_001}})),
        "InvalidParameter.Spec"
    );
}

#[test]
fn secrets_of_the_wrong_shape_are_never_quoted() {
    let secret = "S3cretPassw0rdValue";
    for password in
        [json!(secret), json!([secret]), json!({ secret: secret }), json!(12345678901234567u64), json!(true)]
    {
        let step = json!({"as": "owner", "action": "ConnectKmsInstance", "params": {
            "channel": "console", "vpcId": "vpc-bp1primary0000001", "hsmClusterId": "hsm-1", "user": "kmsuser",
            "password": password, "certificate": "-----BEGIN CERTIFICATE-----",
            "vSwitches": [{"id": "vsw-bp16c5pvvcf0fp5b90001", "zone": "a", "availableIps": 4},
                          {"id": "vsw-bp16c5pvvcf0fp5b90002", "zone": "b", "availableIps": 4}]}});
        if let Err(e) = serde_json::from_value::<Request>(step) {
            let text = e.to_string();
            assert!(!text.contains(secret) && !text.contains("12345678901234567"), "{text}");
            assert!(text.contains("password"), "{text}");
        }
    }
    let proxy = json!({"as": "owner", "action": "ConnectKmsInstance", "params": {
        "channel": "console", "vpcId": "vpc-bp1primary0000001",
        "proxy": {"connectivity": "public", "domain": "kms.example.com",
                  "config": {"path": "/x", "accessKeySecret": {"nested": secret}}}}});
    let text = serde_json::from_value::<Request>(proxy).unwrap_err().to_string();
    assert!(!text.contains(secret), "{text}");
}

#[test]
fn a_keyring_error_never_quotes_what_it_was_given() {
    let material = "c2VjcmV0LWtleS1tYXRlcmlhbC1vZi0zMi1ieXRlcyE=";
    let arn = "acs:kms:cn-hangzhou:1207089758810000:key/k";
    for text in [
        json!(material).to_string(),
        json!({ "keys": material }).to_string(),
        json!({ "keys": [material] }).to_string(),
        json!({ material: [] }).to_string(),
        json!({"keys": [{"arn": material, "material": arn}]}).to_string(),
        json!({"keys": [{"arn": arn, "material": [material]}]}).to_string(),
        json!({"keys": [{"arn": arn, "material": { material: 1 }}]}).to_string(),
        json!({"keys": [{"arn": arn, "material": material, material: 1}]}).to_string(),
        json!({"keys": [{"arn": arn, "material": 123456789012345678u64}]}).to_string(),
        format!("{{\"keys\": [{{\"arn\": \"{arn}\", \"material\": {material}}}]}}"),
    ] {
        let e = SoftwareKeyProvider::from_keyring_json(&text).unwrap_err();
        let shown = format!("{e} {:?}", e.path);
        assert_eq!(e.code, Code::Keyring, "{shown}");
        for secret in [material, "123456789012345678", &material[..12]] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}

fn entry(i: usize) -> Value {
    json!({"VpcId": format!("vpc-bp1go9qvmj78j4f4c{i:04}"), "VSwitchId": format!("vsw-bp16c5pvvcf0fp5b9{i:04}"),
           "RegionId": "cn-hangzhou", "VpcOwnerId": OWNER})
}

#[test]
fn bind_vpcs_reports_are_bounded() {
    let ctx = Context { region: Some("cn-hangzhou".into()), ..Context::default() };
    let bad: Vec<Value> = (0..1000).map(|i| json!({"VpcId": i})).collect();
    let r = bind_vpcs::validate_str(&Value::Array(bad).to_string(), &ctx);
    assert_eq!(r.errors.len(), MAX_REPORTED_PROBLEMS);
    assert_eq!(r.errors.len() + r.omitted, 4000, "every problem counted: a wrong VpcId, three missing fields");
    assert!(!r.ok);

    let many: Vec<Value> = (0..=MAX_ENTRIES).map(entry).collect();
    let r = bind_vpcs::validate_str(&Value::Array(many).to_string(), &ctx);
    assert_eq!(r.errors[0].code, Code::TooLarge);
    let huge = format!("[{}]", " ".repeat(MAX_BIND_VPCS_BYTES));
    assert_eq!(bind_vpcs::validate_str(&huge, &ctx).errors[0].code, Code::TooLarge);
    let r = bind_vpcs::validate_bytes(b"[\xff]", &ctx);
    assert_eq!(r.errors[0].code, Code::BindVpcsMalformed);
}

#[test]
fn sharing_with_thousands_of_principals_is_linear_and_bounded() {
    let mut w = enabled(10_000);
    let members: Vec<Value> = (0..5_000)
        .map(|i| json!({"id": format!("{}", 1_500_000_000_000_000u64 + i), "name": format!("m{i}"), "folder": "fd-Big00001"}))
        .collect();
    w.directory
        .accounts
        .extend(serde_json::from_value::<Vec<kms_instance::directory::Account>>(Value::Array(members)).unwrap());
    let principals: Vec<Value> =
        (0..5_000).map(|i| json!({"type": "account", "id": format!("{}", 1_500_000_000_000_000u64 + i)})).collect();
    let params = json!({"name": "big", "mode": "joint", "principals": principals});
    assert_eq!(run(&mut w, "owner", "CreateResourceShare", params), "ok");
    assert_eq!(w.quota().used, 5_000);
    let folder = json!({"principals": [{"type": "folder", "id": "fd-Big00001"}, {"type": "directory"}]});
    assert_eq!(run(&mut w, "owner", "AssociatePrincipals", folder), "ok");
    let too_many: Vec<Value> = (0..=MAX_ENTRIES)
        .map(|i| json!({"type": "account", "id": format!("{}", 1_600_000_000_000_000u64 + i as u64)}))
        .collect();
    assert_eq!(
        run(&mut w, "owner", "AssociatePrincipals", json!({"principals": too_many})),
        "InvalidParameter.TooLarge"
    );
}
