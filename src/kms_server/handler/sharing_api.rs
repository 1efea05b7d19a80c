//! The operations of Alibaba's Resource Sharing API (`2020-01-10`) that touch a KMS
//! instance, on the same endpoint and with the same credentials (seed 001): a share is
//! made, joined, given and taken principals, and deleted; listed with its associations.
//! Each is a request to the rule engine (RULES.md sections 3 and 5): the quota, the
//! organisation, the permission, the one-way mode change, no deletion while a principal
//! still owns a key or secret.
//!
//! The engine keeps one share per instance. Its id is the organisation's share when the
//! instance joined one (R-SH-7), else `rs-` and the instance id's suffix. The sharing
//! mode, which KMS asks for when an instance is shared, is the instance's resource
//! property: `ResourceProperties.1.Property={"shareMode":"joint"}` (or `independent`);
//! given again on AssociateResourceShare it changes the mode (joint → independent only).

use super::{with_outcome, Call, Endpoint, Failure, Logged, Refusal};
use crate::kms_server::instances::Instance;
use crate::rules::model::instance::{AssociationStatus, InstanceRecord};
use crate::rules::model::request::{
    Action, CreateShare, ModeChange, NoParams, PermissionParam, PrincipalParam, Principals,
};
use crate::State;
use serde_json::{json, Value};

/// The Resource Sharing API's version.
pub const VERSION: &str = "2020-01-10";

/// The resource type of a KMS instance in a resource share.
const RESOURCE_TYPE: &str = "KMSInstance";

/// The share's id (see the module's documentation).
pub fn share_id(record: &InstanceRecord) -> Option<String> {
    let share = record.share.as_ref()?;
    Some(
        share.existing_share.clone().unwrap_or_else(|| format!("rs-{}", record.instance_id.trim_start_matches("kst-"))),
    )
}

/// A target as the API gives it: an account id, a folder (`fd-…`) or the resource
/// directory (`rd-…`); the engine checks its format (R-SH-3).
fn principal(target: &str) -> PrincipalParam {
    let kind = match entity_type(target) {
        "Folder" => "folder",
        "ResourceDirectory" => "directory",
        _ => "account",
    };
    PrincipalParam { kind: kind.into(), id: Some(target.to_string()) }
}

fn principals(call: &Call) -> Vec<PrincipalParam> {
    call.list("Targets").into_iter().map(principal).collect()
}

/// The share mode the instance's resource property gives, if one does.
fn mode(call: &Call) -> Result<Option<String>, Refusal> {
    let Some(property) = call.get("ResourceProperties.1.Property") else { return Ok(None) };
    let read: Value = serde_json::from_str(property)
        .map_err(|_| Refusal::invalid("ResourceProperties.1.Property", "not a JSON object"))?;
    match read.get("shareMode").and_then(Value::as_str) {
        Some(mode) => Ok(Some(mode.to_string())),
        None => Err(Refusal::invalid(
            "ResourceProperties.1.Property",
            "a KMS instance's property is {\"shareMode\": \"joint\" or \"independent\"}",
        )),
    }
}

/// The API's entity type of a target.
fn entity_type(account_or_group: &str) -> &'static str {
    if account_or_group.starts_with("fd-") {
        "Folder"
    } else if account_or_group.starts_with("rd-") {
        "ResourceDirectory"
    } else {
        "Account"
    }
}

