//! Keys and secrets in the instance: creation (names, kinds, quotas), lookup by name,
//! and the per-resource access check R-AZ-4 (RULES.md sections 6–8).

use crate::access::{may_touch, Actor, Feature, Use};
use crate::code::{Code, Problem};
use crate::engine::{Caller, Effects, Handled};
use crate::instance::{Instance, InstanceType, Key, Origin, Protection, Secret, ShareMode};
use crate::names::{self, NameKind, SERVICE_ALIAS_PREFIX};
use crate::request::Action;

/// A key or a secret, found.
#[derive(Debug, Clone, Copy)]
enum Target {
    Key(usize),
    Secret(usize),
}

/// The key or secret an action names, if it names one.
fn named(action: &Action) -> Option<(bool, &str)> {
    use Action::*;
    match action {
        DescribeKey(p) | ScheduleKeyDeletion(p) | Encrypt(p) | Decrypt(p) | GenerateDataKey(p) | ReEncrypt(p) => {
            Some((true, &p.key))
        }
        UpdateRotationPolicy(p) | SetDeletionProtection(p) => Some((true, &p.key)),
        CreateAlias(p) => Some((true, &p.key)),
        TagResource(p) => match (&p.key, &p.secret) {
            (Some(k), _) => Some((true, k)),
            (None, Some(s)) => Some((false, s)),
            (None, None) => None,
        },
        DescribeSecret(p) | DeleteSecret(p) | UpdateSecretRotationPolicy(p) | GetSecretValue(p) => {
            Some((false, &p.secret))
        }
        _ => None,
    }
}

fn usage(action: &Action) -> Use {
    match Feature::of(action) {
        Feature::Cryptographic | Feature::SecretValue => Use::Use,
        _ => Use::Manage,
    }
}

/// Step (4) of the order of checks: find the named resource, then R-AZ-4 on it.
fn resolve(inst: &Instance, caller: &Caller, action: &Action) -> Result<Option<Target>, Problem> {
    let Some((is_key, name)) = named(action) else {
        if matches!(action, Action::TagResource(_)) {
            return Err(Problem::new(Code::KeyNotFound, "name a key or a secret to tag").at("/key"));
        }
        return Ok(None);
    };
    // Independent mode: the caller's own first, then the owner's; otherwise names are
    // unique in the instance.
    let independent = inst.mode() == Some(ShareMode::Independent);
    let order = [caller.id, inst.owner_id.as_str()];
    let (target, creator) = if is_key {
        if caller.actor == Actor::Principal && name.starts_with(SERVICE_ALIAS_PREFIX) {
            return Err(default_key_problem(name));
        }
        let keys = &inst.keys;
        let i = find(keys, independent, order, |k| k.key_id == name || k.names().any(|n| n == name), |k| &k.creator)
            .ok_or_else(|| Problem::new(Code::KeyNotFound, format!("no key {name}")).at("/key"))?;
        if caller.actor == Actor::Principal && keys[i].is_service_key() {
            return Err(default_key_problem(name));
        }
        (Target::Key(i), keys[i].creator.as_str())
    } else {
        let secrets = &inst.secrets;
        let i = find(secrets, independent, order, |s| s.name == name, |s| &s.creator)
            .ok_or_else(|| Problem::new(Code::SecretNotFound, format!("no secret {name}")).at("/secret"))?;
        (Target::Secret(i), secrets[i].creator.as_str())
    };
    may_touch(inst, caller.actor, caller.id, creator, usage(action))?;
    Ok(Some(target))
}

/// The first match; in independent mode among the accounts of `order` in turn.
fn find<T>(
    items: &[T],
    independent: bool,
    order: [&str; 2],
    matches: impl Fn(&T) -> bool,
    creator: impl Fn(&T) -> &str,
) -> Option<usize> {
    if independent {
        order.iter().find_map(|who| items.iter().position(|t| matches(t) && creator(t) == *who))
    } else {
        items.iter().position(matches)
    }
}

fn default_key_problem(name: &str) -> Problem {
    Problem::new(Code::DefaultKeyNotShareable, format!("{name} is a service key: it is not shared")).rule("R-SH-9")
}

/// The resource part of an access decision (`World::check`).
pub fn check_target(inst: &Instance, caller: &Caller, action: &Action) -> Result<(), Problem> {
    resolve(inst, caller, action).map(|_| ())
}

