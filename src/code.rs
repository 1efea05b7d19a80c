//! Stable error and warning codes (RULES.md section 10) and the problem type that
//! carries one to a caller.
//!
//! Callers match on [`Code`] (or its string), never on messages: the strings are part
//! of the public interface and do not change.

use serde::{Serialize, Serializer};
use std::fmt;

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $name:ident = $text:literal,)*) => {
        /// A stable code from RULES.md (plus those this project adds, each documented:
        /// docs/reference/codes.md lists them all).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $(#[doc = concat!("`", $text, "`")] $(#[doc = $doc])* $name,)* }

        /// The codes as a TypeScript string union, for the npm package's types.
        #[cfg(all(target_arch = "wasm32", feature = "typescript"))]
        #[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
        const CODE_TS: &'static str = concat!(
            "/** A stable error or warning code (RULES.md section 10). */\nexport type Code = ",
            $("\"", $text, "\" | ",)*
            "never;"
        );

        impl Code {
            /// Every code, for documentation and exhaustive tests.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The stable string of the code (`Conflict.NameExists`).
            pub const fn as_str(self) -> &'static str {
                match self { $(Code::$name => $text,)* }
            }
        }
    };
}

codes! {
    // Field formats (section 1 and the parameters of section 2).
    KmsInstanceId = "InvalidParameter.KmsInstanceId",
    VpcId = "InvalidParameter.VpcId",
    VSwitchId = "InvalidParameter.VSwitchId",
    RegionId = "InvalidParameter.RegionId",
    AccountId = "InvalidParameter.AccountId",
    FolderId = "InvalidParameter.FolderId",
    ResourceDirectoryId = "InvalidParameter.ResourceDirectoryId",
    AccountName = "InvalidParameter.AccountName",
    DisplayName = "InvalidParameter.DisplayName",
    ResourceShareName = "InvalidParameter.ResourceShareName",
    Alias = "InvalidParameter.Alias",
    SecretName = "InvalidParameter.SecretName",
    Bucket = "InvalidParameter.Bucket",
    Months = "InvalidParameter.Months",
    Spec = "InvalidParameter.Spec",
    Mode = "InvalidParameter.Mode",
    Permission = "InvalidParameter.Permission",
    PrincipalType = "InvalidParameter.PrincipalType",
    /// ConnectKmsInstance with a channel other than `api` or `console`.
    Channel = "InvalidParameter.Channel",
    // Documents handed to the library (the wasm package; the CLI exits 2 instead).
    /// A change plan that is malformed (the package; the CLI exits 2).
    Plan = "InvalidParameter.Plan",
    /// A state that is malformed (the package; the CLI exits 2).
    State = "InvalidParameter.State",
    /// A request or an option that is malformed (the package; the CLI exits 2).
    Request = "InvalidParameter.Request",
    // Limits (src/limits.rs): an input past its documented limit; a request that would
    // take the state past one, or to a value that cannot be represented.
    /// An input past its documented limit (src/limits.rs).
    TooLarge = "InvalidParameter.TooLarge",
    /// A valid request that would take the state past a limit, or to a value that cannot be represented.
    LimitExceeded = "Rejected.LimitExceeded",
    /// TagResource past the tag limits (Alibaba Cloud's usual ones; RULES.md sets none).
    Tag = "InvalidParameter.Tag",
    // BindVpcs (section 4).
    BindVpcsMalformed = "InvalidParameter.BindVpcs.Malformed",
    BindVpcsMissingField = "InvalidParameter.BindVpcs.MissingField",
    BindVpcsUnknownField = "InvalidParameter.BindVpcs.UnknownField",
    BindVpcsVpcId = "InvalidParameter.BindVpcs.VpcId",
    BindVpcsVSwitchId = "InvalidParameter.BindVpcs.VSwitchId",
    BindVpcsRegionId = "InvalidParameter.BindVpcs.RegionId",
    BindVpcsVpcOwnerId = "InvalidParameter.BindVpcs.VpcOwnerId",
    BindVpcsVpcOwnerIdPrecision = "InvalidParameter.BindVpcs.VpcOwnerIdPrecision",
    BindVpcsCrossRegion = "InvalidParameter.BindVpcs.CrossRegion",
    BindVpcsDuplicateVpc = "InvalidParameter.BindVpcs.DuplicateVpc",
    BindVpcsDuplicateVSwitch = "InvalidParameter.BindVpcs.DuplicateVSwitch",
    BindVpcsPrimaryVpc = "InvalidParameter.BindVpcs.PrimaryVpc",
    BindVpcsVSwitchNotInVpc = "InvalidParameter.BindVpcs.VSwitchNotInVpc",
    BindVpcsNoAvailableIp = "Rejected.BindVpcs.NoAvailableIp",
    BindVpcsVSwitchNotShared = "Rejected.BindVpcs.VSwitchNotShared",
    // Lifecycle (section 2).
    DualZone = "InvalidParameter.DualZone",
    NoAvailableIp = "Rejected.NoAvailableIp",
    HsmUser = "InvalidParameter.HsmUser",
    HsmPassword = "InvalidParameter.HsmPassword",
    Certificate = "InvalidParameter.Certificate",
    HsmCluster = "InvalidParameter.HsmCluster",
    ProxyConnectivity = "InvalidParameter.ProxyConnectivity",
    ProxyConfig = "InvalidParameter.ProxyConfig",
    ConsoleOnly = "Rejected.ConsoleOnly",
    InstanceNotEnabled = "Rejected.InstanceNotEnabled",
    InstanceExpired = "Rejected.InstanceExpired",
    /// ConnectKmsInstance on an instance that is not pending enable.
    AlreadyConnected = "Rejected.AlreadyConnected",
    /// CompleteEnable when nothing is being enabled.
    NotEnabling = "Rejected.NotEnabling",
    QuotaBelowUsage = "Rejected.QuotaBelowUsage",
    // Quotas.
    QuotaAccessManagement = "QuotaExceeded.AccessManagement",
    QuotaKeys = "QuotaExceeded.Keys",
    QuotaSecrets = "QuotaExceeded.Secrets",
    // Keys.
    Protection = "InvalidParameter.Protection",
    Origin = "InvalidParameter.Origin",
    /// The owner configuring an `alias/acs/…` service key (R-KEY-1).
    ServiceKeyNotConfigurable = "Rejected.ServiceKeyNotConfigurable",
    /// ScheduleKeyDeletion on a key with deletion protection.
    DeletionProtected = "Rejected.DeletionProtected",
    // Sharing (section 5).
    InstanceTypeNotShareable = "Rejected.InstanceTypeNotShareable",
    NotSameEnterprise = "Rejected.NotSameEnterprise",
    NotSameResourceDirectory = "Rejected.NotSameResourceDirectory",
    DeprecatedPermission = "Rejected.DeprecatedPermission",
    ModeChangeIrreversible = "Rejected.ModeChangeIrreversible",
    ShareHasResources = "Rejected.ShareHasResources",
    DefaultKeyNotShareable = "Rejected.DefaultKeyNotShareable",
    CrossRegion = "Rejected.CrossRegion",
    NoShare = "Rejected.NoShare",
    ShareExists = "Rejected.ShareExists",
    NameExists = "Conflict.NameExists",
    // Lookups.
    KeyNotFound = "NotFound.Key",
    SecretNotFound = "NotFound.Secret",
    AccountNotFound = "NotFound.Account",
    FolderNotFound = "NotFound.Folder",
    /// DisassociatePrincipals naming a principal the share does not have.
    PrincipalNotFound = "NotFound.Principal",
    // Access checks (section 7).
    NotShared = "Forbidden.NotShared",
    PermissionNotAttached = "Forbidden.PermissionNotAttached",
    RamPolicy = "Forbidden.RamPolicy",
    NotOwner = "Forbidden.NotOwner",
    OwnerOnly = "Forbidden.OwnerOnly",
    // Envelope encryption and the HSM bridge (ENVELOPE.md).
    InvalidCiphertext = "InvalidCiphertext",
    // Refinements of InvalidCiphertext (RULES.md has the one code; a caller matching its
    // prefix still sees every case): the caller must act differently on each.
    /// Bytes that are not a message of the Encryption SDK's format (one text, on every surface).
    NotAMessage = "InvalidCiphertext.NotAMessage",
    /// A message whose header declares a later version of the format: a newer library may open it.
    NewerVersion = "InvalidCiphertext.NewerVersion",
    /// An authentic message (its header tag checked) whose context lacks an entry the caller requires.
    ContextMismatch = "InvalidCiphertext.ContextMismatch",
    // A CBC or CTR algorithm of the SDK's table: never sealed, opened only when allowed.
    /// A message of a CBC or CTR algorithm without `allowLegacyAlgorithms`, or sealing with one.
    LegacyAlgorithm = "Rejected.LegacyAlgorithm",
    /// A streamed message too large to be held in memory to be verified before any of it is released (a source read once): open it from a file, or unverified by name.
    UnverifiedStreamRequired = "Rejected.UnverifiedStreamRequired",
    /// An ARN that is not `acs:kms:<region>:<uid>:key/<id>`, or no key named.
    KeyId = "InvalidParameter.KeyId",
    /// An encryption context past its limits, or malformed.
    EncryptionContext = "InvalidParameter.EncryptionContext",
    /// A plaintext past the limit of one message.
    Plaintext = "InvalidParameter.Plaintext",
    /// A keyring file or token key that cannot be used (its material is never quoted).
    Keyring = "InvalidParameter.Keyring",
    // The body's tag a host hands back (after encrypting the body itself) is not 16 bytes.
    /// A host handing back a body tag that is not 16 bytes.
    AuthTag = "InvalidParameter.AuthTag",
    // A data key of the wrong length for the algorithm, handed to AES-GCM to seal.
    /// A data key of the wrong length for the algorithm, handed to AES-GCM to seal.
    DataKey = "InvalidParameter.DataKey",
    // A message that cannot be written: a field past what the DER format holds.
    /// A message the DER format cannot hold.
    Encoding = "Envelope.EncodingFailed",
    BridgeUnavailable = "Bridge.Unavailable",
    BridgeTimeout = "Bridge.Timeout",
    BridgeAuthenticationFailed = "Bridge.AuthenticationFailed",
    BridgeKeyNotFound = "Bridge.KeyNotFound",
    BridgeHsm = "Bridge.Hsm",
    // The remote proxy (ENVELOPE.md "The remote proxy"): the XKS Proxy API's errors that
    // the five above do not name, TLS, and an answer the client cannot use or trust.
    /// The XKS proxy refused the caller (`AccessDeniedException`).
    BridgeAccessDenied = "Bridge.AccessDenied",
    /// A key that is not enabled, not AES-256, or not for this use (XKS, KMS).
    BridgeKeyUnusable = "Bridge.KeyUnusable",
    /// The proxy or KMS asked the caller to slow down.
    BridgeThrottled = "Bridge.Throttled",
    /// The proxy's HSM did not answer in time.
    BridgeDependencyTimeout = "Bridge.DependencyTimeout",
    /// The proxy refused the request for another reason it names.
    BridgeRejected = "Bridge.Rejected",
    /// An answer the client cannot read.
    BridgeInvalidResponse = "Bridge.InvalidResponse",
    /// An XKS answer whose integrity value does not match: not used.
    BridgeIntegrity = "Bridge.IntegrityMismatch",
    /// TLS to the proxy or KMS failed: its certificate is not trusted, or the handshake did not complete.
    BridgeTls = "Bridge.Tls",
    // The npm package's wasm module (thrown by the package, never by the core): a slim
    // entry used before init(), a module the host would not compile or instantiate (or
    // one of another build), and an object used after it was freed.
    /// A slim entry of the package called before `init()`.
    ModuleNotLoaded = "Module.NotLoaded",
    /// The host would not compile or instantiate the package's module, or it is another build's.
    ModuleLoadFailed = "Module.LoadFailed",
    // An object of the package used after its free() (its wasm memory is gone).
    /// An object of the package used after its `free()`.
    ModuleFreed = "Module.Freed",
    // Warnings: the request succeeds.
    WarnPermissionEscalation = "Warning.PermissionEscalation",
    WarnDeprecatedPermission = "Warning.DeprecatedPermission",
    WarnCrossAccountVpc = "Warning.CrossAccountVpc",
    // A region id of the right form that Alibaba Cloud has not published (likely misspelt).
    /// A region id of the right form that Alibaba Cloud has not published (likely misspelt).
    WarnUnknownRegion = "Warning.UnknownRegion",
}

