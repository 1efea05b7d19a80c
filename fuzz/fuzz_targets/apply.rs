//! A state and a request, as `state 0xFF request` (0xFF never occurs in UTF-8 text).
//! A failed request leaves the state byte-identical; a state the engine reaches can be
//! written, read back, and is the same state.
#![no_main]

use kms_instance::{Env, Request, State};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |b| *b == 0xff);
    let (Some(state), Some(request)) = (parts.next(), parts.next()) else { return };
    let (Ok(state), Ok(request)) = (std::str::from_utf8(state), std::str::from_utf8(request)) else { return };
    let Ok(mut world) = State::from_json(state) else { return };
    let Ok(request) = serde_json::from_str::<Request>(request) else { return };
    let before = world.to_json().expect("a state that loads can be written");
    let env = Env {
        now: time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
        request_id: "fuzz".into(),
        latency_ms: 1,
    };
    match world.apply(&request, &env) {
        Err(_) => assert_eq!(world.to_json().expect("written"), before, "a failed request changed the state"),
        Ok(_) => {
            let after = world.to_json().expect("a state the engine reaches can be written");
            let back = State::from_json(&after).expect("a state the engine reaches can be read back");
            assert_eq!(back, world);
        }
    }
});
