//! `kms-instance keyring new|add|list`: a keyring file made and read here, its material
//! from the system's generator, never printed unless asked.

use super::io::{read_text, write_stdout, write_whole, Fatal};
use base64::Engine as _;
use clap::Subcommand;
use kms_instance::envelope::KeyArn;
use kms_instance::key_providers::software::{KeyringEntry, KeyringFile, SoftwareKeyProvider};
use kms_instance::limits::MAX_KEYRING_BYTES;
use kms_instance::names::{self, NameKind};
use kms_instance::Code;
use std::process::ExitCode;
use zeroize::Zeroizing;

#[derive(Subcommand)]
pub enum KeyringCommand {
    /// Make a keyring file with a new random AES-256 master key per ARN (the file must
    /// not exist; it is readable by its owner only).
    New {
        /// The keyring file to make.
        file: String,
        /// A master key's ARN (`acs:kms:<region>:<uid>:key/<key-id>`).
        #[arg(long = "key", value_name = "ARN", required = true)]
        arns: Vec<String>,
        /// An alias (`alias/…`) that `--key` will take for the one key made.
        #[arg(long = "alias", value_name = "ALIAS")]
        aliases: Vec<String>,
    },
    /// Add a new random master key per ARN to a keyring file.
    Add {
        /// The keyring file.
        file: String,
        /// A master key's ARN, not already in the keyring.
        #[arg(long = "key", value_name = "ARN", required = true)]
        arns: Vec<String>,
        /// An alias (`alias/…`), not already in the keyring, that `--key` will take for
        /// the one key added.
        #[arg(long = "alias", value_name = "ALIAS")]
        aliases: Vec<String>,
    },
    /// List a keyring's master keys: their ARNs and aliases, one key a line (not their
    /// material).
    List {
        /// The keyring file.
        file: String,
        /// Print the whole keyring, material included, as JSON.
        #[arg(long)]
        show_material: bool,
    },
}

/// A keyring's entries, as the keyring file holds them (the material wiped when dropped).
type Entries = Vec<KeyringEntry>;

/// Each alias of a keyring with the key it names.
pub type Aliases = Vec<(String, KeyArn)>;

/// A keyring file read for a command: its keys, and the aliases that name them.
pub struct Keyring {
    /// Its keys.
    pub provider: SoftwareKeyProvider,
    /// Its aliases.
    pub aliases: Aliases,
}

/// The keyring file `file`, as the envelope commands take it.
pub fn open(file: &str) -> Result<Keyring, Fatal> {
    let (_, entries, provider) = read(file)?;
    // The provider holds the entries' keys in their order, their ARNs already parsed.
    let aliases = entries
        .iter()
        .zip(provider.arns())
        .flat_map(|(e, arn)| e.aliases.iter().map(move |a| (a.clone(), arn.clone())))
        .collect();
    Ok(Keyring { provider, aliases })
}

/// The keyring file `file`, checked as every command reads it (its errors never quote a
/// value): its text, its entries and its keys.
fn read(file: &str) -> Result<(Zeroizing<String>, Entries, SoftwareKeyProvider), Fatal> {
    let text = Zeroizing::new(read_text(file, MAX_KEYRING_BYTES, Code::Keyring)?);
    let provider = SoftwareKeyProvider::from_keyring_json(&text).map_err(|p| Fatal(format!("{file}: {p}")))?;
    let keyring: KeyringFile = serde_json::from_str(&text).map_err(|_| Fatal(format!("{file}: not a keyring")))?;
    check_aliases(&keyring.keys).map_err(|p| Fatal(format!("{file}: {p}")))?;
    Ok((text, keyring.keys, provider))
}

/// Every alias of the keyring has the form R-NAME-4 gives it, and names one key only.
fn check_aliases(entries: &Entries) -> Result<(), kms_instance::Problem> {
    let mut seen = std::collections::HashSet::new();
    for (i, entry) in entries.iter().enumerate() {
        for (j, alias) in entry.aliases.iter().enumerate() {
            let at = format!("/keys/{i}/aliases/{j}");
            names::validate(NameKind::Alias, alias).map_err(|p| p.at(at.clone()))?;
            if !seen.insert(alias.as_str()) {
                return Err(kms_instance::Problem::new(Code::Keyring, format!("{alias} names two keys")).at(at));
            }
        }
    }
    Ok(())
}

/// The keyring's JSON text of `entries`, checked as it will be read (its limits).
fn json(entries: &Entries) -> Result<Zeroizing<String>, Fatal> {
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        arn: &'a str,
        material: &'a str,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        aliases: &'a [String],
    }
    #[derive(serde::Serialize)]
    struct File<'a> {
        keys: Vec<Entry<'a>>,
    }
    let keys = entries.iter().map(|e| Entry { arn: &e.arn, material: &e.material, aliases: &e.aliases }).collect();
    let text = Zeroizing::new(
        serde_json::to_string_pretty(&File { keys }).map_err(|e| Fatal(format!("the keyring: {e}")))? + "\n",
    );
    let refused = |p: kms_instance::Problem| Fatal(format!("the keyring would be refused: {p}"));
    SoftwareKeyProvider::from_keyring_json(&text).map_err(refused)?;
    check_aliases(entries).map_err(refused)?;
    Ok(text)
}

/// Adds a random key for each ARN; one given twice, or already there, is refused.
/// Aliases name one key: the one added.
fn add_keys(entries: &mut Entries, arns: &[String], aliases: &[String]) -> Result<(), Fatal> {
    if !aliases.is_empty() && arns.len() != 1 {
        return Err(Fatal("--alias names one key: give one --key with it".into()));
    }
    for arn in arns {
        let parsed: KeyArn = arn.parse().map_err(|p| Fatal(format!("--key {arn:?}: {p}")))?;
        if entries.iter().any(|e| e.arn == parsed.as_str()) {
            return Err(Fatal(format!("--key {arn:?}: the keyring has that key already")));
        }
        let mut material = Zeroizing::new([0u8; 32]);
        kms_instance::platform::os_random(material.as_mut_slice())?;
        let text = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(material.as_slice()));
        entries.push(KeyringEntry { arn: parsed.as_str().to_string(), material: text, aliases: aliases.to_vec() });
    }
    Ok(())
}

/// `kms-instance keyring …`.
pub fn keyring(command: KeyringCommand) -> Result<ExitCode, Fatal> {
    match command {
        KeyringCommand::New { file, arns, aliases } => {
            let mut entries = Entries::new();
            add_keys(&mut entries, &arns, &aliases)?;
            write_whole(&file, json(&entries)?.as_bytes(), 0o600, false)?;
        }
        KeyringCommand::Add { file, arns, aliases } => {
            // Two `add`s at once are not serialised: the last one written wins (docs/guides/cli.md).
            let (_, mut entries, _) = read(&file)?;
            add_keys(&mut entries, &arns, &aliases)?;
            write_whole(&file, json(&entries)?.as_bytes(), 0o600, true)?;
        }
        KeyringCommand::List { file, show_material } => {
            let (text, entries, _) = read(&file)?;
            if show_material {
                write_stdout(text.as_bytes())?;
            } else {
                let lines: String =
                    entries.iter().map(|e| [&[e.arn.clone()][..], &e.aliases].concat().join(" ") + "\n").collect();
                write_stdout(lines.as_bytes())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
