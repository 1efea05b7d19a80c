//! The seed file (`--seed FILE`, JSON): the region, the accounts and their AccessKey
//! pairs, and keys with fixed ids, material and aliases, so a test suite knows every
//! identifier and can check a ciphertext made elsewhere. Keys are added to the store
//! at start when it does not have them; credentials are read at each start and never
//! stored.
//!
//! ```json
//! {"region": "cn-hangzhou",
//!  "accounts": [{"id": "1207089758810000",
//!                "accessKeys": [{"id": "LTAI5tExampleExample0001", "secret": "…"}]}],
//!  "keys": [{"id": "key-hzz6example0001", "account": "1207089758810000",
//!            "material": "<base64 of 32 bytes>", "aliases": ["alias/app"]}]}
//! ```

use crate::code::{Code, Problem};
use crate::rules::names::{self, NameKind};
use base64::Engine as _;
use serde::Deserialize;
use zeroize::Zeroizing;

/// The seed file, read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    /// The region the endpoint serves (ARNs name it).
    pub region: String,
    /// The accounts that may call.
    pub accounts: Vec<Account>,
    /// Keys there from the start.
    #[serde(default)]
    pub keys: Vec<SeedKey>,
}

/// One account and its AccessKey pairs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Account {
    /// The 16-digit account id.
    pub id: String,
    /// Its AccessKey pairs.
    pub access_keys: Vec<AccessKey>,
}

/// An AccessKey pair.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessKey {
    /// The AccessKey id.
    pub id: String,
    /// The AccessKey secret (wiped when dropped).
    pub secret: Zeroizing<String>,
}

/// A key of the seed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedKey {
    /// `key-…`, fixed.
    pub id: String,
    /// The account that owns it.
    pub account: String,
    /// The base64 of its 32 bytes of material; random when left out.
    #[serde(default)]
    pub material: Option<Zeroizing<String>>,
    /// Its aliases (`alias/…`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `false` for a key that starts disabled.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// The caller's words.
    #[serde(default)]
    pub description: String,
}

fn enabled() -> bool {
    true
}

fn bad(message: impl Into<String>) -> Problem {
    Problem::new(Code::Request, message)
}

impl Seed {
    /// Reads and checks a seed file's text: ids in their formats, no account or
    /// AccessKey twice, every key's account known, material of 32 bytes. Messages
    /// name the place, never a secret.
    pub fn parse(text: &str) -> Result<Seed, Problem> {
        let seed: Seed = serde_json::from_str(text)
            .map_err(|e| bad(format!("the seed file is not one (line {}, column {})", e.line(), e.column())))?;
        names::validate(NameKind::RegionId, &seed.region).map_err(|p| p.at("/region"))?;
        let mut access_keys = std::collections::HashSet::new();
        for (i, account) in seed.accounts.iter().enumerate() {
            names::validate(NameKind::AccountId, &account.id).map_err(|p| p.at(format!("/accounts/{i}/id")))?;
            for (j, key) in account.access_keys.iter().enumerate() {
                if key.id.is_empty() || key.secret.is_empty() || !access_keys.insert(key.id.as_str()) {
                    return Err(bad("an AccessKey needs an id, used once, and a secret")
                        .at(format!("/accounts/{i}/accessKeys/{j}")));
                }
            }
        }
        for (i, key) in seed.keys.iter().enumerate() {
            let at = |field: &str| format!("/keys/{i}/{field}");
            if !key.id.starts_with("key-")
                || key.id.len() > 64
                || !key.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(bad("a key id is key- and up to 60 letters, digits or dashes").at(at("id")));
            }
            if !seed.accounts.iter().any(|a| a.id == key.account) {
                return Err(bad("the key's account is not among the accounts").at(at("account")));
            }
            if key.material.as_deref().is_some_and(|m| material(m).is_none()) {
                return Err(bad("the material is not the base64 of 32 bytes").at(at("material")));
            }
            for (j, alias) in key.aliases.iter().enumerate() {
                names::validate(NameKind::Alias, alias).map_err(|p| p.at(format!("/keys/{i}/aliases/{j}")))?;
            }
        }
        Ok(seed)
    }
}

/// The 32 bytes a base64 material stands for.
pub fn material(base64_text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let bytes = Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(base64_text).ok()?);
    (bytes.len() == 32).then_some(bytes)
}
