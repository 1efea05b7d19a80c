//! The WebAssembly glue: every export parses its JavaScript input, calls the core, and
//! maps the result or the error back. No rule lives here.
//!
//! Inputs cross as JSON (`JSON.stringify` on the JS side, `serde_json` here), so
//! numbers keep the exact meaning JSON gives them; outputs are built as plain objects
//! (`serde-wasm-bindgen`'s JSON-compatible serializer). Errors are thrown as plain
//! objects `{code, message, path, rule, …}`, which the TypeScript wrapper turns into
//! `KmsError`s; a wrong argument type is a `TypeError` naming the argument.
//!
//! What is checked where: strings and JSON values here (their type, then their size
//! against the core's limit before they are copied into wasm memory); bytes, key
//! providers and the options only JavaScript uses in the TypeScript wrapper, which
//! hands over copies.

#[cfg(feature = "envelope")]
mod envelope;
#[cfg(feature = "rules")]
mod instance;
#[cfg(feature = "envelope")]
mod streams;
#[cfg(feature = "validate")]
mod validate;

use crate::code::{Code, Problem};
use crate::limits;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// A Rust value as a plain JS object, through JSON text and `JSON.parse`: a map's key
/// `__proto__` (a context or tag may have one) becomes an own property, as JSON makes
/// it, where setting it field by field would set the object's prototype instead.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let failed = |e: &dyn std::fmt::Display| {
        problem_to_js(&Problem::new(Code::Request, format!("cannot convert the result: {e}")))
    };
    let text = serde_json::to_string(value).map_err(|e| failed(&e))?;
    js_sys::JSON::parse(&text).map_err(|_| failed(&"JSON.parse refused it"))
}

/// A `TypeError` naming the argument, for a value of the wrong JS type.
pub(crate) fn type_error(argument: &str, expected: &str) -> JsValue {
    js_sys::TypeError::new(&format!("{argument} must be {expected}")).into()
}

/// A JS string, no longer than `limit` UTF-8 bytes: its UTF-16 length is checked before
/// it is copied into wasm memory (each unit is at least one byte), then its bytes.
pub(crate) fn string(value: &JsValue, argument: &str, limit: usize) -> Result<String, JsValue> {
    let text = value.dyn_ref::<js_sys::JsString>().ok_or_else(|| type_error(argument, "a string"))?;
    let units = usize::try_from(text.length()).unwrap_or(usize::MAX);
    limits::check(&format!("{argument} (bytes)"), units, limit).map_err(|p| problem_to_js(&p))?;
    let text = String::from(text);
    limits::check(&format!("{argument} (bytes)"), text.len(), limit).map_err(|p| problem_to_js(&p))?;
    Ok(text)
}

/// A JS value (or a JSON string) as JSON text of at most `limit` bytes. A value
/// `JSON.stringify` refuses (a cycle, a BigInt, a throwing getter) is a problem under
/// `code`; so is one that is not JSON (a function, a symbol, `undefined`).
pub(crate) fn json_text(value: &JsValue, code: Code, limit: usize) -> Result<String, JsValue> {
    if value.is_string() {
        return string(value, "the JSON text", limit);
    }
    let not_json = || problem_to_js(&Problem::new(code, "expected a JSON object or a JSON string"));
    let text = js_sys::JSON::stringify(value).map_err(|_| not_json())?;
    if !text.is_string() {
        return Err(not_json());
    }
    string(&text.into(), "the JSON text", limit)
}

#[cfg(any(feature = "rules", feature = "envelope"))]
/// A JS value (or a JSON string) as a Rust value, any failure under `code`.
///
/// Every input is read as JSON text (an object's is `JSON.stringify`'s), so each type
/// has one deserializer in the module, not one per source.
pub(crate) fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue, code: Code) -> Result<T, JsValue> {
    from_js_text(value, code).map(|(parsed, _)| parsed)
}

#[cfg(any(feature = "rules", feature = "envelope"))]
/// [`from_js`], with the caller's own JSON text when it gave a string (to place a
/// later problem in it): the string is copied once, after its size is checked.
pub(crate) fn from_js_text<T: serde::de::DeserializeOwned>(
    value: &JsValue,
    code: Code,
) -> Result<(T, Option<String>), JsValue> {
    let text = json_text(value, code, limits::MAX_DOCUMENT_BYTES)?;
    // Only a caller's own text is placed: the text of an object is JSON.stringify's.
    let placed = value.is_string();
    let parsed = crate::code::parse_text(&text, code, placed).map_err(|p| problem_to_js(&p))?;
    Ok((parsed, placed.then_some(text)))
}

#[cfg(any(feature = "rules", feature = "envelope"))]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    place: Option<&'a crate::place::Place>,
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
        place: first.and_then(|p| p.place.as_deref()),
        errors,
        extra,
    };
    // Serialising strings and codes does not fail; if it did, the caller still gets an
    // Error, never a bare string. (JSON text, as `to_js` says why.)
    let object = serde_json::to_string(&thrown)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .unwrap_or_else(|| js_sys::Error::new(first.map_or("error", |p| p.message.as_str())).into());
    if let Some(thrown_by_js) = first.and_then(js_cause) {
        let _ = js_sys::Reflect::set(&object, &"cause".into(), thrown_by_js);
    }
    object
}

/// The value a JavaScript key provider threw, when that is what caused `problem`.
#[cfg(feature = "envelope")]
fn js_cause(problem: &Problem) -> Option<&JsValue> {
    let cause = problem.cause.as_deref()?;
    cause.downcast_ref::<crate::key_providers::js::JsFailure>().map(|f| &f.0)
}

#[cfg(not(feature = "envelope"))]
fn js_cause(_: &Problem) -> Option<&JsValue> {
    None
}

pub(crate) fn problem_to_js(p: &Problem) -> JsValue {
    problems_to_js(std::slice::from_ref(p), ())
}
