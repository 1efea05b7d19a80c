//! `kms-instance serve`: the local KMS endpoint (README "A local KMS endpoint").

use super::io::{read_text, Fatal};
use base64::Engine as _;
use kms_instance::kms_server::{self, seed::Seed, Options};
use kms_instance::serving::Tls;
use kms_instance::Code;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use zeroize::Zeroizing;

/// Bytes of a seed file, or of a PEM file.
const MAX_FILE_BYTES: usize = 4 << 20;

/// What `serve` is told on the command line.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// The seed file (JSON): region, accounts and AccessKeys, keys with fixed ids and material.
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
}

fn read(path: &std::path::Path, what: &str) -> Result<String, Fatal> {
    read_text(&path.to_string_lossy(), MAX_FILE_BYTES, Code::Request).map_err(|e| Fatal(format!("{what}: {}", e.0)))
}

/// `kms-instance serve …`: serves until SIGTERM or Ctrl-C.
pub fn serve(args: ServeArgs) -> Result<ExitCode, Fatal> {
    let seed = Seed::parse(&read(&args.seed, "--seed")?).map_err(|p| Fatal(format!("--seed: {p}")))?;
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
    let options = Options {
        listen: args.listen,
        seed,
        data: args.data,
        master_key,
        tls,
        requests_per_second: args.requests_per_second,
    };
    kms_server::run(options)?;
    Ok(ExitCode::SUCCESS)
}
