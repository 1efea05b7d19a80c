//! What the platform gives the library: its random source (the OS natively, the host's
//! `crypto.getRandomValues` in wasm, through `getrandom`).

use crate::code::{Code, Problem};

/// Fills `buf` with random bytes from the platform.
pub fn os_random(buf: &mut [u8]) -> Result<(), Problem> {
    getrandom::getrandom(buf)
        .map_err(|e| Problem::new(Code::BridgeUnavailable, format!("the platform's random source failed: {e}")))
}
