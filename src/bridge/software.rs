//! The software bridge: AES-256 master keys held in process memory, for tests, local
//! development and offline use. Its keyring file is
//! `{"keys": [{"arn": "acs:kms:<region>:<uid>:key/<id>", "material": "<base64 of 32 bytes>"}]}`.

use super::blob::Blob;
use super::{os_random, DataKey, HsmBridge, KeyDescription};
use crate::code::{Code, Problem};
use crate::envelope::{context_bytes, gcm, Algorithm, EncryptionContext, KeyArn};
use base64::Engine as _;
use serde::Deserialize;
use std::fmt;
use zeroize::Zeroizing;

const MASTER_KEY_LEN: usize = 32;

struct MasterKey {
    arn: KeyArn,
    material: Zeroizing<[u8; MASTER_KEY_LEN]>,
}

/// Master keys in memory, by ARN.
#[derive(Default)]
pub struct SoftwareBridge {
    keys: Vec<MasterKey>,
}

impl fmt::Debug for SoftwareBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareBridge")
            .field(
                "keys",
                &self.keys.iter().map(|k| &k.arn).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    keys: Vec<KeyringEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringEntry {
    arn: String,
    material: Zeroizing<String>,
}

impl SoftwareBridge {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a master key; a second key under the same ARN is refused.
    pub fn add(&mut self, arn: KeyArn, material: [u8; MASTER_KEY_LEN]) -> Result<(), Problem> {
        let material = Zeroizing::new(material);
        if self.keys.iter().any(|k| k.arn == arn) {
            return Err(Problem::new(
                Code::Keyring,
                format!("{arn} appears twice in the keyring"),
            ));
        }
        self.keys.push(MasterKey { arn, material });
        Ok(())
    }

    /// Reads a keyring file. Errors name the entry, never the material.
    pub fn from_keyring_json(json: &str) -> Result<Self, Problem> {
        let file: KeyringFile = serde_json::from_str(json)
            .map_err(|e| Problem::new(Code::Keyring, format!("not a keyring: {}", e)))?;
        let mut bridge = SoftwareBridge::new();
        for (i, entry) in file.keys.into_iter().enumerate() {
            let arn: KeyArn = entry
                .arn
                .parse()
                .map_err(|p: Problem| p.at(format!("/keys/{i}/arn")))?;
            let bytes = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(entry.material.as_bytes())
                    .unwrap_or_default(),
            );
            let material: [u8; MASTER_KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
                Problem::new(
                    Code::Keyring,
                    format!("the material of {arn} is not the base64 of 32 bytes"),
                )
                .at(format!("/keys/{i}/material"))
            })?;
            bridge.add(arn, material)?;
        }
        Ok(bridge)
    }

    pub fn arns(&self) -> impl Iterator<Item = &KeyArn> {
        self.keys.iter().map(|k| &k.arn)
    }

    fn key(&self, arn: &KeyArn) -> Result<&MasterKey, Problem> {
        self.keys.iter().find(|k| k.arn == *arn).ok_or_else(|| {
            Problem::new(
                Code::BridgeKeyNotFound,
                format!("the keyring does not hold {arn}"),
            )
        })
    }

    fn seal(
        &self,
        arn: &KeyArn,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, Problem> {
        let key = self.key(arn)?;
        let mut iv = [0u8; 12];
        os_random(&mut iv)?;
        let mut sealed = plaintext.to_vec();
        let tag = gcm::seal(
            Algorithm::AesGcm256,
            key.material.as_slice(),
            &iv,
            &context_bytes(context),
            &mut sealed,
        )?;
        sealed.extend_from_slice(&tag);
        Ok(Blob::encode(arn.key_id(), &iv, &sealed))
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl HsmBridge for SoftwareBridge {
    async fn generate_data_key(
        &self,
        key: &KeyArn,
        len: usize,
        context: &EncryptionContext,
    ) -> Result<DataKey, Problem> {
        self.key(key)?;
        let mut plaintext = Zeroizing::new(vec![0u8; len]);
        os_random(&mut plaintext)?;
        let ciphertext_blob = self.seal(key, &plaintext, context)?;
        Ok(DataKey {
            plaintext,
            ciphertext_blob,
        })
    }

    async fn encrypt(
        &self,
        key: &KeyArn,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, Problem> {
        self.seal(key, plaintext, context)
    }

    async fn decrypt(
        &self,
        key: &KeyArn,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>, Problem> {
        let master = self.key(key)?;
        let blob = Blob::decode(blob)?;
        if blob.key_id != key.key_id() {
            return Err(
                Problem::new(Code::InvalidCiphertext, "the CiphertextBlob does not open")
                    .rule("R-ENV-4"),
            );
        }
        gcm::open_sealed(
            Algorithm::AesGcm256,
            master.material.as_slice(),
            &blob.iv,
            &context_bytes(context),
            blob.sealed,
        )
    }

    async fn describe_key(&self, key: &KeyArn) -> Result<KeyDescription, Problem> {
        self.key(key)?;
        Ok(KeyDescription {
            key_arn: key.to_string(),
            key_spec: "Aliyun_AES_256".into(),
            protection_level: "SOFTWARE".into(),
        })
    }

    async fn random(&self, len: usize) -> Result<Vec<u8>, Problem> {
        let mut out = vec![0u8; len];
        os_random(&mut out)?;
        Ok(out)
    }
}
