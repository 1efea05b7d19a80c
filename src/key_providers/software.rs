//! The software bridge: AES-256 master keys held in process memory, for tests, local
//! development and offline use. Its keyring file is
//! `{"keys": [{"arn": "acs:kms:<region>:<uid>:key/<id>", "material": "<base64 of 32 bytes>"}]}`.

use super::blob::{BlobKeyProvider, MasterKeys};
use crate::code::{Code, Problem};
use crate::envelope::message::IV_LEN;
use crate::envelope::KeyDescription;
use crate::envelope::{gcm, Algorithm, KeyArn};
use crate::limits::{self, MAX_KEYRING_BYTES, MAX_KEYRING_KEYS};
use base64::Engine as _;
use serde::Deserialize;
use serde_path_to_error::Segment;
use std::collections::HashSet;
use std::fmt;
use zeroize::Zeroizing;

const MASTER_KEY_LEN: usize = 32;

struct MasterKey {
    arn: KeyArn,
    /// Boxed, so the list growing moves a pointer, never a copy of the key left behind.
    material: Box<Zeroizing<[u8; MASTER_KEY_LEN]>>,
}

/// Master keys in memory, by ARN.
#[derive(Default)]
pub struct SoftwareKeys {
    keys: Vec<MasterKey>,
}

/// The software bridge: [`SoftwareKeys`] behind the CiphertextBlob.
pub type SoftwareKeyProvider = BlobKeyProvider<SoftwareKeys>;

impl fmt::Debug for SoftwareKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKeys").field("keys", &self.keys.iter().map(|k| &k.arn).collect::<Vec<_>>()).finish()
    }
}

/// A keyring file: `{"keys": [{"arn", "material"}]}`.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyringFile {
    /// The master keys, in order (the first generates data keys when none is named).
    pub keys: Vec<KeyringEntry>,
}

/// One master key of a keyring file.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyringEntry {
    /// `acs:kms:<region>:<uid>:key/<key-id>`.
    pub arn: String,
    /// The base64 of 32 bytes (wiped on drop).
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "string"))]
    pub material: Zeroizing<String>,
    /// Aliases (`alias/…`) the CLI's `--key` takes for this key; the library carries
    /// them and names keys by ARN only.
    #[serde(default)]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(optional))]
    pub aliases: Vec<String>,
}

impl BlobKeyProvider<SoftwareKeys> {
    /// A provider with no key yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a master key; a second key under the same ARN is refused.
    pub fn add(&mut self, arn: KeyArn, material: [u8; MASTER_KEY_LEN]) -> Result<(), Problem> {
        let material = Box::new(Zeroizing::new(material));
        if self.store().keys.iter().any(|k| k.arn == arn) {
            return Err(Problem::new(Code::Keyring, format!("{arn} appears twice in the keyring")));
        }
        self.store_mut().keys.push(MasterKey { arn, material });
        Ok(())
    }

    /// Reads a keyring file (at most 1 MiB and 1,000 keys). Errors say where, never
    /// what: any value in a keyring may be key material, so none is ever quoted.
    pub fn from_keyring_json(json: &str) -> Result<Self, Problem> {
        limits::check("the keyring (bytes)", json.len(), MAX_KEYRING_BYTES)?;
        let file: KeyringFile = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(json))
            .map_err(|e| keyring_shape(&e))?;
        limits::check("the keyring's keys", file.keys.len(), MAX_KEYRING_KEYS).map_err(|p| p.at("/keys"))?;
        let mut keys = Vec::with_capacity(file.keys.len());
        let mut seen = HashSet::with_capacity(file.keys.len());
        for (i, entry) in file.keys.into_iter().enumerate() {
            let arn: KeyArn = entry.arn.parse().map_err(|_| {
                Problem::new(Code::Keyring, "not a key ARN: expected acs:kms:<region>:<uid>:key/<key-id>")
                    .at(format!("/keys/{i}/arn"))
            })?;
            let material = decode_material(&entry.material).ok_or_else(|| {
                Problem::new(Code::Keyring, format!("the material of {arn} is not the base64 of 32 bytes"))
                    .at(format!("/keys/{i}/material"))
            })?;
            if !seen.insert(arn.clone()) {
                return Err(Problem::new(Code::Keyring, format!("{arn} appears twice in the keyring"))
                    .at(format!("/keys/{i}/arn")));
            }
            keys.push(MasterKey { arn, material });
        }
        Ok(Self::over(SoftwareKeys { keys }))
    }

    /// The ARNs of its keys, in the order they were added.
    pub fn arns(&self) -> impl Iterator<Item = &KeyArn> {
        self.store().keys.iter().map(|k| &k.arn)
    }
}

