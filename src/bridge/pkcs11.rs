//! The PKCS#11 bridge (native only): AES-256 master keys on a token, found by label,
//! used through the `cryptoki` crate. SoftHSM2 in tests, a real HSM in production.
//!
//! - A master key is a secret key object whose `CKA_LABEL` is the key id of its ARN
//!   (the part after `key/`).
//! - Data keys come from `C_GenerateRandom` and are wrapped with `CKM_AES_GCM` on the
//!   token into the same CiphertextBlob the software bridge writes (`super::blob`), so
//!   the two interoperate when they hold the same key material.
//! - Sessions are pooled: an operation takes an idle session (or opens one) and gives
//!   it back, so concurrent callers never share a session; a session the token broke
//!   is dropped, not reused.
//! - Every PKCS#11 failure becomes a `Bridge.*` problem naming the call that failed
//!   (`C_Login failed: PinIncorrect`); the PIN never appears.
//! - The login state of a token belongs to the whole process, so a second bridge to a
//!   token that is already logged in would get `CKR_USER_ALREADY_LOGGED_IN` whatever
//!   PIN it brings. The process therefore remembers the PIN that logged each token
//!   in, and a later bridge must bring the same one (compared in constant time).
//!
//! The calls block; an async caller with many concurrent requests should run them on
//! a blocking pool.

use super::blob::Blob;
use super::{DataKey, HsmBridge, KeyDescription};
use crate::code::{Code, Problem};
use crate::envelope::message::IV_LEN;
use crate::envelope::{context_bytes, EncryptionContext, KeyArn};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::{AuthPin, Ulong};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

const GCM_TAG_BITS: u64 = 128;
const MASTER_KEY_LEN: u64 = 32;

pub struct Pkcs11Bridge {
    ctx: Pkcs11,
    slot: Slot,
    token_label: String,
    pin: Zeroizing<String>,
    idle: Mutex<Vec<Session>>,
}

/// The PIN each token of this process was logged in with: (module, slot) → PIN.
type Logins = Vec<(PathBuf, u64, Zeroizing<String>)>;

fn logins() -> std::sync::MutexGuard<'static, Logins> {
    static LOGINS: Mutex<Logins> = Mutex::new(Vec::new());
    LOGINS.lock().unwrap_or_else(|e| e.into_inner())
}

impl fmt::Debug for Pkcs11Bridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Bridge")
            .field("token", &self.token_label)
            .field("slot", &self.slot.id())
            .finish()
    }
}

/// Maps a PKCS#11 failure to a bridge problem that names the call.
fn map(e: Error) -> Problem {
    match e {
        Error::Pkcs11(rv, function) => {
            use RvError::*;
            let code = match rv {
                PinIncorrect
                | PinInvalid
                | PinLenRange
                | PinExpired
                | PinLocked
                | UserNotLoggedIn
                | UserPinNotInitialized => Code::BridgeAuthenticationFailed,
                DeviceRemoved
                | DeviceError
                | DeviceMemory
                | HostMemory
                | TokenNotPresent
                | TokenNotRecognized
                | SlotIdInvalid
                | SessionHandleInvalid
                | SessionClosed
                | CryptokiNotInitialized => Code::BridgeUnavailable,
                EncryptedDataInvalid | EncryptedDataLenRange => {
                    return Problem::new(
                        Code::InvalidCiphertext,
                        "the CiphertextBlob does not open",
                    )
                    .rule("R-ENV-4")
                }
                _ => Code::BridgeHsm,
            };
            Problem::new(code, format!("C_{function:?} failed: {rv:?}"))
        }
        Error::LibraryLoading(e) => Problem::new(
            Code::BridgeUnavailable,
            format!("cannot load the PKCS#11 module: {e}"),
        ),
        other => Problem::new(Code::BridgeHsm, format!("PKCS#11: {other}")),
    }
}

