//! The seed file (`--seed FILE`, JSON, or TOML for a name ending `.toml`): the region,
//! the accounts and their AccessKey pairs, the KMS instances, and keys with fixed ids,
//! material and aliases, so a test suite knows every identifier and can check a
//! ciphertext made elsewhere. Keys are added to the store at start when it does not
//! have them; credentials are read at each start and never stored; an instance's state is stored
//! the first time and changed since by requests (the seed's is not read again).
//!
//! An instance is a change plan's state (SCENARIOS.md: `directory` and `instance`): its
//! status, region, owner and share decide who may use its keys (RULES.md sections 6
//! and 7), and its type where their material is (seed 004): a software instance's in
//! the store, a hardware instance's on the PKCS#11 token of `pkcs11`, an external
//! instance's behind the XKS proxy of `xks` (a provider file as `--xks` takes).
//!
//! ```json
//! {"region": "cn-hangzhou",
//!  "accounts": [{"id": "1207089758810000",
//!                "accessKeys": [{"id": "LTAI5tExampleExample0001", "secret": "…"}]}],
//!  "instances": [{"state": {"directory": {…}, "instance": {"instanceId": "kst-…", "type": "hardware", …}},
//!                 "pkcs11": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token": "kms", "pinEnv": "KMS_PIN"}}],
//!  "keys": [{"id": "key-hzz6example0001", "account": "1207089758810000",
//!            "material": "<base64 of 32 bytes>", "aliases": ["alias/app"]},
//!           {"id": "key-hzz6hsm00000001", "account": "1207089758810000", "instance": "kst-…"}],
//!  "network": {"vsw-…": {"vpcId": "vpc-…", "zone": "cn-hangzhou-k", "availableIps": 10}}}
//! ```

use crate::code::{Code, Problem};
use crate::rules::model::instance::InstanceType;
use crate::rules::names::{self, NameKind};
use crate::State;
use base64::Engine as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// The seed file, read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    /// The region the endpoint serves (ARNs name it).
    pub region: String,
    /// The accounts that may call.
    pub accounts: Vec<Account>,
    /// The KMS instances keys may belong to.
    #[serde(default)]
    pub instances: Vec<SeedInstance>,
    /// Keys there from the start.
    #[serde(default)]
    pub keys: Vec<SeedKey>,
    /// The platform's AccessKeys (billing, the resource directory): they may call
    /// `ExpireKmsInstance` (a subscription ran out) and ResourceManager's `MoveAccount`
    /// (an account joins a folder), and nothing else.
    #[serde(default)]
    pub operators: Vec<AccessKey>,
    /// What the endpoint is told of the vSwitches (it sees no VPC), by id: read by
    /// ConnectKmsInstance (R-LC-2 to R-LC-4) and UpdateKmsInstanceBindVpc (R-BV-7, R-BV-8).
    #[serde(default)]
    pub network: BTreeMap<String, SeedVSwitch>,
}

/// A vSwitch as the seed describes it; every fact is optional.
#[derive(Deserialize, Clone, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedVSwitch {
    /// The VPC it belongs to.
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// Its zone.
    #[serde(default)]
    pub zone: Option<String>,
    /// Its free IP addresses.
    #[serde(default)]
    pub available_ips: Option<u32>,
    /// Whether a vSwitch of another account is shared with the instance's owner.
    #[serde(default)]
    pub shared_with_owner: Option<bool>,
}

/// A KMS instance: its state under the rules, and where its keys' material is.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedInstance {
    /// The instance and its organisation, as a change plan's state.
    pub state: State,
    /// A hardware instance's token.
    #[serde(default)]
    pub pkcs11: Option<Token>,
    /// An external instance's proxy.
    #[serde(default)]
    pub xks: Option<Proxy>,
}

/// A PKCS#11 token: the module, the token's label, and the variable holding the PIN.
#[derive(Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Token {
    /// The PKCS#11 module (a shared library), relative to the seed file.
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The environment variable that holds the user PIN.
    pub pin_env: String,
}

