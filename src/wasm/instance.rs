//! The instance model and change plans, for consoles that simulate a change first.

use super::{from_js, from_js_text, json_text, optional, problem_to_js, problems_to_js, to_js};
use crate::code::{Code, Problem};
use crate::limits;
use crate::rules::model::audit::AuditRecord;
use crate::rules::plan::{Plan, RunOptions};
use crate::{Env, Request, State};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use wasm_bindgen::prelude::*;

/// A directory and one KMS instance; `apply` is all or nothing. (`WasmInstance` in JS:
/// the TypeScript wrapper exports it as `Instance`, beside the state type of that name.)
#[wasm_bindgen(js_name = WasmInstance)]
pub struct WasmInstance {
    state: State,
}

/// When and as which request a call is applied; every field is optional.
#[cfg_attr(feature = "typescript", derive(tsify::Tsify))]
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvOptions {
    /// RFC 3339; left out, now.
    #[serde(default)]
    now: Option<String>,
    /// Left out: a random UUID.
    #[serde(default)]
    request_id: Option<String>,
    /// At most 2^53 − 1.
    #[serde(default)]
    latency_ms: u64,
}

impl EnvOptions {
    fn into_env(self) -> Result<Env, JsValue> {
        let now = match &self.now {
            Some(text) => OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
                problem_to_js(&Problem::new(Code::Request, format!("now is not an RFC 3339 time: {e}")).at("/now"))
            })?,
            None => now(),
        };
        let request_id = match self.request_id {
            Some(id) => id,
            None => random_request_id()?,
        };
        Ok(Env { now, request_id, latency_ms: self.latency_ms })
    }
}

/// The host's clock, to the millisecond (a host whose clock is off the calendar gets
/// the epoch, and the audit record shows it).
fn now() -> OffsetDateTime {
    time::Duration::checked_seconds_f64(js_sys::Date::now() / 1000.0)
        .and_then(|since| OffsetDateTime::UNIX_EPOCH.checked_add(since))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A random UUID (version 4), as request ids look in the service's audit logs.
fn random_request_id() -> Result<String, JsValue> {
    let mut b = [0u8; 16];
    crate::platform::os_random(&mut b).map_err(|p| problem_to_js(&p))?;
    let [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15] = b;
    let (b6, b8) = ((b6 & 0x0f) | 0x40, (b8 & 0x3f) | 0x80);
    let hex = |bytes: &[u8]| bytes.iter().map(|x| format!("{x:02x}")).collect::<String>();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        hex(&[b0, b1, b2, b3]),
        hex(&[b4, b5]),
        hex(&[b6, b7]),
        hex(&[b8, b9]),
        hex(&[b10, b11, b12, b13, b14, b15])
    ))
}

#[wasm_bindgen(js_class = WasmInstance)]
impl WasmInstance {
    /// From the state `toJSON` returned (an object or its JSON text).
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "State | string")] state: JsValue,
    ) -> Result<WasmInstance, JsValue> {
        let (state, text): (State, _) = from_js_text(&state, Code::State)?;
        state.validate().map_err(|p| problem_to_js(&placed(p, text.as_deref())))?;
        Ok(WasmInstance { state })
    }

    /// Applies a request; returns the outcome or throws the rejection (state unchanged).
    #[wasm_bindgen(unchecked_return_type = "Outcome")]
    pub fn apply(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Request")] request: JsValue,
        #[wasm_bindgen(unchecked_param_type = "EnvOptions | undefined")] env: JsValue,
    ) -> Result<JsValue, JsValue> {
        let request: Request = from_js(&request, Code::Request)?;
        let env = optional::<EnvOptions>(&env, Code::Request)?.into_env()?;
        match self.state.apply(&request, &env) {
            Ok(outcome) => to_js(&outcome),
            Err(rejection) => Err(problems_to_js(
                &rejection.errors,
                serde_json::json!({ "quota": rejection.quota, "audit": rejection.audit, "omitted": rejection.omitted }),
            )),
        }
    }

    /// The access decision for a request, without applying it.
    #[wasm_bindgen(unchecked_return_type = "Decision")]
    pub fn check(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Request")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        let request: Request = from_js(&request, Code::Request)?;
        to_js(&self.state.check(&request))
    }

    /// What UpdateKmsInstanceBindVpc would check a BindVpcs document against now: give
    /// it to `validateBindVpcs` to check a form as this instance would.
    #[wasm_bindgen(js_name = bindVpcsContext, unchecked_return_type = "Context")]
    pub fn bind_vpcs_context(&self) -> Result<JsValue, JsValue> {
        to_js(&crate::rules::bind_vpcs::Context::of(&self.state.instance))
    }

    #[wasm_bindgen(unchecked_return_type = "QuotaUsage")]
    pub fn quota(&self) -> Result<JsValue, JsValue> {
        to_js(&self.state.quota())
    }

    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "State")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        to_js(&self.state)
    }
}

/// Runs a change plan; throws `InvalidParameter.Plan` for a malformed one.
#[wasm_bindgen(js_name = runPlan, unchecked_return_type = "PlanResult")]
pub fn run_plan(
    #[wasm_bindgen(unchecked_param_type = "Plan | string")] plan: JsValue,
    #[wasm_bindgen(unchecked_param_type = "RunOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let options: RunOptions = optional(&options, Code::Request)?;
    let text = json_text(&plan, Code::Plan, limits::MAX_DOCUMENT_BYTES)?;
    let plan = Plan::from_json(&text).map_err(|e| {
        let mut problem = e.problem();
        // Only a caller's own text is placed: the text of an object is JSON.stringify's.
        if !plan.is_string() {
            problem.place = None;
        }
        problem_to_js(&problem)
    })?;
    to_js(&plan.run_with(options))
}

/// An audit record (an outcome's, a refusal's or a plan step's) as the line the service
/// writes to its log (RULES.md section 9).
#[wasm_bindgen(js_name = auditLine)]
pub fn audit_line(#[wasm_bindgen(unchecked_param_type = "AuditRecord")] record: JsValue) -> Result<String, JsValue> {
    let record: AuditRecord = from_js(&record, Code::Request)?;
    Ok(record.to_string())
}

/// A problem found in a state after it was read, placed in the caller's JSON text when
/// the caller gave text.
fn placed(problem: crate::code::Problem, text: Option<&str>) -> crate::code::Problem {
    match text {
        Some(text) => problem.placed_in(text),
        None => problem,
    }
}