impl Endpoint {
    pub(super) fn share_operate(&self, action: &str, call: &Call, logged: &mut Logged) -> Result<Value, Failure> {
        match action {
            "CreateResourceShare" => {
                let instance = self.shared_resource(call, logged)?;
                let mode = mode(call)?.ok_or_else(|| {
                    Refusal::new(
                        "MissingParameter",
                        400,
                        "The KMS instance's sharing mode is required: ResourceProperties.1.Property={\"shareMode\": \"joint\" or \"independent\"} (seed 001).",
                    )
                })?;
                let permission = call
                    .list("PermissionNames")
                    .first()
                    .map(|name| PermissionParam { name: name.to_string(), version: None });
                let create = CreateShare {
                    name: call.required("ResourceShareName")?.to_string(),
                    mode,
                    principals: principals(call),
                    permission,
                    existing_share: None,
                };
                let outcome = self.apply_to(instance, call, Action::CreateResourceShare(create))?;
                let live = instance.read(&self.store)?;
                Ok(with_outcome(json!({"ResourceShare": share_json(&live.state)}), &outcome))
            }
            "AssociateResourceShare" => {
                let id = call.required("ResourceShareId")?;
                // The instance joining a share of the organisation (R-SH-7).
                if call.get("Resources.1.ResourceId").is_some() || !call.list("ResourceArns").is_empty() {
                    let instance = self.shared_resource(call, logged)?;
                    let mode = mode(call)?.ok_or_else(|| Refusal::missing("ResourceProperties.1.Property"))?;
                    let live = instance.read(&self.store)?;
                    let name = live.state.directory.resource_shares.iter().find(|s| s.id == id).map(|s| s.name.clone());
                    drop(live);
                    let name = name.ok_or_else(|| {
                        Refusal::new("EntityNotExist.ResourceShare", 404, "The resource share does not exist.")
                    })?;
                    let join = CreateShare {
                        name,
                        mode,
                        principals: Vec::new(),
                        permission: None,
                        existing_share: Some(id.to_string()),
                    };
                    let outcome = self.apply_to(instance, call, Action::CreateResourceShare(join))?;
                    return Ok(with_outcome(json!({"ResourceShareAssociations": []}), &outcome));
                }
                let instance = self.share_named(call, id, logged)?;
                let targets = principals(call);
                let outcome = match (targets.is_empty(), mode(call)?) {
                    (false, None) => {
                        self.apply_to(instance, call, Action::AssociatePrincipals(Principals { principals: targets }))?
                    }
                    (true, Some(mode)) => {
                        self.apply_to(instance, call, Action::ChangeShareMode(ModeChange { mode }))?
                    }
                    _ => {
                        return Err(Refusal::invalid(
                            "Targets",
                            "give Targets, or the instance's new share mode in ResourceProperties, one per call",
                        )
                        .into())
                    }
                };
                let live = instance.read(&self.store)?;
                let listed: Vec<&str> = call.list("Targets");
                Ok(with_outcome(
                    json!({"ResourceShareAssociations": associations(&live.state, Some(&listed))}),
                    &outcome,
                ))
            }
            "DisassociateResourceShare" => {
                let id = call.required("ResourceShareId")?;
                let instance = self.share_named(call, id, logged)?;
                let targets = principals(call);
                if targets.is_empty() {
                    return Err(Refusal::missing("Targets.1").into());
                }
                let outcome =
                    self.apply_to(instance, call, Action::DisassociatePrincipals(Principals { principals: targets }))?;
                let gone: Vec<Value> = call
                    .list("Targets")
                    .iter()
                    .map(|t| json!({"ResourceShareId": id, "EntityId": t, "EntityType": entity_type(t), "AssociationType": "Target", "AssociationStatus": "Disassociated"}))
                    .collect();
                Ok(with_outcome(json!({"ResourceShareAssociations": gone}), &outcome))
            }
            "DeleteResourceShare" => {
                let id = call.required("ResourceShareId")?;
                let instance = self.share_named(call, id, logged)?;
                self.apply_to(instance, call, Action::DeleteResourceShare(NoParams {}))?;
                Ok(json!({}))
            }
            "ListResourceShares" => {
                let others = match call.required("ResourceOwner")? {
                    "Self" => false,
                    "OtherAccounts" => true,
                    _ => return Err(Refusal::invalid("ResourceOwner", "Self or OtherAccounts").into()),
                };
                let wanted = call.list("ResourceShareIds");
                let mut shares = Vec::new();
                for instance in self.settings.instances.values() {
                    let live = instance.read(&self.store)?;
                    let record = &live.state.instance;
                    let id = share_id(record);
                    let mine = if others {
                        // A failed association grants nothing: not even the share's name.
                        record
                            .share
                            .as_ref()
                            .and_then(|s| s.association(&call.account))
                            .is_some_and(|a| a.status == AssociationStatus::Associated)
                    } else {
                        record.owner_id == call.account
                    };
                    if mine && id.as_deref().is_some_and(|id| wanted.is_empty() || wanted.contains(&id)) {
                        shares.push(share_json(&live.state));
                    }
                }
                Ok(json!({"ResourceShares": shares, "NextToken": ""}))
            }
            "ListResourceShareAssociations" => {
                let resources = match call.required("AssociationType")? {
                    "Target" => false,
                    "Resource" => true,
                    _ => return Err(Refusal::invalid("AssociationType", "Target or Resource").into()),
                };
                let wanted = call.list("ResourceShareIds");
                let mut listed = Vec::new();
                for instance in self.settings.instances.values() {
                    let live = instance.read(&self.store)?;
                    let record = &live.state.instance;
                    let Some(id) = share_id(record) else { continue };
                    if record.owner_id != call.account || !(wanted.is_empty() || wanted.contains(&id.as_str())) {
                        continue;
                    }
                    if resources {
                        listed.push(json!({
                            "ResourceShareId": id, "ResourceShareName": record.share.as_ref().map(|s| s.name.clone()),
                            "EntityId": record.instance_id, "EntityType": RESOURCE_TYPE, "AssociationType": "Resource",
                            "AssociationStatus": "Associated",
                            "ResourceArn": self.arn(&record.owner_id, &format!("keystore/{}", record.instance_id)),
                        }));
                    } else {
                        listed.extend(associations(&live.state, None));
                    }
                }
                Ok(json!({"ResourceShareAssociations": listed, "NextToken": ""}))
            }
            _ => Err(Refusal::no_such_action().into()),
        }
    }

