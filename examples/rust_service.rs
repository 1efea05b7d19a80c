//! What a small Rust service does with the library at start-up, before it takes traffic:
//! load its master keys, prove they seal and open, check the BindVpcs document it was
//! configured with against its instance, and ask the rule engine whether a request
//! would be allowed. It prints each result and exits 0, or exits 1 with the reason.
//!
//!   cargo run --example rust_service
//!
//! Environment: `KMS_KEYRING`, a keyring file (`kms-instance keyring new FILE --key ARN`);
//! without it a key is made in memory for this run only. `KMS_SCENARIOS`, the folder of
//! the shared change plans (else `../shared/scenarios` beside the repository): the first
//! plan's `directory` and `instance` are the state the service runs against.

use base64::Engine as _;
use kms_instance::bind_vpcs::{self, Context};
use kms_instance::envelope::{self, DecryptOptions, EncryptOptions, EncryptionContext};
use kms_instance::key_providers::software::SoftwareKeyProvider;
use kms_instance::{plan, Request, State};
use std::error::Error;
use std::path::PathBuf;

/// The key a service makes for itself when it is given none: fine for a demo or a test
/// run, useless in production (nothing sealed with it opens after a restart).
const EPHEMERAL_ARN: &str = "acs:kms:cn-hangzhou:1207089758810000:key/key-ephemeral";

fn main() {
    if let Err(e) = run() {
        eprintln!("rust_service: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let keys = load_keys()?;
    self_test(&keys)?;
    let state = load_state()?;
    check_bind_vpcs(&state);
    ask_the_rules(&state)?;
    println!("ready");
    Ok(())
}

fn load_keys() -> Result<SoftwareKeyProvider, Box<dyn Error>> {
    if let Some(path) = std::env::var_os("KMS_KEYRING").filter(|p| !p.is_empty()) {
        let json = std::fs::read_to_string(&path).map_err(|e| format!("keyring {}: {e}", path.to_string_lossy()))?;
        // Its errors name the field at fault and never quote it: a keyring's values may be key material.
        let keys = SoftwareKeyProvider::from_keyring_json(&json)?;
        println!("keyring: {} key(s) from {}", keys.arns().count(), path.to_string_lossy());
        return Ok(keys);
    }
    let mut material = [0u8; 32];
    kms_instance::platform::os_random(&mut material)?;
    let mut keys = SoftwareKeyProvider::new();
    keys.add(EPHEMERAL_ARN.parse()?, material)?;
    // The provider holds its own copy (wiped when dropped); this one goes now.
    material.fill(0);
    println!("keyring: 1 key made in memory (set KMS_KEYRING to keep one)");
    Ok(keys)
}

/// Seals and opens a record under every key, so a keyring that cannot do its job
/// (a wrong file, a truncated key) stops the service before its first request does.
fn self_test(keys: &SoftwareKeyProvider) -> Result<(), Box<dyn Error>> {
    let arns = envelope::listed_keys(&[keys]);
    let tenant = |name: &str| -> EncryptionContext { [("tenant".to_string(), name.to_string())].into() };
    let record = br#"{"invoice": 1042, "amount": "99.00"}"#;
    let options = EncryptOptions { context: tenant("a"), ..Default::default() };
    let sealed = pollster::block_on(envelope::encrypt(&[keys], &arns, record, &options))?;
    let names: Vec<String> = arns.iter().map(ToString::to_string).collect();
    println!("sealed: {} bytes under {}", sealed.len(), names.join(", "));
    // The message, for an operator to check it opens elsewhere (the package, the CLI, Alibaba's SDK).
    println!("message: {}", base64::engine::general_purpose::STANDARD.encode(&sealed));

    let as_tenant = |name: &str| DecryptOptions { require_context: tenant(name), ..Default::default() };
    let opened = pollster::block_on(envelope::decrypt(&[keys], &sealed, &as_tenant("a")))?;
    if opened.plaintext != record {
        return Err("the record did not open to what was sealed".into());
    }
    println!("opened: {} as tenant a, key {}", String::from_utf8_lossy(&opened.plaintext), opened.key_arn);

    // The context is what keeps tenants apart: another tenant's must not open it.
    match pollster::block_on(envelope::decrypt(&[keys], &sealed, &as_tenant("b"))) {
        Ok(_) => Err("tenant b opened tenant a's record".into()),
        Err(problem) => {
            println!("refused as tenant b: {}", problem.code);
            Ok(())
        }
    }
}

/// The state the service runs against: a plan's `directory` and `instance` are one.
fn load_state() -> Result<State, Box<dyn Error>> {
    let dir = std::env::var_os("KMS_SCENARIOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/scenarios"));
    let file = dir.join("01-quota-example.json");
    let json = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let plan = plan::Plan::from_json(&json)?;
    println!("state: instance {} in {}, from {}", plan.instance.instance_id, plan.instance.region_id, file.display());
    Ok(State { directory: plan.directory, instance: plan.instance })
}

/// Checked against what the instance itself would check it against (its region, owner,
/// own VPC, quota), so a bad configuration is reported here, every problem at once, with
/// the line and column an operator's editor jumps to.
fn check_bind_vpcs(state: &State) {
    let document = r#"[
  {"VpcId": "vpc-bp1go9qvmj78j4f4c0001", "VSwitchId": "vsw-bp16c5pvvcf0fp5b90001", "RegionId": "cn-hangzhou", "VpcOwnerId": 1207089758810000},
  {"VpcId": "vpc-bp1go9qvmj78j4f4c0002", "VSwitchId": "vsw-bp16c5pvvcf0fp5b90002", "RegionId": "cn-shanghai", "VpcOwnerId": 1207089758810000},
  {"VpcId": "vpc-bp1go9qvmj78j4f4c0003", "VswitchId": "vsw-bp16c5pvvcf0fp5b90003", "RegionId": "cn-hangzhou", "VpcOwnerId": 1207089758810000}
]"#;
    let report = bind_vpcs::validate_str(document, &Context::of(&state.instance));
    println!("bindvpcs: ok={} problems={}", report.ok, report.errors.len());
    for problem in &report.errors {
        let at = problem.place.as_ref().map_or_else(|| "-".to_string(), |p| p.to_string());
        println!("  {at} {} at {}", problem.code, problem.path.as_deref().unwrap_or(""));
    }
}

/// Asked before a request is forwarded: `check` applies nothing and says which rule denies.
fn ask_the_rules(state: &State) -> Result<(), Box<dyn Error>> {
    for (who, request) in [
        ("owner", r#"{"as": "owner", "action": "CreateKey", "params": {"alias": "alias/app"}}"#),
        ("app-team", r#"{"as": "1192853035110000", "action": "CreateKey", "params": {"alias": "alias/app"}}"#),
    ] {
        let request: Request = serde_json::from_str(request)?;
        let decision = state.check(&request);
        match decision.denied {
            None => println!("check: {who} CreateKey allowed"),
            Some(denied) => println!("check: {who} CreateKey denied {} ({})", denied.code, denied.rule.unwrap_or("-")),
        }
    }
    Ok(())
}
