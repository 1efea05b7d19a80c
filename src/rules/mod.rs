//! The rules of a KMS instance (RULES.md): the model, one module per section, the
//! engine that applies requests with them, and change plans.
//!
//! | module | RULES.md |
//! |---|---|
//! | [`model`] | the state, requests and audit records (sections 2, 9) |
//! | [`names`] | 1: identifiers and names |
//! | `lifecycle` | 2: enabling, upgrade, renewal, expiry, audit |
//! | `sharing` | 3 and 5: the access-management quota, shares and principals |
//! | [`bind_vpcs`] | 4: BindVpcs validation |
//! | [`access`] | 6 and 7: the permission matrix and the order of checks |
//! | `resources` | 6 and 8: keys and secrets |
//! | `integrity` | 11: what a state must hold to be loaded |
//! | [`engine`] | applying a request: all of it or nothing, with its audit record |
//! | [`plan`] | SCENARIOS.md: change plans |
//!
//! The handlers (`lifecycle`, `sharing`, `resources`) return what they changed through
//! the contract of `handler`; the engine alone dispatches to them.

//!
//! The `validate` feature (the forms a console checks) builds [`names`], [`bind_vpcs`]
//! and the model they read; `rules` adds the rest.

#[cfg(feature = "rules")]
pub mod access;
pub mod bind_vpcs;
#[cfg(feature = "rules")]
pub mod engine;
#[cfg(feature = "rules")]
mod handler;
#[cfg(feature = "rules")]
mod integrity;
#[cfg(feature = "rules")]
mod lifecycle;
pub mod model;
pub mod names;
#[cfg(feature = "rules")]
pub mod plan;
pub mod regions;
#[cfg(feature = "rules")]
mod resources;
#[cfg(feature = "rules")]
mod sharing;