    /// The KMS instance `Resources.1` (or `ResourceArns.1`) names, for a share to hold.
    fn shared_resource(&self, call: &Call, logged: &mut Logged) -> Result<&Instance, Failure> {
        let id = match (call.get("Resources.1.ResourceId"), call.list("ResourceArns").first()) {
            (Some(id), _) => {
                if call.get("Resources.1.ResourceType").is_some_and(|t| t != RESOURCE_TYPE) {
                    return Err(Refusal::invalid(
                        "Resources.1.ResourceType",
                        "this endpoint shares KMSInstance resources",
                    )
                    .into());
                }
                id.to_string()
            }
            (None, Some(arn)) => arn
                .rsplit_once("keystore/")
                .map(|(_, id)| id.to_string())
                .ok_or_else(|| Refusal::invalid("ResourceArns.1", "not a KMS instance's ARN"))?,
            (None, None) => return Err(Refusal::missing("Resources.1.ResourceId").into()),
        };
        if call.get("Resources.2.ResourceId").is_some() || call.list("ResourceArns").len() > 1 {
            return Err(Refusal::invalid("Resources", "one KMS instance per call").into());
        }
        Ok(self.instance_of(&id, call, logged)?.1)
    }

    /// The instance whose share is `id`, for its owner (the engine refuses anyone else).
    fn share_named(&self, call: &Call, id: &str, logged: &mut Logged) -> Result<&Instance, Failure> {
        for (instance_id, instance) in &self.settings.instances {
            let live = instance.read(&self.store)?;
            let record = &live.state.instance;
            if share_id(record).as_deref() == Some(id) && crate::rules::access::is_member(record, &call.account) {
                logged.key = Some(instance_id.clone());
                logged.owner = Some(record.owner_id.clone());
                return Ok(instance);
            }
        }
        Err(Refusal::new("EntityNotExist.ResourceShare", 404, "The resource share does not exist.").into())
    }
}

/// `ResourceShare`, as the SDK's model reads it.
fn share_json(state: &State) -> Value {
    let record = &state.instance;
    json!({
        "ResourceShareId": share_id(record), "ResourceShareName": record.share.as_ref().map(|s| s.name.clone()),
        "ResourceShareOwner": record.owner_id, "ResourceShareStatus": "Active", "AllowExternalTargets": false,
    })
}

/// The share's associations with accounts (each one consumes quota, R-Q-2): those of
/// `only` when given, every one otherwise; a failed one says why (R-Q-4).
fn associations(state: &State, only: Option<&[&str]>) -> Vec<Value> {
    let record = &state.instance;
    let Some(share) = &record.share else { return Vec::new() };
    let id = share_id(record);
    share
        .associations
        .iter()
        // A folder or the directory named reaches accounts it does not list: all are shown.
        .filter(|a| only.is_none_or(|o| o.contains(&a.account.as_str()) || o.iter().any(|t| entity_type(t) != "Account")))
        .map(|a| {
            let failed = a.status == AssociationStatus::Failed;
            let details: Vec<Value> = if failed {
                vec![json!({
                    "EntityId": a.account, "EntityType": "Account", "OperationType": "Associate",
                    "FailureReason": "LimitExceeded",
                    "FailureDescription": "QuotaExceeded.AccessManagement: the instance's access-management quota is used up (R-Q-4)",
                })]
            } else {
                Vec::new()
            };
            json!({
                "ResourceShareId": id, "ResourceShareName": share.name, "EntityId": a.account, "EntityType": "Account",
                "AssociationType": "Target", "AssociationStatus": if failed { "Failed" } else { "Associated" },
                "AssociationFailedDetails": details,
            })
        })
        .collect()
}
