//! Keys and secrets in the instance: creation (names, kinds, quotas), lookup by name,
//! and the per-resource access check R-AZ-4 (RULES.md sections 6–8).

use crate::code::{Code, Problem};
use crate::limits::{
    count, MAX_ENTRIES, MAX_SAFE_INTEGER, MAX_TAGS_PER_RESOURCE, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS,
};
use crate::rules::access::{may_touch, Actor, Feature, Use};
use crate::rules::handler::{Caller, Effects, Handled};
use crate::rules::model::instance::{InstanceRecord, InstanceType, Key, Origin, Protection, Secret, ShareMode};
use crate::rules::model::request::{Action, CreateKey, SecretName, Tag};
use crate::rules::names::{self, NameKind, SERVICE_ALIAS_PREFIX};
use std::collections::BTreeMap;

/// A key or a secret, by the name an action gives it.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Key(&'a str),
    Secret(&'a str),
}

/// The key or secret an action names, if any. Every action is listed: a new one does
/// not compile until it says what it names.
pub fn named(action: &Action) -> Result<Option<Target<'_>>, Problem> {
    use Action::*;
    Ok(Some(match action {
        DescribeKey(p) | ScheduleKeyDeletion(p) | Encrypt(p) | Decrypt(p) | GenerateDataKey(p) | ReEncrypt(p) => {
            Target::Key(&p.key)
        }
        UpdateRotationPolicy(p) | SetDeletionProtection(p) => Target::Key(&p.key),
        CreateAlias(p) => Target::Key(&p.key),
        TagResource(p) => tag_target(p)?,
        DescribeSecret(p) | DeleteSecret(p) | UpdateSecretRotationPolicy(p) | GetSecretValue(p) => {
            Target::Secret(&p.secret)
        }
        ConnectKmsInstance(_)
        | CompleteEnable(_)
        | UpgradeKmsInstance(_)
        | RenewKmsInstance(_)
        | Expire(_)
        | EnableSecurityAudit(_)
        | DescribeKmsInstance(_)
        | UpdateKmsInstanceBindVpc(_)
        | CreateResourceShare(_)
        | AssociatePrincipals(_)
        | DisassociatePrincipals(_)
        | ChangeShareMode(_)
        | DeleteResourceShare(_)
        | JoinFolder(_)
        | CreateKey(_)
        | CreateSecret(_)
        | CreateBackup(_)
        | CreateApplicationAccessPoint(_) => return Ok(None),
    }))
}

/// TagResource names a key, or else a secret.
fn tag_target(p: &Tag) -> Result<Target<'_>, Problem> {
    match (&p.key, &p.secret) {
        (Some(k), _) => Ok(Target::Key(k)),
        (None, Some(s)) => Ok(Target::Secret(s)),
        (None, None) => Err(Problem::new(Code::KeyNotFound, "name a key or a secret to tag").at("/key")),
    }
}

/// What the caller wants to do with the key or secret an action names.
fn usage(action: &Action) -> Use {
    match Feature::of(action) {
        Feature::Cryptographic | Feature::SecretValue => Use::Use,
        Feature::InstanceManagement
        | Feature::CreateKey
        | Feature::ManageKey
        | Feature::CreateSecret
        | Feature::ManageSecret
        | Feature::Backup
        | Feature::ApplicationAccess
        | Feature::WorldEvent => Use::Manage,
    }
}

/// Step (4) of the order of checks for a key: find it, then R-AZ-4 on it.
fn find_key(inst: &InstanceRecord, caller: &Caller, name: &str, usage: Use) -> Result<usize, Problem> {
    if caller.actor == Actor::Principal && name.starts_with(SERVICE_ALIAS_PREFIX) {
        return Err(default_key_problem(name));
    }
    let (i, key) = find(
        &inst.keys,
        independent(inst),
        [caller.id, inst.owner_id.as_str()],
        |k| (!k.key_id.is_empty() && k.key_id == name) || k.names().any(|n| n == name),
        |k| &k.creator,
    )
    .ok_or_else(|| Problem::new(Code::KeyNotFound, format!("no key {name}")).at("/key"))?;
    if caller.actor == Actor::Principal && key.is_service_key() {
        return Err(default_key_problem(name));
    }
    may_touch(inst, caller.actor, caller.id, &key.creator, usage)?;
    Ok(i)
}

/// Step (4) of the order of checks for a secret: find it, then R-AZ-4 on it.
fn find_secret(inst: &InstanceRecord, caller: &Caller, name: &str, usage: Use) -> Result<usize, Problem> {
    let order = [caller.id, inst.owner_id.as_str()];
    let (i, secret) = find(&inst.secrets, independent(inst), order, |s| s.name == name, |s| &s.creator)
        .ok_or_else(|| Problem::new(Code::SecretNotFound, format!("no secret {name}")).at("/secret"))?;
    may_touch(inst, caller.actor, caller.id, &secret.creator, usage)?;
    Ok(i)
}

