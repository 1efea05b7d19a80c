//! The settings of an instance's keys and secrets, which the rule engine keeps in the
//! instance's state (the "manage keys" and "manage secrets" rows of the permission
//! matrix): `UpdateRotationPolicy`, `SetDeletionProtection` (the key's ARN in
//! `ProtectedResourceArn`), `TagResource` (`KeyId` or `SecretName`; `Tags` as the API's
//! JSON list of `TagKey`/`TagValue`) and `UpdateSecretRotationPolicy`. DescribeKey shows
//! a key's rotation and deletion protection. A key outside every instance keeps none of
//! them on this endpoint: refused, not pretended.

use super::{Call, Endpoint, Failure, Logged, Refusal};
use crate::rules::model::request::{Action, SecretRef, Tag, Toggle};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A boolean parameter as the SDKs send one (`true`; Python's `True`).
fn flag(call: &Call, name: &str) -> Result<bool, Refusal> {
    match call.required(name)? {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Refusal::invalid(name, "not true or false")),
    }
}

/// `RotationInterval` (`7d` to `365d`, or the same in seconds, `604800s`): checked as the
/// service checks it; the rules keep whether a key rotates, not how often.
fn check_interval(call: &Call) -> Result<(), Refusal> {
    let Some(text) = call.get("RotationInterval") else { return Ok(()) };
    let seconds = match (text.strip_suffix('d'), text.strip_suffix('s')) {
        (Some(days), _) => days.parse::<u64>().ok().and_then(|d| d.checked_mul(86_400)),
        (_, Some(seconds)) => seconds.parse::<u64>().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if (7 * 86_400..=365 * 86_400).contains(&s) => Ok(()),
        _ => Err(Refusal::invalid("RotationInterval", "not 7d to 365d")),
    }
}

/// `Tags`: `[{"TagKey": "k", "TagValue": "v"}, …]`.
fn tags(call: &Call) -> Result<BTreeMap<String, String>, Refusal> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Pair {
        tag_key: String,
        #[serde(default)]
        tag_value: String,
    }
    let pairs: Vec<Pair> = serde_json::from_str(call.required("Tags")?)
        .map_err(|_| Refusal::invalid("Tags", "not a JSON list of {\"TagKey\", \"TagValue\"}"))?;
    Ok(pairs.into_iter().map(|p| (p.tag_key, p.tag_value)).collect())
}

impl Endpoint {
    pub(super) fn settings_operate(&self, action: &str, call: &Call, logged: &mut Logged) -> Result<Value, Failure> {
        match action {
            "UpdateRotationPolicy" => {
                let enabled = Some(flag(call, "EnableAutomaticRotation")?);
                check_interval(call)?;
                self.set_on_key(call, "KeyId", |key| Action::UpdateRotationPolicy(Toggle { key, enabled }), logged)?;
            }
            "SetDeletionProtection" => {
                let enabled = Some(flag(call, "EnableDeletionProtection")?);
                let protect = |key| Action::SetDeletionProtection(Toggle { key, enabled });
                self.set_on_key(call, "ProtectedResourceArn", protect, logged)?;
            }
            "TagResource" => {
                let tags = tags(call)?;
                match (call.get("KeyId"), call.get("SecretName")) {
                    (Some(_), None) => {
                        let tag = |key| Action::TagResource(Tag { key: Some(key), secret: None, tags: tags.clone() });
                        self.set_on_key(call, "KeyId", tag, logged)?;
                    }
                    (None, Some(name)) => {
                        let tag = Action::TagResource(Tag { key: None, secret: Some(name.to_string()), tags });
                        self.set_on_secret(call, name, tag, logged)?;
                    }
                    _ => {
                        return Err(Refusal::invalid("KeyId", "name one key (KeyId) or one secret (SecretName)").into())
                    }
                }
            }
            "UpdateSecretRotationPolicy" => {
                let name = call.required("SecretName")?;
                // The rules turn a secret's rotation on; turning it off is not one of them.
                if !flag(call, "EnableAutomaticRotation")? {
                    return Err(
                        Refusal::invalid("EnableAutomaticRotation", "this endpoint turns rotation on only").into()
                    );
                }
                check_interval(call)?;
                let rotate = Action::UpdateSecretRotationPolicy(SecretRef { secret: name.to_string() });
                self.set_on_secret(call, name, rotate, logged)?;
            }
            _ => return Err(Refusal::no_such_action().into()),
        }
        Ok(json!({}))
    }

    /// Applies `action` to the key parameter `name` names, once the caller may, and saves
    /// the instance's state with it.
    fn set_on_key(
        &self,
        call: &Call,
        name: &str,
        action: impl Fn(String) -> Action,
        logged: &mut Logged,
    ) -> Result<(), Failure> {
        let key = self.named_key(call, name, &action, logged)?;
        if key.instance.is_none() {
            let why = "The key is in no KMS instance: this endpoint keeps these settings for an instance's keys only.";
            return Err(Refusal::new("UnsupportedOperation", 400, why).into());
        }
        self.in_instance(call, &key, action(key.id.clone()), |saved| match saved {
            Some(saved) => self.store.save_instance(saved).map(|()| true),
            None => Ok(false),
        })?;
        Ok(())
    }

    /// Applies `action` to the instance of the secret `name` names for the caller.
    fn set_on_secret(&self, call: &Call, name: &str, action: Action, logged: &mut Logged) -> Result<(), Failure> {
        let (instance, _) = self.secret_named(call, name, logged)?;
        self.apply_to(instance, call, action)?;
        Ok(())
    }
}
