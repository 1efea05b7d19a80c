//! Properties over random request sequences and random BindVpcs input.

mod common;

use common::*;
use kms_instance::bind_vpcs::{self, Context};
use kms_instance::instance::ShareMode;
use kms_instance::Request;
use proptest::prelude::*;
use serde_json::{json, Value};

fn caller() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["owner", APP, DATA, WEB, PARTNER])
}

fn principals() -> impl Strategy<Value = Value> {
    let one = prop_oneof![
        prop::sample::select(vec![APP, DATA, WEB, PARTNER, OWNER]).prop_map(|id| json!({"type": "account", "id": id})),
        Just(json!({"type": "folder", "id": FOLDER})),
        Just(json!({"type": "directory"})),
    ];
    prop::collection::vec(one, 0..4).prop_map(Value::Array)
}

fn mode() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["joint", "independent"])
}

/// A request from a pool that touches the quota, the share and the resources.
fn any_request() -> impl Strategy<Value = Request> {
    let action = prop_oneof![
        (0usize..6).prop_map(|n| ("UpdateKmsInstanceBindVpc", bind_vpcs(n))),
        (mode(), principals(), any::<bool>()).prop_map(|(m, p, existing)| {
            let mut params = json!({"name": "kms-share", "mode": m, "principals": p});
            if existing {
                params["existingShare"] = json!("rs-legacy01");
            }
            ("CreateResourceShare", params)
        }),
        principals().prop_map(|p| ("AssociatePrincipals", json!({"principals": p}))),
        principals().prop_map(|p| ("DisassociatePrincipals", json!({"principals": p}))),
        mode().prop_map(|m| ("ChangeShareMode", json!({"mode": m}))),
        Just(("DeleteResourceShare", json!({}))),
        prop::sample::select(vec![APP, DATA, WEB, PARTNER])
            .prop_map(|a| ("JoinFolder", json!({"account": a, "folder": FOLDER}))),
        (0u32..7).prop_map(|q| ("UpgradeKmsInstance", json!({"spec": {"accessManagementQuota": q}}))),
        prop::sample::select(vec!["alias/a", "alias/b"]).prop_map(|a| ("CreateKey", json!({"alias": a}))),
        prop::sample::select(vec!["s1", "s2"]).prop_map(|s| ("CreateSecret", json!({"name": s}))),
        prop::sample::select(vec!["s1", "s2"]).prop_map(|s| ("DeleteSecret", json!({"secret": s}))),
        Just(("Expire", json!({}))),
        Just(("RenewKmsInstance", json!({"months": 1}))),
    ];
    (caller(), action).prop_map(|(c, (a, p))| request(c, a, p))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn used_quota_never_exceeds_purchased(quota in 0u32..6, requests in prop::collection::vec(any_request(), 1..40)) {
        let mut w = enabled(quota);
        for r in &requests {
            let _ = w.apply(r, &env());
            let q = w.quota();
            prop_assert!(q.used <= q.purchased, "{} > {} after {}", q.used, q.purchased, r.action.name());
        }
    }

    #[test]
    fn failed_request_leaves_state_byte_identical(quota in 0u32..6, requests in prop::collection::vec(any_request(), 1..40)) {
        let mut w = enabled(quota);
        for r in &requests {
            let before = w.to_json().unwrap();
            if w.apply(r, &env()).is_err() {
                prop_assert_eq!(&before, &w.to_json().unwrap(), "{} failed but changed the state", r.action.name());
            }
        }
    }

    #[test]
    fn independent_never_becomes_joint(requests in prop::collection::vec(any_request(), 1..40)) {
        let mut w = enabled(6);
        let mut was_independent = false;
        for r in &requests {
            let _ = w.apply(r, &env());
            match w.instance.mode() {
                // A deleted share ends the life of its mode; a new share starts afresh.
                None => was_independent = false,
                Some(ShareMode::Independent) => was_independent = true,
                Some(ShareMode::Joint) => prop_assert!(!was_independent, "joint after independent via {}", r.action.name()),
            }
        }
    }

    #[test]
    fn bind_vpcs_never_panics_on_strings(input in ".{0,200}") {
        let report = bind_vpcs::validate_str(&input, &ctx());
        prop_assert_eq!(report.ok, report.errors.is_empty());
    }

    #[test]
    fn bind_vpcs_never_panics_on_json(value in arbitrary_json()) {
        let report = bind_vpcs::validate_value(&value, &ctx());
        prop_assert_eq!(report.ok, report.errors.is_empty());
        prop_assert!(report.errors.iter().all(|p| p.path.is_some()), "every problem has a pointer");
        let text = serde_json::to_string_pretty(&value).unwrap();
        // The same problems; from text, in the order a reader meets them there.
        prop_assert_eq!(canonical(placed(&text, &value)?), canonical(report.clone()));
        // The text reader borrows what it can: escaped names and values (copied) and a
        // repeated name (the last wins, as in the tree) must read the same.
        let escaped = text.replace("\"V", "\"\\u0056").replace("vpc-", "\\u0076pc-");
        prop_assert_eq!(canonical(placed(&escaped, &value)?), canonical(report.clone()));
        if let Some(rest) = text.strip_prefix("[{") {
            let comma = if rest.starts_with('}') { "" } else { "," };
            let repeated = format!("[{{\"VpcId\":[1,{{}}]{comma}{rest}");
            let parsed: Value = serde_json::from_str(&repeated).expect("still JSON");
            prop_assert_eq!(canonical(placed(&repeated, &parsed)?), canonical(bind_vpcs::validate_value(&parsed, &ctx())));
        }
    }
}

