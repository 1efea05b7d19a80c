//! A request: an API call made by an account, in the JSON shape of a change-plan step
//! (SCENARIOS.md): `{"as", "action", "params", "ram", "region"}`.
//!
//! Parameters whose format is a rule (ids, names, modes) are kept as strings here and
//! checked by the engine in the documented order (RULES.md section 7), so a bad value
//! is a typed error with its code, not a parse failure.

use crate::rules::bind_vpcs::Network;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// A value that must never be shown: a password or an AccessKey secret. It is written
/// as `****`, and when it is not a string the error says so without quoting it.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Clone, Default, PartialEq, Eq)]
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), serde(transparent))]
pub struct Sensitive(pub String);

impl<'de> Deserialize<'de> for Sensitive {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SensitiveVisitor)
    }
}

/// Accepts a string and nothing else. serde's default answers quote the value they did
/// not expect (`invalid type: integer `1234``), so every other shape is refused here
/// with a message of its own.
struct SensitiveVisitor;

fn not_shown<E: serde::de::Error>() -> E {
    E::custom("expected a string (the value is a secret: it is not shown)")
}

impl<'de> serde::de::Visitor<'de> for SensitiveVisitor {
    type Value = Sensitive;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Sensitive, E> {
        Ok(Sensitive(v.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Sensitive, E> {
        Ok(Sensitive(v))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Sensitive, E> {
        Err(not_shown())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Sensitive, E> {
        Err(not_shown())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Sensitive, E> {
        Err(not_shown())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Sensitive, E> {
        Err(not_shown())
    }

    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Sensitive, E> {
        Err(not_shown())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Sensitive, E> {
        Err(not_shown())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Sensitive, A::Error> {
        Err(not_shown())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<Sensitive, A::Error> {
        Err(not_shown())
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sensitive(****)")
    }
}

impl Serialize for Sensitive {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("****")
    }
}

/// A vSwitch to enable the instance in.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VSwitchParam {
    /// Its id (R-ID-3).
    pub id: String,
    /// The zone it is in.
    pub zone: String,
    /// Its free IP addresses (R-LC-2, R-LC-3).
    pub available_ips: u32,
}

/// A VPC endpoint service the proxy is reached through (R-LC-4).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointService {
    /// Its id.
    pub id: String,
    /// Its zones: the instance's two (R-LC-4).
    pub zones: Vec<String>,
}

/// How the instance talks to its key-store proxy (R-LC-4): four fields, or a file.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyConfig {
    /// The proxy's URI path.
    #[serde(default)]
    pub path: Option<String>,
    /// The proxy certificate's fingerprint.
    #[serde(default)]
    pub certificate_fingerprint: Option<String>,
    /// The AccessKey id the instance signs with.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// The AccessKey secret (never stored, never shown).
    #[serde(default)]
    pub access_key_secret: Option<Sensitive>,
    /// An uploaded configuration file, instead of the four fields.
    #[serde(default)]
    pub file: Option<Sensitive>,
}

/// An external instance's key-store proxy (R-LC-4).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyParam {
    /// `public` or `endpointService`.
    pub connectivity: String,
    /// The proxy's domain name, for `public`.
    #[serde(default)]
    pub domain: Option<String>,
    /// The endpoint service, for `endpointService`.
    #[serde(default)]
    pub endpoint_service: Option<EndpointService>,
    /// How the instance signs its calls to the proxy.
    #[serde(default)]
    pub config: Option<ProxyConfig>,
}

/// ConnectKmsInstance: what enabling needs (R-LC-2 to R-LC-5).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Connect {
    /// `api` or `console` (R-LC-5).
    pub channel: String,
    /// The instance's own VPC (R-ID-2).
    pub vpc_id: String,
    /// The vSwitches, in the instance's two zones.
    #[serde(default)]
    pub v_switches: Vec<VSwitchParam>,
    /// The two zones; left out, the zones of the vSwitches.
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    /// A hardware instance's HSM cluster (R-LC-3).
    #[serde(default)]
    pub hsm_cluster_id: Option<String>,
    /// The HSM crypto user: always `kmsuser` (R-LC-3).
    #[serde(default)]
    pub user: Option<String>,
    /// The crypto user's password (never stored, never shown).
    #[serde(default)]
    pub password: Option<Sensitive>,
    /// The HSM's root CA certificate, PEM (R-LC-3).
    #[serde(default)]
    pub certificate: Option<String>,
    /// An external instance's proxy (R-LC-4).
    #[serde(default)]
    pub proxy: Option<ProxyParam>,
}

/// New specifications; those left out stay (R-LC-7).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpecChange {
    /// The new access-management quota.
    #[serde(default)]
    pub access_management_quota: Option<u32>,
    /// The new key quota.
    #[serde(default)]
    pub key_quota: Option<u32>,
    /// The new secret quota.
    #[serde(default)]
    pub secret_quota: Option<u32>,
    /// The new compute units.
    #[serde(default)]
    pub compute_units: Option<u32>,
}

/// UpgradeKmsInstance.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upgrade {
    /// The new specifications.
    pub spec: SpecChange,
}

/// RenewKmsInstance.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Renew {
    /// Whole months, 1 to 36 (R-LC-8).
    pub months: i64,
}

/// EnableSecurityAudit.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityAudit {
    /// The OSS bucket that receives the logs (R-LC-9).
    pub bucket: String,
}

