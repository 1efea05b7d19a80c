//! `kms-instance xks-proxy`: an XKS Proxy API v1 server in front of a PKCS#11 token
//! (native only). The routes of the specification under each configured URI prefix,
//! SigV4 with two credentials per prefix for rotation, every field validated, keys
//! found by label with their allowed usages, a pool of token sessions on the blocking
//! pool, TLS with optional mTLS, bounds on everything a client controls, one access-log
//! line per request (RULES.md section 9's format), and a graceful stop on SIGTERM.
//!
//! [`config`] reads the file, [`handler`] answers a request; [`crate::serving`] is the
//! HTTP side.

pub mod config;
pub mod handler;

use crate::code::Problem;
use crate::key_providers::pkcs11::Pkcs11KeyProvider;

/// Opens the token, binds the address and serves until SIGTERM or Ctrl-C
/// ([`crate::serving::run`]: the first line on standard output says where).
pub fn run(config: config::Config) -> Result<(), Problem> {
    let token = Pkcs11KeyProvider::open(&config.module, &config.token_label, &config.pin)?;
    let listen = config.listen;
    crate::serving::run(handler::Proxy::new(config, token), listen)
}