/// Independent mode looks among the caller's own first, then the owner's; otherwise
/// names are unique in the instance.
fn independent(inst: &InstanceRecord) -> bool {
    inst.mode() == Some(ShareMode::Independent)
}

/// The first match and its index; in independent mode among the accounts of `order`
/// in turn.
fn find<'a, T>(
    items: &'a [T],
    independent: bool,
    order: [&str; 2],
    matches: impl Fn(&T) -> bool,
    creator: impl Fn(&T) -> &str,
) -> Option<(usize, &'a T)> {
    if independent {
        order.iter().find_map(|who| items.iter().enumerate().find(|(_, t)| matches(t) && creator(t) == *who))
    } else {
        items.iter().enumerate().find(|(_, t)| matches(t))
    }
}

/// The key `name` (an alias or key id) names for `caller`, as the engine looks it up:
/// in independent mode among the caller's own first, then the owner's.
pub fn key_named<'a>(inst: &'a InstanceRecord, caller: &str, name: &str) -> Option<&'a Key> {
    let matches = |k: &Key| (!k.key_id.is_empty() && k.key_id == name) || k.names().any(|n| n == name);
    find(&inst.keys, independent(inst), [caller, inst.owner_id.as_str()], matches, |k| &k.creator).map(|(_, k)| k)
}

/// The secret `name` names for `caller`, as the engine looks it up.
pub fn secret_named<'a>(inst: &'a InstanceRecord, caller: &str, name: &str) -> Option<&'a Secret> {
    find(&inst.secrets, independent(inst), [caller, inst.owner_id.as_str()], |s| s.name == name, |s| &s.creator)
        .map(|(_, s)| s)
}

fn default_key_problem(name: &str) -> Problem {
    Problem::new(Code::DefaultKeyNotShareable, format!("{name} is a service key: it is not shared")).rule("R-SH-9")
}

/// The resource part of an access decision (`State::check`).
pub fn check_target(inst: &InstanceRecord, caller: &Caller, action: &Action) -> Result<(), Problem> {
    match named(action)? {
        Some(Target::Key(name)) => find_key(inst, caller, name, usage(action)).map(|_| ()),
        Some(Target::Secret(name)) => find_secret(inst, caller, name, usage(action)).map(|_| ()),
        None => Ok(()),
    }
}

/// R-SH-6: in independent mode names are unique per creating account, otherwise
/// across the instance.
fn same_namespace(inst: &InstanceRecord, a: &str, b: &str) -> bool {
    inst.mode() != Some(ShareMode::Independent) || a == b
}

fn alias_taken(inst: &InstanceRecord, alias: &str, creator: &str) -> Result<(), Problem> {
    let taken = inst.keys.iter().any(|k| same_namespace(inst, &k.creator, creator) && k.names().any(|n| n == alias));
    if taken {
        return Err(name_exists(alias).at("/alias"));
    }
    Ok(())
}

/// The tags of one key or secret: at most 20, each key 1 to 128 characters and each
/// value at most 256 (`InvalidParameter.Tag`).
pub(crate) fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), Problem> {
    if tags.len() > MAX_TAGS_PER_RESOURCE {
        return Err(Problem::new(
            Code::Tag,
            format!("{} tags; a key or secret holds at most {MAX_TAGS_PER_RESOURCE}", tags.len()),
        )
        .at("/tags"));
    }
    for (key, value) in tags {
        let (k, v) = (key.chars().count(), value.chars().count());
        if k == 0 || k > MAX_TAG_KEY_CHARS || v > MAX_TAG_VALUE_CHARS {
            return Err(Problem::new(
                Code::Tag,
                format!(
                    "a tag's key is 1 to {MAX_TAG_KEY_CHARS} characters and its value at most {MAX_TAG_VALUE_CHARS}"
                ),
            )
            .at("/tags"));
        }
    }
    Ok(())
}

/// Adds `new` to `tags`, within the limits of one resource and of the instance
/// (`others`: the tags the instance's other resources hold).
fn add_tags(tags: &mut BTreeMap<String, String>, new: &BTreeMap<String, String>, others: usize) -> Result<(), Problem> {
    let mut merged = tags.clone();
    merged.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
    check_tags(&merged)?;
    if others.saturating_add(merged.len()) > MAX_ENTRIES {
        return Err(limit_exceeded(format!("the instance holds at most {MAX_ENTRIES} tags")));
    }
    *tags = merged;
    Ok(())
}

fn limit_exceeded(message: String) -> Problem {
    Problem::new(Code::LimitExceeded, message)
}

fn name_exists(name: &str) -> Problem {
    Problem::new(Code::NameExists, format!("{name} already exists")).rule("R-SH-6")
}

