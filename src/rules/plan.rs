//! Change plans (SCENARIOS.md): a starting world and steps with what each caller
//! expects; run as a dry run, step by step, each compared with its expectation.

use crate::code::{parse_text, Code, Problem};
use crate::limits::{self, MAX_DOCUMENT_BYTES, MAX_PLAN_STEPS};
use crate::rules::engine::{Env, State};
use crate::rules::model::audit::AuditRecord;
use crate::rules::model::directory::Directory;
use crate::rules::model::instance::InstanceRecord;
use crate::rules::model::request::Request;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A change plan as written.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    /// What the plan is about.
    pub name: String,
    /// The rule ids the plan pins (documentation).
    #[serde(default)]
    pub rules: Vec<String>,
    /// A longer description (documentation).
    #[serde(default)]
    pub description: Option<String>,
    /// The time of the first step (RFC 3339); each later step is one minute on.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "string"))]
    pub now: Option<OffsetDateTime>,
    /// The organisation the plan starts from.
    pub directory: Directory,
    /// The instance the plan starts from.
    pub instance: InstanceRecord,
    /// The steps, in order.
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "PlanStep[]"))]
    pub steps: Vec<Step>,
}

/// The TypeScript shape of a [`Step`], whose serde shape is written by hand.
#[cfg(all(target_arch = "wasm32", feature = "typescript"))]
#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const STEP_TS: &'static str = r#"
/** One step of a change plan: a request, and what must come of it. */
export type PlanStep = Request & { expect?: Expect };
"#;

/// One step: a request and what must come of it.
#[derive(Debug, Clone)]
pub struct Step {
    /// The API call.
    pub request: Request,
    /// What must come of it.
    pub expect: Expect,
}

impl<'de> Deserialize<'de> for Step {
    /// A request with an `expect` beside it; every other field belongs to the request,
    /// which rejects the ones it does not know (a typo fails loudly).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = Map::<String, Value>::deserialize(d)?;
        let expect = match map.remove("expect") {
            Some(v) => Expect::deserialize(v).map_err(|e| D::Error::custom(format!("expect: {e}")))?,
            None => Expect::default(),
        };
        let request = Request::deserialize(Value::Object(map)).map_err(D::Error::custom)?;
        Ok(Step { request, expect })
    }
}

/// What a step must produce; fields left out are not checked.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// Whether the step must succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    /// The code of the first error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every code reported, as a multiset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
    /// Warning codes that must be among those reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    /// The access-management quota in use after the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_used: Option<u32>,
    /// Exactly the accounts whose association is `failed` after the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_principals: Option<Vec<String>>,
}

/// Why a plan file could not be run (exit status 2 at the CLI).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A plan serde reads but the project cannot run (an unknown code, a clock past the calendar).
    #[error("invalid plan: {0}")]
    Invalid(String),
    /// Past a limit, or a starting state the engine cannot work with.
    #[error("invalid plan: {0}")]
    Problem(Problem),
}

impl PlanError {
    /// The failure as a problem: `InvalidParameter.Plan`, or the limit's own code.
    pub fn problem(&self) -> Problem {
        match self {
            PlanError::Problem(p) => p.clone(),
            other => Problem::new(Code::Plan, other.to_string()),
        }
    }
}

/// What one step did, and whether that matched.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepResult {
    /// 1-based, as people count steps.
    pub index: usize,
    /// The action's API name.
    pub action: &'static str,
    /// Who made the call (`owner` or an account id).
    pub caller: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// Every error code, the first one first.
    pub errors: Vec<Code>,
    /// The first problem, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Warning codes reported.
    pub warnings: Vec<Code>,
    /// The access-management quota in use after the step.
    pub quota_used: u32,
    /// The purchased quota after the step.
    pub quota_purchased: u32,
    /// Accounts whose association is `failed` after the step.
    pub failed_principals: Vec<String>,
    /// Whether it did what `expect` said.
    pub matched: bool,
    /// What differed from the expectation, one sentence each.
    pub differences: Vec<String>,
    /// The step's audit record: the type an applied request's outcome carries.
    pub audit: AuditRecord,
    /// The state after the step, when the run was asked for it ([`RunOptions::states`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<Box<State>>,
}

/// What a run keeps besides each step's result.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunOptions {
    /// Each step's resulting state, in `state`, and the one before them, in `start` (for
    /// a console that shows what a step changed).
    #[serde(default)]
    pub states: bool,
}