impl Pkcs11Bridge {
    /// Loads `module`, finds the token labelled `token_label` and logs in as its user.
    pub fn open(module: &Path, token_label: &str, pin: &str) -> Result<Self, Problem> {
        let ctx = Pkcs11::new(module).map_err(map)?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(map(e)),
        }
        let slot = ctx
            .get_slots_with_token()
            .map_err(map)?
            .into_iter()
            .find(|s| {
                ctx.get_token_info(*s)
                    .is_ok_and(|t| t.label() == token_label)
            })
            .ok_or_else(|| {
                Problem::new(
                    Code::BridgeUnavailable,
                    format!("no token labelled {token_label:?}"),
                )
            })?;
        let pin = Zeroizing::new(pin.to_string());
        let module_path = module
            .canonicalize()
            .unwrap_or_else(|_| module.to_path_buf());
        let mut logins = logins();
        let known = logins
            .iter()
            .find(|(m, s, _)| *m == module_path && *s == slot.id());
        if let Some((.., known)) = known {
            if !bool::from(known.as_bytes().ct_eq(pin.as_bytes())) {
                return Err(Problem::new(
                    Code::BridgeAuthenticationFailed,
                    "C_Login failed: PinIncorrect (the token is logged in in this process with another PIN)",
                ));
            }
        }
        let bridge = Pkcs11Bridge {
            ctx,
            slot,
            token_label: token_label.to_string(),
            pin,
            idle: Mutex::new(Vec::new()),
        };
        // Log in now, so a wrong PIN is reported when the bridge is opened.
        bridge.with_session(false, |_| Ok(()))?;
        if !logins
            .iter()
            .any(|(m, s, _)| *m == module_path && *s == slot.id())
        {
            logins.push((module_path, slot.id(), bridge.pin.clone()));
        }
        Ok(bridge)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Session>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new_session(&self, read_write: bool) -> Result<Session, Problem> {
        let session = if read_write {
            self.ctx.open_rw_session(self.slot)
        } else {
            self.ctx.open_ro_session(self.slot)
        }
        .map_err(map)?;
        // The login state is the token's, shared by every session of this process.
        match session.login(UserType::User, Some(&AuthPin::from(self.pin.to_string()))) {
            Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(e) => Err(map(e)),
        }
    }

    /// Runs `f` on a session of its own; gives the session back unless the token broke it.
    fn with_session<T>(
        &self,
        read_write: bool,
        f: impl FnOnce(&Session) -> Result<T, Problem>,
    ) -> Result<T, Problem> {
        let pooled = if read_write { None } else { self.idle().pop() };
        let session = match pooled {
            Some(s) => s,
            None => self.new_session(read_write)?,
        };
        let result = f(&session);
        let broken = matches!(&result, Err(p) if p.code == Code::BridgeUnavailable);
        if !broken && !read_write {
            self.idle().push(session);
        }
        result
    }

    fn find_key(session: &Session, arn: &KeyArn) -> Result<ObjectHandle, Problem> {
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(arn.key_id().as_bytes().to_vec()),
        ];
        match session.find_objects(&template).map_err(map)?[..] {
            [key] => Ok(key),
            [] => Err(Problem::new(
                Code::BridgeKeyNotFound,
                format!("no secret key labelled {:?} on the token", arn.key_id()),
            )),
            _ => Err(Problem::new(
                Code::BridgeHsm,
                format!("several secret keys are labelled {:?}", arn.key_id()),
            )),
        }
    }

    fn wrap(
        session: &Session,
        arn: &KeyArn,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, Problem> {
        let key = Self::find_key(session, arn)?;
        let mut iv = session.generate_random_vec(IV_LEN as u32).map_err(map)?;
        let iv_copy: [u8; IV_LEN] = iv
            .as_slice()
            .try_into()
            .map_err(|_| Problem::new(Code::BridgeHsm, "short IV"))?;
        let aad = context_bytes(context);
        let params = GcmParams::new(&mut iv, &aad, Ulong::from(GCM_TAG_BITS)).map_err(map)?;
        let sealed = session
            .encrypt(&Mechanism::AesGcm(params), key, plaintext)
            .map_err(map)?;
        Ok(Blob::encode(arn.key_id(), &iv_copy, &sealed))
    }

    /// Generates a new AES-256 master key on the token, labelled with the ARN's key id:
    /// sensitive, never extractable, for encryption and decryption only.
    pub fn generate_master_key(&self, arn: &KeyArn) -> Result<(), Problem> {
        self.with_session(true, |s| {
            if Self::find_key(s, arn).is_ok() {
                return Err(Problem::new(
                    Code::Keyring,
                    format!("the token already holds a key labelled {:?}", arn.key_id()),
                ));
            }
            let template = [
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::ValueLen(Ulong::from(MASTER_KEY_LEN)),
                Attribute::Label(arn.key_id().as_bytes().to_vec()),
            ];
            s.generate_key(&Mechanism::AesKeyGen, &template)
                .map_err(map)
                .map(|_| ())
        })
    }
}

