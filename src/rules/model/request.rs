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

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VSwitchParam {
    pub id: String,
    pub zone: String,
    pub available_ips: u32,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointService {
    pub id: String,
    pub zones: Vec<String>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyConfig {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub certificate_fingerprint: Option<String>,
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub access_key_secret: Option<Sensitive>,
    /// An uploaded configuration file, instead of the four fields.
    #[serde(default)]
    pub file: Option<Sensitive>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyParam {
    pub connectivity: String,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub endpoint_service: Option<EndpointService>,
    #[serde(default)]
    pub config: Option<ProxyConfig>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Connect {
    pub channel: String,
    pub vpc_id: String,
    #[serde(default)]
    pub v_switches: Vec<VSwitchParam>,
    /// The two zones; left out, the zones of the vSwitches.
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    #[serde(default)]
    pub hsm_cluster_id: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<Sensitive>,
    #[serde(default)]
    pub certificate: Option<String>,
    #[serde(default)]
    pub proxy: Option<ProxyParam>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpecChange {
    #[serde(default)]
    pub access_management_quota: Option<u32>,
    #[serde(default)]
    pub key_quota: Option<u32>,
    #[serde(default)]
    pub secret_quota: Option<u32>,
    #[serde(default)]
    pub compute_units: Option<u32>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upgrade {
    pub spec: SpecChange,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Renew {
    pub months: i64,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityAudit {
    pub bucket: String,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindVpc {
    /// The JSON string of the API, or the array a console already has.
    #[serde(rename = "BindVpcs")]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "string | BindVpcEntry[]"))]
    pub bind_vpcs: Value,
    #[serde(default)]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Record<string, VSwitchFacts>"))]
    pub network: Option<Network>,
}

/// A principal as a request names it; checked by the engine (R-SH-3).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalParam {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub id: Option<String>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionParam {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateShare {
    pub name: String,
    pub mode: String,
    #[serde(default)]
    pub principals: Vec<PrincipalParam>,
    #[serde(default)]
    pub permission: Option<PermissionParam>,
    #[serde(default)]
    pub existing_share: Option<String>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principals {
    pub principals: Vec<PrincipalParam>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeChange {
    pub mode: String,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinFolder {
    pub account: String,
    pub folder: String,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub alias: String,
    #[serde(default)]
    pub protection: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
}

/// Names a key by alias or key id.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    pub key: String,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    pub key: String,
    /// Left out: on.
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddAlias {
    pub key: String,
    pub alias: String,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Record<string, string>"))]
    pub tags: BTreeMap<String, String>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretName {
    pub name: String,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub secret: String,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPoint {
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
            $($name($params),)*
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
