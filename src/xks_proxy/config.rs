//! The proxy's configuration: one JSON file (documented in docs/guides/proxy.md),
//! secrets read from environment variables or files it names, never from the command
//! line or the file itself.

use crate::code::{Code, Problem};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Bytes of the configuration file, and of a secret or PEM file it names.
const MAX_FILE_BYTES: u64 = 1 << 20;

fn problem(message: impl Into<String>) -> Problem {
    Problem::new(Code::Request, message)
}

/// Where a secret is: an environment variable, or a file (its whole text but the
/// trailing line ends).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretSource {
    /// The environment variable that holds it.
    #[serde(default)]
    pub env: Option<String>,
    /// The file that holds it (trailing newline dropped).
    #[serde(default)]
    pub file: Option<PathBuf>,
}

impl SecretSource {
    fn read(&self, what: &str, base: &Path) -> Result<Zeroizing<String>, Problem> {
        let value = match (&self.env, &self.file) {
            (Some(var), None) => Zeroizing::new(
                std::env::var(var)
                    .map_err(|_| problem(format!("{what}: the environment variable {var} is not set")))?,
            ),
            (None, Some(file)) => {
                let text = Zeroizing::new(read_file(&base.join(file), what)?);
                Zeroizing::new(text.trim_end_matches(['\r', '\n']).to_string())
            }
            _ => return Err(problem(format!("{what}: name exactly one of env or file"))),
        };
        if value.is_empty() {
            return Err(problem(format!("{what} is empty")));
        }
        Ok(value)
    }
}

fn read_file(path: &Path, what: &str) -> Result<String, Problem> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| problem(format!("{what}: {}: {e}", path.display())))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(|e| problem(format!("{what}: {}: {e}", path.display())))?;
    if u64::try_from(text.len()).unwrap_or(u64::MAX) > MAX_FILE_BYTES {
        return Err(problem(format!("{what}: {} is larger than {MAX_FILE_BYTES} bytes", path.display())));
    }
    Ok(text)
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    listen: SocketAddr,
    #[serde(default)]
    tls: Option<TlsFile>,
    #[serde(default)]
    plain_http: bool,
    token: TokenFile,
    prefixes: Vec<PrefixFile>,
    keys: Vec<KeyFile>,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    vendor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TlsFile {
    certificate_file: PathBuf,
    key_file: PathBuf,
    #[serde(default)]
    client_ca_file: Option<PathBuf>,
    #[serde(default)]
    client_subjects: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokenFile {
    module: PathBuf,
    token_label: String,
    pin: SecretSource,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PrefixFile {
    uri_prefix: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    service: Option<String>,
    credentials: Vec<CredentialFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CredentialFile {
    access_key_id: String,
    secret_access_key: SecretSource,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyFile {
    external_key_id: String,
    label: String,
    #[serde(default = "both_usages")]
    usage: Vec<Usage>,
}

fn both_usages() -> Vec<Usage> {
    vec![Usage::Encrypt, Usage::Decrypt]
}

/// What a key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Usage {
    /// `ENCRYPT`.
    Encrypt,
    /// `DECRYPT`.
    Decrypt,
}

impl Usage {
    /// As the metadata answer writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Usage::Encrypt => "ENCRYPT",
            Usage::Decrypt => "DECRYPT",
        }
    }
}

/// The bounds of the server, each with a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Limits {
    /// Bytes of a request body.
    pub max_body_bytes: usize,
    /// Time a client has to send its request's headers (and to finish the TLS handshake).
    pub header_timeout_ms: u64,
    /// Open connections; past it, a new one is closed at once.
    pub max_connections: usize,
    /// Operations on the token at once; past it, `ThrottlingException`.
    pub max_concurrent_operations: usize,
    /// Time an operation may take on the token before `DependencyTimeoutException`.
    pub operation_timeout_ms: u64,
    /// Age of a deep health check's result that is still reused (at most 60 s).
    pub health_cache_ms: u64,
    /// Time requests in flight get to finish after SIGTERM.
    pub shutdown_grace_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 << 10,
            header_timeout_ms: 5_000,
            max_connections: 4_096,
            max_concurrent_operations: 256,
            operation_timeout_ms: 2_000,
            health_cache_ms: 10_000,
            shutdown_grace_ms: 10_000,
        }
    }
}

/// One SigV4 credential.
pub struct Credential {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret: Zeroizing<String>,
}

/// One URI prefix: its path and the credentials that may call under it.
pub struct Prefix {
    /// `/example/prefix` (may be empty), before `/kms/xks/v1`.
    pub uri_prefix: String,
    /// The only region a signature may name, when set.
    pub region: Option<String>,
    /// The SigV4 service (`kms-xks-proxy` unless set).
    pub service: String,
    /// One or two (for rotation) credentials.
    pub credentials: Vec<Credential>,
}

/// One external key: its id at the API, its label on the token, its usages.
#[derive(Debug, Clone)]
pub struct Key {
    /// The externalKeyId of the URL.
    pub external_key_id: String,
    /// The `CKA_LABEL` of the AES-256 key on the token.
    pub label: String,
    /// What it may be used for.
    pub usage: Vec<Usage>,
}

pub use crate::serving::Tls;

