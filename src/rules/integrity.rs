//! What a state must hold for the engine to work with it, checked when a state is
//! loaded (`State::from_json`, the package's `Instance.fromJSON`, a plan's starting
//! state): every id and name in its format, every free-text field and list within its
//! limit, ids unique where the engine looks them up, counters below their ceiling.
//!
//! The engine keeps these invariants: no action takes a state that passes here to one
//! that does not, so a state can always be written, read back and applied again.
//! Failures are `InvalidParameter.State` (or `InvalidParameter.TooLarge` for a list
//! past its limit) with the path of the field at fault.

use crate::code::{Code, Problem};
use crate::limits::{self, MAX_ENTRIES, MAX_SAFE_INTEGER, MAX_TEXT_BYTES};
use crate::rules::model::directory::{Directory, Permission, Principal};
use crate::rules::model::instance::{InstanceRecord, Key, Secret};
use crate::rules::model::state::State;
use crate::rules::names::{self, NameKind, SERVICE_ALIAS_PREFIX};
use std::collections::{BTreeMap, HashSet};
use time::format_description::well_known::Rfc3339;

pub(crate) fn check_world(world: &State) -> Result<(), Problem> {
    check_directory(&world.directory)?;
    check_instance(&world.instance)
}

fn bad(path: &str, message: impl Into<String>) -> Problem {
    Problem::new(Code::State, message).at(path)
}

fn id(kind: NameKind, value: &str, path: &str) -> Result<(), Problem> {
    names::validate(kind, value).map_err(|p| bad(path, format!("{}: {}", p.code, p.message)))
}

fn text(value: &str, path: &str) -> Result<(), Problem> {
    if value.is_empty() || value.len() > MAX_TEXT_BYTES {
        return Err(bad(path, format!("expected 1 to {MAX_TEXT_BYTES} bytes")));
    }
    Ok(())
}

fn list<T>(items: &[T], path: &str) -> Result<(), Problem> {
    limits::check("the number of entries", items.len(), MAX_ENTRIES).map_err(|p| p.at(path))
}

/// Each value once (`what` names it in the message).
fn unique<'a>(seen: &mut HashSet<&'a str>, value: &'a str, path: &str, what: &str) -> Result<(), Problem> {
    if !seen.insert(value) {
        return Err(bad(path, format!("{what} appears twice")));
    }
    Ok(())
}

fn check_directory(d: &Directory) -> Result<(), Problem> {
    id(NameKind::ResourceDirectoryId, &d.resource_directory_id, "/directory/resourceDirectoryId")?;
    text(&d.enterprise_id, "/directory/enterpriseId")?;
    list(&d.accounts, "/directory/accounts")?;
    let mut ids = HashSet::new();
    for (i, a) in d.accounts.iter().enumerate() {
        let at = format!("/directory/accounts/{i}");
        id(NameKind::AccountId, &a.id, &format!("{at}/id"))?;
        unique(&mut ids, &a.id, &format!("{at}/id"), "the account")?;
        id(NameKind::AccountName, &a.name, &format!("{at}/name"))?;
        if let Some(name) = &a.display_name {
            id(NameKind::DisplayName, name, &format!("{at}/displayName"))?;
        }
        if let Some(folder) = &a.folder {
            id(NameKind::FolderId, folder, &format!("{at}/folder"))?;
        }
        if let Some(enterprise) = &a.enterprise_id {
            text(enterprise, &format!("{at}/enterpriseId"))?;
        }
        if let Some(rd) = &a.resource_directory_id {
            id(NameKind::ResourceDirectoryId, rd, &format!("{at}/resourceDirectoryId"))?;
        }
    }
    list(&d.folders, "/directory/folders")?;
    for (i, folder) in d.folders.iter().enumerate() {
        id(NameKind::FolderId, folder, &format!("/directory/folders/{i}"))?;
    }
    list(&d.resource_shares, "/directory/resourceShares")?;
    let mut share_ids = HashSet::new();
    let mut principals = 0usize;
    for (i, s) in d.resource_shares.iter().enumerate() {
        let at = format!("/directory/resourceShares/{i}");
        text(&s.id, &format!("{at}/id"))?;
        unique(&mut share_ids, &s.id, &format!("{at}/id"), "the resource share")?;
        id(NameKind::ResourceShareName, &s.name, &format!("{at}/name"))?;
        check_permission(&s.permission, &format!("{at}/permission"))?;
        check_principals(&s.principals, &format!("{at}/principals"))?;
        principals = principals.saturating_add(s.principals.len());
    }
    limits::check("the resource shares' principals", principals, MAX_ENTRIES)
        .map_err(|p| p.at("/directory/resourceShares"))
}