/// An XKS proxy: a provider file (as `encrypt --xks` takes, its keys the ARNs of the
/// instance's keys), and the variable holding its secret.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Proxy {
    /// The provider file, relative to the seed file.
    pub file: PathBuf,
    /// The environment variable that holds the proxy credential's secret.
    pub secret_env: String,
}

/// One account and its AccessKey pairs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Account {
    /// The 16-digit account id.
    pub id: String,
    /// Its AccessKey pairs.
    pub access_keys: Vec<AccessKey>,
}

/// An AccessKey pair.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessKey {
    /// The AccessKey id.
    pub id: String,
    /// The AccessKey secret (wiped when dropped).
    pub secret: Zeroizing<String>,
    /// A RAM identity's key: the actions its policy grants (`kms:Encrypt`, `kms:*`,
    /// `resourcesharing:*`, `*`; R-AZ-3). Left out, the account's own: every action.
    #[serde(default)]
    pub ram: Option<Vec<String>>,
}

/// A key of the seed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedKey {
    /// `key-…`, fixed.
    pub id: String,
    /// The account that owns it.
    pub account: String,
    /// The base64 of its 32 bytes of material; random when left out.
    #[serde(default)]
    pub material: Option<Zeroizing<String>>,
    /// Its aliases (`alias/…`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `false` for a key that starts disabled.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// The caller's words.
    #[serde(default)]
    pub description: String,
    /// The instance it belongs to; left out, a key of no instance (a default key).
    #[serde(default)]
    pub instance: Option<String>,
}

fn enabled() -> bool {
    true
}

fn bad(message: impl Into<String>) -> Problem {
    Problem::new(Code::Request, message)
}

impl Seed {
    /// Reads and checks a seed file's text (JSON): ids in their formats, no account or
    /// AccessKey twice, every key's account and instance known, material of 32 bytes
    /// for software keys only, each instance's state valid, in the seed's region, owned
    /// by a seed account, with the token or proxy its type needs. Messages name the
    /// place, never a secret.
    pub fn parse(text: &str) -> Result<Seed, Problem> {
        let seed: Seed = serde_json::from_str(text)
            .map_err(|e| bad(format!("the seed file is not one (line {}, column {})", e.line(), e.column())))?;
        seed.check()
    }

    /// [`Seed::parse`] for a TOML text.
    pub fn parse_toml(text: &str) -> Result<Seed, Problem> {
        let seed: Seed = toml::from_str(text).map_err(|e| {
            // The message of the TOML parser quotes the line: it could be a secret's.
            let at = e.span().and_then(|s| crate::place::char_at(text, s.start));
            bad(match at {
                Some(p) => format!("the seed file is not one (line {}, column {})", p.line, p.column),
                None => "the seed file is not one".to_string(),
            })
        })?;
        seed.check()
    }

