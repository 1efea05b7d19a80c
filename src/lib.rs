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
//! input, and a failed request changes nothing.

pub mod access;
pub mod audit;
pub mod bind_vpcs;
pub mod bridge;
pub mod code;
pub mod directory;
mod engine;
pub mod envelope;
pub mod instance;
mod lifecycle;
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
