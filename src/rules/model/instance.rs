//! The state of one KMS instance: what it is, what it is bound to, whom it is shared
//! with, and the keys and secrets in it. Everything here serialises to and from JSON,
//! so a console or an edge function can keep it anywhere. Secrets that a request
//! carries (HSM password, proxy AccessKey secret) are never stored.

use crate::rules::model::directory::{Permission, Principal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InstanceType {
    Software,
    Hardware,
    External,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    PendingEnable,
    Enabling,
    Enabled,
    Expired,
    Released,
}

impl Status {
    /// The state's name, as the JSON state writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingEnable => "pendingEnable",
            Status::Enabling => "enabling",
            Status::Enabled => "enabled",
            Status::Expired => "expired",
            Status::Released => "released",
        }
    }
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    pub access_management_quota: u32,
    pub key_quota: u32,
    pub secret_quota: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_units: Option<u32>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VSwitch {
    pub id: String,
    pub zone: String,
}

/// A VPC bound through BindVpcs, in addition to the instance's own (R-Q-1).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BoundVpc {
    pub vpc_id: String,
    pub v_switch_id: String,
    pub region_id: String,
    pub vpc_owner_id: String,
}

/// How an external instance reaches its key-store proxy (R-LC-4), without the
/// AccessKey secret.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyLink {
    pub connectivity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Protection {
    Software,
    Hardware,
    /// Material held by an external key store (an external instance's keys).
    External,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    #[default]
    Kms,
    External,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Key {
    /// Generated when the key is created; a starting state may leave it out.
    #[serde(default)]
    pub key_id: String,
    pub alias: String,
    /// Aliases added later with CreateAlias.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub creator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protection: Option<Protection>,
    #[serde(default)]
    pub origin: Origin,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deletion_protection: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending_deletion: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rotation: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Record<string, string>"))]
    pub tags: BTreeMap<String, String>,
}

impl Key {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.alias.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// A service key (R-KEY-1): created by a cloud service under `alias/acs/…`.
    pub fn is_service_key(&self) -> bool {
        self.names().any(|n| n.starts_with(crate::rules::names::SERVICE_ALIAS_PREFIX))
    }
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Secret {
    pub name: String,
    pub creator: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rotation: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Record<string, string>"))]
    pub tags: BTreeMap<String, String>,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ShareMode {
    Independent,
    Joint,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AssociationStatus {
    Associated,
    /// Did not fit in the quota (R-Q-4): grants nothing, counts nothing, not retried.
    Failed,
}

/// One account reached by the share, through one or more of its principals.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Association {
    pub account: String,
    pub status: AssociationStatus,
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Share {
    pub name: String,
    pub mode: ShareMode,
    pub permission: Permission,
    #[serde(default)]
    pub principals: Vec<Principal>,
    #[serde(default)]
    pub associations: Vec<Association>,
    /// The id of the organisation's share the instance was added to (R-SH-7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_share: Option<String>,
}

impl Share {
    pub fn association(&self, account: &str) -> Option<&Association> {
        self.associations.iter().find(|a| a.account == account)
    }

    pub fn associated_count(&self) -> u32 {
        crate::limits::count(self.associations.iter().filter(|a| a.status == AssociationStatus::Associated).count())
    }
}

#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceRecord {
    pub instance_id: String,
    #[serde(rename = "type")]
    pub kind: InstanceType,
    pub region_id: String,
    pub owner_id: String,
    pub status: Status,
    /// The VPC chosen when the instance was enabled; not counted in the quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub v_switches: Vec<VSwitch>,
    pub spec: Spec,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bound_vpcs: Vec<BoundVpc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<Share>,
    #[serde(default)]
    pub keys: Vec<Key>,
    #[serde(default)]
    pub secrets: Vec<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hsm_cluster_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyLink>,
    /// R-LC-6: how long the pending enablement is expected to take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_enable_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "string"))]
    pub expires_at: Option<OffsetDateTime>,
    /// R-LC-9: the OSS bucket that receives the hourly audit logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_bucket: Option<String>,
    /// Numbers the keys this instance creates.
    #[serde(default)]
    pub next_key_number: u64,
}

impl InstanceRecord {
    pub fn mode(&self) -> Option<ShareMode> {
        self.share.as_ref().map(|s| s.mode)
    }

    /// R-Q-1: bound VPCs plus the accounts the instance is shared with.
    pub fn quota_used(&self) -> u32 {
        crate::limits::count(self.bound_vpcs.len())
            .saturating_add(self.share.as_ref().map_or(0, Share::associated_count))
    }

    pub fn failed_principals(&self) -> Vec<String> {
        self.share.as_ref().map_or_else(Vec::new, |s| {
            s.associations.iter().filter(|a| a.status == AssociationStatus::Failed).map(|a| a.account.clone()).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn status_names_are_the_json_names() {
        for status in [Status::PendingEnable, Status::Enabling, Status::Enabled, Status::Expired, Status::Released] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }
}
