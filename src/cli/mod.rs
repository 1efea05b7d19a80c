//! The commands of the `kms-instance` binary, one module each; `main.rs` parses the
//! arguments and calls them.

pub mod envelope;
pub mod io;
pub mod keyring;
pub mod plan;
#[cfg(feature = "kms-server")]
pub mod plan_endpoint;
#[cfg(feature = "kms-server")]
pub mod serve;
pub mod streaming;
pub mod validate;
#[cfg(feature = "xks")]
pub mod xks;
