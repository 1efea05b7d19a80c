//! `kms-instance`: run change plans and validate inputs from the command line.
//!
//! Exit status: 0 when everything matched or was valid, 1 when a plan did not match
//! or an input is invalid, 2 when the command itself could not run (a missing file,
//! a malformed plan, a bad argument, a closed standard output), with a one-line reason
//! on standard error. Nothing here can panic: the lints below are the library's.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use clap::{Args, Parser, Subcommand, ValueEnum};
use kms_instance::bind_vpcs::{self, Context, Report};
use kms_instance::bridge::software::SoftwareBridge;
use kms_instance::bridge::HsmBridge;
use kms_instance::envelope::message::{MAX_BODY_BYTES, MAX_HEADER_BYTES};
use kms_instance::envelope::{self, Algorithm, EncryptionContext, KeyArn};
use kms_instance::limits::{MAX_BIND_VPCS_BYTES, MAX_DOCUMENT_BYTES, MAX_KEYRING_BYTES};
use kms_instance::names::{self, NameKind};
use kms_instance::plan::{self, PlanResult};
use kms_instance::{Code, Problem};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kms-instance",
    version,
    about = "The rules of an Alibaba Cloud KMS instance: simulate change plans, validate inputs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run change plans (SCENARIOS.md) and report each step against what it expects.
    Plan {
        /// Plan files (JSON).
        #[arg(required = true)]
        files: Vec<String>,
        /// Print the results as JSON, one array of plan results.
        #[arg(long)]
        json: bool,
    },
    /// Validate an input the way the service does.
    #[command(subcommand)]
    Validate(Validate),
    /// Seal standard input into an envelope (the Encryption SDK's message format).
    Encrypt {
        #[command(flatten)]
        keys: KeySource,
        /// A master key ARN; the first generates the data key, each other one gets a copy.
        #[arg(long = "key", value_name = "ARN", required = true)]
        arns: Vec<String>,
        /// An encryption context entry, bound to the message.
        #[arg(long = "context", value_name = "KEY=VALUE")]
        context: Vec<String>,
        #[arg(long, value_enum, default_value_t = AlgorithmArg::AesGcm256)]
        algorithm: AlgorithmArg,
    },
    /// Open an envelope read from standard input.
    Decrypt {
        #[command(flatten)]
        keys: KeySource,
        /// A context entry the message must carry with this value.
        #[arg(long = "require-context", value_name = "KEY=VALUE")]
        require_context: Vec<String>,
    },
    /// Manage master keys on a PKCS#11 token.
    #[command(subcommand)]
    Pkcs11(Pkcs11Command),
}

#[derive(Subcommand)]
enum Pkcs11Command {
    /// Generate an AES-256 master key on the token, labelled with the ARN's key id.
    GenerateKey {
        #[command(flatten)]
        token: TokenArgs,
        #[arg(long = "key", value_name = "ARN")]
        arn: String,
    },
}

/// Where the master keys are: a keyring file, or a PKCS#11 token.
#[derive(Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("master_keys").required(true).args(["keyring", "pkcs11_module"])))]
struct KeySource {
    /// A keyring file: {"keys": [{"arn": "acs:kms:…:key/…", "material": "<base64 of 32 bytes>"}]}.
    #[arg(long, value_name = "FILE")]
    keyring: Option<PathBuf>,
    /// A PKCS#11 module (keys found by label: the ARN's key id).
    #[arg(long, value_name = "PATH", requires = "token_label", requires = "pin_env")]
    pkcs11_module: Option<PathBuf>,
    #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
    token_label: Option<String>,
    /// The environment variable holding the token's user PIN.
    #[arg(long, value_name = "VAR", requires = "pkcs11_module")]
    pin_env: Option<String>,
}

