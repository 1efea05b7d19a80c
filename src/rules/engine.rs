//! The rule engine: a [`State`] (a directory and one instance) that applies requests
//! transactionally.
//!
//! `apply` works on a copy and keeps it only when every rule passed, so a failed
//! request leaves the state exactly as it was, whatever step failed. Each request
//! yields one audit record, success or not.

use crate::code::{Code, Problem};
use crate::limits::{self, MAX_SAFE_INTEGER, MAX_TEXT_BYTES};
use crate::rules::access::{self, Decision, Use};
use crate::rules::bind_vpcs;
use crate::rules::handler::{Caller, Effects, Failure, Handled};
use crate::rules::model::audit::{mask_credential, AuditRecord, Level};
use crate::rules::model::request::{Action, Request};
pub use crate::rules::model::state::State;
use crate::rules::resources::{KeyChange, SecretChange};
use crate::rules::{integrity, lifecycle, resources, sharing};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// What a request is applied at: the clock and the request id belong to the caller,
/// so a simulation is deterministic and the core needs no system clock (none on wasm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// Any time RFC 3339 can write: years 0000 to 9999, offsets in whole minutes.
    pub now: OffsetDateTime,
    /// At most 256 bytes.
    pub request_id: String,
    /// At most 2^53 − 1, so a JavaScript caller reads it exactly.
    pub latency_ms: u64,
}

impl Env {
    /// What the request's audit record must be able to carry, checked before anything
    /// changes.
    fn check(&self) -> Result<(), Problem> {
        if self.now.format(&Rfc3339).is_err() {
            return Err(Problem::new(
                Code::Request,
                "the time cannot be written in RFC 3339 (years 0000 to 9999, offsets in whole minutes)",
            )
            .at("/env/now"));
        }
        limits::check("the request id (bytes)", self.request_id.len(), MAX_TEXT_BYTES)
            .map_err(|p| p.at("/env/requestId"))?;
        if self.latency_ms > MAX_SAFE_INTEGER {
            let message =
                format!("the latency {} ms is past 2^53 - 1, which JavaScript reads exactly", self.latency_ms);
            return Err(Problem::new(Code::TooLarge, message).at("/env/latencyMs"));
        }
        Ok(())
    }

    /// What the audit record of a refused env can carry: a time RFC 3339 writes (the
    /// epoch otherwise), the request id cut to 256 bytes, the latency at most 2^53 − 1.
    fn recordable(&self) -> Env {
        let mut request_id = self.request_id.clone();
        let cut = (0..=MAX_TEXT_BYTES.min(request_id.len())).rev().find(|i| request_id.is_char_boundary(*i));
        request_id.truncate(cut.unwrap_or(0));
        Env {
            now: if self.now.format(&Rfc3339).is_ok() { self.now } else { OffsetDateTime::UNIX_EPOCH },
            request_id,
            latency_ms: self.latency_ms.min(MAX_SAFE_INTEGER),
        }
    }
}

/// The access-management quota: in use and purchased (R-Q-1).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaUsage {
    /// VPCs bound and accounts associated.
    pub used: u32,
    /// The purchased quota.
    pub purchased: u32,
}

/// A request that was applied.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// The action's API name.
    pub action: &'static str,
    /// Warnings of a request that succeeded (R-SH-7, R-BV-8, R-SH-4).
    pub warnings: Vec<Problem>,
    /// The quota after the request.
    pub quota: QuotaUsage,
    /// Accounts whose association is `failed` after the request (R-Q-4).
    pub failed_principals: Vec<String>,
    /// UpdateKmsInstanceBindVpc: VPCs added, removed and kept, quota before and after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_vpcs: Option<bind_vpcs::Report>,
    /// CreateKey: the new key's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// ConnectKmsInstance: minutes until the instance is expected to be enabled (R-LC-6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_enable_minutes: Option<u32>,
    /// The request's audit record (RULES.md section 9).
    pub audit: AuditRecord,
}

/// A request that was refused; the state did not change.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{}", errors.first().map(ToString::to_string).unwrap_or_default())]
pub struct Rejection {
    /// Every problem found; the first is the one the order of checks names. Only
    /// BindVpcs validation reports more than one (R-BV-10), at most 100.
    pub errors: Vec<Problem>,
    /// Problems found past the first 100: counted, not listed.
    pub omitted: usize,
    /// The quota, unchanged.
    pub quota: QuotaUsage,
    /// The request's audit record, with the first code as its result.
    pub audit: AuditRecord,
}

