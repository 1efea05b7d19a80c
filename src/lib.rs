//! # kms-instance
//!
//! The rules and the envelope cryptography of an Alibaba Cloud KMS instance, in one
//! Rust core that runs natively, as WebAssembly and behind a TypeScript binding.
//!
//! - [`names`]: identifiers and names (RULES.md section 1);
//! - [`bind_vpcs`]: BindVpcs validation, every problem with its JSON pointer (section 4);
//! - [`World`]: a directory and one instance, applying [`Request`]s transactionally
//!   with the lifecycle, quota, sharing and access rules (sections 2–7);
//! - [`audit`]: audit records and their log line (section 9);
//! - [`plan`]: change plans, the dry runs of SCENARIOS.md;
//! - [`envelope`]: envelope encryption in the Encryption SDK's message format, with
//!   master keys behind an [`bridge::HsmBridge`] (software, PKCS#11).
//!
//! Every rejected input gets a [`Problem`] with a stable [`Code`]; nothing panics on
//! input, and a failed request changes nothing. Every input has a limit
//! ([`limits`]), checked before the work that grows with it.

// No panic is reachable from an input: the compiler refuses the constructs that can
// panic (unchecked arithmetic, indexing, unwrap, explicit panics) outside tests.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    clippy::cast_possible_truncation
)]
#![cfg_attr(
    test,
    allow(
        clippy::arithmetic_side_effects,
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod access;
pub mod audit;
pub mod bind_vpcs;
pub mod bridge;
pub mod code;
pub mod directory;
mod engine;
pub mod envelope;
pub mod instance;
mod integrity;
mod lifecycle;
pub mod limits;
pub mod names;
pub mod plan;
pub mod request;
mod resources;
mod sharing;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use access::Decision;
pub use code::{Code, Problem};
pub use engine::{Env, Outcome, QuotaUsage, Rejection, World};
pub use request::{Action, Request};
