//! One test per rule of RULES.md sections 5 to 9 (sharing, the permission matrix, the
//! order of access checks, keys, audit records), named after the rule id, run through
//! the engine as a caller would. Sections 2 to 4 are in `tests/rules.rs`.

mod common;

use common::*;
use kms_instance::audit::{AuditRecord, Level};
use kms_instance::Code;
use serde_json::json;

#[test]
fn r_sh_1_only_enabled_software_or_hardware_instances_are_shared() {
    let params = json!({"name": "s", "mode": "joint", "principals": accounts(&[APP])});
    let mut w = world("external", "enabled", 5);
    assert_eq!(run(&mut w, "owner", "CreateResourceShare", params.clone()), "Rejected.InstanceTypeNotShareable");
    let mut w = world("hardware", "pendingEnable", 5);
    assert_eq!(run(&mut w, "owner", "CreateResourceShare", params.clone()), "Rejected.InstanceNotEnabled");
    let mut w = world("hardware", "enabled", 5);
    assert_eq!(run(&mut w, "owner", "CreateResourceShare", params), "ok");
}

#[test]
fn r_sh_2_same_enterprise_and_resource_directory() {
    let mut w = enabled(5);
    let with = |id: &str| json!({"name": "s", "mode": "joint", "principals": accounts(&[APP, id])});
    assert_eq!(run(&mut w, "owner", "CreateResourceShare", with(PARTNER)), "Rejected.NotSameEnterprise");
    assert_eq!(run(&mut w, "owner", "CreateResourceShare", with(STRANGER)), "Rejected.NotSameResourceDirectory");
    assert_eq!(run(&mut w, "owner", "CreateResourceShare", with("1999999999999999")), "NotFound.Account");
    let other_rd = json!({"name": "s", "mode": "joint", "principals": [{"type": "directory", "id": "rd-zzz999"}]});
    assert_eq!(run(&mut w, "owner", "CreateResourceShare", other_rd), "Rejected.NotSameResourceDirectory");
}

#[test]
fn r_sh_3_principal_types() {
    let mut w = enabled(5);
    let p = |principals| json!({"name": "s", "mode": "joint", "principals": principals});
    assert_eq!(
        run(&mut w, "owner", "CreateResourceShare", p(json!([{"type": "group", "id": "g"}]))),
        "InvalidParameter.PrincipalType"
    );
    assert_eq!(
        run(&mut w, "owner", "CreateResourceShare", p(json!([{"type": "account", "id": "12"}]))),
        "InvalidParameter.AccountId"
    );
    assert_eq!(
        run(&mut w, "owner", "CreateResourceShare", p(json!([{"type": "folder", "id": "fd-x"}]))),
        "InvalidParameter.FolderId"
    );
    assert_eq!(
        run(&mut w, "owner", "CreateResourceShare", p(json!([{"type": "folder", "id": "fd-Missing01"}]))),
        "NotFound.Folder"
    );
    assert_eq!(run(&mut w, "owner", "CreateResourceShare", p(json!([{"type": "folder", "id": "fd-Empty0001"}]))), "ok");
    assert_eq!(w.quota().used, 0, "an empty folder covers no one yet");
}

#[test]
fn r_sh_4_permissions() {
    let mut w = enabled(5);
    let with = |perm| json!({"name": "s", "mode": "joint", "principals": accounts(&[APP]), "permission": perm});
    assert_eq!(
        run(&mut w, "owner", "CreateResourceShare", with(json!({"name": "AliyunRSPermissionKMSInstanceReadWrite"}))),
        "Rejected.DeprecatedPermission"
    );
    assert_eq!(
        run(
            &mut w,
            "owner",
            "CreateResourceShare",
            with(json!({"name": "AliyunRSDefaultPermissionKMSInstance", "version": "v3"}))
        ),
        "InvalidParameter.Permission"
    );
    assert_eq!(
        run(&mut w, "owner", "CreateResourceShare", with(json!({"name": "SomethingElse"}))),
        "InvalidParameter.Permission"
    );
    share(&mut w, "joint", accounts(&[APP]));
    assert_eq!(
        w.instance.share.as_ref().unwrap().permission.version.as_deref(),
        Some("v2"),
        "new shares default to v2"
    );

    // An existing share keeps the deprecated permission, with a warning, and it grants use.
    let mut w = enabled(5);
    let o = apply(
        &mut w,
        "owner",
        "CreateResourceShare",
        json!({"name": "x", "mode": "joint", "existingShare": "rs-legacy01"}),
    )
    .unwrap();
    assert!(o.warnings.iter().any(|p| p.code == Code::WarnDeprecatedPermission));
    assert_eq!(run(&mut w, WEB, "CreateKey", json!({"alias": "alias/web"})), "ok");
}

