//! `kms-instance xks-proxy`, and the XKS provider file of `encrypt`/`decrypt`.

use super::io::{read_text, Fatal};
use kms_instance::key_providers::xks::native::{ClientIdentity, NativeTransport, Trust};
use kms_instance::key_providers::xks::{XksBridge, XksSettings};
use kms_instance::Code;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Bytes of a provider file, or of a PEM file it names.
const MAX_FILE_BYTES: usize = 1 << 20;

/// How the proxy's certificate is trusted.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
enum TrustFile {
    /// The system's roots.
    SystemRoots,
    /// A CA file (PEM).
    CaFile(PathBuf),
    /// The SHA-256 of the proxy's certificate (hex, colons allowed).
    Fingerprint(String),
}

/// `--xks FILE`: the bridge's settings and how to reach the proxy.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProviderFile {
    proxy: XksSettings,
    trust: TrustFile,
    #[serde(default)]
    client_certificate_file: Option<PathBuf>,
    #[serde(default)]
    client_key_file: Option<PathBuf>,
}

fn read(path: &Path, what: &str) -> Result<String, Fatal> {
    read_text(&path.to_string_lossy(), MAX_FILE_BYTES, Code::Keyring).map_err(|e| Fatal(format!("{what}: {}", e.0)))
}

/// The bridge of a provider file, its secret from the environment variable `secret_env`.
pub fn open_bridge(file: &Path, secret_env: &str) -> Result<XksBridge, Fatal> {
    let text = read(file, "--xks")?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let provider: ProviderFile = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| Fatal(format!("{}: at {}: {}", file.display(), e.path(), e.inner())))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let trust = match provider.trust {
        TrustFile::SystemRoots => Trust::SystemRoots,
        TrustFile::CaFile(ca) => Trust::Ca(read(&base.join(ca), "trust.caFile")?.into_bytes()),
        TrustFile::Fingerprint(fp) => Trust::fingerprint(&fp)?,
    };
    let identity = match (provider.client_certificate_file, provider.client_key_file) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(ClientIdentity {
            certificates: read(&base.join(cert), "clientCertificateFile")?.into_bytes(),
            key: zeroize::Zeroizing::new(read(&base.join(key), "clientKeyFile")?.into_bytes()),
        }),
        _ => return Err(Fatal("clientCertificateFile and clientKeyFile go together".into())),
    };
    let secret = std::env::var(secret_env)
        .map(zeroize::Zeroizing::new)
        .map_err(|_| Fatal(format!("--xks-secret-env {secret_env}: the variable is not set")))?;
    let transport = NativeTransport::new(&trust, identity.as_ref())?;
    Ok(XksBridge::new(provider.proxy, secret, Box::new(transport))?)
}

/// `kms-instance xks-proxy --config FILE`.
#[cfg(feature = "xks-proxy")]
pub fn xks_proxy(config: &Path) -> Result<ExitCode, Fatal> {
    let config = kms_instance::xks_proxy::config::Config::load(config)?;
    kms_instance::xks_proxy::run(config)?;
    Ok(ExitCode::SUCCESS)
}
