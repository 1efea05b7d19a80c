//! What the platform gives the library: its random source (the OS natively, the host's
//! `crypto.getRandomValues` in wasm, through `getrandom`) and its clock.

use crate::code::{Code, Problem};

/// Fills `buf` with random bytes from the platform.
pub fn os_random(buf: &mut [u8]) -> Result<(), Problem> {
    getrandom::getrandom(buf)
        .map_err(|e| Problem::new(Code::BridgeUnavailable, format!("the platform's random source failed: {e}")))
}

/// The time since the Unix epoch, on the platform's clock (the host's `Date.now()` in
/// wasm, which has no system clock); zero for a clock before 1970.
pub fn now() -> std::time::Duration {
    #[cfg(not(target_arch = "wasm32"))]
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    #[cfg(target_arch = "wasm32")]
    let since = std::time::Duration::try_from_secs_f64(js_sys::Date::now() / 1000.0).unwrap_or_default();
    since
}

/// The platform's clock as a UTC date and time, for the signatures' timestamps; `None`
/// past the calendar `time` knows.
#[cfg(feature = "xks")]
pub fn utc_now() -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::UNIX_EPOCH.checked_add(time::Duration::try_from(now()).ok()?)
}

/// `at` as ISO 8601 in UTC to the second: `2026-12-06T20:19:00Z` when `separated` (the
/// KMS API's), `20261206T201900Z` otherwise (SigV4's). Written with `format!`, not a
/// `time` format description, whose interpreter cost each wasm module that signs about
/// 14 KB before wasm-opt.
#[cfg(feature = "xks")]
pub fn timestamp(at: time::OffsetDateTime, separated: bool) -> String {
    let (date, time) = if separated { ("-", ":") } else { ("", "") };
    let (year, month, day) = (at.year(), u8::from(at.month()), at.day());
    let (hour, minute, second) = (at.hour(), at.minute(), at.second());
    format!("{year:04}{date}{month:02}{date}{day:02}T{hour:02}{time}{minute:02}{time}{second:02}Z")
}

/// Values from the JavaScript host, read by what the engine knows of them, never by a
/// property a caller can redefine: a `Uint8Array` whose own `length` says less than it
/// holds must not make the module copy past what it allocated (js-sys's `to_vec` and
/// `copy_to` trust `length`), and a huge string must not be copied before it is cut.
#[cfg(all(target_arch = "wasm32", any(feature = "validate", feature = "envelope")))]
pub(crate) mod js {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    #[wasm_bindgen]
    extern "C" {
        /// A typed array's bytes, copied by the engine from its real length.
        #[wasm_bindgen(js_name = Uint8Array)]
        type EngineCopy;

        /// `new Uint8Array(view)`; throws (caught) for a view of a detached buffer.
        #[wasm_bindgen(constructor, catch, js_class = "Uint8Array")]
        fn new(source: &JsValue) -> Result<EngineCopy, JsValue>;
    }

    /// Why a JS value gave no bytes.
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) enum NotBytes {
        /// Not a `Uint8Array`, or a view of a detached buffer.
        Wrong,
        /// More bytes than the limit: this many (as far as JavaScript says).
        TooLong(usize),
    }

    /// The bytes of a `Uint8Array` of at most `limit` bytes. The claimed length is
    /// checked first, so an honest long array is refused uncopied; the bytes then come
    /// from a copy the engine made, whose length nobody has redefined.
    pub(crate) fn bytes(value: &JsValue, limit: usize) -> Result<Vec<u8>, NotBytes> {
        if !js_sys::ArrayBuffer::is_view(value) || !value.is_instance_of::<js_sys::Uint8Array>() {
            return Err(NotBytes::Wrong);
        }
        // Read through Reflect (which catches): a `length` getter may throw.
        let claimed = js_sys::Reflect::get(value, &"length".into()).ok().and_then(|l| l.as_f64()).unwrap_or(0.0);
        if claimed > limit as f64 {
            // A float-to-int cast saturates: a claim past usize is usize::MAX.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            return Err(NotBytes::TooLong(claimed as usize));
        }
        let copy: js_sys::Uint8Array = EngineCopy::new(value).map_err(|_| NotBytes::Wrong)?.unchecked_into();
        let len = usize::try_from(copy.length()).unwrap_or(usize::MAX);
        if len > limit {
            return Err(NotBytes::TooLong(len));
        }
        let mut out = vec![0; len];
        copy.copy_to(&mut out);
        // The copy may be a data key: wiped, not left to the collector.
        copy.fill(0, 0, copy.length());
        Ok(out)
    }

    /// A JS string's first `max_units` UTF-16 units, cut in JavaScript before the copy
    /// into wasm memory; `None` for anything that is not a string.
    pub(crate) fn short_string(value: &JsValue, max_units: u32) -> Option<String> {
        let text = value.dyn_ref::<js_sys::JsString>()?;
        Some(if text.length() > max_units { text.slice(0, max_units).into() } else { text.into() })
    }
}

#[cfg(all(test, feature = "xks"))]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso_8601_in_utc_with_and_without_separators() {
        let at = time::macros::datetime!(2026-01-06 04:09:05 UTC);
        assert_eq!(timestamp(at, true), "2026-01-06T04:09:05Z");
        assert_eq!(timestamp(at, false), "20260106T040905Z");
        assert!(utc_now().is_some_and(|t| t.year() > 2000), "the platform clock is read");
    }
}