#[test]
fn r_sh_5_joint_to_independent_is_one_way() {
    let mut w = enabled(5);
    assert_eq!(run(&mut w, "owner", "ChangeShareMode", json!({"mode": "independent"})), "Rejected.NoShare");
    share(&mut w, "joint", accounts(&[APP]));
    assert_eq!(run(&mut w, "owner", "ChangeShareMode", json!({"mode": "shared"})), "InvalidParameter.Mode");
    assert_eq!(run(&mut w, "owner", "ChangeShareMode", json!({"mode": "independent"})), "ok");
    assert_eq!(run(&mut w, "owner", "ChangeShareMode", json!({"mode": "joint"})), "Rejected.ModeChangeIrreversible");
    assert_eq!(
        run(&mut w, "owner", "CreateResourceShare", json!({"name": "t", "mode": "joint", "principals": []})),
        "Rejected.ShareExists"
    );
}

#[test]
fn r_sh_6_names_unique_per_mode() {
    let mut w = enabled(5);
    share(&mut w, "joint", accounts(&[APP]));
    run(&mut w, "owner", "CreateSecret", json!({"name": "db"}));
    assert_eq!(run(&mut w, APP, "CreateSecret", json!({"name": "db"})), "Conflict.NameExists");
    run(&mut w, "owner", "CreateKey", json!({"alias": "alias/k"}));
    assert_eq!(run(&mut w, APP, "CreateKey", json!({"alias": "alias/k"})), "Conflict.NameExists");
    assert_eq!(run(&mut w, APP, "CreateKey", json!({"alias": "alias/app"})), "ok");
    assert_eq!(
        run(&mut w, "owner", "CreateAlias", json!({"key": "alias/k", "alias": "alias/app"})),
        "Conflict.NameExists"
    );

    // Joint → independent never creates a conflict; then each account has its own names.
    assert_eq!(run(&mut w, "owner", "ChangeShareMode", json!({"mode": "independent"})), "ok");
    assert_eq!(run(&mut w, APP, "CreateSecret", json!({"name": "db"})), "ok");
    assert_eq!(run(&mut w, APP, "CreateSecret", json!({"name": "db"})), "Conflict.NameExists");
}

#[test]
fn r_sh_7_existing_share_escalates_at_once() {
    let mut w = enabled(5);
    let o = apply(
        &mut w,
        "owner",
        "CreateResourceShare",
        json!({"name": "x", "mode": "joint", "existingShare": "rs-network1", "principals": accounts(&[APP])}),
    )
    .unwrap();
    assert!(o.warnings.iter().any(|p| p.code == Code::WarnPermissionEscalation));
    assert_eq!(o.quota.used, 2, "the share's principal and the new one");
    // That share's permission is not the KMS one: its principals gain nothing (R-AZ-2).
    assert_eq!(run(&mut w, WEB, "CreateKey", json!({"alias": "alias/web"})), "Forbidden.PermissionNotAttached");
    assert_eq!(
        run(&mut w, "owner", "CreateResourceShare", json!({"name": "y", "mode": "joint", "existingShare": "rs-nope"})),
        "Rejected.ShareExists"
    );
    let mut w = enabled(5);
    assert_eq!(
        run(&mut w, "owner", "CreateResourceShare", json!({"name": "y", "mode": "joint", "existingShare": "rs-nope"})),
        "Rejected.NoShare"
    );
}