fn check_permission(p: &Permission, at: &str) -> Result<(), Problem> {
    text(&p.name, &format!("{at}/name"))?;
    p.version.as_deref().map_or(Ok(()), |v| text(v, &format!("{at}/version")))
}

fn check_principals(principals: &[Principal], at: &str) -> Result<(), Problem> {
    list(principals, at)?;
    let mut seen = HashSet::new();
    for (i, p) in principals.iter().enumerate() {
        let path = format!("{at}/{i}/id");
        match p {
            Principal::Account { id: v } => id(NameKind::AccountId, v, &path)?,
            Principal::Folder { id: v } => id(NameKind::FolderId, v, &path)?,
            Principal::Directory { id: Some(v) } => id(NameKind::ResourceDirectoryId, v, &path)?,
            Principal::Directory { id: None } => {}
        }
        if !seen.insert(p) {
            return Err(bad(&format!("{at}/{i}"), "the principal appears twice"));
        }
    }
    Ok(())
}

fn check_instance(inst: &InstanceRecord) -> Result<(), Problem> {
    id(NameKind::InstanceId, &inst.instance_id, "/instance/instanceId")?;
    id(NameKind::RegionId, &inst.region_id, "/instance/regionId")?;
    id(NameKind::AccountId, &inst.owner_id, "/instance/ownerId")?;
    if let Some(vpc) = &inst.vpc_id {
        id(NameKind::VpcId, vpc, "/instance/vpcId")?;
    }
    list(&inst.zones, "/instance/zones")?;
    for (i, zone) in inst.zones.iter().enumerate() {
        text(zone, &format!("/instance/zones/{i}"))?;
    }
    list(&inst.v_switches, "/instance/vSwitches")?;
    for (i, v) in inst.v_switches.iter().enumerate() {
        id(NameKind::VswitchId, &v.id, &format!("/instance/vSwitches/{i}/id"))?;
        text(&v.zone, &format!("/instance/vSwitches/{i}/zone"))?;
    }
    let spec = &inst.spec;
    for (name, quota) in [
        ("accessManagementQuota", spec.access_management_quota),
        ("keyQuota", spec.key_quota),
        ("secretQuota", spec.secret_quota),
    ] {
        limits::check(name, usize::try_from(quota).unwrap_or(usize::MAX), MAX_ENTRIES)
            .map_err(|p| p.at(format!("/instance/spec/{name}")))?;
    }
    check_bound_vpcs(inst)?;
    if let Some(share) = &inst.share {
        id(NameKind::ResourceShareName, &share.name, "/instance/share/name")?;
        check_permission(&share.permission, "/instance/share/permission")?;
        check_principals(&share.principals, "/instance/share/principals")?;
        list(&share.associations, "/instance/share/associations")?;
        let mut accounts = HashSet::new();
        for (i, a) in share.associations.iter().enumerate() {
            let path = format!("/instance/share/associations/{i}/account");
            id(NameKind::AccountId, &a.account, &path)?;
            unique(&mut accounts, &a.account, &path, "the account")?;
        }
        if let Some(existing) = &share.existing_share {
            text(existing, "/instance/share/existingShare")?;
        }
    }
    check_keys(&inst.keys)?;
    check_secrets(&inst.secrets)?;
    if inst.next_key_number > MAX_SAFE_INTEGER {
        return Err(bad("/instance/nextKeyNumber", "past 2^53 - 1"));
    }
    if inst.expires_at.is_some_and(|t| t.format(&Rfc3339).is_err()) {
        return Err(bad("/instance/expiresAt", "not a time RFC 3339 can write"));
    }
    if let Some(bucket) = &inst.audit_bucket {
        id(NameKind::Bucket, bucket, "/instance/auditBucket")?;
    }
    if let Some(cluster) = &inst.hsm_cluster_id {
        text(cluster, "/instance/hsmClusterId")?;
    }
    if let Some(proxy) = &inst.proxy {
        text(&proxy.connectivity, "/instance/proxy/connectivity")?;
        for (field, value) in [("endpoint", &proxy.endpoint), ("accessKeyId", &proxy.access_key_id)] {
            value.as_deref().map_or(Ok(()), |v| text(v, &format!("/instance/proxy/{field}")))?;
        }
    }
    Ok(())
}

