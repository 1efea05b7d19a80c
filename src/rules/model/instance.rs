//! The state of one KMS instance: what it is, what it is bound to, whom it is shared
//! with, and the keys and secrets in it. Everything here serialises to and from JSON,
//! so a console or an edge function can keep it anywhere. Secrets that a request
//! carries (HSM password, proxy AccessKey secret) are never stored.

use crate::rules::model::directory::{Permission, Principal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The kind of KMS instance (RULES.md section 2).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InstanceType {
    /// Keys protected in software.
    Software,
    /// Keys in the instance's HSM cluster.
    Hardware,
    /// Keys in an external key store, through its proxy.
    External,
}

/// Where the instance is in its lifecycle (RULES.md section 2).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// Bought, not yet connected.
    PendingEnable,
    /// Connected, waiting for the enabling to complete (R-LC-6).
    Enabling,
    /// Serving requests (R-LC-1).
    Enabled,
    /// The subscription ran out; renewing enables it again (R-LC-8).
    Expired,
    /// Released: it serves nothing, for good.
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

/// What was bought: the quotas and the compute performance (R-LC-7).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    /// VPCs and accounts the instance may serve (R-Q-1).
    pub access_management_quota: u32,
    /// Keys, every account's together.
    pub key_quota: u32,
    /// Secrets, every account's together.
    pub secret_quota: u32,
    /// Compute units, when bought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_units: Option<u32>,
}

/// A vSwitch the instance was enabled in.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VSwitch {
    /// The vSwitch's id (R-ID-3).
    pub id: String,
    /// The zone it is in.
    pub zone: String,
}

/// A VPC bound through BindVpcs, in addition to the instance's own (R-Q-1).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BoundVpc {
    /// The VPC's id (R-ID-2).
    pub vpc_id: String,
    /// The vSwitch the instance reaches it through (R-ID-3).
    pub v_switch_id: String,
    /// The VPC's region: the instance's (R-BV-4).
    pub region_id: String,
    /// The VPC owner's account id (R-ID-5).
    pub vpc_owner_id: String,
}

/// How an external instance reaches its key-store proxy (R-LC-4), without the
/// AccessKey secret.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyLink {
    /// `public` or `endpointService`.
    pub connectivity: String,
    /// The proxy's domain name or endpoint service id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The AccessKey id the instance signs its calls with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
}

/// Where a key's material is protected (R-KEY-1).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Protection {
    /// In software.
    Software,
    /// In an HSM.
    Hardware,
    /// Material held by an external key store (an external instance's keys).
    External,
}

/// Where a key's material came from (R-KEY-2).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// Made by KMS (the default).
    #[default]
    Kms,
    /// Brought by the customer (BYOK).
    External,
}

/// A key of the instance.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Key {
    /// Generated when the key is created; a starting state may leave it out.
    #[serde(default)]
    pub key_id: String,
    /// The alias it was created with (R-NAME-4).
    pub alias: String,
    /// Aliases added later with CreateAlias.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The account that created it: the owner's or a principal's (R-AZ-4).
    pub creator: String,
    /// Where its material is protected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protection: Option<Protection>,
    /// Where its material came from.
    #[serde(default)]
    pub origin: Origin,
    /// Whether ScheduleKeyDeletion is refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deletion_protection: bool,
    /// Scheduled for deletion: still counted, still named (it blocks revoking a share).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending_deletion: bool,
    /// Whether automatic rotation is on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rotation: bool,
    /// Its tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Record<string, string>"))]
    pub tags: BTreeMap<String, String>,
}

impl Key {
    /// Its alias (none for a key made without one, as the KMS API's CreateKey makes them)
    /// and every alias added later.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.alias.as_str()).filter(|a| !a.is_empty()).chain(self.aliases.iter().map(String::as_str))
    }

    /// What a message calls it: its alias, or its id when it was made without one.
    pub fn label(&self) -> &str {
        if self.alias.is_empty() {
            &self.key_id
        } else {
            &self.alias
        }
    }

    /// A service key (R-KEY-1): created by a cloud service under `alias/acs/…`.
    pub fn is_service_key(&self) -> bool {
        self.names().any(|n| n.starts_with(crate::rules::names::SERVICE_ALIAS_PREFIX))
    }
}

