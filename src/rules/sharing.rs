//! Sharing an instance with accounts of the organisation (RULES.md section 5) and the
//! access-management quota its principals consume (section 3).

use crate::code::{Code, Problem};
use crate::limits::{self, count, MAX_ENTRIES};
use crate::rules::handler::{Effects, Failure, Handled};
use crate::rules::model::directory::{Directory, Permission, Principal, DEFAULT_PERMISSION, DEPRECATED_PERMISSION};
use crate::rules::model::instance::{Association, AssociationStatus, InstanceRecord, InstanceType, Share, ShareMode};
use crate::rules::model::request::{CreateShare, JoinFolder, PermissionParam, PrincipalParam};
use crate::rules::names::{self, NameKind};
use std::collections::HashSet;

/// R-SH-3: checks the format of each principal a request names.
fn parse_principals(params: &[PrincipalParam]) -> Result<Vec<Principal>, Problem> {
    limits::check("the number of principals", params.len(), MAX_ENTRIES).map_err(|p| p.at("/principals"))?;
    params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let at = format!("/principals/{i}");
            let id = p.id.clone().unwrap_or_default();
            let (kind, principal) = match p.kind.as_str() {
                "account" => (NameKind::AccountId, Principal::Account { id: id.clone() }),
                "folder" => (NameKind::FolderId, Principal::Folder { id: id.clone() }),
                "directory" => {
                    let principal = Principal::Directory { id: p.id.clone() };
                    if p.id.is_none() {
                        return Ok(principal);
                    }
                    (NameKind::ResourceDirectoryId, principal)
                }
                other => {
                    return Err(Problem::new(
                        Code::PrincipalType,
                        format!("{other:?} is not a principal type: account, folder or directory"),
                    )
                    .at(format!("{at}/type"))
                    .rule("R-SH-3"))
                }
            };
            names::validate(kind, &id).map_err(|e| e.at(format!("{at}/id")))?;
            Ok(principal)
        })
        .collect()
}

fn parse_mode(mode: &str) -> Result<ShareMode, Problem> {
    match mode {
        "joint" => Ok(ShareMode::Joint),
        "independent" => Ok(ShareMode::Independent),
        other => Err(Problem::new(Code::Mode, format!("{other:?} is not a sharing mode: joint or independent"))
            .at("/mode")
            .rule("R-SH-5")),
    }
}

/// R-SH-4 for a new share: the KMS instance permission, v1 or v2 (v2 by default).
fn parse_new_permission(p: Option<&PermissionParam>) -> Result<Permission, Problem> {
    let Some(p) = p else {
        return Ok(Permission::default_v2());
    };
    let version = p.version.clone().unwrap_or_else(|| "v2".into());
    match p.name.as_str() {
        DEFAULT_PERMISSION if version == "v1" || version == "v2" => {
            Ok(Permission { name: p.name.clone(), version: Some(version) })
        }
        DEFAULT_PERMISSION => Err(Problem::new(Code::Permission, format!("version {version:?}: v1 or v2"))
            .at("/permission/version")
            .rule("R-SH-4")),
        // A rule of section 5 rather than a format: checked after the others formats
        // all passed, as the caller gets one error either way.
        DEPRECATED_PERMISSION => Err(Problem::new(
            Code::DeprecatedPermission,
            format!("{DEPRECATED_PERMISSION} is deprecated: use {DEFAULT_PERMISSION}"),
        )
        .at("/permission/name")
        .rule("R-SH-4")),
        other => Err(Problem::new(
            Code::Permission,
            format!("{other:?} does not grant use of a KMS instance: use {DEFAULT_PERMISSION}"),
        )
        .at("/permission/name")
        .rule("R-SH-4")),
    }
}

