//! BindVpcs text, checked against an instance with every fact known: a report, never
//! a panic; `ok` exactly when nothing was found; at most 100 problems listed, each with
//! a pointer (R-BV-10). The text is read without a tree; for any text that is JSON, the
//! report has the problems the tree (`serde_json::Value`) gives, in the text's order.
#![no_main]

use kms_instance::bind_vpcs::{self, Context, Network, QuotaContext, VSwitchFacts};
use kms_instance::limits::MAX_REPORTED_PROBLEMS;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn context() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(|| Context {
        region: Some("cn-hangzhou".into()),
        owner: Some("1207089758810000".into()),
        primary_vpc: Some("vpc-bp1primary0000001".into()),
        network: Some(Network::from([(
            "vsw-bp16c5pvvcf0fp5b90001".into(),
            VSwitchFacts {
                vpc_id: Some("vpc-bp1go9qvmj78j4f4c0001".into()),
                available_ips: Some(0),
                shared_with_owner: Some(false),
            },
        )])),
        current: Vec::new(),
        quota: Some(QuotaContext { purchased: 3, principals: 1 }),
    })
}

fuzz_target!(|data: &[u8]| {
    let report = bind_vpcs::validate_bytes(data, context());
    assert_eq!(report.ok, report.errors.is_empty() && report.omitted == 0);
    assert!(report.errors.len() <= MAX_REPORTED_PROBLEMS);
    assert!(report.errors.iter().all(|p| p.path.is_some()), "every problem has a pointer");
    if report.ok {
        assert_eq!(report.added.len() + report.kept.len(), report.vpcs.len(), "every VPC is added or kept");
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        // Text has places, on the text's character boundaries; a tree has none.
        let mut bare = report.clone();
        for problems in [&bare.errors, &bare.warnings] {
            let starts: Vec<usize> = problems.iter().filter_map(|p| p.place.as_ref().map(|place| place.start)).collect();
            assert!(starts.windows(2).all(|w| w[0] <= w[1]), "the problems are in the text's order");
        }
        for p in bare.errors.iter_mut().chain(&mut bare.warnings) {
            let place = p.place.take().expect("every problem of a text is placed");
            assert!(place.start <= place.end && place.end <= data.len(), "{place:?}");
            assert!(std::str::from_utf8(&data[place.start..place.end]).is_ok(), "{place:?} splits a character");
        }
        // The same problems: the tree gives them in the order of the checks.
        let canonical = |mut r: bind_vpcs::Report| {
            let key = |p: &kms_instance::Problem| (p.path.clone(), p.code.as_str(), p.message.clone());
            r.errors.sort_by_key(key);
            r.warnings.sort_by_key(key);
            r
        };
        let tree = bind_vpcs::validate_value(&value, context());
        assert_eq!(canonical(tree), canonical(bare), "the text reader and the tree disagree");
    }
});