/// R-SH-6: in independent mode names are unique per creating account, otherwise
/// across the instance.
fn same_namespace(inst: &Instance, a: &str, b: &str) -> bool {
    inst.mode() != Some(ShareMode::Independent) || a == b
}

fn alias_taken(inst: &Instance, alias: &str, creator: &str) -> Result<(), Problem> {
    let taken = inst.keys.iter().any(|k| same_namespace(inst, &k.creator, creator) && k.names().any(|n| n == alias));
    if taken {
        return Err(name_exists(alias).at("/alias"));
    }
    Ok(())
}

fn name_exists(name: &str) -> Problem {
    Problem::new(Code::NameExists, format!("{name} already exists")).rule("R-SH-6")
}

/// R-KEY-1, R-KEY-2: the key kinds an instance type can hold.
fn key_kind(inst: &Instance, protection: Option<&str>, origin: Option<&str>) -> Result<(Protection, Origin), Problem> {
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

/// Every action on keys and secrets, after the gate.
pub fn handle(inst: &mut Instance, caller: &Caller, action: &Action) -> Handled {
    use Action::*;
    if let CreateKey(p) = action {
        names::validate(NameKind::Alias, &p.alias).map_err(|e| e.at("/alias"))?;
        let (protection, origin) = key_kind(inst, p.protection.as_deref(), p.origin.as_deref())?;
        alias_taken(inst, &p.alias, caller.id)?;
        if inst.keys.len() as u32 >= inst.spec.key_quota {
            return Err(
                Problem::new(Code::QuotaKeys, format!("the key quota of {} is used up", inst.spec.key_quota)).into()
            );
        }
        inst.next_key_number += 1;
        let key_id = format!("key-{}-{:08}", inst.instance_id.trim_start_matches("kst-"), inst.next_key_number);
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
        return Ok(Effects { key_id: Some(key_id), ..Effects::default() });
    }
    if let CreateSecret(p) = action {
        names::validate(NameKind::SecretName, &p.name).map_err(|e| e.at("/name"))?;
        if inst.secrets.iter().any(|s| s.name == p.name && same_namespace(inst, &s.creator, caller.id)) {
            return Err(name_exists(&p.name).at("/name").into());
        }
        if inst.secrets.len() as u32 >= inst.spec.secret_quota {
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
        return Ok(Effects::default());
    }
    if let CreateAlias(p) = action {
        names::validate(NameKind::Alias, &p.alias).map_err(|e| e.at("/alias"))?;
    }

    match resolve(inst, caller, action)? {
        Some(Target::Key(i)) => key_action(inst, i, action),
        Some(Target::Secret(i)) => {
            match action {
                DeleteSecret(_) => {
                    inst.secrets.remove(i);
                }
                UpdateSecretRotationPolicy(_) => inst.secrets[i].rotation = true,
                TagResource(p) => inst.secrets[i].tags.extend(p.tags.clone()),
                _ => {}
            }
            Ok(Effects::default())
        }
        // CreateBackup and CreateApplicationAccessPoint: access is all there is to check.
        None => Ok(Effects::default()),
    }
}

fn key_action(inst: &mut Instance, i: usize, action: &Action) -> Handled {
    use Action::*;
    let configures = matches!(
        action,
        UpdateRotationPolicy(_) | ScheduleKeyDeletion(_) | SetDeletionProtection(_) | CreateAlias(_) | TagResource(_)
    );
    if configures && inst.keys[i].is_service_key() {
        return Err(Problem::new(
            Code::ServiceKeyNotConfigurable,
            format!("{} is a service key: it cannot be rotated, deleted or configured", inst.keys[i].alias),
        )
        .rule("R-KEY-1")
        .into());
    }
    match action {
        UpdateRotationPolicy(p) => inst.keys[i].rotation = p.enabled.unwrap_or(true),
        SetDeletionProtection(p) => inst.keys[i].deletion_protection = p.enabled.unwrap_or(true),
        ScheduleKeyDeletion(_) if inst.keys[i].deletion_protection => {
            return Err(Problem::new(Code::DeletionProtected, "turn deletion protection off first").at("/key").into())
        }
        ScheduleKeyDeletion(_) => inst.keys[i].pending_deletion = true,
        CreateAlias(p) => {
            let creator = inst.keys[i].creator.clone();
            alias_taken(inst, &p.alias, &creator)?;
            inst.keys[i].aliases.push(p.alias.clone());
        }
        TagResource(p) => inst.keys[i].tags.extend(p.tags.clone()),
        _ => {}
    }
    Ok(Effects::default())
}
