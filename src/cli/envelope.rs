//! `kms-instance encrypt`, `decrypt` and `pkcs11`: envelope encryption with the master
//! keys in a keyring file or on a PKCS#11 token.

use super::io::{read_pin, read_text, write_stdout, Fatal};
use super::keyring::Aliases;
use super::streaming::{self, Input, Output};
use clap::{Args, Subcommand, ValueEnum};
use kms_instance::envelope::message::{MAX_BODY_BYTES, MAX_HEADER_BYTES};
use kms_instance::envelope::stream_io::{self, OpenReader, SealWriter};
use kms_instance::envelope::{self, Algorithm, EncryptionContext, KeyArn, KeyProvider};
use kms_instance::Code;
use std::io::Read;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum Pkcs11Command {
    /// Generate an AES master key on the token, labelled with the ARN's key id.
    GenerateKey {
        #[command(flatten)]
        token: TokenArgs,
        /// The key's ARN: its key id is the token label.
        #[arg(long = "key", value_name = "ARN")]
        arn: String,
        /// The key's size (the envelope and the XKS API use 256).
        #[arg(long, value_name = "BITS", default_value = "256", value_parser = ["128", "192", "256"])]
        bits: String,
        /// What the token lets the key do: `encrypt`, `decrypt` (both by default), or `none`.
        #[arg(long, value_name = "USAGE", value_delimiter = ',', default_values = ["encrypt", "decrypt"], value_parser = ["encrypt", "decrypt", "none"])]
        usage: Vec<String>,
    },
}

/// Where the master keys are: a keyring file, a PKCS#11 token, an XKS proxy (any of
/// them together: each key is looked for in that order).
#[derive(Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("master_keys").required(true).multiple(true).args(["keyring", "pkcs11_module", "xks", "kms_endpoint"])))]
pub struct KeySource {
    /// A keyring file (`kms-instance keyring new` makes one): {"keys": [{"arn":
    /// "acs:kms:…:key/…", "material": "<base64 of 32 bytes>", "aliases": ["alias/…"]}]}.
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
    /// A PKCS#11 module (keys found by label: the ARN's key id).
    #[arg(long, value_name = "PATH", requires = "token_label", requires = "pin_env")]
    pkcs11_module: Option<PathBuf>,
    /// The label of the token that holds the keys.
    #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
    pub token_label: Option<String>,
    /// The environment variable holding the token's user PIN.
    #[arg(long, value_name = "VAR", requires = "pkcs11_module")]
    pub pin_env: Option<String>,
    /// An XKS proxy provider file: {"proxy": {"endpoint", "uriPrefix", "accessKeyId",
    /// "principal", "keys", …}, "trust": "systemRoots" | {"caFile"} | {"fingerprint"}}.
    #[arg(long, value_name = "FILE", requires = "xks_secret_env")]
    pub xks: Option<PathBuf>,
    /// The environment variable holding the proxy credential's secret access key.
    #[arg(long, value_name = "VAR", requires = "xks")]
    pub xks_secret_env: Option<String>,
    /// Alibaba Cloud KMS (or `kms-instance serve`): `https://kms.<region>.aliyuncs.com`,
    /// a KMS instance's endpoint, or `http://127.0.0.1:PORT`. Any key of the region opens.
    #[arg(long, value_name = "URL", requires = "kms_region", requires = "kms_access_key_id")]
    pub kms_endpoint: Option<String>,
    /// The region of the KMS endpoint and its keys.
    #[arg(long, value_name = "REGION", requires = "kms_endpoint")]
    pub kms_region: Option<String>,
    /// The AccessKey id that signs the KMS requests.
    #[arg(long, value_name = "ID", requires = "kms_endpoint")]
    pub kms_access_key_id: Option<String>,
    /// The environment variable holding the AccessKey secret.
    #[arg(long, value_name = "VAR", default_value = "ALIBABA_CLOUD_ACCESS_KEY_SECRET")]
    pub kms_secret_env: String,
    /// The CA certificate (PEM) of a KMS instance's endpoint, instead of the system's roots.
    #[arg(long, value_name = "FILE", requires = "kms_endpoint")]
    pub kms_ca_file: Option<PathBuf>,
    /// The signature of the KMS requests: v3 (ACS3-HMAC-SHA256) or v1 (HMAC-SHA1).
    #[arg(long, value_name = "VERSION", default_value = "v3", value_parser = ["v3", "v1"])]
    pub kms_signature: String,
}