/// R-KEY-1, R-KEY-2: the key kinds an instance type can hold.
fn key_kind(
    inst: &InstanceRecord,
    protection: Option<&str>,
    origin: Option<&str>,
) -> Result<(Protection, Origin), Problem> {
    let held = match inst.kind {
        InstanceType::Software => Protection::Software,
        InstanceType::Hardware => Protection::Hardware,
        InstanceType::External => Protection::External,
    };
    let protection = match protection {
        None => held,
        Some("software") if held == Protection::Software => held,
        Some("hardware") if held == Protection::Hardware => held,
        Some(other) => {
            return Err(Problem::new(
                Code::Protection,
                format!("a {:?} instance cannot hold a {other:?}-protected key", inst.kind).to_lowercase(),
            )
            .at("/protection")
            .rule("R-KEY-1"))
        }
    };
    let origin = match (origin, protection) {
        (None, Protection::External) | (Some("external"), Protection::Hardware | Protection::External) => {
            Origin::External
        }
        (None | Some("kms"), Protection::Software | Protection::Hardware) => Origin::Kms,
        (Some(other), _) => {
            return Err(Problem::new(
                Code::Origin,
                format!("key material from {other:?} is not possible for a {protection:?}-protected key")
                    .to_lowercase(),
            )
            .at("/origin")
            .rule("R-KEY-2"))
        }
    };
    Ok((protection, origin))
}

/// The next key number and the id it gives, `key-<instance>-<number>`. A starting
/// state may already hold ids of that form (written by hand, its counter left out): the
/// number then goes on from the highest one taken, so an id is never given twice.
fn new_key_id(inst: &InstanceRecord) -> Result<(u64, String), Problem> {
    let prefix = format!("key-{}-", inst.instance_id.trim_start_matches("kst-"));
    let taken = inst.keys.iter().filter_map(|k| k.key_id.strip_prefix(&prefix)?.parse::<u64>().ok()).max();
    let number = inst
        .next_key_number
        .max(taken.unwrap_or(0))
        .checked_add(1)
        .filter(|n| *n <= MAX_SAFE_INTEGER)
        .ok_or_else(|| limit_exceeded("the instance has numbered 2^53 - 1 keys: no number is left".into()))?;
    let key_id = format!("{prefix}{number:08}");
    if inst.keys.iter().any(|k| k.key_id == key_id) {
        return Err(limit_exceeded(format!("the key id {key_id} is taken")));
    }
    Ok((number, key_id))
}

/// CreateKey (R-NAME-4, R-SH-6, R-KEY-1, R-KEY-2, the key quota).
pub fn create_key(inst: &mut InstanceRecord, caller: &Caller, p: &CreateKey) -> Handled {
    // An empty alias is a key named by its id alone, as the KMS API's CreateKey makes
    // them (aliases come with CreateAlias); a plan names one.
    if !p.alias.is_empty() {
        names::validate(NameKind::Alias, &p.alias).map_err(|e| e.at("/alias"))?;
    }
    let (protection, origin) = key_kind(inst, p.protection.as_deref(), p.origin.as_deref())?;
    if !p.alias.is_empty() {
        alias_taken(inst, &p.alias, caller.id)?;
    }
    if count(inst.keys.len()) >= inst.spec.key_quota {
        return Err(
            Problem::new(Code::QuotaKeys, format!("the key quota of {} is used up", inst.spec.key_quota)).into()
        );
    }
    let (number, key_id) = new_key_id(inst)?;
    inst.next_key_number = number;
    inst.keys.push(Key {
        key_id: key_id.clone(),
        alias: p.alias.clone(),
        aliases: Vec::new(),
        creator: caller.id.to_string(),
        protection: Some(protection),
        origin,
        deletion_protection: false,
        pending_deletion: false,
        rotation: false,
        tags: Default::default(),
    });
    Ok(Effects { key_id: Some(key_id), ..Effects::default() })
}

/// CreateSecret (R-NAME-5, R-SH-6, the secret quota).
pub fn create_secret(inst: &mut InstanceRecord, caller: &Caller, p: &SecretName) -> Handled {
    names::validate(NameKind::SecretName, &p.name).map_err(|e| e.at("/name"))?;
    if inst.secrets.iter().any(|s| s.name == p.name && same_namespace(inst, &s.creator, caller.id)) {
        return Err(name_exists(&p.name).at("/name").into());
    }
    if count(inst.secrets.len()) >= inst.spec.secret_quota {
        return Err(Problem::new(
            Code::QuotaSecrets,
            format!("the secret quota of {} is used up", inst.spec.secret_quota),
        )
        .into());
    }
    inst.secrets.push(Secret {
        name: p.name.clone(),
        creator: caller.id.to_string(),
        rotation: false,
        tags: Default::default(),
    });
    Ok(Effects::default())
}

