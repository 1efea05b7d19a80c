//! `kms-instance`: run change plans and validate inputs from the command line.
//!
//! Exit status: 0 when everything matched or was valid, 1 when a plan did not match
//! or an input is invalid, 2 when the command itself could not run (a missing file,
//! a malformed plan, a bad argument, a closed standard output), with a one-line reason
//! on standard error. Nothing here can panic: the lints below are the library's.
#![forbid(unsafe_code)]
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

mod cli;

use clap::{CommandFactory, Parser, Subcommand};
use cli::envelope::{AlgorithmArg, Files, KeySource, Pkcs11Command};
use cli::io::{write_stdout, Fatal};
use cli::keyring::KeyringCommand;
use kms_instance::bind_vpcs::Context;
use kms_instance::names::NameKind;
use std::io::Write;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kms-instance",
    version,
    about = "The rules and the envelope encryption of an Alibaba Cloud KMS instance: simulate change plans, validate inputs, seal and open data, serve the KMS API and the XKS Proxy API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run change plans (JSON: a starting state of the instance and its organisation, then
    /// steps, each a request and what it should give) and report each step against it.
    Plan {
        /// Plan files (JSON).
        #[arg(required = true)]
        files: Vec<String>,
        /// Print the results as JSON, one array of plan results.
        #[arg(long)]
        json: bool,
        /// Run the steps against a live endpoint (`kms-instance serve` started with a seed
        /// of the plan's world) as API calls, not in the library.
        #[arg(long, value_name = "URL", requires = "credentials")]
        endpoint: Option<String>,
        /// The seed file the endpoint was started with: the AccessKey each step signs with
        /// (its caller's; a RAM identity's for a step with `ram`; an operator's for Expire and JoinFolder).
        #[arg(long, value_name = "SEED", requires = "endpoint")]
        credentials: Option<String>,
        /// Write a seed of the plan's world to FILE (accounts with new AccessKeys, the RAM
        /// identities its steps use, an operator, the instance, the vSwitches its steps
        /// describe) and run nothing: `serve --seed FILE`, then `--endpoint`.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["endpoint", "json"])]
        write_seed: Option<String>,
        /// With --write-seed, for a plan of a hardware instance: the PKCS#11 module its
        /// keys are made on (`serve` reads --token-label's token with the PIN in --pin-env).
        #[arg(long, value_name = "PATH", requires_all = ["write_seed", "token_label", "pin_env"])]
        pkcs11_module: Option<std::path::PathBuf>,
        /// The token's label.
        #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
        token_label: Option<String>,
        /// The environment variable `serve` reads the user PIN from.
        #[arg(long, value_name = "VAR", requires = "pkcs11_module")]
        pin_env: Option<String>,
    },
    /// Validate an input the way the service does.
    #[command(subcommand)]
    Validate(Validate),
    /// Seal a file (or standard input) into an envelope: the message format of Alibaba
    /// Cloud's Encryption SDK.
    Encrypt {
        #[command(flatten)]
        files: Files,
        #[command(flatten)]
        keys: KeySource,
        /// A master key, by ARN or (for a keyring's key) by key id or alias; the first
        /// generates the data key, each other one gets a copy. Left out: every key the
        /// keyring holds (a token's keys must be named).
        #[arg(long = "key", value_name = "ARN|KEY-ID|ALIAS")]
        arns: Vec<String>,
        /// An encryption context entry, bound to the message.
        #[arg(long = "context", value_name = "KEY=VALUE")]
        context: Vec<String>,
        /// The content algorithm (SM4-GCM for back ends that must use SM4).
        #[arg(long, value_enum, default_value_t = AlgorithmArg::AesGcm256)]
        algorithm: AlgorithmArg,
        /// The plaintext's length in bytes, for standard input from a pipe: sealed as it
        /// comes, in constant memory (a longer or shorter input is refused). A file's is
        /// known; a pipe without it is read whole, up to what one message holds.
        #[arg(long, value_name = "BYTES")]
        size: Option<u64>,
        /// Write the message to a terminal all the same (it is binary).
        #[arg(long)]
        force: bool,
    },
    /// Open an envelope from a file (or standard input), its header checked first.
    Decrypt {
        #[command(flatten)]
        files: Files,
        #[command(flatten)]
        keys: KeySource,
        /// A context entry the message must carry with this value.
        #[arg(long = "require-context", value_name = "KEY=VALUE")]
        require_context: Vec<String>,
        /// Open a message sealed with one of the SDK's CBC or CTR algorithms (3 to 8,
        /// 10 to 12), whose body nothing authenticates; refused without it.
        #[arg(long = "allow-legacy")]
        allow_legacy: bool,
        /// Write the plaintext as it decrypts, before the message's tag is checked (a
        /// changed message then fails at its end, after the plaintext was written): for a
        /// pipe past what memory holds. Without it, a file is checked in a first pass and
        /// opened in a second, and a pipe is read into memory (up to what one message
        /// holds) and checked before any plaintext is written.
        #[arg(long)]
        unverified: bool,
    },
    /// Print what an envelope's header says (algorithm, data keys by ARN, context, body
    /// length) as JSON, without a key.
    Inspect {
        /// The envelope; `-` or nothing reads standard input.
        #[arg(value_name = "FILE", default_value = "-")]
        input: String,
    },
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), made from these same definitions.
    Man,
    /// Print every command's help as Markdown (docs/reference/cli.md is this).
    #[command(hide = true)]
    MarkdownHelp,
    /// Make, extend and list keyring files (master keys in a file, for `--keyring`).
    #[command(subcommand)]
    Keyring(KeyringCommand),
    /// Manage master keys on a PKCS#11 token.
    #[command(subcommand)]
    Pkcs11(Pkcs11Command),
    /// Serve the XKS Proxy API v1 in front of a PKCS#11 token (the configuration file names
    /// the token, the credentials, the keys and TLS).
    #[cfg(feature = "xks-proxy")]
    XksProxy {
        /// The configuration file (JSON); secrets come from the variables or files it names.
        #[arg(long, value_name = "FILE")]
        config: std::path::PathBuf,
    },
    /// Serve Alibaba Cloud KMS's API locally, for SDKs and tests, with the accounts, instances
    /// and keys of a seed file.
    #[cfg(feature = "kms-server")]
    Serve(cli::serve::ServeArgs),
}