/// The configuration, checked, with its secrets read.
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// TLS, or `None` for plain HTTP (loopback only, and only when asked for).
    pub tls: Option<Tls>,
    /// The PKCS#11 module, token label and user PIN.
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// The token's user PIN.
    pub pin: Zeroizing<String>,
    /// The prefixes.
    pub prefixes: Vec<Prefix>,
    /// The keys.
    pub keys: Vec<Key>,
    /// The bounds.
    pub limits: Limits,
    /// The vendor name health reports.
    pub vendor: String,
}

fn external_id_ok(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

fn prefix_ok(prefix: &str) -> bool {
    let chars = prefix.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_'));
    // The specification: the whole path, `/kms/xks/v1` included, is at most 128 characters.
    chars && (prefix.is_empty() || prefix.starts_with('/')) && !prefix.ends_with('/') && prefix.len() <= 117
}

impl Config {
    /// Reads and checks the file at `path`; relative paths in it are relative to its
    /// directory.
    pub fn load(path: &Path) -> Result<Config, Problem> {
        let text = read_file(path, "the configuration")?;
        let mut de = serde_json::Deserializer::from_str(&text);
        let file: File = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| problem(format!("{}: at {}: {}", path.display(), e.path(), e.inner())))?;
        Config::from_file(file, path.parent().unwrap_or(Path::new(".")))
    }

    fn from_file(file: File, base: &Path) -> Result<Config, Problem> {
        let tls = match (&file.tls, file.plain_http) {
            (Some(_), true) => return Err(problem("tls and plainHttp: choose one")),
            (None, false) => {
                return Err(problem("tls is required (plainHttp: true serves HTTP on a loopback address)"))
            }
            (None, true) if !file.listen.ip().is_loopback() => {
                return Err(problem("plainHttp is only allowed on a loopback address"))
            }
            (None, true) => None,
            (Some(tls), false) if tls.client_ca_file.is_none() && !tls.client_subjects.is_empty() => {
                return Err(problem("tls.clientSubjects needs tls.clientCaFile"))
            }
            (Some(tls), false) => Some(Tls {
                certificates: read_file(&base.join(&tls.certificate_file), "tls.certificateFile")?.into_bytes(),
                key: Zeroizing::new(read_file(&base.join(&tls.key_file), "tls.keyFile")?.into_bytes()),
                client_ca: match &tls.client_ca_file {
                    Some(f) => Some(read_file(&base.join(f), "tls.clientCaFile")?.into_bytes()),
                    None => None,
                },
                client_subjects: tls.client_subjects.clone(),
            }),
        };
        if file.prefixes.is_empty() {
            return Err(problem("prefixes: configure at least one"));
        }
        let mut prefixes = Vec::new();
        for (i, p) in file.prefixes.into_iter().enumerate() {
            if !prefix_ok(&p.uri_prefix) || prefixes.iter().any(|q: &Prefix| q.uri_prefix == p.uri_prefix) {
                return Err(problem(format!(
                    "prefixes/{i}/uriPrefix: /a/path of letters, digits, - and _, unique, at most 117 characters"
                )));
            }
            if !(1..=2).contains(&p.credentials.len()) {
                return Err(problem(format!("prefixes/{i}/credentials: one, or two while rotating")));
            }
            let mut credentials = Vec::new();
            for (j, c) in p.credentials.into_iter().enumerate() {
                let what = format!("prefixes/{i}/credentials/{j}/secretAccessKey");
                if c.access_key_id.is_empty()
                    || credentials.iter().any(|d: &Credential| d.access_key_id == c.access_key_id)
                {
                    return Err(problem(format!("prefixes/{i}/credentials/{j}/accessKeyId: required, unique")));
                }
                credentials.push(Credential {
                    secret: c.secret_access_key.read(&what, base)?,
                    access_key_id: c.access_key_id,
                });
            }
            prefixes.push(Prefix {
                uri_prefix: p.uri_prefix,
                region: p.region,
                service: p.service.unwrap_or_else(|| "kms-xks-proxy".into()),
                credentials,
            });
        }
        let mut keys: Vec<Key> = Vec::new();
        for (i, k) in file.keys.into_iter().enumerate() {
            if !external_id_ok(&k.external_key_id) || keys.iter().any(|e| e.external_key_id == k.external_key_id) {
                return Err(problem(format!("keys/{i}/externalKeyId: 1 to 128 of A-Z a-z 0-9 . - _, unique")));
            }
            // A key with no usage may be configured: its metadata says so, and every
            // operation with it is refused as the specification says.
            if k.label.is_empty() {
                return Err(problem(format!("keys/{i}: a label is required")));
            }
            keys.push(Key { external_key_id: k.external_key_id, label: k.label, usage: k.usage });
        }
        let limits = file.limits;
        if limits.max_body_bytes < 32 << 10 || limits.health_cache_ms > 60_000 || limits.max_concurrent_operations == 0
        {
            return Err(problem(
                "limits: maxBodyBytes at least 32768 (the API's largest request), healthCacheMs at most 60000, maxConcurrentOperations at least 1",
            ));
        }
        Ok(Config {
            listen: file.listen,
            tls,
            module: base.join(&file.token.module),
            pin: file.token.pin.read("token.pin", base)?,
            token_label: file.token.token_label,
            prefixes,
            keys,
            limits,
            vendor: file.vendor.unwrap_or_else(|| "kms-instance".into()),
        })
    }
}