impl Code {
    /// `InvalidCiphertext` or one of its refinements: a message that was read and refused.
    pub fn is_invalid_ciphertext(self) -> bool {
        self.as_str().split('.').next() == Some("InvalidCiphertext")
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::str::FromStr for Code {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s).ok_or(())
    }
}

/// What lies under a problem (a PKCS#11 return value, a JavaScript provider's error):
/// kept for whoever debugs it, never serialised, never key material. Natively it may
/// cross threads; in wasm (one thread) it may hold a JavaScript value.
#[cfg(not(target_arch = "wasm32"))]
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync>;
/// What lies under a problem; in wasm (one thread) it may hold a JavaScript value.
#[cfg(target_arch = "wasm32")]
pub type Cause = std::rc::Rc<dyn std::error::Error>;

/// One reported problem (or warning): a code, a message for people, the JSON pointer
/// of the offending field when there is one, and the rule it comes from.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// The stable code; match on it, never on the message.
    pub code: Code,
    /// What went wrong, for people; never key material.
    pub message: String,
    /// The JSON pointer of the field at fault (`/0/VpcId`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The rule of RULES.md it comes from (`R-BV-3`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    /// Where it is in the text that was checked, when it was text (a string or file,
    /// not a value already parsed): the offending value, or the name of an unknown
    /// field, or where the JSON stops being JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<Box<crate::place::Place>>,
    /// What caused it, when something below the library failed.
    #[serde(skip)]
    pub cause: Option<Cause>,
}

