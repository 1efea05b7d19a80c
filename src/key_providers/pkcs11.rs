//! The PKCS#11 bridge (native only): AES-256 master keys on a token, found by label,
//! used through the `cryptoki` crate. SoftHSM2 in tests, a real HSM in production.
//!
//! - A master key is a secret key object whose `CKA_LABEL` is the key id of its ARN
//!   (the part after `key/`).
//! - Data keys and IVs come from `C_GenerateRandom`; data keys are wrapped with
//!   `CKM_AES_GCM` on the token, into the CiphertextBlob every bridge writes
//!   (`super::blob`), so the token and a keyring holding the same material interoperate.
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

use super::blob::{opaque, BlobKeyProvider, MasterKeys};
use crate::code::{Code, Problem};
use crate::envelope::message::IV_LEN;
use crate::envelope::KeyArn;
use crate::envelope::KeyDescription;
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

/// AES-256 master keys on a PKCS#11 token.
pub struct Pkcs11Keys {
    ctx: Pkcs11,
    slot: Slot,
    token_label: String,
    pin: Zeroizing<String>,
    idle: Mutex<Vec<Session>>,
}

/// The PKCS#11 bridge: a token's keys behind the CiphertextBlob.
pub type Pkcs11KeyProvider = BlobKeyProvider<Pkcs11Keys>;

/// A key as the token describes it ([`Pkcs11KeyProvider`]'s `key_facts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFacts {
    /// `CKA_KEY_TYPE` is `CKK_AES`.
    pub aes: bool,
    /// `CKA_VALUE_LEN`, in bytes.
    pub bytes: u64,
    /// `CKA_ENCRYPT`.
    pub encrypt: bool,
    /// `CKA_DECRYPT`.
    pub decrypt: bool,
}

impl fmt::Debug for Pkcs11Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Keys").field("token", &self.token_label).field("slot", &self.slot.id()).finish()
    }
}

/// The PIN each token of this process was logged in with: (module, slot) → PIN.
type Logins = Vec<(PathBuf, u64, Zeroizing<String>)>;

fn logins() -> std::sync::MutexGuard<'static, Logins> {
    static LOGINS: Mutex<Logins> = Mutex::new(Vec::new());
    LOGINS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Maps a PKCS#11 failure to a problem that names the call, with the return value as
/// its cause.
fn map(e: Error) -> Problem {
    let problem = match &e {
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
                EncryptedDataInvalid | EncryptedDataLenRange => return opaque().caused_by(e),
                KeyFunctionNotPermitted | KeyTypeInconsistent | KeySizeRange => Code::BridgeKeyUnusable,
                _ => Code::BridgeHsm,
            };
            Problem::new(code, format!("C_{function:?} failed: {rv:?}"))
        }
        Error::LibraryLoading(e) => {
            Problem::new(Code::BridgeUnavailable, format!("cannot load the PKCS#11 module: {e}"))
        }
        other => Problem::new(Code::BridgeHsm, format!("PKCS#11: {other}")),
    };
    problem.caused_by(e)
}

impl BlobKeyProvider<Pkcs11Keys> {
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
            .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == token_label))
            .ok_or_else(|| Problem::new(Code::BridgeUnavailable, format!("no token labelled {token_label:?}")))?;

        let pin = Zeroizing::new(pin.to_string());
        let module_path = module.canonicalize().unwrap_or_else(|_| module.to_path_buf());
        let mut logins = logins();
        let known = logins.iter().find(|(m, s, _)| *m == module_path && *s == slot.id());
        if let Some((.., known)) = known {
            if !bool::from(known.as_bytes().ct_eq(pin.as_bytes())) {
                return Err(Problem::new(
                    Code::BridgeAuthenticationFailed,
                    "C_Login failed: PinIncorrect (the token is logged in in this process with another PIN)",
                ));
            }
        }
        let keys = Pkcs11Keys { ctx, slot, token_label: token_label.to_string(), pin, idle: Mutex::new(Vec::new()) };
        // Log in now, so a wrong PIN is reported when the bridge is opened.
        keys.with_session(false, |_| Ok(()))?;
        if known.is_none() {
            logins.push((module_path, slot.id(), keys.pin.clone()));
        }
        Ok(BlobKeyProvider::over(keys))
    }

    /// Generates a new AES-256 master key on the token, labelled with the ARN's key id:
    /// sensitive, never extractable, for encryption and decryption only.
    pub fn generate_master_key(&self, arn: &KeyArn) -> Result<(), Problem> {
        self.generate_key(arn, KeyFacts { aes: true, bytes: MASTER_KEY_LEN, encrypt: true, decrypt: true })
    }

    /// Generates an AES key of `spec.bytes` on the token, labelled with the ARN's key id,
    /// sensitive and never extractable, allowing only the operations `spec` allows (an
    /// operator may keep a key for decryption only; the XKS proxy reads what it allows).
    pub fn generate_key(&self, arn: &KeyArn, spec: KeyFacts) -> Result<(), Problem> {
        if !spec.aes || ![16, 24, 32].contains(&spec.bytes) {
            return Err(Problem::new(Code::Keyring, "a key on the token is AES-128, AES-192 or AES-256"));
        }
        self.store().with_session(true, |s| {
            if Pkcs11Keys::find_key(s, arn.key_id()).is_ok() {
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
                Attribute::Encrypt(spec.encrypt),
                Attribute::Decrypt(spec.decrypt),
                Attribute::ValueLen(Ulong::from(spec.bytes)),
                Attribute::Label(arn.key_id().as_bytes().to_vec()),
            ];
            s.generate_key(&Mechanism::AesKeyGen, &template).map_err(map).map(|_| ())
        })
    }
}

