//! A request: an API call made by an account, in the JSON shape of a change-plan step
//! (SCENARIOS.md): `{"as", "action", "params", "ram", "region"}`.
//!
//! Parameters whose format is a rule (ids, names, modes) are kept as strings here and
//! checked by the engine in the documented order (RULES.md section 7), so a bad value
//! is a typed error with its code, not a parse failure.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::params::*;
pub use super::sensitive::Sensitive;

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
                    other => Err(unknown_action(other)),
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

/// The message for an action no one knows: the nearest name when one is near (a typo),
/// then every name. Long input is cut before it is compared or quoted.
fn unknown_action(given: &str) -> String {
    let shown: String = given.chars().take(64).collect();
    let hint = match crate::rules::names::nearest(&shown, Action::NAMES) {
        Some(name) => format!(": did you mean {name:?}?"),
        None => String::new(),
    };
    format!("unknown action {shown:?}{hint} (the actions: {})", Action::NAMES.join(", "))
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
