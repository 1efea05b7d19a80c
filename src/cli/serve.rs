//! `kms-instance serve`: the local KMS endpoint (docs/guides/kms.md).

use super::io::{read_text, Fatal};
use base64::Engine as _;
use kms_instance::kms_server::{self, keeper::Keeper, seed::Seed, Options};
use kms_instance::serving::Tls;
use kms_instance::Code;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use zeroize::Zeroizing;

/// Bytes of a seed file, or of a PEM file.
const MAX_FILE_BYTES: usize = 4 << 20;

/// What `serve` is told on the command line.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// The seed file (JSON, or TOML when its name ends .toml): region, accounts and
    /// AccessKeys, instances, keys with fixed ids and material.
    #[arg(long, value_name = "FILE")]
    seed: PathBuf,
    /// The SQLite file that keeps the state across restarts; left out, the state is in memory.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Where to listen (port 0: any free port, printed on the first line).
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The variable that holds the master key (base64 of 32 bytes) sealing the keys in
    /// the data file; required with --data, a random one otherwise.
    #[arg(long, value_name = "NAME", default_value = "KMS_SERVE_MASTER_KEY")]
    master_key_env: String,
    /// The server's certificate chain (PEM): serve HTTPS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_certificate: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_certificate")]
    tls_key: Option<PathBuf>,
    /// Requests one AccessKey may make in one second (past it, Rejected.Throttling).
    #[arg(long, value_name = "N", default_value_t = kms_server::DEFAULT_REQUESTS_PER_SECOND)]
    requests_per_second: u32,
    /// Seconds a ConnectKmsInstance takes before the instance is Connected; left out, the
    /// minutes the rules give (R-LC-6: about 30, or 10 for a hardware instance without a
    /// secret quota).
    #[arg(long, value_name = "SECONDS")]
    connect_seconds: Option<u64>,
    /// The one web origin (`http://localhost:8080`) whose pages may call the endpoint from
    /// a browser, with the page's own credentials; left out, no page may.
    #[arg(long, value_name = "ORIGIN")]
    cors: Option<String>,
}

fn read(path: &std::path::Path, what: &str) -> Result<String, Fatal> {
    read_text(&path.to_string_lossy(), MAX_FILE_BYTES, Code::Request).map_err(|e| Fatal(format!("{what}: {}", e.0)))
}

/// `kms-instance serve …`: serves until SIGTERM or Ctrl-C.
pub fn serve(args: ServeArgs) -> Result<ExitCode, Fatal> {
    let text = read(&args.seed, "--seed")?;
    let toml = args.seed.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let seed =
        if toml { Seed::parse_toml(&text) } else { Seed::parse(&text) }.map_err(|p| Fatal(format!("--seed: {p}")))?;
    let keepers = keepers(&seed, args.seed.parent().unwrap_or(std::path::Path::new(".")))?;
    let master_key = match std::env::var(&args.master_key_env) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            let bytes =
                Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(text.trim()).unwrap_or_default());
            let key: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| Fatal(format!("{}: not the base64 of 32 bytes", args.master_key_env)))?;
            Zeroizing::new(key)
        }
        Err(_) if args.data.is_some() => {
            return Err(Fatal(format!(
                "--data needs a master key: set {} to the base64 of 32 bytes",
                args.master_key_env
            )))
        }
        Err(_) => {
            let mut key = Zeroizing::new([0u8; 32]);
            kms_instance::platform::os_random(key.as_mut_slice())?;
            key
        }
    };
    let tls = match (args.tls_certificate, args.tls_key) {
        (Some(certificate), Some(key)) => Some(Tls {
            certificates: read(&certificate, "--tls-certificate")?.into_bytes(),
            key: Zeroizing::new(read(&key, "--tls-key")?.into_bytes()),
            client_ca: None,
            client_subjects: Vec::new(),
        }),
        _ => None,
    };
    if let Some(origin) = &args.cors {
        // As a browser sends it: the scheme, the host and a port, in lower case.
        let rest = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
        let host_port = |r: &str| {
            !r.is_empty() && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:[]".contains(&b))
        };
        if !rest.is_some_and(host_port) {
            return Err(Fatal(format!("--cors: {origin:?} is not one web origin (http://host:port, no path)")));
        }
    }
    let options = Options {
        listen: args.listen,
        seed,
        data: args.data,
        master_key,
        tls,
        requests_per_second: args.requests_per_second,
        keepers,
        connect_wait: args.connect_seconds.map(std::time::Duration::from_secs),
        cors: args.cors,
    };
    kms_server::run(options)?;
    Ok(ExitCode::SUCCESS)
}

/// The keepers of the seed's hardware and external instances: each token opened and
/// logged in, each proxy's bridge made (its file relative to the seed's folder).
fn keepers(seed: &Seed, base: &std::path::Path) -> Result<HashMap<String, Keeper>, Fatal> {
    let mut keepers = HashMap::new();
    for (i, instance) in seed.instances.iter().enumerate() {
        let id = &instance.state.instance.instance_id;
        let at = |what: &str, e: String| Fatal(format!("--seed: /instances/{i}/{what}: {e}"));
        let keeper = match (&instance.pkcs11, &instance.xks) {
            #[cfg(feature = "pkcs11")]
            (Some(token), _) => {
                let pin = Zeroizing::new(
                    std::env::var(&token.pin_env)
                        .map_err(|_| at("pkcs11/pinEnv", format!("{} is not set", token.pin_env)))?,
                );
                let opened = kms_instance::key_providers::pkcs11::Pkcs11KeyProvider::open(
                    &base.join(&token.module),
                    &token.token,
                    &pin,
                )
                .map_err(|p| at("pkcs11", p.to_string()))?;
                Keeper::Token(opened)
            }
            #[cfg(not(feature = "pkcs11"))]
            (Some(_), _) => return Err(at("pkcs11", "this build has no PKCS#11 (feature pkcs11)".into())),
            (None, Some(proxy)) => Keeper::Proxy(
                super::xks::open_bridge(&base.join(&proxy.file), &proxy.secret_env).map_err(|e| at("xks", e.0))?,
            ),
            (None, None) => continue,
        };
        keepers.insert(id.clone(), keeper);
    }
    Ok(keepers)
}
