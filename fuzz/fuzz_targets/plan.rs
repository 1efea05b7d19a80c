//! A change plan: read, then run. It runs the same twice (a simulation has no hidden
//! state), and reports one result per step.
#![no_main]

use kms_instance::plan::Plan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(plan) = Plan::from_json(text) else { return };
    let first = plan.run();
    assert_eq!(first.steps.len(), plan.steps.len());
    let again = plan.run();
    assert_eq!(serde_json::to_string(&first).ok(), serde_json::to_string(&again).ok());
});
