//! `kms-instance xks-proxy`: an XKS Proxy API v1 server in front of a PKCS#11 token
//! (native only). The routes of the specification under each configured URI prefix,
//! SigV4 with two credentials per prefix for rotation, every field validated, keys
//! found by label with their allowed usages, a pool of token sessions on the blocking
//! pool, TLS with optional mTLS, bounds on everything a client controls, one access-log
//! line per request (RULES.md section 9's format), and a graceful stop on SIGTERM.
//!
//! [`config`] reads the file, [`handler`] answers a request, [`server`] is the HTTP side.

pub mod config;
pub mod handler;
pub mod server;

use crate::code::{Code, Problem};
use crate::key_providers::pkcs11::Pkcs11KeyProvider;
use std::io::Write;
use std::sync::Arc;

/// Opens the token, binds the address and serves until SIGTERM or Ctrl-C. The first
/// line on standard output is `listening on <scheme>://<address>` (the port bound,
/// when the file asked for port 0); then one access-log line per request.
pub fn run(config: config::Config) -> Result<(), Problem> {
    let token = Pkcs11KeyProvider::open(&config.module, &config.token_label, &config.pin)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Problem::new(Code::BridgeUnavailable, format!("cannot start the runtime: {e}")))?;
    let grace = std::time::Duration::from_millis(config.limits.shutdown_grace_ms);
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| Problem::new(Code::Request, format!("cannot listen on {}: {e}", config.listen)))?;
        let scheme = if config.tls.is_some() { "https" } else { "http" };
        let address = listener.local_addr().map_or_else(|_| config.listen.to_string(), |a| a.to_string());
        let proxy = Arc::new(handler::Proxy::new(config, token));
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening on {scheme}://{address}");
            let _ = out.flush();
        }
        server::serve(proxy, listener, stop_signal()).await
    });
    // A token call that hangs past the grace time does not hold the exit.
    runtime.shutdown_timeout(grace);
    served
}

/// SIGTERM or Ctrl-C.
async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        Some(()) = async { term.as_mut()?.recv().await } => {}
    }
}
