//! Who may do what: the permission matrix (RULES.md section 6) and the access checks
//! in their documented order (section 7).

use crate::code::{Code, Problem};
use crate::rules::model::instance::{AssociationStatus, InstanceRecord, ShareMode, Status};
use crate::rules::model::request::{Action, Request};
use serde::Serialize;

/// A row of the permission matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// Enabling, upgrading, renewing and auditing the instance, binding VPCs, and every share action.
    InstanceManagement,
    /// CreateKey.
    CreateKey,
    /// Describing and configuring a key.
    ManageKey,
    /// CreateSecret.
    CreateSecret,
    /// Describing, deleting and configuring a secret.
    ManageSecret,
    /// CreateBackup.
    Backup,
    /// CreateApplicationAccessPoint.
    ApplicationAccess,
    /// Encrypt, Decrypt, GenerateDataKey, ReEncrypt: RAM and, in independent mode, ownership.
    Cryptographic,
    /// GetSecretValue: RAM and, in independent mode, ownership.
    SecretValue,
    /// Not a request: the world changed (`Expire`, `CompleteEnable`, `JoinFolder`).
    WorldEvent,
}

impl Feature {
    /// The row of the matrix an action belongs to (every action is listed).
    pub fn of(action: &Action) -> Feature {
        use Action::*;
        match action {
            ConnectKmsInstance(_)
            | DescribeKmsInstance(_)
            | UpdateKmsInstanceBindVpc(_)
            | UpgradeKmsInstance(_)
            | RenewKmsInstance(_)
            | EnableSecurityAudit(_)
            | CreateResourceShare(_)
            | AssociatePrincipals(_)
            | DisassociatePrincipals(_)
            | ChangeShareMode(_)
            | DeleteResourceShare(_) => Feature::InstanceManagement,
            CreateKey(_) => Feature::CreateKey,
            DescribeKey(_)
            | UpdateRotationPolicy(_)
            | ScheduleKeyDeletion(_)
            | SetDeletionProtection(_)
            | CreateAlias(_) => Feature::ManageKey,
            TagResource(t) if t.secret.is_some() && t.key.is_none() => Feature::ManageSecret,
            TagResource(_) => Feature::ManageKey,
            CreateSecret(_) => Feature::CreateSecret,
            DescribeSecret(_) | DeleteSecret(_) | UpdateSecretRotationPolicy(_) => Feature::ManageSecret,
            CreateBackup(_) => Feature::Backup,
            CreateApplicationAccessPoint(_) => Feature::ApplicationAccess,
            Encrypt(_) | Decrypt(_) | GenerateDataKey(_) | ReEncrypt(_) => Feature::Cryptographic,
            GetSecretValue(_) => Feature::SecretValue,
            Expire(_) | CompleteEnable(_) | JoinFolder(_) => Feature::WorldEvent,
        }
    }

    /// Rows only the instance owner may use (R-AZ-4 → `Forbidden.OwnerOnly`).
    fn owner_only(self) -> bool {
        matches!(self, Feature::InstanceManagement | Feature::Backup)
    }
}

/// The caller, as the checks found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The instance owner.
    Owner,
    /// An account with an `associated` association in the instance's share.
    Principal,
    /// A world event: no caller.
    World,
}

/// The answer to "may this request go ahead?", without applying anything.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the request may go ahead.
    pub allowed: bool,
    /// When denied: the first check that failed, with its code and rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied: Option<Problem>,
}

/// Steps (1) and (2) of the order of checks: the instance's state and the caller's
/// region, then R-AZ-1, R-AZ-2, R-AZ-3 and R-AZ-4 for owner-only rows.
pub fn gate(instance: &InstanceRecord, request: &Request) -> Result<Actor, Problem> {
    let feature = Feature::of(&request.action);
    if feature == Feature::WorldEvent {
        return Ok(Actor::World);
    }
    check_state(instance, &request.action)?;
    check_region(instance, request)?;
    let caller = caller_id(instance, request);
    let actor = check_membership(instance, caller)?;
    check_ram(request)?;
    if actor == Actor::Principal && feature.owner_only() {
        return Err(Problem::new(Code::OwnerOnly, format!("{} is for the instance owner only", request.action.name()))
            .rule("R-AZ-4"));
    }
    Ok(actor)
}

/// The caller's account id: `"owner"` stands for the instance owner.
pub fn caller_id<'a>(instance: &'a InstanceRecord, request: &'a Request) -> &'a str {
    if request.caller == "owner" {
        &instance.owner_id
    } else {
        &request.caller
    }
}