/// What a plan did: every step, and whether all matched.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanResult {
    /// The plan's name.
    pub name: String,
    /// Whether every step matched.
    pub matched: bool,
    /// Every step's result.
    pub steps: Vec<StepResult>,
    /// The state before the first step, when the run was asked for states
    /// ([`RunOptions::states`]): what the first step's `state` differs from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Box<State>>,
}

const DEFAULT_START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

/// A plan serde refused, as `parse_text` names and places it, but an unknown action
/// named and placed at the step's `action`, not at the step.
fn at_action(problem: Problem, json: &str) -> Problem {
    match problem.path.as_deref() {
        Some(step) if step.starts_with("/steps/") && problem.message.starts_with("unknown action") => {
            let path = Some(format!("{step}/action"));
            Problem { path, place: None, ..problem }.placed_in(json)
        }
        _ => problem,
    }
}

impl Plan {
    /// Reads a plan (at most 32 MiB and 1,000 steps) and checks it.
    pub fn from_json(json: &str) -> Result<Plan, PlanError> {
        limits::check("the plan (bytes)", json.len(), MAX_DOCUMENT_BYTES).map_err(PlanError::Problem)?;
        let plan: Plan = parse_text(json, Code::Plan, true).map_err(|p| PlanError::Problem(at_action(p, json)))?;
        plan.check().map_err(|e| match e {
            PlanError::Problem(p) => PlanError::Problem(p.placed_in(json)),
            other => other,
        })?;
        Ok(plan)
    }

    /// Checks what serde cannot: the number of steps, the starting state (as
    /// `State::from_json` does), that the clock stays within the calendar, and that every
    /// expected code is one this project knows (a misspelt code would never match).
    fn check(&self) -> Result<(), PlanError> {
        limits::check("the number of steps", self.steps.len(), MAX_PLAN_STEPS)
            .map_err(|p| PlanError::Problem(p.at("/steps")))?;
        let world = State { directory: self.directory.clone(), instance: self.instance.clone() };
        world.validate().map_err(PlanError::Problem)?;
        let last = i64::try_from(self.steps.len()).ok().and_then(|n| self.step_time(n));
        if last.is_none() {
            return Err(PlanError::Invalid("now: the plan's clock, one minute a step, runs past 9999-12-31".into()));
        }
        for (i, step) in self.steps.iter().enumerate() {
            let e = &step.expect;
            let codes = e.error.iter().chain(e.errors.iter().flatten()).chain(e.warnings.iter().flatten());
            for code in codes {
                if code.parse::<Code>().is_err() {
                    return Err(PlanError::Invalid(format!(
                        "step {}: unknown code {code:?} in expect",
                        i.saturating_add(1)
                    )));
                }
            }
        }
        Ok(())
    }

    /// The time of the step at 0-based `index`: one minute a step from the start, while
    /// RFC 3339 can write it.
    fn step_time(&self, index: i64) -> Option<OffsetDateTime> {
        let start = self.now.unwrap_or(DEFAULT_START);
        start.checked_add(Duration::minutes(index)).filter(|t| t.format(&Rfc3339).is_ok())
    }

    /// Runs every step. A plan read with [`Plan::from_json`] keeps its clock within the
    /// calendar; one built by hand that does not gets `Rejected.LimitExceeded` for each
    /// step past the end, which is not applied.
    pub fn run(&self) -> PlanResult {
        self.run_with(RunOptions::default())
    }