/// The 32 bytes a key's base64 material stands for, decoded into buffers that are
/// wiped when dropped (a material that does not decode leaves no partial key behind).
fn decode_material(base64_text: &str) -> Option<Box<Zeroizing<[u8; MASTER_KEY_LEN]>>> {
    // Padded base64 of 32 bytes is 44 characters; the decoder may want room for 33.
    let mut decoded = Zeroizing::new(vec![0u8; 48]);
    let written = base64::engine::general_purpose::STANDARD.decode_slice(base64_text.as_bytes(), &mut decoded).ok()?;
    let mut material = Box::new(Zeroizing::new([0u8; MASTER_KEY_LEN]));
    material.copy_from_slice(decoded.get(..written).filter(|d| d.len() == MASTER_KEY_LEN)?);
    Some(material)
}

/// A malformed keyring: the JSON pointer of the place (made of the keyring's own field
/// names and indices only) and the line and column, never serde's text, which quotes
/// the value it did not expect.
fn keyring_shape(e: &serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let pointer: String = e
        .path()
        .iter()
        .map(|segment| match segment {
            Segment::Seq { index } => format!("/{index}"),
            Segment::Map { key } if ["keys", "arn", "material"].contains(&key.as_str()) => format!("/{key}"),
            _ => "/…".to_string(),
        })
        .collect();
    let inner = e.inner();
    let what = if inner.is_data() { "not a keyring" } else { "not JSON" };
    Problem::new(
        Code::Keyring,
        format!(
            "{what} (line {}, column {}): expected {{\"keys\": [{{\"arn\": \"acs:kms:…\", \"material\": \"<base64 of 32 bytes>\"}}]}}",
            inner.line(),
            inner.column()
        ),
    )
    .at(pointer)
}

impl SoftwareKeys {
    fn key(&self, arn: &KeyArn) -> Result<&MasterKey, Problem> {
        self.keys
            .iter()
            .find(|k| k.arn == *arn)
            .ok_or_else(|| Problem::new(Code::BridgeKeyNotFound, format!("the keyring does not hold {arn}")))
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl MasterKeys for SoftwareKeys {
    async fn seal(&self, key: &KeyArn, iv: &[u8; IV_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Problem> {
        let master = self.key(key)?;
        // The plaintext is a data key: the buffer it is sealed in is wiped if sealing fails.
        let mut sealed = Zeroizing::new(plaintext.to_vec());
        let tag = gcm::seal(Algorithm::AesGcm256, master.material.as_slice(), iv, aad, &mut sealed)?;
        sealed.extend_from_slice(&tag);
        Ok(std::mem::take(&mut *sealed))
    }

    async fn open(
        &self,
        key: &KeyArn,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Problem> {
        gcm::open_sealed(Algorithm::AesGcm256, self.key(key)?.material.as_slice(), iv, aad, sealed)
    }

    async fn describe(&self, key: &KeyArn) -> Result<KeyDescription, Problem> {
        self.key(key)?;
        Ok(KeyDescription::master_key(key, "SOFTWARE"))
    }

    fn listed_keys(&self) -> Vec<KeyArn> {
        self.keys.iter().map(|k| k.arn.clone()).collect()
    }

    async fn holds(&self, key: &KeyArn) -> Result<bool, Problem> {
        Ok(self.keys.iter().any(|k| k.arn == *key))
    }
}
