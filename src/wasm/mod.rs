//! The WebAssembly glue: every export parses its JavaScript input, calls the core, and
//! maps the result or the error back. No rule lives here.
//!
//! Inputs cross as JSON (`JSON.stringify` on the JS side, `serde_json` here), so
//! numbers keep the exact meaning JSON gives them; outputs are built as plain objects
//! (`serde-wasm-bindgen`'s JSON-compatible serializer). Errors are thrown as plain
//! objects `{code, message, path, rule, …}`, which the TypeScript wrapper turns into
//! `KmsError`s.

mod envelope;
mod instance;
mod validate;

use crate::code::{Code, Problem};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// A Rust value as a plain JS object (objects, not `Map`s; numbers, not `BigInt`s).
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| problem_to_js(&Problem::new(Code::Request, format!("cannot convert the result: {e}"))))
}

/// A JS value (or a JSON string) as JSON text.
pub(crate) fn json_text(value: &JsValue, code: Code) -> Result<String, JsValue> {
    if let Some(text) = value.as_string() {
        return Ok(text);
    }
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| problem_to_js(&Problem::new(code, "expected a JSON object or a JSON string")))
}

/// A JS value (or a JSON string) as a Rust value, any failure under `code`.
///
/// Every input goes through `serde_json::Value`, so each type has one deserializer in
/// the module, not one per source.
pub(crate) fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue, code: Code) -> Result<T, JsValue> {
    let text = json_text(value, code)?;
    serde_json::from_str::<serde_json::Value>(&text)
        .and_then(T::deserialize)
        .map_err(|e| problem_to_js(&Problem::new(code, e.to_string())))
}

/// Optional options: `undefined` and `null` are the defaults.
pub(crate) fn optional<T: serde::de::DeserializeOwned + Default>(value: &JsValue, code: Code) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    from_js(value, code)
}

#[derive(Serialize)]
struct Thrown<'a, X: Serialize> {
    code: Code,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    errors: &'a [Problem],
    #[serde(flatten)]
    extra: X,
}

/// The object thrown for a failure: the first problem's fields, and all of them.
pub(crate) fn problems_to_js<X: Serialize>(errors: &[Problem], extra: X) -> JsValue {
    let first = errors.first();
    let thrown = Thrown {
        code: first.map_or(Code::Request, |p| p.code),
        message: first.map_or("", |p| p.message.as_str()),
        path: first.and_then(|p| p.path.as_deref()),
        rule: first.and_then(|p| p.rule),
        errors,
        extra,
    };
    thrown
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or_else(|_| JsValue::from_str(first.map_or("error", |p| p.message.as_str())))
}

pub(crate) fn problem_to_js(p: &Problem) -> JsValue {
    problems_to_js(std::slice::from_ref(p), serde_json::Map::new())
}