    /// Runs every step as [`Plan::run`] does, keeping what `options` asks for.
    pub fn run_with(&self, options: RunOptions) -> PlanResult {
        let mut world = State { directory: self.directory.clone(), instance: self.instance.clone() };
        let first = options.states.then(|| Box::new(world.clone()));
        let start = self.now.unwrap_or(DEFAULT_START);
        let steps: Vec<StepResult> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let env = Env {
                    now: i64::try_from(i).ok().and_then(|i| self.step_time(i)).unwrap_or(start),
                    request_id: format!("plan-step-{}", i.saturating_add(1)),
                    latency_ms: 0,
                };
                let caller = step.request.caller.clone();
                let applied = match i64::try_from(i).ok().and_then(|i| self.step_time(i)) {
                    Some(_) => world.apply(&step.request, &env),
                    None => Err(world.refuse(
                        &step.request,
                        &env,
                        Problem::new(Code::LimitExceeded, "the plan's clock runs past 9999-12-31"),
                    )),
                };
                let (ok, errors, message, warnings, audit) = match applied {
                    Ok(o) => (true, vec![], None, o.warnings.iter().map(|w| w.code).collect(), o.audit),
                    Err(r) => {
                        let message = r.errors.first().map(ToString::to_string);
                        (false, r.errors.iter().map(|p| p.code).collect(), message, vec![], r.audit)
                    }
                };
                let quota = world.quota();
                let mut result = StepResult {
                    index: i.saturating_add(1),
                    action: step.request.action.name(),
                    caller,
                    ok,
                    errors,
                    message,
                    warnings,
                    quota_used: quota.used,
                    quota_purchased: quota.purchased,
                    failed_principals: world.instance.failed_principals(),
                    matched: true,
                    differences: Vec::new(),
                    audit,
                    state: options.states.then(|| Box::new(world.clone())),
                };
                result.differences = differences(&step.expect, &result);
                result.matched = result.differences.is_empty();
                result
            })
            .collect();
        PlanResult { name: self.name.clone(), matched: steps.iter().all(|s| s.matched), steps, start: first }
    }
}

/// Parses and runs a plan.
///
/// ```
/// let result = kms_instance::plan::run_json(r#"{"name": "a key", "directory":
///     {"resourceDirectoryId": "rd-a1b2c3", "enterpriseId": "ent-acme",
///      "accounts": [{"id": "1207089758810000", "name": "security-team"}]},
///   "instance": {"instanceId": "kst-hzz62f4a5c2d7ab12cd", "type": "software", "regionId": "cn-hangzhou",
///     "ownerId": "1207089758810000", "status": "enabled",
///     "spec": {"accessManagementQuota": 5, "keyQuota": 1, "secretQuota": 1}},
///   "steps": [{"as": "owner", "action": "CreateKey", "params": {"alias": "alias/a"}, "expect": {"ok": true}},
///             {"as": "owner", "action": "CreateKey", "params": {"alias": "alias/b"},
///              "expect": {"error": "QuotaExceeded.Keys"}}]}"#)?;
/// assert!(result.matched);
/// # Ok::<(), kms_instance::plan::PlanError>(())
/// ```
pub fn run_json(json: &str) -> Result<PlanResult, PlanError> {
    Ok(Plan::from_json(json)?.run())
}

fn sorted(codes: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = codes.into_iter().collect();
    v.sort();
    v
}

/// What of `got` differs from `expect`, one sentence each (empty: it matched). A
/// runner of plans elsewhere (`kms-instance plan --endpoint`) judges its steps with it.
pub fn differences(expect: &Expect, got: &StepResult) -> Vec<String> {
    let mut out = Vec::new();
    let first = got.errors.first().map(|c| c.as_str());
    let got_codes = || got.errors.iter().map(|c| c.as_str().to_string());
    if let Some(ok) = expect.ok {
        if ok != got.ok {
            let what = first.map_or_else(|| "it succeeded".to_string(), |c| format!("it failed with {c}"));
            out.push(format!("expected {}, but {what}", if ok { "success" } else { "failure" }));
        }
    }
    if let Some(code) = &expect.error {
        if first != Some(code.as_str()) {
            out.push(format!("expected error {code}, got {}", first.unwrap_or("success")));
        }
    }
    if let Some(codes) = &expect.errors {
        let (want, have) = (sorted(codes.iter().cloned()), sorted(got_codes()));
        if want != have {
            out.push(format!("expected errors [{}], got [{}]", want.join(", "), have.join(", ")));
        }
    }
    if let Some(warnings) = &expect.warnings {
        let mut have: Vec<&str> = got.warnings.iter().map(|c| c.as_str()).collect();
        for w in warnings {
            match have.iter().position(|h| h == w) {
                Some(i) => {
                    have.remove(i);
                }
                None => out.push(format!("expected warning {w}, not reported")),
            }
        }
    }
    if let Some(q) = expect.quota_used {
        if q != got.quota_used {
            out.push(format!("expected quota used {q}, got {}", got.quota_used));
        }
    }
    if let Some(failed) = &expect.failed_principals {
        let (want, have) = (sorted(failed.iter().cloned()), sorted(got.failed_principals.iter().cloned()));
        if want != have {
            out.push(format!("expected failed principals [{}], got [{}]", want.join(", "), have.join(", ")));
        }
    }
    out
}