#[derive(Subcommand)]
enum Validate {
    /// Validate the BindVpcs JSON of UpdateKmsInstanceBindVpc; every problem is reported.
    BindVpcs {
        /// The instance's region (R-BV-4); left out, regions are not compared.
        #[arg(long)]
        region: Option<String>,
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
    /// Validate an identifier or a name as the service checks its format (a region id of the
    /// right form that is not published is warned of).
    Name {
        /// What the value is.
        #[arg(value_enum)]
        kind: NameKind,
        /// The value to check.
        value: String,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    let result = match cli.command {
        Command::Plan { files, json, endpoint, credentials, write_seed, pkcs11_module, token_label, pin_env } => {
            match (endpoint, credentials, write_seed) {
                (_, _, Some(seed)) => {
                    let token = pkcs11_module.zip(token_label).zip(pin_env);
                    cli::plan::write_seed(
                        &files,
                        &seed,
                        token.map(|((module, label), pin_env)| (module, label, pin_env)),
                    )
                }
                (Some(url), Some(seed), None) => cli::plan::run_plans(&files, json, Some((&url, &seed))),
                _ => cli::plan::run_plans(&files, json, None),
            }
        }
        Command::Validate(Validate::BindVpcs { region, owner, primary_vpc, json, file }) => {
            cli::validate::validate_bind_vpcs(Context { region, owner, primary_vpc, ..Context::default() }, &file, json)
        }
        Command::Validate(Validate::Name { kind, value }) => cli::validate::validate_name(kind, &value),
        Command::Encrypt { files, keys, arns, context, algorithm, size, force } => {
            cli::envelope::encrypt(&keys, &arns, &context, algorithm, size, &files, force)
        }
        Command::Decrypt { files, keys, require_context, allow_legacy, unverified } => {
            cli::envelope::decrypt(&keys, &require_context, allow_legacy, unverified, &files)
        }
        Command::Inspect { input } => cli::envelope::inspect(&input),
        Command::Keyring(command) => cli::keyring::keyring(command),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "kms-instance", &mut script);
            write_stdout(&script).map(|()| ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => write_stdout(&page).map(|()| ExitCode::SUCCESS),
                Err(e) => Err(Fatal(format!("the manual page: {e}"))),
            }
        }
        Command::MarkdownHelp => {
            let options = clap_markdown::MarkdownOptions::new().show_footer(false).show_table_of_contents(true);
            write_stdout(clap_markdown::help_markdown_custom::<Cli>(&options).as_bytes()).map(|()| ExitCode::SUCCESS)
        }
        Command::Pkcs11(Pkcs11Command::GenerateKey { token, arn, bits, usage }) => {
            cli::envelope::generate_key(&token, &arn, &bits, &usage)
        }
        #[cfg(feature = "xks-proxy")]
        Command::XksProxy { config } => cli::xks::xks_proxy(&config),
        #[cfg(feature = "kms-server")]
        Command::Serve(args) => cli::serve::serve(args),
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
            // clap's first paragraph, in one line: a missing argument's name is on the
            // lines after "the following required arguments were not provided:".
            let text = e.render().to_string();
            let first: Vec<&str> = text
                .lines()
                .skip_while(|l| l.trim().is_empty())
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let first = if first.is_empty() { "error: invalid arguments".to_string() } else { first.join(" ") };
            fail(&format!("{first} (see kms-instance --help)"))
        }
    }
}