/// R-SH-2: every principal is in the owner's enterprise and resource directory.
fn check_members(dir: &Directory, owner: &str, principals: &[Principal]) -> Result<(), Problem> {
    if principals.is_empty() {
        return Ok(());
    }
    let (accounts, folders) = (dir.accounts_by_id(), dir.folders());
    let owner_account = accounts.get(owner).copied();
    let enterprise = owner_account.map_or(dir.enterprise_id.as_str(), |o| dir.enterprise_of(o));
    let directory = owner_account.map_or(dir.resource_directory_id.as_str(), |o| dir.directory_of(o));
    for (i, p) in principals.iter().enumerate() {
        let at = format!("/principals/{i}/id");
        match p {
            Principal::Account { id } => {
                let account = accounts.get(id.as_str()).copied().ok_or_else(|| {
                    Problem::new(Code::AccountNotFound, format!("account {id} is not in the resource directory"))
                        .at(&at)
                })?;
                if dir.enterprise_of(account) != enterprise {
                    return Err(Problem::new(
                        Code::NotSameEnterprise,
                        format!("account {id} is not in the owner's verified enterprise"),
                    )
                    .at(at)
                    .rule("R-SH-2"));
                }
                if dir.directory_of(account) != directory {
                    return Err(Problem::new(
                        Code::NotSameResourceDirectory,
                        format!("account {id} is not in the owner's resource directory"),
                    )
                    .at(at)
                    .rule("R-SH-2"));
                }
            }
            Principal::Folder { id } if !folders.contains(id.as_str()) => {
                return Err(
                    Problem::new(Code::FolderNotFound, format!("folder {id} is not in the resource directory")).at(at)
                )
            }
            Principal::Directory { id: Some(id) } if id != directory => {
                return Err(Problem::new(
                    Code::NotSameResourceDirectory,
                    format!("{id} is not the owner's resource directory {directory}"),
                )
                .at(at)
                .rule("R-SH-2"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// R-Q-2 and R-Q-4: brings the share's associations in line with the accounts its
/// principals cover now. An account covered twice counts once. Accounts no longer
/// covered lose their association; accounts covered anew are associated while the
/// quota has room, the rest recorded as failed; existing associations, failed ones
/// included, keep their status (raising the quota retries nothing).
fn reconcile(inst: &mut InstanceRecord, dir: &Directory) {
    let room = inst.spec.access_management_quota.saturating_sub(count(inst.bound_vpcs.len()));
    let owner = inst.owner_id.clone();
    let Some(share) = inst.share.as_mut() else {
        return;
    };

    let covered = dir.covered(&share.principals, &owner);
    let still: HashSet<&str> = covered.iter().map(String::as_str).collect();
    share.associations.retain(|a| still.contains(a.account.as_str()));

    let associated: HashSet<String> = share.associations.iter().map(|a| a.account.clone()).collect();
    let mut used = share.associated_count();
    for account in covered {
        if associated.contains(&account) {
            continue;
        }
        let status = if used < room {
            used = used.saturating_add(1);
            AssociationStatus::Associated
        } else {
            AssociationStatus::Failed
        };
        share.associations.push(Association { account, status });
    }
}

fn share_of(inst: &mut InstanceRecord) -> Result<&mut Share, Problem> {
    inst.share.as_mut().ok_or_else(|| Problem::new(Code::NoShare, "the instance is not shared").rule("R-SH-5"))
}

/// CreateResourceShare, new or adding the instance to an existing share (R-SH-7).
pub fn create(inst: &mut InstanceRecord, dir: &Directory, p: &CreateShare) -> Handled {
    // (3) formats.
    names::validate(NameKind::ResourceShareName, &p.name).map_err(|e| e.at("/name"))?;
    let mode = parse_mode(&p.mode)?;
    let principals = parse_principals(&p.principals)?;
    if p.existing_share.is_some() && p.permission.is_some() {
        return Err(Problem::new(Code::Permission, "an existing share keeps its own permission")
            .at("/permission")
            .rule("R-SH-7")
            .into());
    }

    // (5) the rules of sharing.
    if inst.kind == InstanceType::External {
        return Err(Problem::new(Code::InstanceTypeNotShareable, "only software and hardware instances can be shared")
            .rule("R-SH-1")
            .into());
    }
    if inst.share.is_some() {
        return Err(Problem::new(Code::ShareExists, "the instance is already shared; change that share")
            .rule("R-SH-5")
            .into());
    }
    check_members(dir, &inst.owner_id, &principals)?;

    let mut warnings = Vec::new();
    let share = match &p.existing_share {
        None => Share {
            name: p.name.clone(),
            mode,
            permission: parse_new_permission(p.permission.as_ref())?,
            principals: dedupe(principals)?,
            associations: Vec::new(),
            existing_share: None,
        },
        Some(id) => {
            let org = dir.resource_shares.iter().find(|s| s.id == *id).ok_or_else(|| {
                Problem::new(Code::NoShare, format!("resource share {id} does not exist")).at("/existingShare")
            })?;
            warnings.push(
                Problem::new(
                    Code::WarnPermissionEscalation,
                    format!(
                        "{} principal(s) of {} gain access to the instance at once, and consume its quota",
                        org.principals.len(),
                        org.name
                    ),
                )
                .rule("R-SH-7"),
            );
            if org.permission.name == DEPRECATED_PERMISSION {
                warnings.push(
                    Problem::new(Code::WarnDeprecatedPermission, format!("{} keeps {DEPRECATED_PERMISSION}", org.name))
                        .rule("R-SH-4"),
                );
            }
            Share {
                name: org.name.clone(),
                mode,
                permission: org.permission.clone(),
                principals: dedupe(org.principals.iter().cloned().chain(principals).collect())?,
                associations: Vec::new(),
                existing_share: Some(id.clone()),
            }
        }
    };
    inst.share = Some(share);
    reconcile(inst, dir);
    Ok(Effects { warnings, ..Effects::default() })
}

/// Each principal once, in the order given; at most [`MAX_ENTRIES`] of them.
fn dedupe(principals: Vec<Principal>) -> Result<Vec<Principal>, Problem> {
    let mut seen = HashSet::with_capacity(principals.len());
    let unique: Vec<Principal> = principals.into_iter().filter(|p| seen.insert(p.clone())).collect();
    if unique.len() > MAX_ENTRIES {
        return Err(Problem::new(Code::LimitExceeded, format!("a share has at most {MAX_ENTRIES} principals"))
            .at("/principals"));
    }
    Ok(unique)
}

/// AssociatePrincipals (R-Q-4: what does not fit is recorded as failed).
pub fn associate(inst: &mut InstanceRecord, dir: &Directory, params: &[PrincipalParam]) -> Handled {
    let principals = parse_principals(params)?;
    share_of(inst)?;
    check_members(dir, &inst.owner_id, &principals)?;
    let share = share_of(inst)?;
    share.principals = dedupe(share.principals.iter().cloned().chain(principals).collect())?;
    reconcile(inst, dir);
    Ok(Effects::default())
}

/// DisassociatePrincipals: accounts no other principal covers lose access, and their
/// failed associations go with them (so adding them again retries them).
pub fn disassociate(inst: &mut InstanceRecord, dir: &Directory, params: &[PrincipalParam]) -> Handled {
    let principals = parse_principals(params)?;
    let share = share_of(inst)?;
    let current: HashSet<&Principal> = share.principals.iter().collect();
    for (i, p) in principals.iter().enumerate() {
        if !current.contains(p) {
            return Err(Problem::new(
                Code::PrincipalNotFound,
                format!("{} is not a principal of the share", p.label()),
            )
            .at(format!("/principals/{i}"))
            .into());
        }
    }
    let removed: HashSet<Principal> = principals.into_iter().collect();
    share.principals.retain(|p| !removed.contains(p));
    reconcile(inst, dir);
    Ok(Effects::default())
}

/// R-SH-5: joint → independent only.
pub fn change_mode(inst: &mut InstanceRecord, mode: &str) -> Handled {
    let mode = parse_mode(mode)?;
    let share = share_of(inst)?;
    if share.mode == ShareMode::Independent && mode == ShareMode::Joint {
        return Err(Problem::new(Code::ModeChangeIrreversible, "an independent-ownership share cannot become joint")
            .at("/mode")
            .rule("R-SH-5")
            .into());
    }
    share.mode = mode;
    Ok(Effects::default())
}

/// R-SH-8: revoking fails while a principal still owns a key or secret.
pub fn delete(inst: &mut InstanceRecord) -> Handled {
    share_of(inst)?;
    let owner = &inst.owner_id;
    let held: Vec<String> = inst
        .keys
        .iter()
        .filter(|k| k.creator != *owner)
        .map(|k| format!("key {} of {}", k.label(), k.creator))
        .chain(
            inst.secrets.iter().filter(|s| s.creator != *owner).map(|s| format!("secret {} of {}", s.name, s.creator)),
        )
        .collect();
    if !held.is_empty() {
        return Err(Problem::new(
            Code::ShareHasResources,
            format!("principals must delete their keys and secrets first: {}", held.join(", ")),
        )
        .rule("R-SH-8")
        .into());
    }
    inst.share = None;
    Ok(Effects::default())
}

/// A member joins a folder (a world event): a share covering that folder or the whole
/// directory reaches it at once, within the quota (R-Q-2, R-Q-4).
pub fn join_folder(inst: &mut InstanceRecord, dir: &mut Directory, p: &JoinFolder) -> Handled {
    names::validate(NameKind::AccountId, &p.account).map_err(|e| e.at("/account"))?;
    names::validate(NameKind::FolderId, &p.folder).map_err(|e| e.at("/folder"))?;
    if !dir.folder_exists(&p.folder) {
        return Err(Problem::new(
            Code::FolderNotFound,
            format!("folder {} is not in the resource directory", p.folder),
        )
        .at("/folder")
        .into());
    }
    let account = dir.account_mut(&p.account).ok_or_else(|| {
        Failure::from(
            Problem::new(Code::AccountNotFound, format!("account {} is not in the resource directory", p.account))
                .at("/account"),
        )
    })?;
    account.folder = Some(p.folder.clone());
    reconcile(inst, dir);
    Ok(Effects::default())
}
