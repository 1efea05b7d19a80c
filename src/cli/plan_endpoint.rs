//! `kms-instance plan --endpoint URL --credentials SEED`: a change plan run against a
//! live endpoint (`kms-instance serve` started with a seed of the plan's world, which
//! `plan --write-seed` writes), each step the API call Alibaba's SDKs would make, signed
//! with an AccessKey of the step's caller from the seed (a RAM identity's for a step
//! with `ram`; an operator's for Expire and JoinFolder, which are the platform's; a
//! step's `region` as the call's `RegionId`). What each step gave (ok, the rules' codes
//! from the answer's `Errors`, warnings, the quota and failed associations read back as
//! the owner) is judged as the library's run is, so the two can be compared step by
//! step. CompleteEnable is no call: the step waits for the server's clock. A step the
//! API cannot express (a console channel, a permission's version) is reported as such
//! and does not match.

// `Value["Field"]` answers Null for a field that is not there: it never panics.
#![allow(clippy::indexing_slicing)]

use super::io::{read_text, Fatal};
use kms_instance::audit::{AuditRecord, Level};
use kms_instance::key_providers::kms::{KmsSettings, Signature};
use kms_instance::key_providers::xks::native::{NativeTransport, Trust};
use kms_instance::kms_api::client::Client;
use kms_instance::kms_server::seed::Seed;
use kms_instance::plan::{self, Plan, PlanResult, StepResult};
use kms_instance::request::{Action, PrincipalParam, Request};
use kms_instance::rules::model::instance::Status;
use kms_instance::Code;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Instant;
use zeroize::Zeroizing;

const KMS: &str = "2016-01-20";
const SHARING: &str = "2020-01-10";
const DIRECTORY: &str = "2020-03-31";
/// How long CompleteEnable waits for the server's clock to complete a connection.
const CONNECT_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

fn on(enabled: Option<bool>) -> &'static str {
    if enabled.unwrap_or(true) {
        "true"
    } else {
        "false"
    }
}

/// One API call: its version, action and parameters (names and values as the SDKs
/// flatten them).
struct ApiCall {
    version: &'static str,
    action: &'static str,
    params: Vec<(String, String)>,
}

fn kms(action: &'static str, params: &[(&str, &str)]) -> ApiCall {
    ApiCall { version: KMS, action, params: params.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect() }
}

/// What a step gave.
struct Given {
    status: u16,
    body: Value,
}

/// The endpoint and a client per AccessKey of the seed.
pub struct Endpoint {
    seed: Seed,
    clients: HashMap<String, Client>,
    /// A ConnectKmsInstance was answered and no CompleteEnable has read its end since.
    connecting: std::cell::Cell<bool>,
}

impl Endpoint {
    /// Clients of every AccessKey of `credentials` (a seed file) for the endpoint `url`.
    pub fn open(url: &str, credentials: &str) -> Result<Endpoint, Fatal> {
        let text = read_text(credentials, 4 << 20, Code::Request)?;
        let seed = Seed::parse(&text).map_err(|p| Fatal(format!("--credentials: {p}")))?;
        let mut clients = HashMap::new();
        let keys = seed.accounts.iter().flat_map(|a| a.access_keys.iter()).chain(seed.operators.iter());
        for key in keys {
            let settings = KmsSettings {
                endpoint: url.to_string(),
                region: seed.region.clone(),
                access_key_id: key.id.clone(),
                security_token: None,
                keys: Vec::new(),
                signature: Signature::V3,
                timeout_ms: Some(30_000),
            };
            let transport = NativeTransport::new(&Trust::SystemRoots, None)?;
            let client = Client::new(&settings, Zeroizing::new(key.secret.to_string()), Box::new(transport))
                .map_err(|p| Fatal(format!("--endpoint: {p}")))?;
            clients.insert(key.id.clone(), client);
        }
        Ok(Endpoint { seed, clients, connecting: std::cell::Cell::new(false) })
    }

    /// The AccessKey id of `account` whose RAM grants are `ram` (none: the account's own).
    fn key_of(&self, account: &str, ram: Option<&[String]>) -> Option<&str> {
        let account = self.seed.accounts.iter().find(|a| a.id == account)?;
        account.access_keys.iter().find(|k| k.ram.as_deref() == ram).map(|k| k.id.as_str())
    }

    fn operator(&self) -> Option<&str> {
        self.seed.operators.first().map(|k| k.id.as_str())
    }

