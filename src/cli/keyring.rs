//! `kms-instance keyring new|add|list`: a keyring file made and read here, its material
//! from the system's generator, never printed unless asked.

use super::io::{read_text, write_stdout, Fatal};
use base64::Engine as _;
use clap::Subcommand;
use kms_instance::envelope::KeyArn;
use kms_instance::key_providers::software::SoftwareKeyProvider;
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

/// A keyring's entries as text (the material wiped when dropped).
type Entries = Vec<(String, Zeroizing<String>)>;

fn read(file: &str) -> Result<(Zeroizing<String>, Entries), Fatal> {
    let text = Zeroizing::new(read_text(file, MAX_KEYRING_BYTES, Code::Keyring)?);
    // Checked as every command reads it; its errors never quote a value.
    SoftwareKeyProvider::from_keyring_json(&text).map_err(|p| Fatal(format!("{file}: {p}")))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| Fatal(format!("{file}: not JSON")))?;
    let entries = value
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .map(|keys| {
            keys.iter()
                .map(|k| {
                    let text = |field: &str| k.get(field).and_then(|v| v.as_str()).unwrap_or_default().to_string();
                    (text("arn"), Zeroizing::new(text("material")))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((text, entries))
}

/// The keyring's JSON text of `entries`.
fn json(entries: &Entries) -> Zeroizing<String> {
    let keys: Vec<serde_json::Value> =
        entries.iter().map(|(arn, material)| serde_json::json!({"arn": arn, "material": material.as_str()})).collect();
    Zeroizing::new(format!("{:#}\n", serde_json::json!({ "keys": keys })))
}

/// Adds a random key for each ARN; one given twice, or already there, is refused.
fn add_keys(entries: &mut Entries, arns: &[String]) -> Result<(), Fatal> {
    for arn in arns {
        let parsed: KeyArn = arn.parse().map_err(|p| Fatal(format!("--key {arn:?}: {p}")))?;
        if entries.iter().any(|(a, _)| a == parsed.as_str()) {
            return Err(Fatal(format!("--key {arn:?}: the keyring has that key already")));
        }
        let mut material = Zeroizing::new([0u8; 32]);
        kms_instance::platform::os_random(material.as_mut_slice())?;
        let text = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(material.as_slice()));
        entries.push((parsed.as_str().to_string(), text));
    }
    Ok(())
}

/// Writes the keyring whole beside `file`, readable by its owner only, then moves it
/// into place (`new`: linked, so a file that exists is never replaced).
fn write(file: &str, text: &str, new: bool) -> Result<(), Fatal> {
    use std::io::Write;
    let fail = |e: std::io::Error| Fatal(format!("{file}: {e}"));
    let mut suffix = [0u8; 8];
    kms_instance::platform::os_random(&mut suffix)?;
    let temp = format!("{file}.{}.tmp", suffix.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&temp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| if new { std::fs::hard_link(&temp, file) } else { std::fs::rename(&temp, file) });
    let _ = std::fs::remove_file(&temp);
    written.map_err(fail)
}

/// `kms-instance keyring …`.
pub fn keyring(command: KeyringCommand) -> Result<ExitCode, Fatal> {
    match command {
        KeyringCommand::New { file, arns } => {
            let mut entries = Entries::new();
            add_keys(&mut entries, &arns)?;
            write(&file, &json(&entries), true)?;
        }
        KeyringCommand::Add { file, arns } => {
            let (_, mut entries) = read(&file)?;
            add_keys(&mut entries, &arns)?;
            write(&file, &json(&entries), false)?;
        }
        KeyringCommand::List { file, show_material } => {
            let (text, entries) = read(&file)?;
            if show_material {
                write_stdout(text.as_bytes())?;
            } else {
                let lines: String = entries.iter().map(|(arn, _)| format!("{arn}\n")).collect();
                write_stdout(lines.as_bytes())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