#[test]
fn r_sh_8_revoke_waits_for_principals_resources() {
    let mut w = enabled(5);
    share(&mut w, "joint", accounts(&[APP]));
    run(&mut w, APP, "CreateSecret", json!({"name": "app-db"}));
    run(&mut w, "owner", "CreateSecret", json!({"name": "owner-db"}));
    let r = apply(&mut w, "owner", "DeleteResourceShare", json!({})).unwrap_err();
    assert_eq!(r.errors[0].code, Code::ShareHasResources);
    assert!(r.errors[0].message.contains("secret app-db of 1192853035110000"), "{}", r.errors[0].message);
    assert_eq!(run(&mut w, APP, "DeleteSecret", json!({"secret": "app-db"})), "ok");
    assert_eq!(run(&mut w, "owner", "DeleteResourceShare", json!({})), "ok");
    assert_eq!(w.quota().used, 0);
    assert_eq!(run(&mut w, APP, "DescribeSecret", json!({"secret": "owner-db"})), "Forbidden.NotShared");
}

#[test]
fn a_key_made_without_an_alias_is_named_by_its_id_and_counts_for_r_sh_8() {
    // The KMS API's CreateKey takes no alias: an empty one makes a key named by its id.
    let mut w = enabled(5);
    share(&mut w, "joint", accounts(&[APP]));
    let made = apply(&mut w, APP, "CreateKey", json!({"alias": ""})).unwrap();
    let id = made.key_id.unwrap();
    assert_eq!(run(&mut w, APP, "Encrypt", json!({"key": id})), "ok");
    assert_eq!(run(&mut w, APP, "Encrypt", json!({"key": ""})), "NotFound.Key");
    let r = apply(&mut w, "owner", "DeleteResourceShare", json!({})).unwrap_err();
    assert!(r.errors[0].message.contains(&format!("key {id} of {APP}")), "{}", r.errors[0].message);
    assert_eq!(run(&mut w, APP, "CreateAlias", json!({"key": id, "alias": "alias/later"})), "ok");
    assert_eq!(run(&mut w, APP, "Encrypt", json!({"key": "alias/later"})), "ok");
    // The state it leaves is one a plan may start from.
    kms_instance::State::from_json(&w.to_json().unwrap()).unwrap();
}

#[test]
fn r_sh_9_service_keys_are_not_shared() {
    let mut w = enabled(5);
    w.instance.keys =
        serde_json::from_value(json!([{"keyId": "key-svc", "alias": "alias/acs/ecs", "creator": OWNER}])).unwrap();
    share(&mut w, "joint", accounts(&[APP]));
    assert_eq!(run(&mut w, APP, "Encrypt", json!({"key": "alias/acs/ecs"})), "Rejected.DefaultKeyNotShareable");
    assert_eq!(run(&mut w, APP, "Encrypt", json!({"key": "key-svc"})), "Rejected.DefaultKeyNotShareable");
    assert_eq!(run(&mut w, APP, "DescribeKey", json!({"key": "alias/acs/missing"})), "Rejected.DefaultKeyNotShareable");
    assert_eq!(run(&mut w, "owner", "Encrypt", json!({"key": "alias/acs/ecs"})), "ok");
}

#[test]
fn r_sh_10_an_instance_serves_only_its_region() {
    let mut w = enabled(5);
    share(&mut w, "joint", accounts(&[APP]));
    for caller in ["owner", APP] {
        let mut r = request(caller, "CreateKey", json!({"alias": "alias/x"}));
        r.region = Some("cn-shanghai".into());
        let before = w.to_json().unwrap();
        assert_eq!(w.apply(&r, &env()).unwrap_err().code(), Some(Code::CrossRegion));
        assert_eq!(before, w.to_json().unwrap());
    }
}

// ---- Sections 6 and 7: the matrix and the access checks ---------------------------

