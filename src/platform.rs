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
