//! Every change plan in the shared scenarios folder runs and matches (SCENARIOS.md).
//! The folder is `../shared/scenarios` beside the repository, or `$KMS_SCENARIOS`.

use kms_instance::plan;
use std::path::PathBuf;

fn scenario_dir() -> PathBuf {
    std::env::var_os("KMS_SCENARIOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/scenarios"))
}

#[test]
fn every_shared_scenario_matches() {
    let dir = scenario_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("scenarios folder {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario in {}", dir.display());

    let mut failures = Vec::new();
    for file in &files {
        let json = std::fs::read_to_string(file).unwrap();
        let result = plan::run_json(&json).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for step in result.steps.iter().filter(|s| !s.matched) {
            failures.push(format!(
                "{} step {} {}: {}",
                file.file_name().unwrap().to_string_lossy(),
                step.index,
                step.action,
                step.differences.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "{} step(s) did not match:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_run_that_keeps_states_shows_what_each_step_left_and_a_refused_step_changed_nothing() {
    let json = std::fs::read_to_string(scenario_dir().join("02-joint-ownership.json")).unwrap();
    let plan = plan::Plan::from_json(&json).unwrap();
    let plain = plan.run();
    let kept = plan.run_with(plan::RunOptions { states: true });
    assert!(plain.start.is_none() && plain.steps.iter().all(|s| s.state.is_none()));
    let mut before = kms_instance::State { directory: plan.directory.clone(), instance: plan.instance.clone() };
    assert_eq!(kept.start.as_deref(), Some(&before), "the state the first step starts from");
    for (step, again) in kept.steps.iter().zip(&plain.steps) {
        let state = step.state.as_deref().expect("a state for every step");
        assert_eq!((step.ok, &step.errors, step.quota_used), (again.ok, &again.errors, again.quota_used));
        assert_eq!(state.quota().used, step.quota_used, "step {}", step.index);
        if !step.ok {
            assert_eq!(state, &before, "refused step {} changed the state", step.index);
        }
        before = state.clone();
    }
    // The plan creates two keys and a share: the last state has them.
    assert_eq!(
        before.instance.keys.iter().map(|k| k.alias.as_str()).collect::<Vec<_>>(),
        ["alias/platform", "alias/app"]
    );
    assert!(before.instance.share.is_some());
}

#[test]
fn a_form_checked_against_an_instances_context_gets_what_the_instance_answers() {
    use kms_instance::bind_vpcs::{self, Context};
    let json = std::fs::read_to_string(scenario_dir().join("01-quota-example.json")).unwrap();
    let plan = plan::Plan::from_json(&json).unwrap();
    let run = plan.run_with(plan::RunOptions { states: true });
    let raw: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut before = kms_instance::State { directory: plan.directory.clone(), instance: plan.instance.clone() };
    let mut checked = 0;
    for (i, step) in run.steps.iter().enumerate() {
        if step.action == "UpdateKmsInstanceBindVpc" {
            let doc = raw["steps"][i]["params"]["BindVpcs"].as_str().unwrap();
            let report = bind_vpcs::validate_str(doc, &Context::of(&before.instance));
            let codes: Vec<_> = report.errors.iter().map(|p| p.code).collect();
            assert_eq!((report.ok, codes), (step.ok, step.errors.clone()), "step {}", step.index);
            let quota = report.quota.expect("the instance's quota is in its context");
            let used = before.quota();
            assert_eq!((quota.before, quota.purchased), (used.used, used.purchased), "step {}", step.index);
            checked += 1;
        }
        before = step.state.as_deref().unwrap().clone();
    }
    assert_eq!(checked, 2, "the plan binds VPCs twice: once within the quota, once past it");
}