/// An action that uses or describes a key and changes nothing: finding it and R-AZ-4
/// on it are all there is to check.
pub fn use_key(inst: &InstanceRecord, caller: &Caller, key: &str, usage: Use) -> Handled {
    find_key(inst, caller, key, usage)?;
    Ok(Effects::default())
}

/// An action that uses or describes a secret and changes nothing.
pub fn use_secret(inst: &InstanceRecord, caller: &Caller, secret: &str, usage: Use) -> Handled {
    find_secret(inst, caller, secret, usage)?;
    Ok(Effects::default())
}

/// How an action changes a key.
pub enum KeyChange<'a> {
    Rotation(bool),
    DeletionProtection(bool),
    ScheduleDeletion,
    AddAlias(&'a str),
    Tags(&'a BTreeMap<String, String>),
}

/// UpdateRotationPolicy, SetDeletionProtection, ScheduleKeyDeletion, CreateAlias and
/// TagResource on a key (R-KEY-1: a service key is not configurable).
pub fn change_key(inst: &mut InstanceRecord, caller: &Caller, key: &str, change: KeyChange) -> Handled {
    if let KeyChange::AddAlias(alias) = change {
        names::validate(NameKind::Alias, alias).map_err(|e| e.at("/alias"))?;
    }
    let i = find_key(inst, caller, key, Use::Manage)?;
    let key = inst.keys.get(i).ok_or_else(lost)?;
    if key.is_service_key() {
        return Err(Problem::new(
            Code::ServiceKeyNotConfigurable,
            format!("{} is a service key: it cannot be rotated, deleted or configured", key.label()),
        )
        .rule("R-KEY-1")
        .into());
    }
    // What the change needs from the rest of the instance, before the key is borrowed
    // for writing.
    if let KeyChange::AddAlias(alias) = change {
        alias_taken(inst, alias, &key.creator)?;
        let added = inst.keys.iter().map(|k| k.aliases.len()).fold(0, usize::saturating_add);
        if added >= MAX_ENTRIES {
            return Err(limit_exceeded(format!("the instance holds at most {MAX_ENTRIES} added aliases")).into());
        }
    }
    let others = tag_count(inst).saturating_sub(key.tags.len());
    let key = inst.keys.get_mut(i).ok_or_else(lost)?;
    match change {
        KeyChange::Rotation(on) => key.rotation = on,
        KeyChange::DeletionProtection(on) => key.deletion_protection = on,
        KeyChange::ScheduleDeletion if key.deletion_protection => {
            return Err(Problem::new(Code::DeletionProtected, "turn deletion protection off first").at("/key").into())
        }
        KeyChange::ScheduleDeletion => key.pending_deletion = true,
        KeyChange::AddAlias(alias) => key.aliases.push(alias.to_string()),
        KeyChange::Tags(tags) => add_tags(&mut key.tags, tags, others)?,
    }
    Ok(Effects::default())
}

/// How an action changes a secret.
pub enum SecretChange<'a> {
    Delete,
    Rotation,
    Tags(&'a BTreeMap<String, String>),
}

/// DeleteSecret, UpdateSecretRotationPolicy and TagResource on a secret.
pub fn change_secret(inst: &mut InstanceRecord, caller: &Caller, secret: &str, change: SecretChange) -> Handled {
    let i = find_secret(inst, caller, secret, Use::Manage)?;
    let others = tag_count(inst);
    let secret = inst.secrets.get_mut(i).ok_or_else(lost)?;
    let others = others.saturating_sub(secret.tags.len());
    match change {
        SecretChange::Delete => drop(inst.secrets.remove(i)),
        SecretChange::Rotation => secret.rotation = true,
        SecretChange::Tags(tags) => add_tags(&mut secret.tags, tags, others)?,
    }
    Ok(Effects::default())
}

/// TagResource: on the key it names, or else the secret.
pub fn tag(inst: &mut InstanceRecord, caller: &Caller, p: &Tag) -> Handled {
    // (3) the parameters' formats come before (4) finding the resource.
    check_tags(&p.tags)?;
    match tag_target(p)? {
        Target::Key(key) => change_key(inst, caller, key, KeyChange::Tags(&p.tags)),
        Target::Secret(secret) => change_secret(inst, caller, secret, SecretChange::Tags(&p.tags)),
    }
}

/// A found index that is no longer there: cannot happen (nothing runs between the
/// lookup and its use), reported rather than assumed.
fn lost() -> Problem {
    Problem::new(Code::KeyNotFound, "the key or secret is no longer there")
}

/// Tags held by every key and secret of the instance.
fn tag_count(inst: &InstanceRecord) -> usize {
    let keys = inst.keys.iter().map(|k| k.tags.len());
    keys.chain(inst.secrets.iter().map(|s| s.tags.len())).fold(0, usize::saturating_add)
}