#[test]
fn r_az_1_caller_must_be_owner_or_active_principal() {
    let mut w = enabled(1);
    assert_eq!(run(&mut w, APP, "CreateKey", json!({"alias": "alias/a"})), "Forbidden.NotShared");
    share(&mut w, "joint", accounts(&[APP, DATA]));
    assert_eq!(run(&mut w, APP, "CreateKey", json!({"alias": "alias/a"})), "ok");
    assert_eq!(
        run(&mut w, DATA, "CreateKey", json!({"alias": "alias/d"})),
        "Forbidden.NotShared",
        "failed association"
    );
    run(&mut w, "owner", "DisassociatePrincipals", json!({"principals": accounts(&[APP])}));
    assert_eq!(run(&mut w, APP, "DescribeKey", json!({"key": "alias/a"})), "Forbidden.NotShared", "removed");
    assert_eq!(
        run(&mut w, "owner", "DisassociatePrincipals", json!({"principals": accounts(&[WEB])})),
        "NotFound.Principal"
    );
}

#[test]
fn r_az_2_share_permission_must_be_attached() {
    let mut w = enabled(5);
    run(&mut w, "owner", "CreateResourceShare", json!({"name": "x", "mode": "joint", "existingShare": "rs-network1"}));
    assert_eq!(run(&mut w, WEB, "Encrypt", json!({"key": "alias/x"})), "Forbidden.PermissionNotAttached");
}

#[test]
fn r_az_3_ram_policy_must_grant_the_action() {
    let mut w = enabled(5);
    run(&mut w, "owner", "CreateKey", json!({"alias": "alias/k"}));
    let mut r = request("owner", "Decrypt", json!({"key": "alias/k"}));
    r.ram = Some(vec!["kms:Encrypt".into()]);
    assert_eq!(w.apply(&r, &env()).unwrap_err().code(), Some(Code::RamPolicy));
    r.ram = Some(vec!["kms:*".into()]);
    assert!(w.apply(&r, &env()).is_ok());
}

#[test]
fn r_az_4_matrix_and_ownership() {
    let mut w = enabled(5);
    share(&mut w, "joint", accounts(&[APP, DATA]));
    run(&mut w, "owner", "CreateKey", json!({"alias": "alias/owner"}));
    run(&mut w, APP, "CreateKey", json!({"alias": "alias/app"}));
    // Owner-only rows.
    for (action, params) in [
        ("UpdateKmsInstanceBindVpc", json!({"BindVpcs": "[]"})),
        ("CreateBackup", json!({})),
        ("DescribeKmsInstance", json!({})),
        ("RenewKmsInstance", json!({"months": 1})),
        ("DeleteResourceShare", json!({})),
        ("ChangeShareMode", json!({"mode": "independent"})),
    ] {
        assert_eq!(run(&mut w, APP, action, params), "Forbidden.OwnerOnly", "{action}");
    }
    // Joint: the owner manages every key, a principal only its own; any may use any.
    assert_eq!(run(&mut w, "owner", "UpdateRotationPolicy", json!({"key": "alias/app"})), "ok");
    assert_eq!(run(&mut w, DATA, "DescribeKey", json!({"key": "alias/app"})), "Forbidden.NotOwner");
    assert_eq!(run(&mut w, DATA, "Encrypt", json!({"key": "alias/app"})), "ok");
    assert_eq!(run(&mut w, APP, "CreateApplicationAccessPoint", json!({"name": "aap"})), "ok");

    // Independent: each manages and uses its own only; the owner does not see others'.
    run(&mut w, "owner", "ChangeShareMode", json!({"mode": "independent"}));
    assert_eq!(run(&mut w, "owner", "DescribeKey", json!({"key": "alias/app"})), "NotFound.Key");
    assert_eq!(run(&mut w, APP, "DescribeKey", json!({"key": "alias/owner"})), "Forbidden.NotOwner");
    assert_eq!(run(&mut w, APP, "Encrypt", json!({"key": "alias/owner"})), "Forbidden.NotOwner");
    assert_eq!(run(&mut w, DATA, "Encrypt", json!({"key": "alias/app"})), "NotFound.Key");
    assert_eq!(run(&mut w, APP, "GenerateDataKey", json!({"key": "alias/app"})), "ok");
}

