//! Form validation for consoles: BindVpcs, names and ids.

use super::{json_text, optional, to_js};
use crate::bind_vpcs::{self, Context};
use crate::code::{Code, Problem};
use crate::names::{self, NameKind};
use serde::Serialize;
use wasm_bindgen::prelude::*;

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

/// BindVpcs validation: the JSON string of the API, or an array. Always a report.
#[wasm_bindgen(js_name = validateBindVpcs)]
pub fn validate_bind_vpcs(input: JsValue, context: JsValue) -> Result<JsValue, JsValue> {
    let context: Context = optional(&context, Code::Request)?;
    let text = json_text(&input, Code::BindVpcsMalformed)?;
    to_js(&bind_vpcs::validate_str(&text, &context))
}

#[derive(Serialize)]
struct NameCheck {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Problem>,
}

/// `{ok: true}`, or `{ok: false, error}` with the field's code and rule.
#[wasm_bindgen(js_name = validateName)]
pub fn validate_name(kind: &str, value: &str) -> Result<JsValue, JsValue> {
    let kind: NameKind = serde_json::from_value(serde_json::Value::String(kind.to_string()))
        .map_err(|_| JsValue::from(js_sys::TypeError::new(&format!("unknown kind {kind:?}"))))?;
    let error = names::validate(kind, value).err();
    to_js(&NameCheck { ok: error.is_none(), error })
}
