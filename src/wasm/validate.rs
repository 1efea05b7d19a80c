//! Form validation for consoles: BindVpcs, names and ids.

use super::{optional, problem_to_js, string, to_js, type_error};
use crate::code::{Code, Problem};
use crate::limits::MAX_DOCUMENT_BYTES;
use crate::rules::bind_vpcs::{self, Context};
use crate::rules::names::{self, NameKind};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[cfg(all(target_arch = "wasm32", feature = "typescript"))]
#[wasm_bindgen(typescript_custom_section)]
const BIND_VPC_ENTRY: &'static str = r#"
/** One element of the BindVpcs JSON of UpdateKmsInstanceBindVpc. */
export interface BindVpcEntry {
    VpcId: string;
    VSwitchId: string;
    RegionId: string;
    /** A 16-digit account id; as a number it must not pass 2^53 - 1. */
    VpcOwnerId: string | number;
}
"#;

/// BindVpcs validation: the JSON string of the API, or an array. Always a report for
/// those (an oversized one, or an array JSON cannot write, says so); a `TypeError` for
/// anything else.
#[wasm_bindgen(js_name = validateBindVpcs, unchecked_return_type = "Report")]
pub fn validate_bind_vpcs(
    #[wasm_bindgen(unchecked_param_type = "string | readonly BindVpcEntry[]")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Context | undefined")] context: JsValue,
) -> Result<JsValue, JsValue> {
    let context: Context = optional(&context, Code::Request)?;
    context.check().map_err(|p| problem_to_js(&p))?;
    let text = if input.is_string() {
        input
    } else if js_sys::Array::is_array(&input) {
        match js_sys::JSON::stringify(&input) {
            Ok(text) => text.into(),
            Err(_) => return to_js(&bind_vpcs::not_json("the array cannot be written as JSON")),
        }
    } else {
        return Err(type_error("input", "a string or an array"));
    };
    let text: js_sys::JsString = text.unchecked_into();
    if let Some(report) = bind_vpcs::oversized(usize::try_from(text.length()).unwrap_or(usize::MAX)) {
        return to_js(&report);
    }
    to_js(&bind_vpcs::validate_str(&String::from(text), &context))
}

/// The TypeScript shape of a [`NameCheck`]: the error is there exactly when `ok` is false.
#[cfg(feature = "typescript")]
#[wasm_bindgen(typescript_custom_section)]
const NAME_CHECK_TS: &'static str = r#"
/** A name or id checked: `{ ok: true }`, or `{ ok: false, error }` with the field's code and rule. */
export type NameCheck = { ok: true } | { ok: false; error: Problem };
"#;

#[derive(Serialize)]
struct NameCheck {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Problem>,
}

/// `{ok: true}`, or `{ok: false, error}` with the field's code and rule.
#[wasm_bindgen(js_name = validateName, unchecked_return_type = "NameCheck")]
pub fn validate_name(
    #[wasm_bindgen(unchecked_param_type = "NameKind")] kind: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] value: JsValue,
) -> Result<JsValue, JsValue> {
    let kind = kind.as_string().ok_or_else(|| type_error("kind", "a string"))?;
    let kind: NameKind = serde_json::from_value(serde_json::Value::String(kind.clone()))
        .map_err(|_| JsValue::from(js_sys::TypeError::new(&format!("unknown kind {kind:?}"))))?;
    let value = string(&value, "value", MAX_DOCUMENT_BYTES)?;
    let error = names::validate(kind, &value).err();
    to_js(&NameCheck { ok: error.is_none(), error })
}