/// Problems are equal when they say the same; their causes are not compared.
impl PartialEq for Problem {
    fn eq(&self, other: &Self) -> bool {
        (self.code, &self.message, &self.path, self.rule, &self.place)
            == (other.code, &other.message, &other.path, other.rule, &other.place)
    }
}

impl Eq for Problem {}

impl Problem {
    /// A problem with a code and a message, at no path, from no rule.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Problem { code, message: message.into(), path: None, rule: None, place: None, cause: None }
    }

    /// The problem placed in `text`, the JSON it was found in, at what its pointer names
    /// (when it has a pointer and no place yet).
    pub fn placed_in(mut self, text: &str) -> Self {
        if let (None, Some(path)) = (&self.place, &self.path) {
            let range = crate::place::Locator::new(text).range(path, crate::place::Target::Value);
            self.place = crate::place::places(text, &[range]).pop().map(Box::new);
        }
        self
    }

    /// JSON text that serde_json could not read as what was asked, placed where it
    /// stopped.
    pub fn json(code: Code, text: &str, error: &serde_json::Error) -> Self {
        Problem {
            place: crate::place::of_json_error(text, error).map(Box::new),
            ..Problem::new(code, error.to_string())
        }
    }

    /// The problem, with what caused it.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(std::sync::Arc::new(cause));
        self
    }

    /// The problem, with what caused it.
    #[cfg(target_arch = "wasm32")]
    pub fn caused_by(mut self, cause: impl std::error::Error + 'static) -> Self {
        self.cause = Some(std::rc::Rc::new(cause));
        self
    }

    /// The problem, at the field `path` points to.
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The problem, citing the rule it comes from.
    pub fn rule(mut self, rule: &'static str) -> Self {
        self.rule = Some(rule);
        self
    }
}

