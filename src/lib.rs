//! # kms-instance
//!
//! The rules and the envelope cryptography of an Alibaba Cloud KMS instance, in one
//! Rust core that runs natively, as WebAssembly and behind a TypeScript binding.
//!
//! The layers, each depending only on those above it:
//!
//! - [`code`], [`limits`], [`place`], [`platform`]: the stable codes, every input's
//!   limit, where in a text a problem is, the platform's random source;
//! - [`rules`]: the instance model, one module per RULES.md section, the [`State`]
//!   that applies [`Request`]s all or nothing, and change plans;
//! - [`envelope`]: envelope encryption in the Encryption SDK's message format, with
//!   master keys behind the [`envelope::KeyProvider`] trait it defines;
//! - [`key_providers`]: where master keys are kept (software, PKCS#11, JavaScript);
//! - `wasm` (wasm32 only): the glue of the npm package; the `kms-instance` binary
//!   (`src/main.rs`, `src/cli/`) is the CLI.
//!
//! Every rejected input gets a [`Problem`] with a stable [`Code`]; nothing panics on
//! input, and a failed request changes nothing. Every input has a limit
//! ([`limits`]), checked before the work that grows with it.

// No unsafe code, natively or in wasm (wasm-bindgen's generated glue included).
#![forbid(unsafe_code)]
// The public API is documented, with runnable examples on its main entry points.
#![deny(missing_docs)]
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
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod code;
#[cfg(feature = "envelope")]
pub mod envelope;
#[cfg(feature = "envelope")]
pub mod key_providers;
#[cfg(feature = "kms")]
pub mod kms_api;
#[cfg(all(feature = "kms-server", not(target_arch = "wasm32")))]
pub mod kms_server;
pub mod limits;
pub mod place;
pub mod platform;
#[cfg(feature = "validate")]
pub mod rules;
#[cfg(all(any(feature = "xks-proxy", feature = "kms-server"), not(target_arch = "wasm32")))]
pub mod serving;
#[cfg(all(target_arch = "wasm32", any(feature = "validate", feature = "envelope")))]
mod wasm;
#[cfg(feature = "xks")]
pub mod xks;
#[cfg(all(feature = "xks-proxy", not(target_arch = "wasm32")))]
pub mod xks_proxy;

// The rules' modules where callers have always named them.
#[cfg(feature = "rules")]
pub use rules::{
    access::{self, Decision},
    bind_vpcs,
    engine::{Env, Outcome, QuotaUsage, Rejection, State},
    model::request::{Action, Request},
    model::{audit, directory, instance, request},
    names, plan, regions,
};

pub use code::{Code, Problem};

// The Rust blocks of the README and the guides are doctests: a sample that stops
// compiling or running breaks the build, not the reader (pkg/test/docs.test.mjs checks
// that every page with one is here).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
#[cfg(doctest)]
#[doc = include_str!("../docs/guides/rust.md")]
struct RustGuideDoctests;
