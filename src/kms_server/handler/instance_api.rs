//! The instance operations of the KMS API (`2016-01-20`), in the shape Alibaba's SDK
//! models read: GetKmsInstance, ListKmsInstances, ConnectKmsInstance and
//! UpdateKmsInstanceBindVpc; and UpgradeKmsInstance and RenewKmsInstance, which Alibaba
//! sells through its billing API (BssOpenApi), served here as operations of this endpoint
//! so that the owner-only rows of the permission matrix apply to them as to the rest.
//! Secrets (`CreateSecret` in an instance, `DescribeSecret`, `GetSecretValue`,
//! `DeleteSecret`) keep their value sealed in the store. `CreateBackup` and
//! `CreateApplicationAccessPoint` (with `KmsInstanceId`, this endpoint's) are decided by
//! the rules and make nothing: the answer says so. `EnableSecurityAudit` (`KmsInstanceId`,
//! `Bucket`; the console's switch, this endpoint's operation) records the bucket the
//! rules check (R-LC-9); no log is shipped. `ExpireKmsInstance` is the billing
//! side's (an operator's AccessKey of the seed): the subscription ran out.
//! Each is a request to the rule engine, which decides and changes the instance.

use super::{with_outcome, Call, Endpoint, Failure, Logged, Refusal};
use crate::kms_server::instances::{Instance, Live};
use crate::rules::access;
use crate::rules::engine::Outcome;
use crate::rules::model::instance::{ShareMode, Status};
use crate::rules::model::request::{
    AccessPoint, Action, BindVpc, Connect, NoParams, Renew, Request, SecretName, SecretRef, SecurityAudit, SpecChange,
    Upgrade, VSwitchFacts, VSwitchParam,
};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

/// Free addresses of a vSwitch the seed's `network` does not describe: the endpoint sees
/// no VPC, so it takes one as having room.
const UNDESCRIBED_FREE_IPS: u32 = 4_096;

/// The Status GetKmsInstance says (Uninitialized, Connecting, Connected as the API does);
/// an expired or released instance is Disconnected, and SaleStatus tells which.
fn status(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::PendingEnable => ("Uninitialized", "Normal"),
        Status::Enabling => ("Connecting", "Normal"),
        Status::Enabled => ("Connected", "Normal"),
        Status::Expired => ("Disconnected", "Expired"),
        Status::Released => ("Disconnected", "Released"),
    }
}