    fn check(self) -> Result<Seed, Problem> {
        let seed = self;
        names::validate(NameKind::RegionId, &seed.region).map_err(|p| p.at("/region"))?;
        let mut access_keys = std::collections::HashSet::new();
        for (i, account) in seed.accounts.iter().enumerate() {
            names::validate(NameKind::AccountId, &account.id).map_err(|p| p.at(format!("/accounts/{i}/id")))?;
            for (j, key) in account.access_keys.iter().enumerate() {
                if key.id.is_empty() || key.secret.is_empty() || !access_keys.insert(key.id.as_str()) {
                    return Err(bad("an AccessKey needs an id, used once, and a secret")
                        .at(format!("/accounts/{i}/accessKeys/{j}")));
                }
            }
        }
        for (j, key) in seed.operators.iter().enumerate() {
            if key.id.is_empty() || key.secret.is_empty() || key.ram.is_some() || !access_keys.insert(key.id.as_str()) {
                return Err(bad("an operator's AccessKey needs an id, used once, a secret, and no ram")
                    .at(format!("/operators/{j}")));
            }
        }
        for (i, instance) in seed.instances.iter().enumerate() {
            let at = |field: &str| format!("/instances/{i}/{field}");
            let record = &instance.state.instance;
            instance.state.validate().map_err(|p| {
                let inner = p.path.clone().unwrap_or_default();
                p.at(format!("/instances/{i}/state{inner}"))
            })?;
            if record.region_id != seed.region {
                return Err(bad("the instance is not in the seed's region").at(at("state/instance/regionId")));
            }
            if !seed.accounts.iter().any(|a| a.id == record.owner_id) {
                return Err(bad("the instance's owner is not among the accounts").at(at("state/instance/ownerId")));
            }
            if seed.instances.iter().take(i).any(|o| o.state.instance.instance_id == record.instance_id) {
                return Err(bad("an instance is given twice").at(at("state/instance/instanceId")));
            }
            let needs = match (record.kind, &instance.pkcs11, &instance.xks) {
                (InstanceType::Software, None, None)
                | (InstanceType::Hardware, Some(_), None)
                | (InstanceType::External, None, Some(_)) => None,
                (InstanceType::Software, ..) => {
                    Some("a software instance keeps its keys in the store: no pkcs11 or xks")
                }
                (InstanceType::Hardware, ..) => Some("a hardware instance needs pkcs11 (its token), and no xks"),
                (InstanceType::External, ..) => Some("an external instance needs xks (its proxy), and no pkcs11"),
            };
            if let Some(needs) = needs {
                return Err(bad(needs).at(format!("/instances/{i}")));
            }
        }
        for (i, key) in seed.keys.iter().enumerate() {
            let at = |field: &str| format!("/keys/{i}/{field}");
            if !key.id.starts_with("key-")
                || key.id.len() > 64
                || !key.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(bad("a key id is key- and up to 60 letters, digits or dashes").at(at("id")));
            }
            if !seed.accounts.iter().any(|a| a.id == key.account) {
                return Err(bad("the key's account is not among the accounts").at(at("account")));
            }
            if key.material.as_deref().is_some_and(|m| material(m).is_none()) {
                return Err(bad("the material is not the base64 of 32 bytes").at(at("material")));
            }
            let kind = match &key.instance {
                None => InstanceType::Software,
                Some(id) => seed
                    .instance(id)
                    .map(|s| s.instance.kind)
                    .ok_or_else(|| bad("the key's instance is not among the instances").at(at("instance")))?,
            };
            let member = |state: &State| {
                state.instance.owner_id == key.account
                    || state.instance.share.as_ref().is_some_and(|s| s.association(&key.account).is_some())
            };
            if key.instance.as_deref().and_then(|id| seed.instance(id)).is_some_and(|s| !member(s)) {
                return Err(bad("the key's account is neither its instance's owner nor a principal of its share")
                    .at(at("account")));
            }
            if kind != InstanceType::Software && key.material.is_some() {
                return Err(bad(
                    "a hardware key is made on the token and an external key is at the proxy: no material",
                )
                .at(at("material")));
            }
            for (j, alias) in key.aliases.iter().enumerate() {
                names::validate(NameKind::Alias, alias).map_err(|p| p.at(format!("/keys/{i}/aliases/{j}")))?;
            }
        }
        Ok(seed)
    }

    /// The state of the instance `id`.
    pub fn instance(&self, id: &str) -> Option<&State> {
        self.instances.iter().map(|i| &i.state).find(|s| s.instance.instance_id == id)
    }
}

/// The 32 bytes a base64 material stands for.
pub fn material(base64_text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let bytes = Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(base64_text).ok()?);
    (bytes.len() == 32).then_some(bytes)
}

