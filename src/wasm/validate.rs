//! Form validation for consoles: BindVpcs, names and ids.

use super::{problem_to_js, string, to_js, type_error};
use crate::code::{Code, Problem};
use crate::limits::MAX_DOCUMENT_BYTES;
use crate::platform::js::{self, NotBytes};
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

/// BindVpcs validation: the JSON text of the API (as UTF-8 bytes: the package encodes a
/// string with `TextEncoder`, far faster than the glue's own string copy), a string, or
/// an array. Always a report, as JSON text (one string and one `JSON.parse` cross the
/// boundary faster than a tree of objects built field by field); an oversized input, or
/// an array JSON cannot write, says so. A `TypeError` for anything else.
#[wasm_bindgen(js_name = validateBindVpcs)]
pub fn validate_bind_vpcs(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string | readonly BindVpcEntry[]")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Context | undefined")] context: JsValue,
) -> Result<String, JsValue> {
    let context = match usable_context(&context)? {
        Ok(context) => context,
        Err(p) => return report_json(&bind_vpcs::Report::failed(vec![p])),
    };
    let report = if js_sys::ArrayBuffer::is_view(&input) {
        // The length first: an oversized input is never copied into wasm memory.
        match js::bytes(&input, crate::limits::MAX_BIND_VPCS_BYTES) {
            Ok(bytes) => bind_vpcs::validate_bytes(&bytes, &context),
            Err(NotBytes::TooLong(len)) => bind_vpcs::oversized(len).unwrap_or_else(|| bind_vpcs::not_json("too long")),
            Err(NotBytes::Wrong) => return Err(type_error("input", "a string, an array or a Uint8Array")),
        }
    } else {
        let written = !input.is_string();
        let text = if input.is_string() {
            input
        } else if js_sys::Array::is_array(&input) {
            match js_sys::JSON::stringify(&input) {
                Ok(text) => text.into(),
                Err(_) => return report_json(&bind_vpcs::not_json("the array cannot be written as JSON")),
            }
        } else {
            return Err(type_error("input", "a string or an array"));
        };
        let text: js_sys::JsString = text.unchecked_into();
        match bind_vpcs::oversized(usize::try_from(text.length()).unwrap_or(usize::MAX)) {
            Some(report) => report,
            // An array's places would be in text JSON.stringify wrote, not the caller.
            None if written => bind_vpcs::validate_unplaced(&String::from(text), &context),
            None => bind_vpcs::validate_str(&String::from(text), &context),
        }
    };
    report_json(&report)
}

/// `validateBindVpcs` for text the caller keeps (UTF-8 bytes of its string): the report
/// names each valid entry by its index in the document, and the package reads the
/// entries from its own text only when they are asked for (`IndexedReport`).
#[wasm_bindgen(js_name = validateBindVpcsIndexed)]
pub fn validate_bind_vpcs_indexed(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Context | undefined")] context: JsValue,
) -> Result<String, JsValue> {
    let context = match usable_context(&context)? {
        Ok(context) => context,
        Err(p) => return report_json(&bind_vpcs::IndexedReport::failed(vec![p])),
    };
    let report = match js::bytes(&input, crate::limits::MAX_BIND_VPCS_BYTES) {
        Ok(bytes) => bind_vpcs::validate_bytes_indexed(&bytes, &context),
        Err(NotBytes::TooLong(len)) => bind_vpcs::IndexedReport::failed(
            bind_vpcs::oversized(len).map_or_else(|| bind_vpcs::not_json("too long").errors, |r| r.errors),
        ),
        Err(NotBytes::Wrong) => return Err(type_error("input", "a Uint8Array")),
    };
    report_json(&report)
}

fn report_json(report: &impl Serialize) -> Result<String, JsValue> {
    serde_json::to_string(report)
        .map_err(|e| problem_to_js(&Problem::new(Code::Request, format!("cannot convert the report: {e}"))))
}

/// The most bytes of BindVpcs text a report is made for: a longer string is passed as
/// it is, and refused by its length before it is copied.
#[wasm_bindgen(js_name = bindVpcsMaxBytes)]
pub fn bind_vpcs_max_bytes() -> usize {
    crate::limits::MAX_BIND_VPCS_BYTES
}

/// The TypeScript shape of a [`NameCheck`]: the error is there exactly when `ok` is false.
#[cfg(feature = "typescript")]
#[wasm_bindgen(typescript_custom_section)]
const NAME_CHECK_TS: &'static str = r#"
/** A name or id checked: `{ ok: true }` (with a `warning` for a region id Alibaba Cloud has not published), or `{ ok: false, error }` with the field's code and rule. */
export type NameCheck = { ok: true; warning?: Problem } | { ok: false; error: Problem };
"#;

#[derive(Serialize)]
struct NameCheck {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Problem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    warning: Option<Problem>,
}

/// The context a validation can use, or the problem that makes it a report: a context
/// of the wrong shape is a report, as any other mistake is (a value that is not an
/// object at all is a TypeError); its problems are named under /context.
fn usable_context(value: &JsValue) -> Result<Result<Context, Problem>, JsValue> {
    Ok(context_of(value)?.and_then(|context| context.check().map(|()| context)))
}

/// The BindVpcs context of `value`: `undefined` or `null` is the default; an object
/// whose fields serde refuses is a problem at `/context/<field>`.
fn context_of(value: &JsValue) -> Result<Result<Context, Problem>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(Ok(Context::default()));
    }
    if js_sys::Array::is_array(value) || !(value.is_object() || value.is_string()) {
        return Err(type_error("context", "an object"));
    }
    let text = super::json_text(value, Code::Request, crate::limits::MAX_DOCUMENT_BYTES)?;
    Ok(crate::code::parse_text::<Context>(&text, Code::Request, false)
        .map_err(|p| Problem { path: Some(format!("/context{}", p.path.unwrap_or_default())), ..p }))
}

/// `{ok: true}`, or `{ok: false, error}` with the field's code and rule.
#[wasm_bindgen(js_name = validateName, unchecked_return_type = "NameCheck")]
pub fn validate_name(
    #[wasm_bindgen(unchecked_param_type = "NameKind")] kind: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] value: JsValue,
) -> Result<JsValue, JsValue> {
    // Every kind is a short word: a longer string is cut before it is copied, and unknown.
    let kind = js::short_string(&kind, 64).ok_or_else(|| type_error("kind", "a string"))?;
    let kind = NameKind::named(&kind).ok_or_else(|| {
        let kinds: Vec<&str> = NameKind::ALL.iter().map(|k| k.name()).collect();
        JsValue::from(js_sys::TypeError::new(&format!("unknown kind {kind:?}; the kinds: {}", kinds.join(", "))))
    })?;
    let value = string(&value, "value", MAX_DOCUMENT_BYTES)?;
    let error = names::validate(kind, &value).err();
    let warning = if error.is_none() { names::warning(kind, &value) } else { None };
    to_js(&NameCheck { ok: error.is_none(), error, warning })
}