/// UpdateKmsInstanceBindVpc (RULES.md section 4).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindVpc {
    /// The JSON string of the API, or the array a console already has.
    #[serde(rename = "BindVpcs")]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "string | BindVpcEntry[]"))]
    pub bind_vpcs: Value,
    /// What the caller knows about the vSwitches (R-BV-7, R-BV-8).
    #[serde(default)]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Record<string, VSwitchFacts>"))]
    pub network: Option<Network>,
}

/// A principal as a request names it; checked by the engine (R-SH-3).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalParam {
    /// `account`, `folder` or `directory` (R-SH-3).
    #[serde(rename = "type")]
    pub kind: String,
    /// The account, folder or directory id; a directory may leave it out.
    #[serde(default)]
    pub id: Option<String>,
}

/// A permission a new share asks for (R-SH-4).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionParam {
    /// Its name.
    pub name: String,
    /// Its version; left out, v2.
    #[serde(default)]
    pub version: Option<String>,
}

/// CreateResourceShare: a new share, or joining an existing one (R-SH-7).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateShare {
    /// The share's name (R-NAME-3).
    pub name: String,
    /// `joint` or `independent` (R-SH-5).
    pub mode: String,
    /// Its principals.
    #[serde(default)]
    pub principals: Vec<PrincipalParam>,
    /// Its permission; left out, the KMS instance permission v2.
    #[serde(default)]
    pub permission: Option<PermissionParam>,
    /// The id of an existing share to join instead (R-SH-7).
    #[serde(default)]
    pub existing_share: Option<String>,
}

/// AssociatePrincipals and DisassociatePrincipals.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principals {
    /// The principals to add or remove.
    pub principals: Vec<PrincipalParam>,
}

/// ChangeShareMode.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeChange {
    /// The new mode: `independent` (R-SH-5: never back to joint).
    pub mode: String,
}

/// JoinFolder: a member joins a folder (a world event).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinFolder {
    /// The member's account id.
    pub account: String,
    /// The folder it joins.
    pub folder: String,
}

/// CreateKey.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// Its alias (R-NAME-4).
    pub alias: String,
    /// `software` or `hardware`; left out, the instance's kind (R-KEY-1).
    #[serde(default)]
    pub protection: Option<String>,
    /// `kms` or `external`; left out, `kms` (R-KEY-2).
    #[serde(default)]
    pub origin: Option<String>,
}

/// Names a key by alias or key id.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    /// The key's alias or id.
    pub key: String,
}

/// UpdateRotationPolicy and SetDeletionProtection.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    /// The key's alias or id.
    pub key: String,
    /// Left out: on.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// CreateAlias.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddAlias {
    /// The key's alias or id.
    pub key: String,
    /// The alias to add (R-NAME-4).
    pub alias: String,
}

/// TagResource: a key's tags, or a secret's.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    /// The key to tag (alias or id).
    #[serde(default)]
    pub key: Option<String>,
    /// The secret to tag, when no key is named.
    #[serde(default)]
    pub secret: Option<String>,
    /// The tags to set.
    #[serde(default)]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Record<string, string>"))]
    pub tags: BTreeMap<String, String>,
}

/// CreateSecret.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretName {
    /// Its name (R-NAME-5).
    pub name: String,
}

/// A secret, by name.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The secret's name.
    pub secret: String,
}

/// CreateApplicationAccessPoint.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPoint {
    /// The access point's name.
    pub name: String,
}

/// No parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// The TypeScript shape of [`Request`] (its serde shape is `RequestDoc`'s, by hand) and
/// of [`NoParams`] (an empty object; `{}` in TypeScript would admit any object, so an
/// action's parameters could be left out whatever they are).
#[cfg(all(target_arch = "wasm32", feature = "typescript"))]
#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const REQUEST_TS: &'static str = r#"
/** No parameters. */
export type NoParams = Record<string, never>;

/** An API call made by an account: a change-plan step without `expect`. Parameters are
 * required where the action has some; an action without any may leave `params` out. */