/// The report of `text` (the JSON of `value`), checked place by place and returned
/// without its places: each place is where the text says what its pointer names (an
/// unknown field by its name; a missing one by its entry's opening brace), with its line,
/// column and UTF-16 range as a JavaScript editor counts them.
/// A report with its problems in one order (by field, then code, then message), to
/// compare reports whose problems came in different orders.
fn canonical(mut report: bind_vpcs::Report) -> bind_vpcs::Report {
    let key = |p: &kms_instance::Problem| (p.path.clone(), p.code.as_str(), p.message.clone());
    report.errors.sort_by_key(key);
    report.warnings.sort_by_key(key);
    report
}

fn placed(text: &str, value: &Value) -> Result<bind_vpcs::Report, TestCaseError> {
    let mut report = bind_vpcs::validate_str(text, &ctx());
    for problems in [&report.errors, &report.warnings] {
        let starts: Vec<usize> = problems.iter().filter_map(|p| p.place.as_ref().map(|place| place.start)).collect();
        prop_assert!(starts.windows(2).all(|w| w[0] <= w[1]), "not in text order: {:?}", starts);
    }
    for p in report.errors.iter_mut().chain(&mut report.warnings) {
        let place = p.place.take().ok_or_else(|| TestCaseError::fail(format!("{p:?} has no place")))?;
        let (path, at) = (p.path.clone().unwrap(), &text[place.start..place.end]);
        let named = value.pointer(&path);
        if p.code == kms_instance::Code::BindVpcsUnknownField {
            let name = path.rsplit('/').next().unwrap().replace("~1", "/").replace("~0", "~");
            prop_assert_eq!(serde_json::from_str::<String>(at).ok(), Some(name), "{:?}", p);
        } else if let Some(named) = named {
            prop_assert_eq!(&serde_json::from_str::<Value>(at).unwrap(), named, "{:?}", p);
        } else {
            prop_assert!(at == "{" || at == "[", "{:?} absent, placed at {:?}", p, at);
        }
        let before = &text[..place.start];
        prop_assert_eq!(place.line, before.matches('\n').count() + 1);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        prop_assert_eq!(place.column, text[line_start..place.start].encode_utf16().count() + 1);
        prop_assert_eq!(place.utf16_start, before.encode_utf16().count());
        prop_assert_eq!(place.utf16_end - place.utf16_start, at.encode_utf16().count());
    }
    Ok(report)
}

fn ctx() -> Context {
    Context {
        region: Some("cn-hangzhou".into()),
        owner: Some(OWNER.into()),
        primary_vpc: Some("vpc-bp1primary0000001".into()),
        ..Context::default()
    }
}

/// JSON biased towards BindVpcs shapes: arrays of objects with the real field names.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        prop::sample::select(vec!["VpcId", "VSwitchId", "RegionId", "VpcOwnerId", "vpcid", "Extra"])
            .prop_map(String::from),
        ".{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        prop::sample::select(vec!["vpc-bp1go9qvmj78j4f4c0001", "vsw-bp16c5pvvcf0fp5b90001", "cn-hangzhou", OWNER])
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