/// A seed of a change plan's world, for `serve` (`kms-instance plan --write-seed`): its
/// accounts, each with a new AccessKey, and one more for each RAM grant its steps use; an
/// operator (the platform, for Expire and JoinFolder); the instance and its directory as the plan
/// starts them; the vSwitches its steps describe (ConnectKmsInstance's, BindVpcs'
/// `network`; a later step's facts over an earlier's). A hardware instance's keys are
/// made on `token`, which only its operator can name; an external instance needs its
/// proxy: refused (write its seed by hand).
pub fn seed_of(plan: &crate::plan::Plan, token: Option<&Token>) -> Result<serde_json::Value, Problem> {
    use crate::request::Action;
    use serde_json::{json, Map, Value};
    match (plan.instance.kind, token) {
        (InstanceType::Software, None) | (InstanceType::Hardware, Some(_)) => {}
        (InstanceType::Software, Some(_)) => return Err(bad("the plan's instance is a software one: it has no token")),
        (InstanceType::Hardware, None) => {
            return Err(bad(
                "a hardware instance's keys are on a token: name its PKCS#11 module, label and PIN variable",
            ))
        }
        (InstanceType::External, _) => {
            return Err(bad("an external instance's keys are behind its XKS proxy: write its seed by hand"))
        }
    }
    let secret = || -> Result<String, Problem> {
        let mut bytes = [0u8; 24];
        crate::platform::os_random(&mut bytes)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    };
    let mut accounts: Vec<String> = plan.directory.accounts.iter().map(|a| a.id.clone()).collect();
    if !accounts.contains(&plan.instance.owner_id) {
        accounts.push(plan.instance.owner_id.clone());
    }
    let mut numbered = 0usize;
    let mut key = |ram: Option<&Vec<String>>| -> Result<Value, Problem> {
        numbered = numbered.saturating_add(1);
        let mut access_key = json!({"id": format!("LTAI5tPlan{numbered:014}"), "secret": secret()?});
        if let (Some(ram), Some(fields)) = (ram, access_key.as_object_mut()) {
            fields.insert("ram".into(), json!(ram));
        }
        Ok(access_key)
    };
    let mut seeded = Vec::new();
    for account in &accounts {
        let mut keys = vec![key(None)?];
        let mut grants: Vec<&Vec<String>> = Vec::new();
        for step in &plan.steps {
            let caller = if step.request.caller == "owner" { &plan.instance.owner_id } else { &step.request.caller };
            if let (true, Some(ram)) = (caller == account, step.request.ram.as_ref()) {
                if !grants.contains(&ram) {
                    grants.push(ram);
                    keys.push(key(Some(ram))?);
                }
            }
        }
        seeded.push(json!({"id": account, "accessKeys": keys}));
    }
    let mut network = Map::new();
    for step in &plan.steps {
        match &step.request.action {
            Action::ConnectKmsInstance(p) => {
                for v in &p.v_switches {
                    network.insert(
                        v.id.clone(),
                        json!({"vpcId": p.vpc_id, "zone": v.zone, "availableIps": v.available_ips}),
                    );
                }
            }
            Action::UpdateKmsInstanceBindVpc(p) => {
                for (id, facts) in p.network.iter().flatten() {
                    let mut described = Map::new();
                    if let Some(vpc) = &facts.vpc_id {
                        described.insert("vpcId".into(), json!(vpc));
                    }
                    if let Some(ips) = facts.available_ips {
                        described.insert("availableIps".into(), json!(ips));
                    }
                    if let Some(shared) = facts.shared_with_owner {
                        described.insert("sharedWithOwner".into(), json!(shared));
                    }
                    network.insert(id.clone(), Value::Object(described));
                }
            }
            _ => {}
        }
    }
    let state = crate::State { directory: plan.directory.clone(), instance: plan.instance.clone() };
    Ok(json!({
        "region": plan.instance.region_id,
        "accounts": seeded,
        "operators": [key(None)?],
        "instances": [match token {
            Some(token) => json!({"state": state, "pkcs11": token}),
            None => json!({"state": state}),
        }],
        "network": network,
    }))
}