/// A secret of the instance.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Secret {
    /// Its name (R-NAME-5).
    pub name: String,
    /// The account that created it (R-AZ-4).
    pub creator: String,
    /// Whether rotation is on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rotation: bool,
    /// Its tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Record<string, string>"))]
    pub tags: BTreeMap<String, String>,
}

/// Who owns what a principal creates in a shared instance (R-SH-5).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ShareMode {
    /// Each account owns what it creates; names are unique per account.
    Independent,
    /// The owner manages everything; names are unique across the instance.
    Joint,
}

/// Whether an account a principal covers reaches the instance (R-Q-4).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AssociationStatus {
    /// It does, and counts against the quota.
    Associated,
    /// Did not fit in the quota (R-Q-4): grants nothing, counts nothing, not retried.
    Failed,
}

/// One account reached by the share, through one or more of its principals.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Association {
    /// The account's id.
    pub account: String,
    /// Whether it is associated or failed.
    pub status: AssociationStatus,
}

/// The resource share the instance is in (RULES.md section 5).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Share {
    /// The share's name (R-NAME-3).
    pub name: String,
    /// Its ownership mode.
    pub mode: ShareMode,
    /// Its permission (R-SH-4, R-AZ-2).
    pub permission: Permission,
    /// The principals it names.
    #[serde(default)]
    pub principals: Vec<Principal>,
    /// One per account the principals cover.
    #[serde(default)]
    pub associations: Vec<Association>,
    /// The id of the organisation's share the instance was added to (R-SH-7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_share: Option<String>,
}

impl Share {
    /// The association of an account, if the share has one.
    pub fn association(&self, account: &str) -> Option<&Association> {
        self.associations.iter().find(|a| a.account == account)
    }

    /// Accounts associated (not failed): what the share counts against the quota.
    pub fn associated_count(&self) -> u32 {
        crate::limits::count(self.associations.iter().filter(|a| a.status == AssociationStatus::Associated).count())
    }
}

/// The record of one KMS instance: what it is, what it is bound to, whom it is shared with, and its keys and secrets.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceRecord {
    /// The instance's id (R-ID-1).
    pub instance_id: String,
    /// Software, hardware or external.
    #[serde(rename = "type")]
    pub kind: InstanceType,
    /// The region it serves (R-SH-10).
    pub region_id: String,
    /// The owner's account id.
    pub owner_id: String,
    /// Where it is in its lifecycle.
    pub status: Status,
    /// The VPC chosen when the instance was enabled; not counted in the quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// The two zones it was enabled in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// The vSwitches it was enabled in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub v_switches: Vec<VSwitch>,
    /// What was bought.
    pub spec: Spec,
    /// The VPCs bound through BindVpcs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bound_vpcs: Vec<BoundVpc>,
    /// The resource share it is in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<Share>,
    /// Its keys, every account's.
    #[serde(default)]
    pub keys: Vec<Key>,
    /// Its secrets, every account's.
    #[serde(default)]
    pub secrets: Vec<Secret>,
    /// A hardware instance's HSM cluster (R-LC-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hsm_cluster_id: Option<String>,
    /// An external instance's key-store proxy (R-LC-4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyLink>,
    /// R-LC-6: how long the pending enablement is expected to take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_enable_minutes: Option<u32>,
    /// When the subscription runs out (R-LC-8).
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
    /// The share's ownership mode, if the instance is shared.
    pub fn mode(&self) -> Option<ShareMode> {
        self.share.as_ref().map(|s| s.mode)
    }

    /// R-Q-1: bound VPCs plus the accounts the instance is shared with.
    pub fn quota_used(&self) -> u32 {
        crate::limits::count(self.bound_vpcs.len())
            .saturating_add(self.share.as_ref().map_or(0, Share::associated_count))
    }

    /// The accounts whose association failed (R-Q-4).
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