#[cfg(any(feature = "rules", all(target_arch = "wasm32", any(feature = "validate", feature = "envelope"))))]
impl Problem {
    /// A document serde refused, in its `text`. A syntax error is placed where it is. A
    /// value of the wrong shape is named by its pointer: an unknown field placed at its
    /// name, anything else where serde stopped (a wrong type, a repeated name, a missing
    /// one at its object's end) unless that is past the value named, as it is for a type
    /// read whole before it is checked (a plan step, a request): then at that value.
    fn of_serde(code: Code, text: &str, e: &serde_path_to_error::Error<serde_json::Error>) -> Self {
        use crate::place::{places, Locator, Target};
        let inner = e.inner();
        let stopped = Problem::stopped(code, text, inner);
        if !inner.is_data() {
            return stopped;
        }
        let pointer = crate::place::pointer_of(e.path());
        let unknown = stopped.message.starts_with("unknown field");
        let (start, end) = Locator::new(text).range(&pointer, if unknown { Target::Name } else { Target::Value });
        let past = stopped.place.as_ref().is_none_or(|p| p.start >= end);
        let place = if unknown || past { places(text, &[(start, end)]).pop().map(Box::new) } else { stopped.place };
        Problem { path: Some(pointer).filter(|p| !p.is_empty()), place, ..stopped }
    }

    /// serde_json's error placed where it stopped in `text`, its message without the line
    /// and column (the place says them).
    fn stopped(code: Code, text: &str, e: &serde_json::Error) -> Self {
        Problem { message: json_reason(e), ..Problem::json(code, text, e) }
    }
}

#[cfg(any(feature = "rules", all(target_arch = "wasm32", any(feature = "validate", feature = "envelope"))))]
/// JSON text read as a `T` (a plan; every input of the wasm modules): a field serde
/// refuses is named by its pointer (`path`), and placed in the text when it is the
/// caller's own (`Problem::of_serde`). The grammar is checked first (and that nothing
/// follows the value), so a syntax error is the one reported wherever it is (but for a
/// number out of range or a lone surrogate, which serde_json checks only where it reads
/// the value); the value is then read from the text, not through a `serde_json::Value`,
/// so a field given twice is refused rather than read as the last one.
pub(crate) fn parse_text<T: serde::de::DeserializeOwned>(text: &str, code: Code, placed: bool) -> Result<T, Problem> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| {
        if placed {
            Problem::stopped(code, text, &e)
        } else {
            Problem::new(code, e.to_string())
        }
    })?;
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text)).map_err(|e| {
        let problem = Problem::of_serde(code, text, &e);
        if placed {
            problem
        } else {
            Problem { place: None, ..problem }
        }
    })
}

/// serde_json's message without its " at line L column C" suffix (a place says it).
#[cfg(any(feature = "validate", all(target_arch = "wasm32", feature = "envelope")))]
pub(crate) fn json_reason(e: &serde_json::Error) -> String {
    let mut text = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    if text.ends_with(&at) {
        text.truncate(text.len().saturating_sub(at.len()));
    }
    text
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(path) = &self.path {
            write!(f, " at {path}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Problem {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert_eq!(code.as_str().parse::<Code>(), Ok(*code));
        }
        assert!("Nope.Nothing".parse::<Code>().is_err());
    }
}