#[derive(Args)]
struct TokenArgs {
    #[arg(long, value_name = "PATH")]
    pkcs11_module: PathBuf,
    #[arg(long, value_name = "LABEL")]
    token_label: String,
    /// The environment variable holding the token's user PIN.
    #[arg(long, value_name = "VAR")]
    pin_env: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum AlgorithmArg {
    #[value(name = "aes-gcm-128")]
    AesGcm128,
    #[value(name = "aes-gcm-256")]
    AesGcm256,
}

#[derive(Subcommand)]
enum Validate {
    /// Validate the BindVpcs JSON of UpdateKmsInstanceBindVpc; every problem is reported.
    BindVpcs {
        /// The instance's region (R-BV-4).
        #[arg(long)]
        region: String,
        /// The instance owner's account id: cross-account VPCs are flagged (R-BV-8).
        #[arg(long)]
        owner: Option<String>,
        /// The instance's own VPC, which cannot be listed (R-BV-6).
        #[arg(long)]
        primary_vpc: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The file holding the JSON; `-` or nothing reads standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Validate an identifier or a name (RULES.md section 1).
    Name {
        /// What the value is.
        #[arg(value_enum)]
        kind: NameKind,
        value: String,
    },
}

/// A failure of the command itself: reported in one line, exit status 2.
struct Fatal(String);

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    let result = match cli.command {
        Command::Plan { files, json } => run_plans(&files, json),
        Command::Validate(Validate::BindVpcs { region, owner, primary_vpc, json, file }) => {
            validate_bind_vpcs(Context { region: Some(region), owner, primary_vpc, ..Context::default() }, &file, json)
        }
        Command::Validate(Validate::Name { kind, value }) => validate_name(kind, &value),
        Command::Encrypt { keys, arns, context, algorithm } => encrypt(&keys, &arns, &context, algorithm),
        Command::Decrypt { keys, require_context } => decrypt(&keys, &require_context),
        Command::Pkcs11(Pkcs11Command::GenerateKey { token, arn }) => generate_key(&token, &arn),
    };
    result.unwrap_or_else(|Fatal(message)| fail(&format!("kms-instance: {message}")))
}

/// The one line a failure prints on standard error (ignoring a closed standard error:
/// there is nowhere left to say it), exit status 2.
fn fail(line: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "{}", line.lines().next().unwrap_or_default());
    ExitCode::from(2)
}

/// Help and version go to standard output (exit 0); an argument error is clap's first
/// line (`error: …`) and a pointer to `--help` (exit 2).
fn usage(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => match write_stdout(e.render().to_string().as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(Fatal(message)) => fail(&format!("kms-instance: {message}")),
        },
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => fail("error: name a command (see kms-instance --help)"),
        _ => {
            let text = e.render().to_string();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("error: invalid arguments");
            fail(&format!("{first} (see kms-instance --help)"))
        }
    }
}

impl From<Problem> for Fatal {
    fn from(p: Problem) -> Self {
        Fatal(p.to_string())
    }
}

/// A file (`-`: standard input), at most `limit` bytes: one byte more is read, so the
/// caller can tell an input at the limit from one past it.
fn read_bytes(file: &str, limit: usize) -> Result<Vec<u8>, Fatal> {
    let name = if file == "-" { "standard input" } else { file };
    let take = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin().take(take).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(take).read_to_end(&mut bytes))
    };
    read.map_err(|e| Fatal(format!("{name}: {e}")))?;
    Ok(bytes)
}

/// A text file of at most `limit` bytes; text that is not UTF-8 is reported as `code`
/// (the kind of document the file should hold).
fn read_text(file: &str, limit: usize, code: Code) -> Result<String, Fatal> {
    let name = if file == "-" { "standard input" } else { file };
    let bytes = read_bytes(file, limit)?;
    if bytes.len() > limit {
        let problem = kms_instance::limits::too_large("the file (bytes)", bytes.len(), limit);
        return Err(Fatal(format!("{name}: {problem}")));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Fatal(format!("{name}: {}", Problem::new(code, format!("the file is not UTF-8 text (byte {at})"))))
    })
}