#[derive(Args)]
pub struct TokenArgs {
    /// The PKCS#11 module (a shared library), such as /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long, value_name = "PATH")]
    pkcs11_module: PathBuf,
    /// The label of the token to make the key on.
    #[arg(long, value_name = "LABEL")]
    pub token_label: String,
    /// The environment variable holding the token's user PIN.
    #[arg(long, value_name = "VAR")]
    pub pin_env: String,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AlgorithmArg {
    #[value(name = "aes-gcm-128")]
    AesGcm128,
    #[value(name = "aes-gcm-256")]
    AesGcm256,
    #[value(name = "sm4-gcm-128")]
    Sm4Gcm128,
}

fn parse_context(entries: &[String], flag: &str) -> Result<EncryptionContext, Fatal> {
    let mut context = EncryptionContext::new();
    for entry in entries {
        let (k, v) = entry.split_once('=').ok_or_else(|| Fatal(format!("{flag} {entry:?}: expected KEY=VALUE")))?;
        if k.is_empty() || context.insert(k.to_string(), v.to_string()).is_some() {
            return Err(Fatal(format!("{flag} {entry:?}: the key is empty or given twice")));
        }
    }
    Ok(context)
}

/// Standard input, refused past what one message can hold (the body and its header).
/// The most a message (or a plaintext to seal) can be.
const MESSAGE_LIMIT: usize = MAX_BODY_BYTES.saturating_add(MAX_HEADER_BYTES);

#[cfg(feature = "pkcs11")]
fn open_token(
    module: &std::path::Path,
    label: &str,
    pin_env: &str,
) -> Result<kms_instance::key_providers::pkcs11::Pkcs11KeyProvider, Fatal> {
    let pin = read_pin(pin_env)?;
    Ok(kms_instance::key_providers::pkcs11::Pkcs11KeyProvider::open(module, label, &pin)?)
}

#[cfg(not(feature = "pkcs11"))]
fn open_token(
    _: &std::path::Path,
    _: &str,
    pin_env: &str,
) -> Result<kms_instance::key_providers::software::SoftwareKeyProvider, Fatal> {
    read_pin(pin_env)?;
    Err(Fatal("this build has no PKCS#11 support (feature pkcs11)".into()))
}

/// The key providers the options name, and the aliases a keyring gives its keys.
fn key_providers(keys: &KeySource) -> Result<(Vec<Box<dyn KeyProvider>>, Aliases), Fatal> {
    let mut providers: Vec<Box<dyn KeyProvider>> = Vec::new();
    let mut aliases = Vec::new();
    if let Some(file) = &keys.keyring {
        let keyring = super::keyring::open(&file.to_string_lossy())?;
        providers.push(Box::new(keyring.provider));
        aliases = keyring.aliases;
    }
    if let (Some(module), Some(label), Some(pin_env)) = (&keys.pkcs11_module, &keys.token_label, &keys.pin_env) {
        providers.push(Box::new(open_token(module, label, pin_env)?));
    }
    if let (Some(file), Some(secret_env)) = (&keys.xks, &keys.xks_secret_env) {
        providers.push(Box::new(open_proxy(file, secret_env)?));
    }
    if let (Some(endpoint), Some(region), Some(id)) = (&keys.kms_endpoint, &keys.kms_region, &keys.kms_access_key_id) {
        providers.push(Box::new(open_kms(keys, endpoint, region, id)?));
    }
    if providers.is_empty() {
        return Err(Fatal(
            "name a --keyring, a --pkcs11-module with --token-label and --pin-env, --xks, or --kms-endpoint".into(),
        ));
    }
    Ok((providers, aliases))
}

#[cfg(feature = "kms")]
fn open_kms(keys: &KeySource, endpoint: &str, region: &str, id: &str) -> Result<impl KeyProvider, Fatal> {
    use kms_instance::key_providers::kms::{KmsKeyProvider, KmsSettings, Signature};
    use kms_instance::key_providers::xks::native::{NativeTransport, Trust};
    let secret = std::env::var(&keys.kms_secret_env)
        .map(zeroize::Zeroizing::new)
        .map_err(|_| Fatal(format!("--kms-secret-env {}: the variable is not set", keys.kms_secret_env)))?;
    let trust = match &keys.kms_ca_file {
        Some(file) => Trust::Ca(read_text(&file.to_string_lossy(), 1 << 20, Code::Keyring)?.into_bytes()),
        None => Trust::SystemRoots,
    };
    let settings = KmsSettings {
        endpoint: endpoint.to_string(),
        region: region.to_string(),
        access_key_id: id.to_string(),
        security_token: None,
        keys: Vec::new(),
        signature: if keys.kms_signature == "v1" { Signature::V1 } else { Signature::V3 },
        timeout_ms: None,
    };
    Ok(KmsKeyProvider::new(settings, secret, Box::new(NativeTransport::new(&trust, None)?))?)
}

#[cfg(not(feature = "kms"))]
fn open_kms(
    _: &KeySource,
    _: &str,
    _: &str,
    _: &str,
) -> Result<kms_instance::key_providers::software::SoftwareKeyProvider, Fatal> {
    Err(Fatal("this build has no KMS support (feature kms)".into()))
}

#[cfg(feature = "xks")]
fn open_proxy(file: &std::path::Path, secret_env: &str) -> Result<impl KeyProvider, Fatal> {
    super::xks::open_bridge(file, secret_env)
}

#[cfg(not(feature = "xks"))]
fn open_proxy(
    _: &std::path::Path,
    _: &str,
) -> Result<kms_instance::key_providers::software::SoftwareKeyProvider, Fatal> {
    Err(Fatal("this build has no XKS proxy support (feature xks)".into()))
}

/// Where `encrypt`, `decrypt` and `inspect` read and write.
#[derive(Args)]
pub struct Files {
    /// The input file; `-` or nothing reads standard input.
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: String,
    /// Where the result goes; `-` or nothing writes standard output.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: String,
}

/// A key named by its ARN, by an alias the keyring gives it, or by its key id (`key-…`)
/// when exactly one key the providers list has it (a keyring's keys are listed; a
/// token's are not: name those by ARN).
fn resolve_key(given: &str, listed: &[KeyArn], aliases: &Aliases) -> Result<KeyArn, Fatal> {
    let refused = |why: String| Fatal(format!("--key {given:?}: {}", kms_instance::Problem::new(Code::KeyId, why)));
    // The first ten names of a list, or what to say when there are none.
    let first_ten = |names: Vec<&str>, none: &str| {
        if names.is_empty() {
            none.to_string()
        } else {
            names.into_iter().take(10).collect::<Vec<_>>().join(", ")
        }
    };
    if given.starts_with("acs:") {
        return given.parse::<KeyArn>().map_err(|p| Fatal(format!("--key {given:?}: {p}")));
    }
    if given.starts_with("alias/") {
        return match aliases.iter().find(|(alias, _)| alias == given) {
            Some((_, arn)) => Ok(arn.clone()),
            None => {
                let known = first_ten(aliases.iter().map(|(a, _)| a.as_str()).collect(), "none");
                Err(refused(format!("no key of the keyring has that alias (aliases: {known})")))
            }
        };
    }
    let found: Vec<&KeyArn> = listed.iter().filter(|a| a.key_id() == given).collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let ids = first_ten(listed.iter().map(KeyArn::key_id).collect(), "none; name the key by its ARN");
            Err(refused(format!("not an ARN, and no listed key has that key id (listed: {ids})")))
        }
        _ => Err(refused("several listed keys have that key id; name it by its ARN".into())),
    }
}

