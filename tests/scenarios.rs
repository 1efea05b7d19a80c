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