fn run_plans(files: &[String], json: bool) -> Result<ExitCode, Fatal> {
    // Every file is read and parsed before any runs: a malformed one stops all (exit 2).
    let plans = files
        .iter()
        .map(|f| {
            let text = read_text(f, MAX_DOCUMENT_BYTES, Code::Plan)?;
            plan::Plan::from_json(&text).map(|p| (f, p)).map_err(|e| Fatal(format!("{f}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let results: Vec<(&String, PlanResult)> = plans.iter().map(|(f, p)| (*f, p.run())).collect();
    let mut out = String::new();
    if json {
        let all: Vec<&PlanResult> = results.iter().map(|(_, r)| r).collect();
        out = serde_json::to_string_pretty(&all).map_err(|e| Fatal(e.to_string()))? + "\n";
    } else {
        for (file, result) in &results {
            print_plan(&mut out, file, result);
        }
    }
    write_stdout(out.as_bytes())?;
    let all_matched = results.iter().all(|(_, r)| r.matched);
    Ok(if all_matched { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print_plan(out: &mut String, file: &str, result: &PlanResult) {
    let _ = writeln!(out, "plan {file}: {}", result.name);
    for s in &result.steps {
        let mut outcome = match s.errors.first() {
            None => "ok".to_string(),
            Some(code) if s.errors.len() == 1 => code.to_string(),
            Some(code) => format!("{code} (+{} more)", s.errors.len().saturating_sub(1)),
        };
        if !s.warnings.is_empty() {
            let w: Vec<&str> = s.warnings.iter().map(|c| c.as_str()).collect();
            outcome.push_str(&format!(", {}", w.join(", ")));
        }
        if s.ok && !s.failed_principals.is_empty() {
            outcome.push_str(&format!(", failed: {}", s.failed_principals.join(" ")));
        }
        let verdict = if s.matched { "matched".to_string() } else { format!("DIFFERS: {}", s.differences.join("; ")) };
        let _ = writeln!(
            out,
            "  {:>2}  {:<16}  {:<28}  {:<48}  quota {}/{}  {verdict}",
            s.index, s.caller, s.action, outcome, s.quota_used, s.quota_purchased
        );
    }
    let matched = result.steps.iter().filter(|s| s.matched).count();
    let _ = writeln!(out, "  {matched} of {} steps matched\n", result.steps.len());
}

fn validate_bind_vpcs(ctx: Context, file: &str, json: bool) -> Result<ExitCode, Fatal> {
    if let Some(region) = &ctx.region {
        names::validate(NameKind::RegionId, region).map_err(|p| Fatal(format!("--region: {}", p.message)))?;
    }
    // Not UTF-8 or past the limit: the report says so (exit 1), as for any bad input.
    let input = read_bytes(file, MAX_BIND_VPCS_BYTES)?;
    let report = bind_vpcs::validate_bytes(&input, &ctx);
    let out = if json {
        serde_json::to_string_pretty(&report).map_err(|e| Fatal(e.to_string()))? + "\n"
    } else {
        print_report(&report)
    };
    write_stdout(out.as_bytes())?;
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print_report(report: &Report) -> String {
    let mut out = String::new();
    if report.ok {
        let _ = writeln!(out, "valid: {} VPC(s) to bind", report.vpcs.len());
        for v in &report.vpcs {
            let _ = writeln!(out, "  {} via {} (owner {})", v.vpc_id, v.v_switch_id, v.vpc_owner_id);
        }
    } else {
        let found = report.errors.len().saturating_add(report.omitted);
        let _ = writeln!(out, "invalid: {found} problem(s)");
        for p in &report.errors {
            let _ = writeln!(out, "  {:<16} {:<44} {}", p.path.as_deref().unwrap_or(""), p.code, p.message);
        }
        if report.omitted > 0 {
            let _ = writeln!(out, "  … and {} more, not listed", report.omitted);
        }
    }
    for w in &report.warnings {
        let _ = writeln!(out, "  warning {:<8} {:<36} {}", w.path.as_deref().unwrap_or(""), w.code, w.message);
    }
    out
}

fn validate_name(kind: NameKind, value: &str) -> Result<ExitCode, Fatal> {
    match names::validate(kind, value) {
        Ok(()) => {
            write_stdout(format!("valid {} ({})\n", kind_name(kind), kind.rule()).as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(p) => {
            let line = format!("invalid {}: {} ({}): {}\n", kind_name(kind), p.code, kind.rule(), p.message);
            write_stdout(line.as_bytes())?;
            Ok(ExitCode::from(1))
        }
    }
}

fn kind_name(kind: NameKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
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
fn read_stdin_bytes() -> Result<Vec<u8>, Fatal> {
    let limit = MAX_BODY_BYTES.saturating_add(MAX_HEADER_BYTES);
    let bytes = read_bytes("-", limit)?;
    if bytes.len() > limit {
        return Err(Fatal(format!("standard input is larger than a message can hold ({limit} bytes)")));
    }
    Ok(bytes)
}

fn write_stdout(bytes: &[u8]) -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).map_err(|e| Fatal(format!("standard output: {e}")))
}

fn read_pin(var: &str) -> Result<zeroize::Zeroizing<String>, Fatal> {
    std::env::var(var)
        .map(zeroize::Zeroizing::new)
        .map_err(|_| Fatal(format!("--pin-env {var}: the variable is not set")))
}

#[cfg(feature = "pkcs11")]
fn open_token(
    module: &std::path::Path,
    label: &str,
    pin_env: &str,
) -> Result<kms_instance::bridge::pkcs11::Pkcs11Bridge, Fatal> {
    let pin = read_pin(pin_env)?;
    Ok(kms_instance::bridge::pkcs11::Pkcs11Bridge::open(module, label, &pin)?)
}

#[cfg(not(feature = "pkcs11"))]
fn open_token(_: &std::path::Path, _: &str, pin_env: &str) -> Result<SoftwareBridge, Fatal> {
    read_pin(pin_env)?;
    Err(Fatal("this build has no PKCS#11 support (feature pkcs11)".into()))
}

fn bridge(keys: &KeySource) -> Result<Box<dyn HsmBridge>, Fatal> {
    match (&keys.keyring, &keys.pkcs11_module, &keys.token_label, &keys.pin_env) {
        (Some(file), ..) => {
            let json = read_text(&file.to_string_lossy(), MAX_KEYRING_BYTES, Code::Keyring)?;
            let bridge =
                SoftwareBridge::from_keyring_json(&json).map_err(|p| Fatal(format!("{}: {p}", file.display())))?;
            Ok(Box::new(bridge))
        }
        (None, Some(module), Some(label), Some(pin_env)) => Ok(Box::new(open_token(module, label, pin_env)?)),
        _ => Err(Fatal("name a --keyring, or a --pkcs11-module with --token-label and --pin-env".into())),
    }
}

fn encrypt(keys: &KeySource, arns: &[String], context: &[String], algorithm: AlgorithmArg) -> Result<ExitCode, Fatal> {
    let arns = arns
        .iter()
        .map(|a| a.parse::<KeyArn>().map_err(|p| Fatal(format!("--key {a:?}: {p}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let options = envelope::EncryptOptions {
        context: parse_context(context, "--context")?,
        algorithm: match algorithm {
            AlgorithmArg::AesGcm128 => Algorithm::AesGcm128,
            AlgorithmArg::AesGcm256 => Algorithm::AesGcm256,
        },
        cache: None,
    };
    let bridge = bridge(keys)?;
    let plaintext = read_stdin_bytes()?;
    let message = pollster::block_on(envelope::encrypt(&[bridge.as_ref()], &arns, &plaintext, &options))?;
    write_stdout(&message)?;
    Ok(ExitCode::SUCCESS)
}

fn decrypt(keys: &KeySource, require_context: &[String]) -> Result<ExitCode, Fatal> {
    let options = envelope::DecryptOptions { require_context: parse_context(require_context, "--require-context")? };
    let bridge = bridge(keys)?;
    let message = read_stdin_bytes()?;
    match pollster::block_on(envelope::decrypt(&[bridge.as_ref()], &message, &options)) {
        Ok(opened) => {
            write_stdout(&opened.plaintext)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(p) if p.code == Code::InvalidCiphertext => {
            let _ = writeln!(std::io::stderr(), "kms-instance: {p}");
            Ok(ExitCode::from(1))
        }
        Err(p) => Err(p.into()),
    }
}

#[cfg(feature = "pkcs11")]
fn generate_key(token: &TokenArgs, arn: &str) -> Result<ExitCode, Fatal> {
    let arn: KeyArn = arn.parse()?;
    let bridge = open_token(&token.pkcs11_module, &token.token_label, &token.pin_env)?;
    bridge.generate_master_key(&arn)?;
    let line =
        format!("generated an AES-256 master key labelled {:?} on token {:?}\n", arn.key_id(), token.token_label);
    write_stdout(line.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "pkcs11"))]
fn generate_key(token: &TokenArgs, _: &str) -> Result<ExitCode, Fatal> {
    open_token(&token.pkcs11_module, &token.token_label, &token.pin_env).map(|_| ExitCode::SUCCESS)
}