impl Rejection {
    /// The code of the first problem: the one the order of checks names.
    pub fn code(&self) -> Option<Code> {
        self.errors.first().map(|p| p.code)
    }
}

impl State {
    /// Reads a state, and checks everything the engine relies on (`InvalidParameter.State`
    /// with the path of the first field at fault): a state read here can be applied
    /// every action and written back.
    pub fn from_json(json: &str) -> Result<State, Problem> {
        limits::check("the state (bytes)", json.len(), limits::MAX_DOCUMENT_BYTES)?;
        let world: State = serde_json::from_str(json).map_err(|e| Problem::json(Code::State, json, &e))?;
        world.validate().map_err(|p| p.placed_in(json))?;
        Ok(world)
    }

    /// Checks a state built some other way (`serde_json::from_value`, by hand): the
    /// checks of [`State::from_json`].
    pub fn validate(&self) -> Result<(), Problem> {
        integrity::check_world(self)
    }

    /// Writes the state. It fails only for a state changed by hand to hold a time RFC
    /// 3339 cannot write; every state the engine reaches can be written.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The access-management quota in use and purchased.
    pub fn quota(&self) -> QuotaUsage {
        QuotaUsage { used: self.instance.quota_used(), purchased: self.instance.spec.access_management_quota }
    }

    /// Applies a request: all of it, or nothing. The request's env is checked first.
    ///
    /// ```
    /// use kms_instance::{Env, Request, State};
    ///
    /// let mut state = State::from_json(r#"{
    ///   "directory": {"resourceDirectoryId": "rd-a1b2c3", "enterpriseId": "ent-acme",
    ///                 "accounts": [{"id": "1207089758810000", "name": "security-team"}]},
    ///   "instance": {"instanceId": "kst-hzz62f4a5c2d7ab12cd", "type": "software", "regionId": "cn-hangzhou",
    ///                "ownerId": "1207089758810000", "status": "enabled",
    ///                "spec": {"accessManagementQuota": 5, "keyQuota": 10, "secretQuota": 10}}}"#)?;
    /// let request: Request = serde_json::from_str(r#"{"as": "owner", "action": "CreateKey", "params": {"alias": "alias/app"}}"#)?;
    /// let env = Env { now: time::OffsetDateTime::UNIX_EPOCH, request_id: "r-1".into(), latency_ms: 0 };
    /// let outcome = state.apply(&request, &env).expect("the owner may create a key");
    /// assert_eq!(outcome.audit.result, "Success");
    /// let again = state.apply(&request, &env).unwrap_err();
    /// assert_eq!(again.code().map(|c| c.as_str()), Some("Conflict.NameExists"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[allow(clippy::result_large_err, reason = "a rejection carries its audit record; requests are not a hot loop")]
    pub fn apply(&mut self, request: &Request, env: &Env) -> Result<Outcome, Rejection> {
        if let Err(problem) = env.check() {
            return Err(self.refuse(request, &env.recordable(), problem));
        }
        let mut next = self.clone();
        let result = next.execute(request, env.now);
        match result {
            Ok(effects) => {
                *self = next;
                Ok(Outcome {
                    action: request.action.name(),
                    warnings: effects.warnings,
                    quota: self.quota(),
                    failed_principals: self.instance.failed_principals(),
                    bind_vpcs: effects.bind_vpcs,
                    key_id: effects.key_id,
                    expected_enable_minutes: effects.expected_enable_minutes,
                    audit: self.audit(request, env, Level::Info, "Success"),
                })
            }
            Err(failure) => Err(self.rejection(request, env, failure)),
        }
    }

    /// Refuses a request without looking at it further, for a reason found outside the
    /// engine (a plan whose clock ran out): the rejection `apply` would give.
    pub fn refuse(&self, request: &Request, env: &Env, problem: Problem) -> Rejection {
        self.rejection(request, env, Failure::from(problem))
    }

    fn rejection(&self, request: &Request, env: &Env, Failure { problems, omitted }: Failure) -> Rejection {
        let first = problems.first().map_or("", |p| p.code.as_str());
        Rejection {
            quota: self.quota(),
            audit: self.audit(request, env, Level::Error, first),
            errors: problems,
            omitted,
        }
    }

    fn audit(&self, request: &Request, env: &Env, level: Level, result: &str) -> AuditRecord {
        AuditRecord {
            time: env.now,
            level,
            request_id: env.request_id.clone(),
            action: request.action.name().to_string(),
            credential: request.credential.as_ref().map(|c| mask_credential(&c.0)),
            caller: access::caller_id(&self.instance, request).to_string(),
            owner: self.instance.owner_id.clone(),
            instance_id: self.instance.instance_id.clone(),
            latency_ms: env.latency_ms,
            result: result.to_string(),
        }
    }

