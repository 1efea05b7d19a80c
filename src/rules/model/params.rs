//! The parameters of each action, in the JSON shape of a change-plan step's `params`
//! (SCENARIOS.md, "Actions"). Values whose format is a rule (ids, names, modes) are
//! kept as strings here and checked by the engine in the documented order.

use super::sensitive::Sensitive;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

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
    /// `account`, `folder` or `directory` (R-SH-3). A string here, so that another word
    /// gets the rule's own code (`InvalidParameter.PrincipalType`); typed as the union.
    #[serde(rename = "type")]
    #[cfg_attr(
        all(target_arch = "wasm32", feature = "typescript"),
        tsify(type = "\"account\" | \"folder\" | \"directory\"")
    )]
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
    /// `joint` or `independent` (R-SH-5): a string, so that another word gets the rule's
    /// code (`InvalidParameter.Mode`); typed as the union.
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "ShareMode"))]
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
    /// The new mode: `independent` (R-SH-5: never back to joint); typed as the union.
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "ShareMode"))]
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
    /// Its alias (R-NAME-4); empty, a key named by its id alone (the KMS API's CreateKey).
    pub alias: String,
    /// `software` or `hardware`; left out, the instance's kind (R-KEY-1).
    #[serde(default)]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "\"software\" | \"hardware\""))]
    pub protection: Option<String>,
    /// `kms` or `external`; left out, `kms` (R-KEY-2).
    #[serde(default)]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Origin"))]
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

/// What the caller knows about a vSwitch (R-BV-7, R-BV-8). Every fact is optional.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VSwitchFacts {
    /// The VPC the vSwitch belongs to (R-BV-7).
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// Free IP addresses on the vSwitch (R-BV-7).
    #[serde(default)]
    pub available_ips: Option<u32>,
    /// Whether a cross-account vSwitch is shared with the owner (R-BV-8).
    #[serde(default)]
    pub shared_with_owner: Option<bool>,
}

/// Network facts, by vSwitch id.
pub type Network = BTreeMap<String, VSwitchFacts>;