#[async_trait::async_trait]
impl HsmBridge for Pkcs11Bridge {
    async fn generate_data_key(
        &self,
        key: &KeyArn,
        len: usize,
        context: &EncryptionContext,
    ) -> Result<DataKey, Problem> {
        self.with_session(false, |s| {
            let len = u32::try_from(len)
                .map_err(|_| Problem::new(Code::BridgeHsm, "data key too long"))?;
            let plaintext = Zeroizing::new(s.generate_random_vec(len).map_err(map)?);
            let ciphertext_blob = Self::wrap(s, key, &plaintext, context)?;
            Ok(DataKey {
                plaintext,
                ciphertext_blob,
            })
        })
    }

    async fn encrypt(
        &self,
        key: &KeyArn,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, Problem> {
        self.with_session(false, |s| Self::wrap(s, key, plaintext, context))
    }

    async fn decrypt(
        &self,
        key: &KeyArn,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>, Problem> {
        self.with_session(false, |s| {
            let handle = Self::find_key(s, key)?;
            let blob = Blob::decode(blob)?;
            if blob.key_id != key.key_id() {
                return Err(Problem::new(
                    Code::InvalidCiphertext,
                    "the CiphertextBlob does not open",
                )
                .rule("R-ENV-4"));
            }
            let mut iv = blob.iv.to_vec();
            let aad = context_bytes(context);
            let params = GcmParams::new(&mut iv, &aad, Ulong::from(GCM_TAG_BITS)).map_err(map)?;
            s.decrypt(&Mechanism::AesGcm(params), handle, blob.sealed)
                .map(Zeroizing::new)
                .map_err(|e| match e {
                    // SoftHSM2 reports a GCM tag mismatch as a general error, where HSMs say
                    // CKR_ENCRYPTED_DATA_INVALID. If the token still answers, the blob was bad.
                    Error::Pkcs11(RvError::GeneralError | RvError::FunctionFailed, _)
                        if s.generate_random_vec(1).is_ok() =>
                    {
                        Problem::new(Code::InvalidCiphertext, "the CiphertextBlob does not open")
                            .rule("R-ENV-4")
                    }
                    e => map(e),
                })
        })
    }

    async fn describe_key(&self, key: &KeyArn) -> Result<KeyDescription, Problem> {
        self.with_session(false, |s| {
            let handle = Self::find_key(s, key)?;
            let attributes = s
                .get_attributes(handle, &[AttributeType::KeyType, AttributeType::ValueLen])
                .map_err(map)?;
            let is_aes = attributes
                .iter()
                .any(|a| matches!(a, Attribute::KeyType(t) if *t == KeyType::AES));
            let len = attributes.iter().find_map(|a| match a {
                Attribute::ValueLen(n) => Some(u64::from(*n)),
                _ => None,
            });
            if !is_aes || len != Some(MASTER_KEY_LEN) {
                return Err(Problem::new(
                    Code::BridgeHsm,
                    format!("{key} is not an AES-256 key on the token"),
                ));
            }
            Ok(KeyDescription {
                key_arn: key.to_string(),
                key_spec: "Aliyun_AES_256".into(),
                protection_level: "HSM".into(),
            })
        })
    }

    async fn random(&self, len: usize) -> Result<Vec<u8>, Problem> {
        let len = u32::try_from(len)
            .map_err(|_| Problem::new(Code::BridgeHsm, "too many random bytes asked"))?;
        self.with_session(false, |s| s.generate_random_vec(len).map_err(map))
    }
}
