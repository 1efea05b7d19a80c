//! One test per rule of RULES.md sections 2 to 4 (lifecycle, quota, BindVpcs through
//! the engine; sections 5 to 9 are in `tests/rules_sharing.rs`), named after the rule id, run
//! through the engine as a caller would. (Section 1 and the BindVpcs field rules are
//! tested beside their code in `src/names.rs` and `src/bind_vpcs.rs`.)

mod common;

use common::*;
use kms_instance::instance::Status;
use kms_instance::Code;
use serde_json::json;

fn software_connect(ips: u32) -> serde_json::Value {
    json!({"channel": "api", "vpcId": "vpc-bp1primary0000001", "vSwitches": [
        {"id": "vsw-bp1zonea00000001", "zone": "cn-hangzhou-h", "availableIps": ips},
        {"id": "vsw-bp1zoneb00000001", "zone": "cn-hangzhou-i", "availableIps": ips}]})
}

fn hardware_connect() -> serde_json::Value {
    let mut p = software_connect(4);
    p["channel"] = json!("console");
    p["hsmClusterId"] = json!("cluster-1234");
    p["user"] = json!("kmsuser");
    p["password"] = json!("s3cret-Passw0rd");
    p["certificate"] = json!("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    p
}

fn external_connect() -> serde_json::Value {
    let mut p = software_connect(1);
    p["channel"] = json!("console");
    p["proxy"] = json!({"connectivity": "public", "domain": "xks.example.com", "config": {
        "path": "/kms/xks/v1", "certificateFingerprint": "ab:cd", "accessKeyId": "AKIDEXAMPLE",
        "accessKeySecret": "wJalrXUtnFEMI-very-secret"}});
    p
}

// ---- Section 2: lifecycle ----------------------------------------------------------

#[test]
fn r_lc_1_only_an_enabled_instance_serves() {
    let mut w = world("software", "pendingEnable", 5);
    assert_eq!(run(&mut w, "owner", "CreateKey", json!({"alias": "alias/a"})), "Rejected.InstanceNotEnabled");
    assert_eq!(run(&mut w, "owner", "DescribeKmsInstance", json!({})), "ok");
    assert_eq!(run(&mut w, "owner", "RenewKmsInstance", json!({"months": 1})), "Rejected.InstanceNotEnabled");

    let mut w = enabled(5);
    assert_eq!(run(&mut w, "owner", "Expire", json!({})), "ok");
    assert_eq!(run(&mut w, "owner", "CreateSecret", json!({"name": "s"})), "Rejected.InstanceExpired");
    assert_eq!(run(&mut w, "owner", "DescribeKmsInstance", json!({})), "ok");
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", software_connect(1)), "Rejected.AlreadyConnected");
    assert_eq!(run(&mut w, "owner", "RenewKmsInstance", json!({"months": 1})), "ok");

    let mut w = world("software", "released", 5);
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", software_connect(1)), "Rejected.InstanceNotEnabled");
}

#[test]
fn r_lc_2_software_needs_dual_zone_and_free_ips() {
    let mut w = world("software", "pendingEnable", 5);
    let mut one_zone = software_connect(1);
    one_zone["vSwitches"][1]["zone"] = json!("cn-hangzhou-h");
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", one_zone), "InvalidParameter.DualZone");
    let mut outside = software_connect(1);
    outside["zones"] = json!(["cn-hangzhou-h", "cn-hangzhou-k"]);
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", outside), "InvalidParameter.DualZone");
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", software_connect(0)), "Rejected.NoAvailableIp");
    let mut bad_vpc = software_connect(1);
    bad_vpc["vpcId"] = json!("vpc-1");
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", bad_vpc), "InvalidParameter.VpcId");
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", software_connect(1)), "ok");
    assert_eq!(w.instance.status, Status::Enabling);
    assert_eq!(w.instance.zones, ["cn-hangzhou-h", "cn-hangzhou-i"]);
}

#[test]
fn r_lc_3_hardware_prerequisites() {
    let cases = [
        ("hsmClusterId", json!(""), "InvalidParameter.HsmCluster"),
        ("user", json!("admin"), "InvalidParameter.HsmUser"),
        ("password", json!(""), "InvalidParameter.HsmPassword"),
        ("certificate", json!("MIIB..."), "InvalidParameter.Certificate"),
    ];
    for (field, value, expected) in cases {
        let mut w = world("hardware", "pendingEnable", 5);
        let mut p = hardware_connect();
        p[field] = value;
        assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", p), expected, "{field}");
    }
    let mut w = world("hardware", "pendingEnable", 5);
    let mut p = hardware_connect();
    p["vSwitches"][0]["availableIps"] = json!(3);
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", p), "Rejected.NoAvailableIp");
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", hardware_connect()), "ok");
    assert_eq!(w.instance.hsm_cluster_id.as_deref(), Some("cluster-1234"));
    assert!(!w.to_json().unwrap().contains("s3cret"), "the HSM password is never stored");
}

#[test]
fn r_lc_4_external_proxy_connectivity_and_config() {
    let mut w = world("external", "pendingEnable", 5);
    let mut p = external_connect();
    p["proxy"]["domain"] = json!("not a domain");
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", p), "InvalidParameter.ProxyConnectivity");
    let mut p = external_connect();
    p["proxy"] = json!({"connectivity": "endpointService",
        "endpointService": {"id": "epsrv-1", "zones": ["cn-hangzhou-h", "cn-hangzhou-j"]}, "config": {"file": "x"}});
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", p.clone()), "InvalidParameter.ProxyConnectivity");
    p["proxy"]["endpointService"]["zones"] = json!(["cn-hangzhou-i", "cn-hangzhou-h"]);
    let mut partial = external_connect();
    partial["proxy"]["config"]["accessKeySecret"] = json!("");
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", partial), "InvalidParameter.ProxyConfig");
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", p), "ok", "endpoint service in the same zones, config file");

    let mut w = world("external", "pendingEnable", 5);
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", external_connect()), "ok");
    let state = w.to_json().unwrap();
    assert!(state.contains("AKIDEXAMPLE") && !state.contains("very-secret"), "the AccessKey secret is never stored");
}

#[test]
fn r_lc_5_hardware_and_external_only_from_the_console() {
    for (kind, params) in [("hardware", hardware_connect()), ("external", external_connect())] {
        let mut w = world(kind, "pendingEnable", 5);
        let mut api = params.clone();
        api["channel"] = json!("api");
        assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", api), "Rejected.ConsoleOnly", "{kind}");
        assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", params), "ok", "{kind}");
    }
    let mut w = world("software", "pendingEnable", 5);
    let mut bad = software_connect(1);
    bad["channel"] = json!("terraform");
    assert_eq!(run(&mut w, "owner", "ConnectKmsInstance", bad), "InvalidParameter.Channel");
}

#[test]
fn r_lc_6_enabling_takes_time_until_completed() {
    let mut w = world("software", "pendingEnable", 5);
    let o = apply(&mut w, "owner", "ConnectKmsInstance", software_connect(1)).unwrap();
    assert_eq!(o.expected_enable_minutes, Some(30));
    assert_eq!(run(&mut w, "owner", "CreateKey", json!({"alias": "alias/a"})), "Rejected.InstanceNotEnabled");
    assert_eq!(run(&mut w, "owner", "CompleteEnable", json!({})), "ok");
    assert_eq!(w.instance.status, Status::Enabled);
    assert_eq!(run(&mut w, "owner", "CompleteEnable", json!({})), "Rejected.NotEnabling");

    let mut w = world("hardware", "pendingEnable", 5);
    w.instance.spec.secret_quota = 0;
    let o = apply(&mut w, "owner", "ConnectKmsInstance", hardware_connect()).unwrap();
    assert_eq!(o.expected_enable_minutes, Some(10), "no secrets bought");
    let mut w = world("hardware", "pendingEnable", 5);
    let o = apply(&mut w, "owner", "ConnectKmsInstance", hardware_connect()).unwrap();
    assert_eq!(o.expected_enable_minutes, Some(30), "secrets bought");
}

#[test]
fn r_lc_7_upgrade_never_below_usage() {
    let mut w = enabled(5);
    run(&mut w, "owner", "UpdateKmsInstanceBindVpc", bind_vpcs(2));
    run(&mut w, "owner", "CreateKey", json!({"alias": "alias/a"}));
    run(&mut w, "owner", "CreateKey", json!({"alias": "alias/b"}));
    let r = apply(&mut w, "owner", "UpgradeKmsInstance", json!({"spec": {"accessManagementQuota": 1, "keyQuota": 1}}));
    let codes: Vec<Code> = r.unwrap_err().errors.iter().map(|p| p.code).collect();
    assert_eq!(codes, [Code::QuotaBelowUsage, Code::QuotaBelowUsage]);
    assert_eq!(run(&mut w, "owner", "UpgradeKmsInstance", json!({"spec": {}})), "InvalidParameter.Spec");
    assert_eq!(
        run(&mut w, "owner", "UpgradeKmsInstance", json!({"spec": {"accessManagementQuota": 2, "computeUnits": 4}})),
        "ok"
    );
    assert_eq!(w.instance.spec.access_management_quota, 2);
    assert_eq!(w.instance.spec.compute_units, Some(4));
}

#[test]
fn r_lc_8_renew_by_whole_months() {
    let mut w = enabled(5);
    for bad in [0, 37, -1] {
        assert_eq!(run(&mut w, "owner", "RenewKmsInstance", json!({"months": bad})), "InvalidParameter.Months");
    }
    run(&mut w, "owner", "Expire", json!({}));
    assert_eq!(run(&mut w, "owner", "RenewKmsInstance", json!({"months": 12})), "ok");
    assert_eq!(w.instance.status, Status::Enabled);
    assert_eq!(w.instance.expires_at, Some(time::macros::datetime!(2027-06-15 08:00 UTC)));
    // A renewal before expiry runs on from the current expiry.
    assert_eq!(run(&mut w, "owner", "RenewKmsInstance", json!({"months": 1})), "ok");
    assert_eq!(w.instance.expires_at, Some(time::macros::datetime!(2027-07-15 08:00 UTC)));
}

#[test]
fn r_lc_9_security_audit_needs_a_bucket() {
    let mut w = enabled(5);
    assert_eq!(run(&mut w, "owner", "EnableSecurityAudit", json!({"bucket": "Bad_Bucket"})), "InvalidParameter.Bucket");
    assert_eq!(run(&mut w, "owner", "EnableSecurityAudit", json!({"bucket": "kms-audit-logs"})), "ok");
    assert_eq!(w.instance.audit_bucket.as_deref(), Some("kms-audit-logs"));
}

// ---- Section 3: the access management quota ---------------------------------------

#[test]
fn r_q_1_bound_vpcs_and_accounts_count_not_the_own_vpc() {
    let mut w = enabled(10);
    assert_eq!(w.quota().used, 0, "the instance's own VPC does not count");
    run(&mut w, "owner", "UpdateKmsInstanceBindVpc", bind_vpcs(2));
    share(&mut w, "joint", accounts(&[APP, DATA, WEB]));
    assert_eq!(w.quota().used, 5);
}

#[test]
fn r_q_2_folders_and_directories_count_their_members() {
    let mut w = enabled(10);
    share(
        &mut w,
        "joint",
        json!([{"type": "folder", "id": FOLDER}, {"type": "account", "id": APP}, {"type": "account", "id": OWNER}]),
    );
    assert_eq!(w.quota().used, 2, "APP counted once, the owner never");
    let o = apply(&mut w, "owner", "JoinFolder", json!({"account": WEB, "folder": FOLDER})).unwrap();
    assert_eq!(o.quota.used, 3, "a member who joins later counts");
    assert_eq!(run(&mut w, WEB, "CreateKey", json!({"alias": "alias/web"})), "ok");

    let mut w = enabled(10);
    share(&mut w, "joint", json!([{"type": "directory"}]));
    // APP, DATA, WEB: not the owner, not the partner's enterprise, not the other directory.
    assert_eq!(w.quota().used, 3);
}

#[test]
fn r_q_3_bind_vpcs_over_quota_is_rejected_whole() {
    let mut w = enabled(3);
    share(&mut w, "joint", accounts(&[APP]));
    let r = apply(&mut w, "owner", "UpdateKmsInstanceBindVpc", bind_vpcs(3)).unwrap_err();
    assert_eq!(r.errors[0].code, Code::QuotaAccessManagement);
    let m = &r.errors[0].message;
    assert!(m.contains("quota of 4") && m.contains("1 is used") && m.contains("3 purchased"), "{m}");
    assert!(w.instance.bound_vpcs.is_empty());
    assert_eq!(run(&mut w, "owner", "UpdateKmsInstanceBindVpc", bind_vpcs(2)), "ok");
}

#[test]
fn r_q_4_failed_not_retried() {
    let mut w = enabled(2);
    run(&mut w, "owner", "UpdateKmsInstanceBindVpc", bind_vpcs(1));
    let o = apply(
        &mut w,
        "owner",
        "CreateResourceShare",
        json!({"name": "s", "mode": "joint",
        "principals": [{"type": "account", "id": WEB}, {"type": "folder", "id": FOLDER}]}),
    )
    .unwrap();
    assert_eq!(o.quota.used, 2);
    assert_eq!(o.failed_principals, [APP, DATA], "in the order given, those that do not fit fail");
    assert_eq!(run(&mut w, APP, "CreateKey", json!({"alias": "alias/app"})), "Forbidden.NotShared");

    run(&mut w, "owner", "UpgradeKmsInstance", json!({"spec": {"accessManagementQuota": 10}}));
    assert_eq!(w.instance.failed_principals(), [APP, DATA], "raising the quota retries nothing");
    let o = apply(&mut w, "owner", "JoinFolder", json!({"account": WEB, "folder": FOLDER})).unwrap();
    assert_eq!(o.failed_principals, [APP, DATA]);

    run(&mut w, "owner", "DisassociatePrincipals", json!({"principals": [{"type": "folder", "id": FOLDER}]}));
    assert!(w.instance.failed_principals().is_empty());
    run(&mut w, "owner", "AssociatePrincipals", json!({"principals": [{"type": "folder", "id": FOLDER}]}));
    assert!(w.instance.failed_principals().is_empty(), "removed and added again: retried");
    assert_eq!(w.quota().used, 4);
    assert_eq!(run(&mut w, APP, "CreateKey", json!({"alias": "alias/app"})), "ok");
}

#[test]
fn r_q_5_three_vpcs_and_two_principals_need_five() {
    let mut w = enabled(5);
    assert_eq!(run(&mut w, "owner", "UpdateKmsInstanceBindVpc", bind_vpcs(3)), "ok");
    share(&mut w, "joint", accounts(&[APP, DATA]));
    assert_eq!(w.quota().used, 5);
    let mut w = enabled(4);
    run(&mut w, "owner", "UpdateKmsInstanceBindVpc", bind_vpcs(3));
    share(&mut w, "joint", accounts(&[APP, DATA]));
    assert_eq!(w.instance.failed_principals(), [DATA]);
}

// ---- Section 4: BindVpcs through the engine ---------------------------------------

#[test]
fn r_bv_9_outcome_reports_added_removed_kept_and_quota() {
    let mut w = enabled(5);
    run(&mut w, "owner", "UpdateKmsInstanceBindVpc", bind_vpcs(2));
    let o = apply(&mut w, "owner", "UpdateKmsInstanceBindVpc", bind_vpcs(3)).unwrap();
    let report = o.bind_vpcs.unwrap();
    assert_eq!(report.kept.len(), 2);
    assert_eq!(report.added, ["vpc-bp1go9qvmj78j4f4c0003"]);
    let q = report.quota.unwrap();
    assert_eq!((q.before, q.after, q.purchased), (2, 3, 5));
    let o = apply(&mut w, "owner", "UpdateKmsInstanceBindVpc", json!({"BindVpcs": "[]"})).unwrap();
    assert_eq!(o.bind_vpcs.unwrap().removed.len(), 3);
    assert_eq!(o.quota.used, 0);
}

#[test]
fn r_bv_8_network_facts_reach_the_engine() {
    let mut w = enabled(5);
    let entry = json!([{"VpcId": "vpc-bp1go9qvmj78j4f4c0001", "VSwitchId": "vsw-bp16c5pvvcf0fp5b90001",
                        "RegionId": "cn-hangzhou", "VpcOwnerId": APP}]);
    let not_shared = json!({"BindVpcs": entry.to_string(),
        "network": {"vsw-bp16c5pvvcf0fp5b90001": {"vpcId": "vpc-bp1go9qvmj78j4f4c0001", "availableIps": 3, "sharedWithOwner": false}}});
    assert_eq!(run(&mut w, "owner", "UpdateKmsInstanceBindVpc", not_shared), "Rejected.BindVpcs.VSwitchNotShared");
    // An array, as a console passes it, works as well as the JSON string.
    let o = apply(&mut w, "owner", "UpdateKmsInstanceBindVpc", json!({"BindVpcs": entry})).unwrap();
    assert_eq!(o.warnings[0].code, Code::WarnCrossAccountVpc);
}

// ---- Section 5: sharing -----------------------------------------------------------
