//! `kms-instance keyring new|add|list`: a keyring file made and read here, its material
//! from the system's generator, never printed unless asked.

use super::io::{read_text, write_stdout, write_whole, Fatal};
use base64::Engine as _;
use clap::Subcommand;
use kms_instance::envelope::KeyArn;
use kms_instance::key_providers::software::{KeyringEntry, KeyringFile, SoftwareKeyProvider};
use kms_instance::limits::MAX_KEYRING_BYTES;
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
    },
    /// Add a new random master key per ARN to a keyring file.
    Add {
        /// The keyring file.
        file: String,
        /// A master key's ARN, not already in the keyring.
        #[arg(long = "key", value_name = "ARN", required = true)]
        arns: Vec<String>,
    },
    /// List a keyring's master keys: their ARNs, one a line (not their material).
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

/// The keyring file `file`, checked as every command reads it (its errors never quote a
/// value), and its text.
fn read(file: &str) -> Result<(Zeroizing<String>, Entries), Fatal> {
    let text = Zeroizing::new(read_text(file, MAX_KEYRING_BYTES, Code::Keyring)?);
    SoftwareKeyProvider::from_keyring_json(&text).map_err(|p| Fatal(format!("{file}: {p}")))?;
    let keyring: KeyringFile = serde_json::from_str(&text).map_err(|_| Fatal(format!("{file}: not a keyring")))?;
    Ok((text, keyring.keys))
}

/// The keyring's JSON text of `entries`, checked as it will be read (its limits).
fn json(entries: &Entries) -> Result<Zeroizing<String>, Fatal> {
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        arn: &'a str,
        material: &'a str,
    }
    #[derive(serde::Serialize)]
    struct File<'a> {
        keys: Vec<Entry<'a>>,
    }
    let keys = entries.iter().map(|e| Entry { arn: &e.arn, material: &e.material }).collect();
    let text = Zeroizing::new(
        serde_json::to_string_pretty(&File { keys }).map_err(|e| Fatal(format!("the keyring: {e}")))? + "\n",
    );
    SoftwareKeyProvider::from_keyring_json(&text).map_err(|p| Fatal(format!("the keyring would be refused: {p}")))?;
    Ok(text)
}

/// Adds a random key for each ARN; one given twice, or already there, is refused.
fn add_keys(entries: &mut Entries, arns: &[String]) -> Result<(), Fatal> {
    for arn in arns {
        let parsed: KeyArn = arn.parse().map_err(|p| Fatal(format!("--key {arn:?}: {p}")))?;
        if entries.iter().any(|e| e.arn == parsed.as_str()) {
            return Err(Fatal(format!("--key {arn:?}: the keyring has that key already")));
        }
        let mut material = Zeroizing::new([0u8; 32]);
        kms_instance::platform::os_random(material.as_mut_slice())?;
        let text = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(material.as_slice()));
        entries.push(KeyringEntry { arn: parsed.as_str().to_string(), material: text });
    }
    Ok(())
}

/// `kms-instance keyring …`.
pub fn keyring(command: KeyringCommand) -> Result<ExitCode, Fatal> {
    match command {
        KeyringCommand::New { file, arns } => {
            let mut entries = Entries::new();
            add_keys(&mut entries, &arns)?;
            write_whole(&file, json(&entries)?.as_bytes(), 0o600, false)?;
        }
        KeyringCommand::Add { file, arns } => {
            // Two `add`s at once are not serialised: the last one written wins (README).
            let (_, mut entries) = read(&file)?;
            add_keys(&mut entries, &arns)?;
            write_whole(&file, json(&entries)?.as_bytes(), 0o600, true)?;
        }
        KeyringCommand::List { file, show_material } => {
            let (text, entries) = read(&file)?;
            if show_material {
                write_stdout(text.as_bytes())?;
            } else {
                let lines: String = entries.iter().map(|e| format!("{}\n", e.arn)).collect();
                write_stdout(lines.as_bytes())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