export type Request = (Action extends infer A
    ? A extends { params: NoParams } ? Omit<A, "params"> & { params?: NoParams } : A
    : never) & {
    /** An account id, or "owner". */
    as: string;
    /** RAM actions granted to the caller (`kms:Encrypt`, `kms:*`); left out, all. */
    ram?: string[];
    /** The region the call is made from; left out, the instance's. */
    region?: string;
    /** The AccessKey id or STS token that signed the call (masked in the audit record). */
    credential?: string;
};
"#;

/// Defines [`Action`] and its dispatch by name. Building an action from its name and
/// parameters directly (rather than through serde's adjacently tagged enum, which the
/// derive still describes for the TypeScript types) keeps one deserializer per
/// parameter type: the wasm module is the smaller for it.
macro_rules! actions {
    ($($name:ident($params:ty),)*) => {
        /// Every action of SCENARIOS.md, with its parameters.
        #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "action", content = "params")]
        pub enum Action {
            $(#[doc = concat!("`", stringify!($name), "`, with its parameters.")] $name($params),)*
        }

        impl Action {
            /// Every action's API name.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name),)*];

            /// The action's API name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Action::$name(_) => stringify!($name),)*
                }
            }

            /// Builds an action from its name and parameters (`null` or absent: none).
            pub fn from_parts(name: &str, params: Value) -> Result<Action, String> {
                let params = if params.is_null() { Value::Object(Default::default()) } else { params };
                match name {
                    $(stringify!($name) => parse_params(name, params).map(Action::$name),)*
                    other => Err(format!("unknown action {other:?}; expected one of {}", Action::NAMES.join(", "))),
                }
            }

            fn params(&self) -> Value {
                match self {
                    $(Action::$name(p) => serde_json::to_value(p).unwrap_or(Value::Null),)*
                }
            }
        }
    };
}

actions! {
    ConnectKmsInstance(Box<Connect>),
    CompleteEnable(NoParams),
    UpgradeKmsInstance(Upgrade),
    RenewKmsInstance(Renew),
    Expire(NoParams),
    EnableSecurityAudit(SecurityAudit),
    DescribeKmsInstance(NoParams),
    UpdateKmsInstanceBindVpc(BindVpc),
    CreateResourceShare(CreateShare),
    AssociatePrincipals(Principals),
    DisassociatePrincipals(Principals),
    ChangeShareMode(ModeChange),
    DeleteResourceShare(NoParams),
    JoinFolder(JoinFolder),
    CreateKey(CreateKey),
    DescribeKey(KeyRef),
    UpdateRotationPolicy(Toggle),
    ScheduleKeyDeletion(KeyRef),
    SetDeletionProtection(Toggle),
    CreateAlias(AddAlias),
    TagResource(Tag),
    CreateSecret(SecretName),
    DescribeSecret(SecretRef),
    DeleteSecret(SecretRef),
    UpdateSecretRotationPolicy(SecretRef),
    GetSecretValue(SecretRef),
    Encrypt(KeyRef),
    Decrypt(KeyRef),
    GenerateDataKey(KeyRef),
    ReEncrypt(KeyRef),
    CreateBackup(NoParams),
    CreateApplicationAccessPoint(AccessPoint),
}

fn parse_params<T: serde::de::DeserializeOwned>(action: &str, params: Value) -> Result<T, String> {
    // The path names the field at fault (`months`), not only the type.
    serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            format!("action {action}: params: {inner}")
        } else {
            format!("action {action}: params.{path}: {inner}")
        }
    })
}

/// One API call. Serialised as a change-plan step without `expect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RequestDoc", into = "RequestDoc")]
pub struct Request {
    /// An account id, or `"owner"`.
    pub caller: String,
    /// The action and its parameters.
    pub action: Action,
    /// RAM actions granted to the caller's identity; `None` grants every action.
    pub ram: Option<Vec<String>>,
    /// The region the call is made from; `None` is the instance's own.
    pub region: Option<String>,
    /// The AccessKey id or STS token that signed the call, for the audit record.
    pub credential: Option<Sensitive>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestDoc {
    #[serde(rename = "as")]
    caller: String,
    action: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    params: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ram: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credential: Option<Sensitive>,
}

impl TryFrom<RequestDoc> for Request {
    type Error = String;
    fn try_from(doc: RequestDoc) -> Result<Self, String> {
        Ok(Request {
            caller: doc.caller,
            action: Action::from_parts(&doc.action, doc.params)?,
            ram: doc.ram,
            region: doc.region,
            credential: doc.credential,
        })
    }
}

impl From<Request> for RequestDoc {
    fn from(r: Request) -> Self {
        let params = r.action.params();
        RequestDoc {
            caller: r.caller,
            action: r.action.name().to_string(),
            params,
            ram: r.ram,
            region: r.region,
            credential: r.credential,
        }
    }
}