fn check_bound_vpcs(inst: &InstanceRecord) -> Result<(), Problem> {
    list(&inst.bound_vpcs, "/instance/boundVpcs")?;
    let (mut vpcs, mut vswitches) = (HashSet::new(), HashSet::new());
    for (i, v) in inst.bound_vpcs.iter().enumerate() {
        let at = format!("/instance/boundVpcs/{i}");
        id(NameKind::VpcId, &v.vpc_id, &format!("{at}/VpcId"))?;
        unique(&mut vpcs, &v.vpc_id, &format!("{at}/VpcId"), "the VPC")?;
        id(NameKind::VswitchId, &v.v_switch_id, &format!("{at}/VSwitchId"))?;
        unique(&mut vswitches, &v.v_switch_id, &format!("{at}/VSwitchId"), "the vSwitch")?;
        id(NameKind::RegionId, &v.region_id, &format!("{at}/RegionId"))?;
        id(NameKind::AccountId, &v.vpc_owner_id, &format!("{at}/VpcOwnerId"))?;
    }
    Ok(())
}

/// A key's alias: a user alias (R-NAME-4), or a service key's under `alias/acs/`.
fn alias(value: &str, path: &str) -> Result<(), Problem> {
    match value.strip_prefix(SERVICE_ALIAS_PREFIX) {
        Some(product) => id(NameKind::Alias, &format!("alias/{product}"), path),
        None => id(NameKind::Alias, value, path),
    }
}

fn check_keys(keys: &[Key]) -> Result<(), Problem> {
    list(keys, "/instance/keys")?;
    let mut ids = HashSet::new();
    let (mut aliases, mut tags) = (0usize, 0usize);
    for (i, k) in keys.iter().enumerate() {
        let at = format!("/instance/keys/{i}");
        // A starting state may leave the id out; the ids it gives are unique.
        if !k.key_id.is_empty() {
            text(&k.key_id, &format!("{at}/keyId"))?;
            unique(&mut ids, &k.key_id, &format!("{at}/keyId"), "the key id")?;
        }
        // A key made without an alias (the KMS API's CreateKey) is named by its id.
        if !k.alias.is_empty() || k.key_id.is_empty() {
            alias(&k.alias, &format!("{at}/alias"))?;
        }
        for (j, a) in k.aliases.iter().enumerate() {
            alias(a, &format!("{at}/aliases/{j}"))?;
        }
        id(NameKind::AccountId, &k.creator, &format!("{at}/creator"))?;
        check_tags(&k.tags, &format!("{at}/tags"))?;
        aliases = aliases.saturating_add(k.aliases.len());
        tags = tags.saturating_add(k.tags.len());
    }
    limits::check("the keys' added aliases", aliases, MAX_ENTRIES).map_err(|p| p.at("/instance/keys"))?;
    limits::check("the keys' tags", tags, MAX_ENTRIES).map_err(|p| p.at("/instance/keys"))
}

fn check_secrets(secrets: &[Secret]) -> Result<(), Problem> {
    list(secrets, "/instance/secrets")?;
    let mut tags = 0usize;
    for (i, s) in secrets.iter().enumerate() {
        let at = format!("/instance/secrets/{i}");
        id(NameKind::SecretName, &s.name, &format!("{at}/name"))?;
        id(NameKind::AccountId, &s.creator, &format!("{at}/creator"))?;
        check_tags(&s.tags, &format!("{at}/tags"))?;
        tags = tags.saturating_add(s.tags.len());
    }
    limits::check("the secrets' tags", tags, MAX_ENTRIES).map_err(|p| p.at("/instance/secrets"))
}

/// The tags of one resource: what TagResource accepts (`resources::check_tags`).
fn check_tags(tags: &BTreeMap<String, String>, at: &str) -> Result<(), Problem> {
    crate::rules::resources::check_tags(tags).map_err(|p| bad(at, p.message))
}