/// A comma-separated list parameter (`VSwitchIds=vsw-1,vsw-2`).
fn split(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn number(call: &Call, name: &str) -> Result<Option<u32>, Refusal> {
    call.get(name).map(|v| v.parse::<u32>().map_err(|_| Refusal::invalid(name, "not a whole number"))).transpose()
}

impl Endpoint {
    pub(super) fn instance_operate(&self, action: &str, call: &Call, logged: &mut Logged) -> Result<Value, Failure> {
        match action {
            "GetKmsInstance" => {
                let (id, instance) = self.instance_named(call, logged)?;
                let describe = Self::request(call, Action::DescribeKmsInstance(NoParams {}));
                instance.decide(&self.store, &describe, &call.env())?;
                let live = instance.read(&self.store)?;
                Ok(json!({"KmsInstance": self.instance_json(id, instance, &live)}))
            }
            "ListKmsInstances" => {
                let (number, size) = call.page(20)?;
                let mut visible = Vec::new();
                for (id, instance) in &self.settings.instances {
                    let live = instance.read(&self.store)?;
                    if access::is_member(&live.state.instance, &call.account) {
                        visible.push(json!({
                            "KmsInstanceId": id,
                            "KmsInstanceArn": self.arn(&live.state.instance.owner_id, &format!("keystore/{id}")),
                        }));
                    }
                }
                let total = visible.len();
                let page: Vec<Value> =
                    visible.into_iter().skip(number.saturating_sub(1).saturating_mul(size)).take(size).collect();
                Ok(json!({
                    "KmsInstances": {"KmsInstance": page}, "TotalCount": total, "PageNumber": number, "PageSize": size,
                }))
            }
            "ConnectKmsInstance" => {
                let (_, instance) = self.instance_named(call, logged)?;
                if call.get("KMProvider").is_some_and(|p| p != "Aliyun") {
                    return Err(Refusal::invalid("KMProvider", "Aliyun is the one provider").into());
                }
                let zones = call.get("ZoneIds").map(split);
                let v_switches = split(call.required("VSwitchIds")?)
                    .into_iter()
                    .enumerate()
                    .map(|(i, id)| {
                        let facts = self.settings.network.get(&id).cloned().unwrap_or_default();
                        let given = zones.as_ref().and_then(|z| z.get(i)).cloned();
                        VSwitchParam {
                            zone: facts.zone.or(given).unwrap_or_default(),
                            available_ips: facts.available_ips.unwrap_or(UNDESCRIBED_FREE_IPS),
                            id,
                        }
                    })
                    .collect();
                // Through the API, as R-LC-5 says: a hardware or external instance is
                // connected from the console only (Rejected.ConsoleOnly).
                let connect = Connect {
                    channel: "api".into(),
                    vpc_id: call.required("VpcId")?.to_string(),
                    v_switches,
                    zones,
                    hsm_cluster_id: None,
                    user: None,
                    password: None,
                    certificate: None,
                    proxy: None,
                };
                let outcome = self.apply_to(instance, call, Action::ConnectKmsInstance(Box::new(connect)))?;
                // How long it takes here: R-LC-6's minutes, or what --connect-seconds says.
                Ok(match self.settings.connect_wait {
                    Some(wait) => json!({"ExpectedSeconds": wait.as_secs()}),
                    None => json!({"ExpectedMinutes": outcome.expected_enable_minutes}),
                })
            }
            "UpdateKmsInstanceBindVpc" => {
                let (_, instance) = self.instance_named(call, logged)?;
                let network = self
                    .settings
                    .network
                    .iter()
                    .map(|(id, v)| {
                        let facts = VSwitchFacts {
                            vpc_id: v.vpc_id.clone(),
                            available_ips: v.available_ips,
                            shared_with_owner: v.shared_with_owner,
                        };
                        (id.clone(), facts)
                    })
                    .collect();
                let bind =
                    BindVpc { bind_vpcs: Value::String(call.required("BindVpcs")?.into()), network: Some(network) };
                let outcome = self.apply_to(instance, call, Action::UpdateKmsInstanceBindVpc(bind))?;
                Ok(with_outcome(json!({}), &outcome))
            }
            "UpgradeKmsInstance" => {
                let (_, instance) = self.instance_named(call, logged)?;
                let spec = SpecChange {
                    access_management_quota: number(call, "VpcNum")?,
                    key_quota: number(call, "KeyNum")?,
                    secret_quota: number(call, "SecretNum")?,
                    compute_units: number(call, "Spec")?,
                };
                Ok(with_outcome(
                    json!({}),
                    &self.apply_to(instance, call, Action::UpgradeKmsInstance(Upgrade { spec }))?,
                ))
            }
            "RenewKmsInstance" => {
                let (_, instance) = self.instance_named(call, logged)?;
                let months = call
                    .required("RenewPeriod")?
                    .parse::<i64>()
                    .map_err(|_| Refusal::invalid("RenewPeriod", "not a whole number of months"))?;
                Ok(with_outcome(json!({}), &self.apply_to(instance, call, Action::RenewKmsInstance(Renew { months }))?))
            }
            "EnableSecurityAudit" => {
                let (_, instance) = self.instance_named(call, logged)?;
                let bucket = call.required("Bucket")?.to_string();
                let audit = Action::EnableSecurityAudit(SecurityAudit { bucket });
                Ok(with_outcome(json!({}), &self.apply_to(instance, call, audit)?))
            }
            "ExpireKmsInstance" => {
                let id = call.required("KmsInstanceId")?;
                let instance = self.settings.instances.get(id).ok_or_else(|| {
                    Refusal::new("Forbidden.ResourceNotFound", 404, "The specified KMS instance is not found.")
                })?;
                logged.key = Some(id.to_string());
                let request = Self::world_event(Action::Expire(NoParams {}));
                Ok(with_outcome(json!({}), &self.apply_request(instance, call, &request)?))
            }
            "CreateBackup" | "CreateApplicationAccessPoint" => {
                let (_, instance) = self.instance_named(call, logged)?;
                let action = match action {
                    "CreateBackup" => Action::CreateBackup(NoParams {}),
                    _ => Action::CreateApplicationAccessPoint(AccessPoint { name: call.required("Name")?.to_string() }),
                };
                instance.decide(&self.store, &Self::request(call, action), &call.env())?;
                Ok(
                    json!({"Made": false, "Note": "The rules allow it; this endpoint makes no backups or access points."}),
                )
            }
            "CreateSecret" => {
                let id = call.required("DKMSInstanceId")?;
                let instance = self.member_instance(call, id)?;
                logged.key = Some(id.to_string());
                let name = call.required("SecretName")?.to_string();
                let data = call.required("SecretData")?;
                let version = call.required("VersionId")?.to_string();
                let create = Self::request(call, Action::CreateSecret(SecretName { name: name.clone() }));
                instance.change(&self.store, &create, &call.env(), self.settings.connect_wait, |_, saved| {
                    self.store.put_secret(&call.account, &name, &version, data.as_bytes(), saved).map(Some)
                })?;
                let arn = self.arn(&call.account, &format!("secret/{name}"));
                Ok(json!({"Arn": arn, "SecretName": name, "VersionId": version}))
            }
            "DescribeSecret" | "GetSecretValue" | "DeleteSecret" => {
                let name = call.required("SecretName")?.to_string();
                let (instance, creator) = self.secret_named(call, &name, logged)?;
                let secret = SecretRef { secret: name.clone() };
                let arn = self.arn(&creator, &format!("secret/{name}"));
                match action {
                    "DeleteSecret" => {
                        let delete = Self::request(call, Action::DeleteSecret(secret));
                        instance.change(
                            &self.store,
                            &delete,
                            &call.env(),
                            self.settings.connect_wait,
                            |_, saved| self.store.delete_secret(&creator, &name, saved).map(Some),
                        )?;
                        Ok(json!({"SecretName": name}))
                    }
                    _ => {
                        let read = match action {
                            "GetSecretValue" => Action::GetSecretValue(secret),
                            _ => Action::DescribeSecret(secret),
                        };
                        instance.decide(&self.store, &Self::request(call, read), &call.env())?;
                        let id = instance.read(&self.store)?.state.instance.instance_id.clone();
                        let (version, created, data) = self.store.secret(&id, &creator, &name)?.ok_or_else(|| {
                            Failure::Store(crate::code::Problem::new(
                                crate::Code::BridgeUnavailable,
                                format!("secret {name} of {creator}: in the instance's state, not in the store"),
                            ))
                        })?;
                        let mut answer = json!({
                            "SecretName": name, "Arn": arn, "CreateTime": created, "SecretType": "Generic",
                            "DKMSInstanceId": id,
                        });
                        if let (true, Some(fields)) = (action == "GetSecretValue", answer.as_object_mut()) {
                            fields.insert("VersionId".into(), json!(version));
                            fields.insert("SecretDataType".into(), json!("text"));
                            fields.insert("SecretData".into(), json!(String::from_utf8_lossy(&data)));
                        }
                        Ok(answer)
                    }
                }
            }
            _ => self.settings_operate(action, call, logged),
        }
    }

    /// The instance and creator of the secret `name` names for the caller, among the
    /// instances it is a member of, as the rules look names up; an account that is a
    /// member of none that holds it is told it does not exist.
    pub(super) fn secret_named(
        &self,
        call: &Call,
        name: &str,
        logged: &mut Logged,
    ) -> Result<(&Instance, String), Failure> {
        let found = self.find_as_member(&call.account, |state| {
            let creator = state.secret_named(&call.account, name)?.creator.clone();
            Some((creator, state.instance.owner_id.clone()))
        })?;
        let (id, instance, (creator, owner)) = found
            .ok_or_else(|| Refusal::new("Forbidden.ResourceNotFound", 404, "The specified secret is not found."))?;
        logged.key = Some(id.to_string());
        logged.owner = Some(owner);
        Ok((instance, creator))
    }

    /// The instance `KmsInstanceId` names, hidden (not found) from an account that is
    /// neither its owner nor a principal of its share.
    pub(super) fn instance_named<'a>(
        &'a self,
        call: &Call,
        logged: &mut Logged,
    ) -> Result<(&'a str, &'a Instance), Failure> {
        self.instance_of(call.required("KmsInstanceId")?, call, logged)
    }

    /// The instance `given` (an id), hidden (not found) from an account that is neither
    /// its owner nor a principal of its share.
    pub(super) fn instance_of<'a>(
        &'a self,
        given: &str,
        call: &Call,
        logged: &mut Logged,
    ) -> Result<(&'a str, &'a Instance), Failure> {
        let not_found = || Refusal::new("Forbidden.ResourceNotFound", 404, "The specified KMS instance is not found.");
        let (id, instance) = self.settings.instances.get_key_value(given).ok_or_else(not_found)?;
        let live = instance.read(&self.store)?;
        if !access::is_member(&live.state.instance, &call.account) {
            return Err(not_found().into());
        }
        logged.key = Some(id.clone());
        logged.owner = Some(live.state.instance.owner_id.clone());
        Ok((id, instance))
    }

    /// Applies the caller's `action` to `instance` through the rule engine; the new state
    /// is saved before the answer.
    pub(super) fn apply_to(&self, instance: &Instance, call: &Call, action: Action) -> Result<Outcome, Failure> {
        self.apply_request(instance, call, &Self::request(call, action))
    }

    /// Applies `request` (the caller's, or an event of the world) to `instance` at the
    /// call's time; the new state is saved before the answer.
    pub(super) fn apply_request(
        &self,
        instance: &Instance,
        call: &Call,
        request: &Request,
    ) -> Result<Outcome, Failure> {
        let (outcome, _) =
            instance.change(&self.store, request, &call.env(), self.settings.connect_wait, |_, saved| {
                self.store.save_instance(saved).map(Some)
            })?;
        Ok(outcome)
    }

    /// GetKmsInstance's `KmsInstance`: the fields the SDK's model reads, the purchased
    /// quotas in VpcNum, KeyNum, SecretNum and Spec as the API gives them, and this
    /// endpoint's own: the type, the share's mode, and what is in use (`Usage`).
    fn instance_json(&self, id: &str, instance: &Instance, live: &Live) -> Value {
        let record = &live.state.instance;
        let (status, sale) = status(record.status);
        let bound: Vec<Value> = record
            .bound_vpcs
            .iter()
            .map(|v| json!({"VpcId": v.vpc_id, "VSwitchId": v.v_switch_id, "RegionId": v.region_id, "VpcOwnerId": v.vpc_owner_id}))
            .collect();
        let end = record.expires_at.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default();
        json!({
            "InstanceId": id, "InstanceName": id, "Status": status, "SaleStatus": sale,
            "VpcId": record.vpc_id.clone().unwrap_or_default(),
            "VswitchIds": record.v_switches.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
            "ZoneIds": record.zones,
            "BindVpcs": {"BindVpc": bound},
            "VpcNum": record.spec.access_management_quota, "KeyNum": record.spec.key_quota,
            "SecretNum": record.spec.secret_quota.to_string(), "Spec": record.spec.compute_units.unwrap_or(0),
            "StartDate": instance.created, "CreateTime": instance.created, "EndDate": end,
            "ChargeType": "PREPAY", "ProductVersion": "3", "DeletionProtection": false,
            "Log": u8::from(record.audit_bucket.is_some()),
            "InstanceType": format!("{:?}", record.kind).to_lowercase(),
            "ShareMode": record.mode().map(|m| match m { ShareMode::Joint => "joint", ShareMode::Independent => "independent" }),
            "Usage": {"VpcNum": record.quota_used(), "KeyNum": record.keys.len(), "SecretNum": record.secrets.len()},
        })
    }
}