    /// The key `name` (an alias or key id) names for account `caller`, found as the
    /// engine finds it (in independent mode among the caller's own first, then the
    /// owner's); no access is decided.
    pub fn key_named(&self, caller: &str, name: &str) -> Option<&crate::rules::model::instance::Key> {
        resources::key_named(&self.instance, caller, name)
    }

    /// The secret `name` names for account `caller`, found as the engine finds it.
    pub fn secret_named(&self, caller: &str, name: &str) -> Option<&crate::rules::model::instance::Secret> {
        resources::secret_named(&self.instance, caller, name)
    }

    /// The access decision for a request, without applying it: the state and region,
    /// the four access checks, and (for a request that names a key or secret) finding
    /// it and R-AZ-4 on it. Parameter formats and the other rules are not evaluated.
    pub fn check(&self, request: &Request) -> Decision {
        let denied = access::gate(&self.instance, request).and_then(|actor| {
            let caller = Caller { id: access::caller_id(&self.instance, request), actor };
            resources::check_target(&self.instance, &caller, &request.action)
        });
        match denied {
            Ok(()) => Decision { allowed: true, denied: None },
            Err(p) => Decision { allowed: false, denied: Some(p) },
        }
    }

    fn execute(&mut self, request: &Request, now: OffsetDateTime) -> Handled {
        let actor = access::gate(&self.instance, request)?;
        let id = access::caller_id(&self.instance, request).to_string();
        let caller = Caller { id: &id, actor };
        let (inst, dir) = (&mut self.instance, &mut self.directory);
        use Action::*;
        // Every action, each to its handler: a new action does not compile until it is
        // routed here.
        match &request.action {
            ConnectKmsInstance(p) => lifecycle::connect(inst, p),
            CompleteEnable(_) => lifecycle::complete_enable(inst),
            UpgradeKmsInstance(p) => lifecycle::upgrade(inst, &p.spec),
            RenewKmsInstance(p) => lifecycle::renew(inst, p.months, now),
            Expire(_) => lifecycle::expire(inst),
            EnableSecurityAudit(p) => lifecycle::enable_audit(inst, &p.bucket),
            DescribeKmsInstance(_) => Ok(Effects::default()),
            UpdateKmsInstanceBindVpc(p) => lifecycle::bind_vpcs(inst, p),
            CreateResourceShare(p) => sharing::create(inst, dir, p),
            AssociatePrincipals(p) => sharing::associate(inst, dir, &p.principals),
            DisassociatePrincipals(p) => sharing::disassociate(inst, dir, &p.principals),
            ChangeShareMode(p) => sharing::change_mode(inst, &p.mode),
            DeleteResourceShare(_) => sharing::delete(inst),
            JoinFolder(p) => sharing::join_folder(inst, dir, p),
            CreateKey(p) => resources::create_key(inst, &caller, p),
            DescribeKey(p) => resources::use_key(inst, &caller, &p.key, Use::Manage),
            UpdateRotationPolicy(p) => {
                resources::change_key(inst, &caller, &p.key, KeyChange::Rotation(p.enabled.unwrap_or(true)))
            }
            ScheduleKeyDeletion(p) => resources::change_key(inst, &caller, &p.key, KeyChange::ScheduleDeletion),
            SetDeletionProtection(p) => {
                resources::change_key(inst, &caller, &p.key, KeyChange::DeletionProtection(p.enabled.unwrap_or(true)))
            }
            CreateAlias(p) => resources::change_key(inst, &caller, &p.key, KeyChange::AddAlias(&p.alias)),
            TagResource(p) => resources::tag(inst, &caller, p),
            CreateSecret(p) => resources::create_secret(inst, &caller, p),
            DescribeSecret(p) => resources::use_secret(inst, &caller, &p.secret, Use::Manage),
            DeleteSecret(p) => resources::change_secret(inst, &caller, &p.secret, SecretChange::Delete),
            UpdateSecretRotationPolicy(p) => resources::change_secret(inst, &caller, &p.secret, SecretChange::Rotation),
            GetSecretValue(p) => resources::use_secret(inst, &caller, &p.secret, Use::Use),
            Encrypt(p) | Decrypt(p) | GenerateDataKey(p) | ReEncrypt(p) => {
                resources::use_key(inst, &caller, &p.key, Use::Use)
            }
            // The gate's access checks (owner only) are all there is to these.
            CreateBackup(_) | CreateApplicationAccessPoint(_) => Ok(Effects::default()),
        }
    }
}