    fn send(&self, key: &str, call: &ApiCall) -> Result<Given, String> {
        let client = self.clients.get(key).ok_or_else(|| format!("no client for {key}"))?;
        let (status, body) = pollster::block_on(client.call(call.version, call.action, call.params.clone()))
            .map_err(|p| format!("{} did not answer: {p}", call.action))?;
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok(Given { status, body })
    }

    /// Runs `plan` against the endpoint.
    pub fn run(&self, plan: &Plan) -> PlanResult {
        let owner = plan.instance.owner_id.as_str();
        let instance = plan.instance.instance_id.as_str();
        self.connecting.set(plan.instance.status == Status::Enabling);
        let steps: Vec<StepResult> = plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let request = &step.request;
                let caller = if request.caller == "owner" { owner } else { request.caller.as_str() };
                let started = Instant::now();
                let given = self.step(plan, request, caller);
                let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                let (quota_used, quota_purchased, failed) = self.observe(owner, instance);
                let (ok, errors, message, warnings, request_id) = match given {
                    Ok(g) => read(&g, request),
                    Err(why) => (false, vec![Code::Request], Some(why), Vec::new(), String::new()),
                };
                let result_code = errors.first().map_or("Success", |c| c.as_str()).to_string();
                let mut result = StepResult {
                    index: i.saturating_add(1),
                    action: request.action.name(),
                    caller: request.caller.clone(),
                    ok,
                    errors,
                    message,
                    warnings,
                    quota_used,
                    quota_purchased,
                    failed_principals: failed,
                    matched: true,
                    differences: Vec::new(),
                    audit: AuditRecord {
                        time: time::OffsetDateTime::now_utc(),
                        level: if ok { Level::Info } else { Level::Error },
                        request_id,
                        action: request.action.name().to_string(),
                        credential: None,
                        caller: caller.to_string(),
                        owner: owner.to_string(),
                        instance_id: instance.to_string(),
                        latency_ms: latency,
                        result: result_code,
                    },
                    state: None,
                };
                result.differences = plan::differences(&step.expect, &result);
                result.matched = result.differences.is_empty();
                result
            })
            .collect();
        PlanResult { name: plan.name.clone(), matched: steps.iter().all(|s| s.matched), steps, start: None }
    }

    /// The quota in use and purchased, and the failed associations, read as the owner.
    fn observe(&self, owner: &str, instance: &str) -> (u32, u32, Vec<String>) {
        let Some(key) = self.key_of(owner, None) else { return (0, 0, Vec::new()) };
        let number = |v: &Value| u32::try_from(v.as_u64().unwrap_or(0)).unwrap_or(u32::MAX);
        let got = self.send(key, &kms("GetKmsInstance", &[("KmsInstanceId", instance)]));
        let (used, purchased) = match got {
            Ok(g) => (number(&g.body["KmsInstance"]["Usage"]["VpcNum"]), number(&g.body["KmsInstance"]["VpcNum"])),
            Err(_) => (0, 0),
        };
        let share = self.share_of(owner, instance);
        let listed = ApiCall {
            version: SHARING,
            action: "ListResourceShareAssociations",
            params: vec![("AssociationType".into(), "Target".into())],
        };
        let failed = match (share, self.send(key, &listed)) {
            (Some(share), Ok(g)) => g.body["ResourceShareAssociations"]
                .as_array()
                .map(|all| {
                    all.iter()
                        .filter(|a| a["ResourceShareId"] == share.as_str() && a["AssociationStatus"] == "Failed")
                        .filter_map(|a| a["EntityId"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        (used, purchased, failed)
    }

    /// The id of the share that holds `instance`, read as the owner.
    fn share_of(&self, owner: &str, instance: &str) -> Option<String> {
        let key = self.key_of(owner, None)?;
        let listed = ApiCall {
            version: SHARING,
            action: "ListResourceShareAssociations",
            params: vec![("AssociationType".into(), "Resource".into())],
        };
        let g = self.send(key, &listed).ok()?;
        let all = g.body["ResourceShareAssociations"].as_array()?;
        all.iter().find(|a| a["EntityId"] == instance).and_then(|a| a["ResourceShareId"].as_str().map(str::to_string))
    }

    /// Makes the step's call(s); `Err` says why it could not be made.
    fn step(&self, plan: &Plan, request: &Request, caller: &str) -> Result<Given, String> {
        let ram = request.ram.as_deref();
        let key = self.key_of(caller, ram).ok_or_else(|| {
            format!(
                "--credentials has no AccessKey of {caller}{}",
                if ram.is_some() { " with the step's ram" } else { "" }
            )
        })?;
        let instance = plan.instance.instance_id.as_str();
        let owner = plan.instance.owner_id.as_str();
        let share =
            || self.share_of(owner, instance).unwrap_or_else(|| format!("rs-{}", instance.trim_start_matches("kst-")));
        let instance_arn = format!("acs:kms:{}:{owner}:keystore/{instance}", plan.instance.region_id);
        let mode = |m: &str| {
            vec![
                ("ResourceProperties.1.ResourceArn".to_string(), instance_arn.clone()),
                ("ResourceProperties.1.Property".to_string(), json!({"shareMode": m}).to_string()),
            ]
        };
        let sharing =
            |action: &'static str, params: Vec<(String, String)>| ApiCall { version: SHARING, action, params };
        let mut call = match &request.action {
            Action::ConnectKmsInstance(p) if p.channel == "api" => {
                let ids: Vec<&str> = p.v_switches.iter().map(|v| v.id.as_str()).collect();
                let zones: Vec<&str> = match &p.zones {
                    Some(z) => z.iter().map(String::as_str).collect(),
                    None => p.v_switches.iter().map(|v| v.zone.as_str()).collect(),
                };
                kms(
                    "ConnectKmsInstance",
                    &[
                        ("KmsInstanceId", instance),
                        ("VpcId", &p.vpc_id),
                        ("VSwitchIds", &ids.join(",")),
                        ("ZoneIds", &zones.join(",")),
                    ],
                )
            }
            Action::UpgradeKmsInstance(p) => {
                let s = &p.spec;
                let mut params = vec![("KmsInstanceId".to_string(), instance.to_string())];
                for (name, value) in [
                    ("VpcNum", s.access_management_quota),
                    ("KeyNum", s.key_quota),
                    ("SecretNum", s.secret_quota),
                    ("Spec", s.compute_units),
                ] {
                    if let Some(v) = value {
                        params.push((name.into(), v.to_string()));
                    }
                }
                ApiCall { version: KMS, action: "UpgradeKmsInstance", params }
            }
            Action::RenewKmsInstance(p) => {
                kms("RenewKmsInstance", &[("KmsInstanceId", instance), ("RenewPeriod", &p.months.to_string())])
            }
            Action::Expire(_) => {
                let operator = self.operator().ok_or("--credentials has no operator's AccessKey (for Expire)")?;
                return self.send(operator, &kms("ExpireKmsInstance", &[("KmsInstanceId", instance)]));
            }
            Action::DescribeKmsInstance(_) => kms("GetKmsInstance", &[("KmsInstanceId", instance)]),
            Action::UpdateKmsInstanceBindVpc(p) => {
                let text = match &p.bind_vpcs {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                kms("UpdateKmsInstanceBindVpc", &[("KmsInstanceId", instance), ("BindVpcs", &text)])
            }
            Action::CreateResourceShare(p) if p.permission.as_ref().is_some_and(|p| p.version.is_some()) => {
                return Err("not expressible through the API: a permission's version".into());
            }
            Action::CreateResourceShare(p) => match &p.existing_share {
                Some(existing) => {
                    let mut params = vec![
                        ("ResourceShareId".to_string(), existing.clone()),
                        ("Resources.1.ResourceId".to_string(), instance.to_string()),
                        ("Resources.1.ResourceType".to_string(), "KMSInstance".to_string()),
                    ];
                    params.extend(mode(&p.mode));
                    sharing("AssociateResourceShare", params)
                }
                None => {
                    let mut params = vec![
                        ("ResourceShareName".to_string(), p.name.clone()),
                        ("Resources.1.ResourceId".to_string(), instance.to_string()),
                        ("Resources.1.ResourceType".to_string(), "KMSInstance".to_string()),
                    ];
                    params.extend(targets(&p.principals, plan));
                    if let Some(permission) = &p.permission {
                        params.push(("PermissionNames.1".into(), permission.name.clone()));
                    }
                    params.extend(mode(&p.mode));
                    sharing("CreateResourceShare", params)
                }
            },
            Action::AssociatePrincipals(p) => {
                let mut params = vec![("ResourceShareId".to_string(), share())];
                params.extend(targets(&p.principals, plan));
                sharing("AssociateResourceShare", params)
            }
            Action::DisassociatePrincipals(p) => {
                let mut params = vec![("ResourceShareId".to_string(), share())];
                params.extend(targets(&p.principals, plan));
                sharing("DisassociateResourceShare", params)
            }
            Action::ChangeShareMode(p) => {
                let mut params = vec![("ResourceShareId".to_string(), share())];
                params.extend(mode(&p.mode));
                sharing("AssociateResourceShare", params)
            }
            Action::DeleteResourceShare(_) => sharing("DeleteResourceShare", vec![("ResourceShareId".into(), share())]),
            Action::CreateKey(p) => {
                let mut params = vec![("DKMSInstanceId", instance)];
                if !p.alias.is_empty() {
                    params.push(("Alias", p.alias.as_str()));
                }
                kms("CreateKey", &params)
            }
            Action::DescribeKey(p) => kms("DescribeKey", &[("KeyId", &p.key)]),
            Action::ScheduleKeyDeletion(p) => {
                kms("ScheduleKeyDeletion", &[("KeyId", &p.key), ("PendingWindowInDays", "7")])
            }
            Action::CreateAlias(p) => kms("CreateAlias", &[("KeyId", &p.key), ("AliasName", &p.alias)]),
            Action::CreateSecret(p) => kms(
                "CreateSecret",
                &[("DKMSInstanceId", instance), ("SecretName", &p.name), ("SecretData", "plan"), ("VersionId", "v1")],
            ),
            Action::DescribeSecret(p) => kms("DescribeSecret", &[("SecretName", &p.secret)]),
            Action::DeleteSecret(p) => kms("DeleteSecret", &[("SecretName", &p.secret)]),
            Action::GetSecretValue(p) => kms("GetSecretValue", &[("SecretName", &p.secret)]),
            Action::Encrypt(p) => kms("Encrypt", &[("KeyId", &p.key), ("Plaintext", "cGxhbg==")]),
            Action::GenerateDataKey(p) => kms("GenerateDataKey", &[("KeyId", &p.key)]),
            Action::Decrypt(p) | Action::ReEncrypt(p) => {
                let blob = self.blob(&p.key, [Some(key), self.key_of(caller, None), self.key_of(owner, None)])?;
                match &request.action {
                    Action::Decrypt(_) => kms("Decrypt", &[("CiphertextBlob", &blob)]),
                    _ => kms("ReEncrypt", &[("CiphertextBlob", &blob), ("DestinationKeyId", &p.key)]),
                }
            }
            Action::UpdateRotationPolicy(p) => kms(
                "UpdateRotationPolicy",
                &[("KeyId", &p.key), ("EnableAutomaticRotation", on(p.enabled)), ("RotationInterval", "365d")],
            ),
            Action::SetDeletionProtection(p) => {
                // The key's ARN as the caller names it: an alias is the caller's name.
                let resource = if p.key.starts_with("alias/") { p.key.clone() } else { format!("key/{}", p.key) };
                let arn = format!("acs:kms:{}:{caller}:{resource}", plan.instance.region_id);
                kms(
                    "SetDeletionProtection",
                    &[("ProtectedResourceArn", &arn), ("EnableDeletionProtection", on(p.enabled))],
                )
            }
            Action::TagResource(p) => {
                let tags: Vec<Value> = p.tags.iter().map(|(k, v)| json!({"TagKey": k, "TagValue": v})).collect();
                let tags = Value::Array(tags).to_string();
                match (&p.key, &p.secret) {
                    (Some(key), _) => kms("TagResource", &[("KeyId", key), ("Tags", &tags)]),
                    (None, Some(secret)) => kms("TagResource", &[("SecretName", secret), ("Tags", &tags)]),
                    (None, None) => kms("TagResource", &[("Tags", &tags)]),
                }
            }
            Action::UpdateSecretRotationPolicy(p) => kms(
                "UpdateSecretRotationPolicy",
                &[("SecretName", &p.secret), ("EnableAutomaticRotation", "true"), ("RotationInterval", "365d")],
            ),
            Action::EnableSecurityAudit(p) => {
                kms("EnableSecurityAudit", &[("KmsInstanceId", instance), ("Bucket", &p.bucket)])
            }
            Action::JoinFolder(p) => {
                let operator = self.operator().ok_or("--credentials has no operator's AccessKey (for JoinFolder)")?;
                let params =
                    vec![("AccountId".into(), p.account.clone()), ("DestinationFolderId".into(), p.folder.clone())];
                return self.send(operator, &ApiCall { version: DIRECTORY, action: "MoveAccount", params });
            }
            Action::CompleteEnable(_) => return self.connected(owner, instance),
            Action::CreateBackup(_) => kms("CreateBackup", &[("KmsInstanceId", instance)]),
            Action::CreateApplicationAccessPoint(p) => {
                kms("CreateApplicationAccessPoint", &[("KmsInstanceId", instance), ("Name", &p.name)])
            }
            // Every other action, and a new one does not compile until it is routed here.
            Action::ConnectKmsInstance(_) => {
                return Err("not expressible through the API: a ConnectKmsInstance from the console (R-LC-5: \
                            the API connects software instances only)"
                    .into())
            }
        };
        // A call from another region names it, as a client of that region's endpoint does.
        if let Some(region) = &request.region {
            call.params.push(("RegionId".into(), region.clone()));
        }
        let given = self.send(key, &call)?;
        if call.action == "ConnectKmsInstance" && given.status == 200 {
            self.connecting.set(true);
        }
        Ok(given)
    }

    /// CompleteEnable, which no call makes: the server's clock completes a connection
    /// (`serve --connect-seconds`). Waits, reading the instance as its owner, until it is
    /// no longer Connecting; it is the step's success when a connection of this run (or
    /// the plan's start) was under way and is now complete, and otherwise refused
    /// as the rules refuse it.
    fn connected(&self, owner: &str, instance: &str) -> Result<Given, String> {
        let key = self.key_of(owner, None).ok_or("--credentials has no AccessKey of the owner")?;
        let started = Instant::now();
        let mut under_way = self.connecting.replace(false);
        loop {
            let read = self.send(key, &kms("GetKmsInstance", &[("KmsInstanceId", instance)]))?;
            match read.body["KmsInstance"]["Status"].as_str() {
                Some("Connecting") if started.elapsed() < CONNECT_WAIT => {
                    under_way = true;
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Some("Connected") if under_way => return Ok(read),
                Some(status) => {
                    let body = json!({"Errors": [{"Code": Code::NotEnabling.as_str()}],
                                      "Message": format!("the instance is {status}, not connecting")});
                    return Ok(Given { status: 400, body });
                }
                None => return Ok(read),
            }
        }
    }

    /// A CiphertextBlob under `key`, encrypted by the first of `who` that may.
    fn blob(&self, key: &str, who: [Option<&str>; 3]) -> Result<String, String> {
        for access_key in who.into_iter().flatten() {
            let sealed = self.send(access_key, &kms("Encrypt", &[("KeyId", key), ("Plaintext", "cGxhbg==")]))?;
            if let (200, Some(blob)) = (sealed.status, sealed.body["CiphertextBlob"].as_str()) {
                return Ok(blob.to_string());
            }
        }
        Err(format!("no account of the plan may encrypt under {key}, so nothing can be decrypted"))
    }
}

/// A share's principals as `Targets.N`: an account's id, a folder's, the directory's.
fn targets(principals: &[PrincipalParam], plan: &Plan) -> Vec<(String, String)> {
    principals
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let id = match (&p.id, p.kind.as_str()) {
                (Some(id), _) => id.clone(),
                (None, "directory") => plan.directory.resource_directory_id.clone(),
                (None, _) => String::new(),
            };
            (format!("Targets.{}", i.saturating_add(1)), id)
        })
        .collect()
}

/// What an answer says in the rules' terms: ok; the rules' codes (from `Errors`, else the
/// API's code for what the rules name otherwise); warnings; the request id.
fn read(given: &Given, request: &Request) -> (bool, Vec<Code>, Option<String>, Vec<Code>, String) {
    let body = &given.body;
    let request_id = body["RequestId"].as_str().unwrap_or_default().to_string();
    let codes = |list: &Value| -> Vec<Code> {
        list.as_array()
            .map(|all| all.iter().filter_map(|e| e["Code"].as_str()?.parse().ok()).collect())
            .unwrap_or_default()
    };
    if given.status == 200 {
        return (true, Vec::new(), None, codes(&body["Warnings"]), request_id);
    }
    let message = body["Message"].as_str().map(str::to_string);
    let mut errors = codes(&body["Errors"]);
    if errors.is_empty() {
        let secret =
            matches!(request.action, Action::DescribeSecret(_) | Action::DeleteSecret(_) | Action::GetSecretValue(_));
        errors.push(match body["Code"].as_str().unwrap_or_default() {
            "Forbidden.KeyNotFound" | "Forbidden.AliasNotFound" => Code::KeyNotFound,
            "Forbidden.ResourceNotFound" if secret => Code::SecretNotFound,
            "EntityNotExist.ResourceShare" => Code::NoShare,
            // The endpoint answers an instance the caller is not a member of as an unknown
            // one (nothing leaks); the rules name that refusal Forbidden.NotShared.
            "InvalidParameter" if body["Message"].as_str().is_some_and(|m| m.contains("\"DKMSInstanceId\"")) => {
                Code::NotShared
            }
            _ => Code::BridgeRejected,
        });
    }
    (false, errors, message, Vec::new(), request_id)
}