pub fn encrypt(
    keys: &KeySource,
    arns: &[String],
    context: &[String],
    algorithm: AlgorithmArg,
    size: Option<u64>,
    files: &Files,
    force: bool,
) -> Result<ExitCode, Fatal> {
    // The arguments first: a bad one is said before a provider is opened (a PIN given).
    let context = parse_context(context, "--context")?;
    let (providers, aliases) = key_providers(keys)?;
    let providers: Vec<&dyn KeyProvider> = providers.iter().map(|p| p.as_ref()).collect();
    let listed = envelope::listed_keys(&providers);
    let arns = arns.iter().map(|a| resolve_key(a, &listed, &aliases)).collect::<Result<Vec<_>, _>>()?;
    let options = envelope::EncryptOptions {
        context,
        algorithm: match algorithm {
            AlgorithmArg::AesGcm128 => Algorithm::AesGcm128,
            AlgorithmArg::AesGcm256 => Algorithm::AesGcm256,
            AlgorithmArg::Sm4Gcm128 => Algorithm::Sm4Gcm128,
        },
        cache: None,
    };
    // The package's rule too: no key named, the keys the providers list.
    let arns = if arns.is_empty() { listed } else { arns };
    // A file's length is known, and a pipe's when --size gives it: sealed as a stream,
    // in constant memory. A pipe of unknown length is read whole, as far as a message holds.
    let input = Input::open(&files.input)?;
    let name = input.name().to_string();
    let (mut source, len): (Box<dyn Read>, u64) = match (input, size) {
        (Input::File { file, len, .. }, None) => (Box::new(file), len),
        (Input::File { file, len, .. }, Some(size)) if size == len => (Box::new(file), len),
        (Input::File { len, .. }, Some(size)) => {
            return Err(Fatal(format!("--size {size}: {name} is {len} bytes (a file's length is known)")))
        }
        (Input::Pipe(pipe, _), Some(len)) => (pipe, len),
        (Input::Pipe(pipe, _), None) => {
            let mut plaintext = Vec::new();
            let limit = u64::try_from(MESSAGE_LIMIT).unwrap_or(u64::MAX);
            pipe.take(limit.saturating_add(1))
                .read_to_end(&mut plaintext)
                .map_err(|e| Fatal(format!("{name}: {e}")))?;
            if plaintext.len() > MESSAGE_LIMIT {
                return Err(Fatal(format!(
                    "{name} is larger than a message read whole can hold ({MESSAGE_LIMIT} bytes): give its length with --size"
                )));
            }
            let message = pollster::block_on(envelope::encrypt(&providers, &arns, &plaintext, &options))?;
            let mut out = Output::create(&files.output, true, force)?;
            out.write_all(&message).map_err(|e| Fatal(format!("{}: {e}", files.output)))?;
            out.finish()?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let sealing = pollster::block_on(envelope::stream::begin_seal_stream(&providers, &arns, len, &options))?;
    let mut out = Output::create(&files.output, true, force)?;
    let mut writer = SealWriter::new(sealing, &mut out).map_err(|e| failed(e, &files.output))?;
    // One byte past the length given is read, so a longer input is refused.
    streaming::copy(&mut source.as_mut().take(len.saturating_add(1)), &mut writer, len).map_err(|f| match f {
        streaming::Failed::Read(e) => failed(e, &name),
        streaming::Failed::Write(e) => failed(e, &files.output),
    })?;
    writer.finish().map_err(|e| failed(e, &files.output))?;
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// An I/O error of a stream: the problem it carries, or the I/O failure of `name`.
fn failed(e: std::io::Error, name: &str) -> Fatal {
    match stream_io::problem_of(&e) {
        Some(p) => Fatal(p.to_string()),
        None => Fatal(format!("{name}: {e}")),
    }
}

/// A reader that keeps what it gave: a message's head, read from a pipe, is still there
/// if the message must be read whole after all (a legacy algorithm).
struct Kept<R: Read> {
    inner: R,
    kept: Vec<u8>,
}

impl<R: Read> Read for Kept<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.kept.extend_from_slice(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

pub fn decrypt(
    keys: &KeySource,
    require_context: &[String],
    allow_legacy: bool,
    unverified: bool,
    files: &Files,
) -> Result<ExitCode, Fatal> {
    let options = envelope::DecryptOptions {
        require_context: parse_context(require_context, "--require-context")?,
        allow_legacy_algorithms: allow_legacy,
    };
    let (providers, _) = key_providers(keys)?;
    let providers: Vec<&dyn KeyProvider> = providers.iter().map(|p| p.as_ref()).collect();
    let refused = |p: kms_instance::Problem| {
        if p.code.is_invalid_ciphertext() {
            let _ = writeln!(std::io::stderr(), "kms-instance: {p}");
            Ok(ExitCode::from(1))
        } else {
            Err(Fatal::from(p))
        }
    };
    let input = Input::open(&files.input)?;
    let name = input.name().to_string();
    let mut source = Kept { inner: input, kept: Vec::new() };
    let head = match stream_io::read_head(&mut source).map_err(|e| stream_io::problem_of(&e).cloned().ok_or(e)) {
        Ok(head) => head,
        Err(Err(e)) => return Err(Fatal(format!("{name}: {e}"))),
        // A legacy message opens whole, when allowed: the head read so far and the rest.
        Err(Ok(p)) if p.code == Code::LegacyAlgorithm && allow_legacy => {
            let mut message = std::mem::take(&mut source.kept);
            let limit = u64::try_from(MESSAGE_LIMIT).unwrap_or(u64::MAX);
            source.inner.take(limit).read_to_end(&mut message).map_err(|e| Fatal(format!("{name}: {e}")))?;
            return match pollster::block_on(envelope::decrypt(&providers, &message, &options)) {
                Ok(opened) => {
                    let mut out = Output::create(&files.output, false, false)?;
                    out.write_all(&opened.plaintext).map_err(|e| Fatal(format!("{}: {e}", files.output)))?;
                    out.finish().map(|()| ExitCode::SUCCESS)
                }
                Err(p) => refused(p),
            };
        }
        Err(Ok(p)) => return refused(p),
    };
    // A pipe to verify first is held in memory: one too large is refused before a key is asked.
    if let (Input::Pipe(..), false) = (&source.inner, unverified) {
        let limit = u64::try_from(MESSAGE_LIMIT).unwrap_or(u64::MAX);
        if let Err(p) = envelope::stream::held_within(head.ciphertext_len, limit) {
            return Err(p.into());
        }
    }
    let opening = match pollster::block_on(envelope::stream::begin_open_stream(&providers, head, &options)) {
        Ok(opening) => opening,
        Err(p) => return refused(p),
    };
    let total = opening.length();
    // A file is verified in a first pass and opened in a second; a pipe is read into
    // memory to be verified first, unless --unverified.
    let reader: std::io::Result<Box<dyn Read>> = match (source.inner, unverified) {
        (Input::File { file, .. }, false) => OpenReader::verified(opening, file).map(|r| Box::new(r) as Box<dyn Read>),
        (Input::File { file, .. }, true) => OpenReader::unverified(opening, file).map(|r| Box::new(r) as Box<dyn Read>),
        (Input::Pipe(pipe, _), true) => OpenReader::unverified(opening, pipe).map(|r| Box::new(r) as Box<dyn Read>),
        (Input::Pipe(pipe, _), false) => {
            let limit = u64::try_from(MESSAGE_LIMIT).unwrap_or(u64::MAX);
            OpenReader::buffered(opening, pipe, limit).map(|r| Box::new(r) as Box<dyn Read>)
        }
    };
    // What did not open is refused (exit status 1); what failed otherwise, by its side.
    let read_failed = |e: std::io::Error| match stream_io::problem_of(&e) {
        Some(p) => refused(p.clone()),
        None => Err(Fatal(format!("{name}: {e}"))),
    };
    let mut reader = match reader {
        Ok(reader) => reader,
        Err(e) => return read_failed(e),
    };
    let mut out = Output::create(&files.output, false, false)?;
    match streaming::copy(reader.as_mut(), &mut out, total) {
        Ok(_) => out.finish().map(|()| ExitCode::SUCCESS),
        Err(streaming::Failed::Read(e)) => read_failed(e),
        Err(streaming::Failed::Write(e)) => Err(Fatal(format!("{}: {e}", files.output))),
    }
}

pub fn inspect(input: &str) -> Result<ExitCode, Fatal> {
    use std::io::{Seek, SeekFrom};
    let refused = |p: kms_instance::Problem| {
        let _ = writeln!(std::io::stderr(), "kms-instance: {p}");
        Ok(ExitCode::from(1))
    };
    let input = Input::open(input)?;
    let name = input.name().to_string();
    let fail = |e: std::io::Error| Fatal(format!("{name}: {e}"));
    let mut source = Kept { inner: input, kept: Vec::new() };
    let summary = match stream_io::read_head(&mut source).map_err(|e| stream_io::problem_of(&e).cloned().ok_or(e)) {
        // Its head, its length and its last bytes: a message of any size, its body unread.
        Ok(head) => {
            let head_len = u64::try_from(head.len).unwrap_or(u64::MAX);
            let mut tail = Vec::new();
            let len = match &mut source.inner {
                Input::File { file, len, .. } => {
                    if let Some(at) =
                        len.checked_sub(envelope::message::TAG_TLV_LEN as u64).filter(|at| *at >= head_len)
                    {
                        file.seek(SeekFrom::Start(at)).map_err(fail)?;
                        file.read_to_end(&mut tail).map_err(fail)?;
                    }
                    *len
                }
                Input::Pipe(pipe, _) => {
                    // Counted as it passes; only the last bytes are kept.
                    let (mut count, mut piece) = (head_len, vec![0u8; stream_io::PIECE_BYTES]);
                    loop {
                        let n = pipe.read(&mut piece).map_err(fail)?;
                        if n == 0 {
                            break count;
                        }
                        count = count.saturating_add(n as u64);
                        tail.extend_from_slice(piece.get(..n).unwrap_or_default());
                        let drop = tail.len().saturating_sub(envelope::message::TAG_TLV_LEN);
                        tail.drain(..drop);
                    }
                }
            };
            head.summary(len, &tail)
        }
        Err(Err(e)) => return Err(fail(e)),
        // A legacy message (no body tag) is summarised whole, as far as one message holds.
        Err(Ok(p)) if p.code == Code::LegacyAlgorithm => {
            let mut message = std::mem::take(&mut source.kept);
            let limit = u64::try_from(MESSAGE_LIMIT).unwrap_or(u64::MAX);
            source.inner.take(limit).read_to_end(&mut message).map_err(fail)?;
            let tail = message.get(message.len().saturating_sub(envelope::message::TAG_LEN + 2)..).unwrap_or_default();
            envelope::message::summarize(&message, message.len(), tail)
        }
        Err(Ok(p)) => Err(p),
    };
    match summary {
        Ok(summary) => {
            let json = serde_json::to_string_pretty(&summary).map_err(|e| Fatal(e.to_string()))? + "\n";
            write_stdout(json.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(p) => refused(p),
    }
}

#[cfg(feature = "pkcs11")]
pub fn generate_key(token: &TokenArgs, arn: &str, bits: &str, usage: &[String]) -> Result<ExitCode, Fatal> {
    use kms_instance::key_providers::pkcs11::KeyFacts;
    let arn: KeyArn = arn.parse()?;
    let provider = open_token(&token.pkcs11_module, &token.token_label, &token.pin_env)?;
    let allows = |u: &str| usage.iter().any(|given| given == u);
    let bytes = bits.parse::<u64>().unwrap_or(0) / 8;
    let spec = KeyFacts { aes: true, bytes, encrypt: allows("encrypt"), decrypt: allows("decrypt") };
    provider.generate_key(&arn, spec)?;
    let line =
        format!("generated an AES-{bits} master key labelled {:?} on token {:?}\n", arn.key_id(), token.token_label);
    write_stdout(line.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "pkcs11"))]
pub fn generate_key(token: &TokenArgs, _: &str, _: &str, _: &[String]) -> Result<ExitCode, Fatal> {
    open_token(&token.pkcs11_module, &token.token_label, &token.pin_env).map(|_| ExitCode::SUCCESS)
}