#[test]
fn order_of_checks_names_the_first_failure() {
    let mut w = enabled(5);
    share(&mut w, "joint", accounts(&[APP]));
    // (1) state before region and access.
    let mut r = request(WEB, "CreateKey", json!({"alias": "bad"}));
    r.region = Some("cn-shanghai".into());
    r.ram = Some(vec![]);
    let mut expired = w.clone();
    run(&mut expired, "owner", "Expire", json!({}));
    assert_eq!(expired.apply(&r, &env()).unwrap_err().code(), Some(Code::InstanceExpired));
    // Region before access; access checks in order; then formats; then lookups.
    assert_eq!(w.apply(&r, &env()).unwrap_err().code(), Some(Code::CrossRegion));
    r.region = None;
    assert_eq!(w.apply(&r, &env()).unwrap_err().code(), Some(Code::NotShared));
    r.caller = APP.into();
    assert_eq!(w.apply(&r, &env()).unwrap_err().code(), Some(Code::RamPolicy));
    let mut owner_only = request(APP, "UpdateKmsInstanceBindVpc", json!({"BindVpcs": "not json"}));
    assert_eq!(w.apply(&owner_only, &env()).unwrap_err().code(), Some(Code::OwnerOnly));
    owner_only.caller = "owner".into();
    assert_eq!(w.apply(&owner_only, &env()).unwrap_err().code(), Some(Code::BindVpcsMalformed));
    r.ram = None;
    assert_eq!(w.apply(&r, &env()).unwrap_err().code(), Some(Code::Alias));
    assert_eq!(
        run(&mut w, "owner", "CreateAlias", json!({"key": "alias/none", "alias": "x"})),
        "InvalidParameter.Alias"
    );
    assert_eq!(run(&mut w, "owner", "CreateAlias", json!({"key": "alias/none", "alias": "alias/x"})), "NotFound.Key");
    // State events pass no access check.
    assert_eq!(run(&mut w, "1999999999999999", "JoinFolder", json!({"account": WEB, "folder": FOLDER})), "ok");
}

#[test]
fn check_decides_without_applying() {
    let mut w = enabled(5);
    share(&mut w, "independent", accounts(&[APP]));
    run(&mut w, "owner", "CreateKey", json!({"alias": "alias/owner"}));
    let before = w.to_json().unwrap();
    let d = w.check(&request(APP, "ScheduleKeyDeletion", json!({"key": "alias/owner"})));
    assert!(!d.allowed);
    assert_eq!(d.denied.as_ref().map(|p| p.code), Some(Code::NotOwner));
    assert_eq!(d.denied.unwrap().rule, Some("R-AZ-4"));
    assert!(w.check(&request("owner", "ScheduleKeyDeletion", json!({"key": "alias/owner"}))).allowed);
    assert_eq!(w.check(&request(WEB, "CreateKey", json!({"alias": "alias/x"}))).denied.unwrap().code, Code::NotShared);
    assert_eq!(before, w.to_json().unwrap());
    assert!(w.instance.keys.iter().all(|k| !k.pending_deletion));
}

// ---- Section 8: keys --------------------------------------------------------------

#[test]
fn r_key_1_key_kinds_follow_the_instance() {
    let mut w = enabled(5);
    assert_eq!(
        run(&mut w, "owner", "CreateKey", json!({"alias": "alias/h", "protection": "hardware"})),
        "InvalidParameter.Protection"
    );
    assert_eq!(run(&mut w, "owner", "CreateKey", json!({"alias": "alias/acs/ecs"})), "InvalidParameter.Alias");
    let mut hw = world("hardware", "enabled", 5);
    assert_eq!(run(&mut hw, "owner", "CreateKey", json!({"alias": "alias/h", "protection": "hardware"})), "ok");
    assert_eq!(
        run(&mut hw, "owner", "CreateKey", json!({"alias": "alias/s", "protection": "software"})),
        "InvalidParameter.Protection"
    );

    w.instance.keys = serde_json::from_value(json!([{"alias": "alias/acs/oss", "creator": OWNER}])).unwrap();
    for action in ["UpdateRotationPolicy", "ScheduleKeyDeletion", "SetDeletionProtection"] {
        assert_eq!(run(&mut w, "owner", action, json!({"key": "alias/acs/oss"})), "Rejected.ServiceKeyNotConfigurable");
    }
    assert_eq!(run(&mut w, "owner", "DescribeKey", json!({"key": "alias/acs/oss"})), "ok");
}