/// R-LC-1, with the lifecycle requests that are its exceptions.
fn check_state(instance: &InstanceRecord, action: &Action) -> Result<(), Problem> {
    use Action::*;
    let allowed = match action {
        DescribeKmsInstance(_) => true,
        // The handler names the state it needs (pendingEnable).
        ConnectKmsInstance(_) => instance.status != Status::Released,
        RenewKmsInstance(_) => matches!(instance.status, Status::Enabled | Status::Expired),
        // Every other request needs an enabled instance; each is listed, so a new action
        // does not compile until it says which state it needs.
        CompleteEnable(_)
        | UpgradeKmsInstance(_)
        | Expire(_)
        | EnableSecurityAudit(_)
        | UpdateKmsInstanceBindVpc(_)
        | CreateResourceShare(_)
        | AssociatePrincipals(_)
        | DisassociatePrincipals(_)
        | ChangeShareMode(_)
        | DeleteResourceShare(_)
        | JoinFolder(_)
        | CreateKey(_)
        | DescribeKey(_)
        | UpdateRotationPolicy(_)
        | ScheduleKeyDeletion(_)
        | SetDeletionProtection(_)
        | CreateAlias(_)
        | TagResource(_)
        | CreateSecret(_)
        | DescribeSecret(_)
        | DeleteSecret(_)
        | UpdateSecretRotationPolicy(_)
        | GetSecretValue(_)
        | Encrypt(_)
        | Decrypt(_)
        | GenerateDataKey(_)
        | ReEncrypt(_)
        | CreateBackup(_)
        | CreateApplicationAccessPoint(_) => instance.status == Status::Enabled,
    };
    if allowed {
        return Ok(());
    }
    let problem = if instance.status == Status::Expired {
        Problem::new(Code::InstanceExpired, "the instance's subscription has expired; renew it")
    } else {
        Problem::new(Code::InstanceNotEnabled, format!("the instance is {}", instance.status.as_str()))
    };
    Err(problem.rule("R-LC-1"))
}

/// R-SH-10: an instance serves only its own region.
fn check_region(instance: &InstanceRecord, request: &Request) -> Result<(), Problem> {
    match &request.region {
        Some(region) if *region != instance.region_id => Err(Problem::new(
            Code::CrossRegion,
            format!("the instance serves {} only; the call came from {region}", instance.region_id),
        )
        .rule("R-SH-10")),
        _ => Ok(()),
    }
}

/// R-AZ-1 and R-AZ-2.
fn check_membership(instance: &InstanceRecord, caller: &str) -> Result<Actor, Problem> {
    if caller == instance.owner_id {
        return Ok(Actor::Owner);
    }
    let Some(share) = active_share(instance, caller) else {
        return Err(Problem::new(
            Code::NotShared,
            format!("account {caller} is not an active principal of the instance's share"),
        )
        .rule("R-AZ-1"));
    };
    if !share.permission.grants_instance_use() {
        return Err(Problem::new(
            Code::PermissionNotAttached,
            format!("the share's permission {} does not grant use of a KMS instance", share.permission.name),
        )
        .rule("R-AZ-2"));
    }
    Ok(Actor::Principal)
}

/// The instance's share when `account` has an `associated` association in it (R-AZ-1).
fn active_share<'a>(instance: &'a InstanceRecord, account: &str) -> Option<&'a crate::rules::model::instance::Share> {
    instance
        .share
        .as_ref()
        .filter(|s| s.association(account).is_some_and(|a| a.status == AssociationStatus::Associated))
}

/// Whether `account` is the instance's owner or an active principal of its share (R-AZ-1
/// alone: not whether the share's permission, the instance's state or RAM allow a call).
pub fn is_member(instance: &InstanceRecord, account: &str) -> bool {
    account == instance.owner_id || active_share(instance, account).is_some()
}

/// R-AZ-3: the RAM identity must hold `kms:<Action>` (or `kms:*`, or `*`).
fn check_ram(request: &Request) -> Result<(), Problem> {
    match &request.ram {
        None => Ok(()),
        Some(granted) => ram_grants(granted, "kms", request.action.name()),
    }
}

/// R-AZ-3 for any product's action: `granted` holds `<product>:<action>`,
/// `<product>:*` or `*`.
pub fn ram_grants(granted: &[String], product: &str, action: &str) -> Result<(), Problem> {
    let needed = format!("{product}:{action}");
    let all = format!("{product}:*");
    if granted.iter().any(|g| g == "*" || *g == all || *g == needed) {
        return Ok(());
    }
    Err(Problem::new(Code::RamPolicy, format!("the caller's RAM policy does not grant {needed}")).rule("R-AZ-3"))
}

/// What the caller wants to do with a key or secret once found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// The "manage" rows of the matrix.
    Manage,
    /// Cryptographic operations and GetSecretValue.
    Use,
}

/// R-AZ-4 on a resource created by `creator`.
pub fn may_touch(
    instance: &InstanceRecord,
    actor: Actor,
    caller: &str,
    creator: &str,
    usage: Use,
) -> Result<(), Problem> {
    let independent = instance.mode() == Some(ShareMode::Independent);
    let allowed = match (usage, actor) {
        (_, Actor::World) => true,
        (Use::Manage, Actor::Owner) => !independent || creator == instance.owner_id,
        (Use::Manage, Actor::Principal) => creator == caller,
        (Use::Use, _) => !independent || creator == caller,
    };
    if allowed {
        return Ok(());
    }
    Err(Problem::new(Code::NotOwner, format!("created by account {creator}, not by {caller}")).rule("R-AZ-4"))
}