impl Pkcs11Keys {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Session>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new_session(&self, read_write: bool) -> Result<Session, Problem> {
        let session =
            if read_write { self.ctx.open_rw_session(self.slot) } else { self.ctx.open_ro_session(self.slot) }
                .map_err(map)?;
        // The login state is the token's, shared by every session of this process.
        match session.login(UserType::User, Some(&AuthPin::from(self.pin.to_string()))) {
            Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(e) => Err(map(e)),
        }
    }

    /// Runs `f` on a session of its own; gives the session back unless the token broke it.
    fn with_session<T>(&self, read_write: bool, f: impl FnOnce(&Session) -> Result<T, Problem>) -> Result<T, Problem> {
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

    fn find_key(session: &Session, label: &str) -> Result<ObjectHandle, Problem> {
        let template = [Attribute::Class(ObjectClass::SECRET_KEY), Attribute::Label(label.as_bytes().to_vec())];
        match session.find_objects(&template).map_err(map)?[..] {
            [key] => Ok(key),
            [] => Err(Problem::new(Code::BridgeKeyNotFound, format!("no secret key labelled {label:?} on the token"))),
            _ => Err(Problem::new(Code::BridgeHsm, format!("several secret keys are labelled {label:?}"))),
        }
    }

    /// `ciphertext | tag` of `plaintext` under the key labelled `label`, in AES-GCM
    /// with a 12- or 16-byte `iv` (the XKS proxy's call; the bridge's is [`MasterKeys::seal`]).
    pub fn seal_labelled(&self, label: &str, iv: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Problem> {
        self.with_session(false, |s| {
            let handle = Self::find_key(s, label)?;
            let mut iv = iv.to_vec();
            s.encrypt(&Self::gcm(&mut iv, aad)?, handle, plaintext).map_err(map)
        })
    }

    /// The XKS proxy's encrypt, on one session with one key lookup: an IV of `iv_len`
    /// bytes from the token, `ciphertext | tag` of `plaintext` under the key labelled
    /// `label`, then `then(iv, sealed)` at once (the integrity value is computed before
    /// anything else touches the bytes), then, when `verify`, the result decrypted on the
    /// token and compared with `plaintext` (`Bridge.Hsm` when it differs).
    pub fn seal_fresh<T>(
        &self,
        label: &str,
        iv_len: usize,
        aad: &[u8],
        plaintext: &[u8],
        verify: bool,
        then: impl FnOnce(&[u8], &[u8]) -> T,
    ) -> Result<(Vec<u8>, Vec<u8>, T), Problem> {
        let iv_len = u32::try_from(iv_len).map_err(|_| Problem::new(Code::BridgeHsm, "too many random bytes asked"))?;
        self.with_session(false, |s| {
            let handle = Self::find_key(s, label)?;
            let iv = s.generate_random_vec(iv_len).map_err(map)?;
            let mut param = iv.clone();
            let sealed = s.encrypt(&Self::gcm(&mut param, aad)?, handle, plaintext).map_err(map)?;
            let value = then(&iv, &sealed);
            if verify {
                let mut param = iv.clone();
                let opened = Zeroizing::new(s.decrypt(&Self::gcm(&mut param, aad)?, handle, &sealed).map_err(map)?);
                if opened.as_slice() != plaintext {
                    return Err(Problem::new(
                        Code::BridgeHsm,
                        "the token's ciphertext did not decrypt to its plaintext",
                    ));
                }
            }
            Ok((iv, sealed, value))
        })
    }

    /// Opens `ciphertext | tag` under the key labelled `label`; `InvalidCiphertext`
    /// when it does not open.
    pub fn open_labelled(
        &self,
        label: &str,
        iv: &[u8],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Problem> {
        self.with_session(false, |s| {
            let handle = Self::find_key(s, label)?;
            let mut iv = iv.to_vec();
            s.decrypt(&Self::gcm(&mut iv, aad)?, handle, sealed).map(Zeroizing::new).map_err(|e| match e {
                // SoftHSM2 reports a GCM tag mismatch as a general error, where HSMs say
                // CKR_ENCRYPTED_DATA_INVALID. If the token still answers, the blob was bad.
                Error::Pkcs11(RvError::GeneralError | RvError::FunctionFailed, _)
                    if s.generate_random_vec(1).is_ok() =>
                {
                    opaque()
                }
                e => map(e),
            })
        })
    }

    /// Whether the token has a secret key labelled `label`.
    pub fn has_label(&self, label: &str) -> Result<bool, Problem> {
        self.with_session(false, |s| match Self::find_key(s, label) {
            Ok(_) => Ok(true),
            Err(p) if p.code == Code::BridgeKeyNotFound => Ok(false),
            Err(p) => Err(p),
        })
    }

    /// What the token says of the secret key labelled `label`: its type, length and
    /// the operations it allows (`None` when there is no such key).
    pub fn key_facts(&self, label: &str) -> Result<Option<KeyFacts>, Problem> {
        self.with_session(false, |s| {
            let handle = match Self::find_key(s, label) {
                Ok(handle) => handle,
                Err(p) if p.code == Code::BridgeKeyNotFound => return Ok(None),
                Err(p) => return Err(p),
            };
            let wanted =
                [AttributeType::KeyType, AttributeType::ValueLen, AttributeType::Encrypt, AttributeType::Decrypt];
            let mut facts = KeyFacts { aes: false, bytes: 0, encrypt: false, decrypt: false };
            for attribute in s.get_attributes(handle, &wanted).map_err(map)? {
                match attribute {
                    Attribute::KeyType(t) => facts.aes = t == KeyType::AES,
                    Attribute::ValueLen(n) => facts.bytes = u64::from(n),
                    Attribute::Encrypt(allowed) => facts.encrypt = allowed,
                    Attribute::Decrypt(allowed) => facts.decrypt = allowed,
                    _ => {}
                }
            }
            Ok(Some(facts))
        })
    }

    /// `len` bytes from the token's generator (`C_GenerateRandom`).
    pub fn random_bytes(&self, len: usize) -> Result<Vec<u8>, Problem> {
        let len = u32::try_from(len).map_err(|_| Problem::new(Code::BridgeHsm, "too many random bytes asked"))?;
        self.with_session(false, |s| s.generate_random_vec(len).map_err(map))
    }

    /// The token's label and model, as its `C_GetTokenInfo` says.
    pub fn token(&self) -> Result<(String, String), Problem> {
        let info = self.ctx.get_token_info(self.slot).map_err(map)?;
        Ok((self.token_label.clone(), format!("{} {}", info.manufacturer_id(), info.model()).trim().to_string()))
    }

    fn gcm<'a>(iv: &'a mut [u8], aad: &'a [u8]) -> Result<Mechanism<'a>, Problem> {
        Ok(Mechanism::AesGcm(GcmParams::new(iv, aad, Ulong::from(GCM_TAG_BITS)).map_err(map)?))
    }
}

#[async_trait::async_trait]
impl MasterKeys for Pkcs11Keys {
    async fn seal(&self, key: &KeyArn, iv: &[u8; IV_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Problem> {
        self.seal_labelled(key.key_id(), iv, aad, plaintext)
    }

    async fn open(
        &self,
        key: &KeyArn,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Problem> {
        self.open_labelled(key.key_id(), iv, aad, sealed)
    }

    async fn describe(&self, key: &KeyArn) -> Result<KeyDescription, Problem> {
        self.with_session(false, |s| {
            let handle = Self::find_key(s, key.key_id())?;
            let attributes =
                s.get_attributes(handle, &[AttributeType::KeyType, AttributeType::ValueLen]).map_err(map)?;
            let is_aes = attributes.iter().any(|a| matches!(a, Attribute::KeyType(t) if *t == KeyType::AES));
            let len = attributes.iter().find_map(|a| match a {
                Attribute::ValueLen(n) => Some(u64::from(*n)),
                _ => None,
            });
            if !is_aes || len != Some(MASTER_KEY_LEN) {
                return Err(Problem::new(Code::BridgeHsm, format!("{key} is not an AES-256 key on the token")));
            }
            Ok(KeyDescription::master_key(key, "HSM"))
        })
    }

    /// The token's own generator (`C_GenerateRandom`), for data keys and IVs.
    async fn random(&self, len: usize) -> Result<Vec<u8>, Problem> {
        self.random_bytes(len)
    }

    /// Whether the token has a secret key labelled with the ARN's key id.
    async fn holds(&self, key: &KeyArn) -> Result<bool, Problem> {
        self.has_label(key.key_id())
    }
}