#[test]
fn r_key_2_key_material_origin() {
    let mut w = enabled(5);
    assert_eq!(
        run(&mut w, "owner", "CreateKey", json!({"alias": "alias/b", "origin": "external"})),
        "InvalidParameter.Origin"
    );
    let mut hw = world("hardware", "enabled", 5);
    assert_eq!(run(&mut hw, "owner", "CreateKey", json!({"alias": "alias/b", "origin": "external"})), "ok");
    assert_eq!(
        run(&mut hw, "owner", "CreateKey", json!({"alias": "alias/c", "origin": "byok"})),
        "InvalidParameter.Origin"
    );
}

#[test]
fn key_and_secret_quotas_count_every_account() {
    let mut w = enabled(5);
    share(&mut w, "independent", accounts(&[APP]));
    run(&mut w, "owner", "CreateKey", json!({"alias": "alias/a"}));
    run(&mut w, APP, "CreateKey", json!({"alias": "alias/a"}));
    run(&mut w, APP, "CreateKey", json!({"alias": "alias/b"}));
    assert_eq!(run(&mut w, "owner", "CreateKey", json!({"alias": "alias/c"})), "QuotaExceeded.Keys");
    run(&mut w, "owner", "CreateSecret", json!({"name": "a"}));
    run(&mut w, APP, "CreateSecret", json!({"name": "a"}));
    assert_eq!(run(&mut w, APP, "CreateSecret", json!({"name": "b"})), "QuotaExceeded.Secrets");
}

#[test]
fn deletion_protection_guards_scheduled_deletion() {
    let mut w = enabled(5);
    run(&mut w, "owner", "CreateKey", json!({"alias": "alias/k"}));
    run(&mut w, "owner", "SetDeletionProtection", json!({"key": "alias/k"}));
    assert_eq!(run(&mut w, "owner", "ScheduleKeyDeletion", json!({"key": "alias/k"})), "Rejected.DeletionProtected");
    run(&mut w, "owner", "SetDeletionProtection", json!({"key": "alias/k", "enabled": false}));
    assert_eq!(run(&mut w, "owner", "ScheduleKeyDeletion", json!({"key": "alias/k"})), "ok");
}

// ---- Section 9: audit -------------------------------------------------------------

#[test]
fn audit_every_request_has_one_record() {
    let mut w = enabled(5);
    let mut r = request("owner", "CreateKey", json!({"alias": "alias/k"}));
    r.credential = Some(kms_instance::request::Sensitive("LTAI5tQwErTyUiOpAsDf".into()));
    let ok = w.apply(&r, &env()).unwrap().audit;
    assert_eq!((ok.level, ok.result.as_str(), ok.action.as_str()), (Level::Info, "Success", "CreateKey"));
    assert_eq!(ok.credential.as_deref(), Some("LTAI5tQw****"));
    assert_eq!(ok.to_string().parse::<AuditRecord>().unwrap(), ok);
    assert!(!ok.to_string().contains("UiOpAsDf"));

    let failed = w.apply(&r, &env()).unwrap_err().audit;
    assert_eq!((failed.level, failed.result.as_str()), (Level::Error, "Conflict.NameExists"));
    assert_eq!(failed.caller, OWNER);
    assert_eq!(failed.instance_id, "kst-hzz62f4a5c2d7ab12cd");
    assert_eq!(failed.to_string().parse::<AuditRecord>().unwrap(), failed);
}

#[test]
fn state_round_trips_through_json() {
    let mut w = enabled(5);
    share(&mut w, "joint", json!([{"type": "folder", "id": FOLDER}]));
    run(&mut w, "owner", "UpdateKmsInstanceBindVpc", bind_vpcs(2));
    run(&mut w, APP, "CreateKey", json!({"alias": "alias/app"}));
    let json = w.to_json().unwrap();
    let back = kms_instance::State::from_json(&json).unwrap();
    assert_eq!(back, w);
    assert_eq!(back.to_json().unwrap(), json);
}
