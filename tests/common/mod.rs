//! A small organisation and helpers shared by the rule tests.
#![allow(dead_code, clippy::result_large_err)]

use kms_instance::{Env, Outcome, Rejection, Request, State};
use serde_json::{json, Value};
use time::macros::datetime;

pub const OWNER: &str = "1207089758810000";
/// In folder fd-AbCd1234.
pub const APP: &str = "1192853035110000";
/// In folder fd-AbCd1234.
pub const DATA: &str = "1192853035110001";
pub const WEB: &str = "1192853035110002";
/// Same directory, another enterprise.
pub const PARTNER: &str = "1300000000000001";
/// Same enterprise, another resource directory.
pub const STRANGER: &str = "1400000000000001";
pub const FOLDER: &str = "fd-AbCd1234";

/// A world whose instance has the given type, status and access management quota.
pub fn world(kind: &str, status: &str, quota: u32) -> State {
    serde_json::from_value(json!({
        "directory": {
            "resourceDirectoryId": "rd-a1b2c3",
            "enterpriseId": "ent-acme",
            "folders": ["fd-Empty0001"],
            "accounts": [
                {"id": OWNER, "name": "security-team"},
                {"id": APP, "name": "app-team", "folder": FOLDER},
                {"id": DATA, "name": "data-team", "folder": FOLDER},
                {"id": WEB, "name": "web-team"},
                {"id": PARTNER, "name": "partner", "enterpriseId": "ent-other"},
                {"id": STRANGER, "name": "stranger", "resourceDirectoryId": "rd-zzz999"}
            ],
            "resourceShares": [{
                "id": "rs-legacy01", "name": "legacy",
                "permission": {"name": "AliyunRSPermissionKMSInstanceReadWrite"},
                "principals": [{"type": "account", "id": WEB}]
            }, {
                "id": "rs-network1", "name": "network",
                "permission": {"name": "AliyunRSDefaultPermissionVSwitch"},
                "principals": [{"type": "account", "id": WEB}]
            }]
        },
        "instance": {
            "instanceId": "kst-hzz62f4a5c2d7ab12cd",
            "type": kind,
            "regionId": "cn-hangzhou",
            "ownerId": OWNER,
            "status": status,
            "vpcId": "vpc-bp1primary0000001",
            "spec": {"accessManagementQuota": quota, "keyQuota": 3, "secretQuota": 2}
        }
    }))
    .expect("fixture world")
}

pub fn enabled(quota: u32) -> State {
    world("software", "enabled", quota)
}

pub fn env() -> Env {
    Env { now: datetime!(2026-06-15 08:00 UTC), request_id: "test-request".into(), latency_ms: 3 }
}

pub fn request(caller: &str, action: &str, params: Value) -> Request {
    serde_json::from_value(json!({"as": caller, "action": action, "params": params}))
        .unwrap_or_else(|e| panic!("{action}: {e}"))
}

pub fn apply(w: &mut State, caller: &str, action: &str, params: Value) -> Result<Outcome, Rejection> {
    w.apply(&request(caller, action, params), &env())
}

/// "ok", or the code of the first error.
pub fn code(result: &Result<Outcome, Rejection>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(r) => r.errors[0].code.as_str(),
    }
}

/// Applies and returns the result code, asserting that a failure changed nothing.
pub fn run(w: &mut State, caller: &str, action: &str, params: Value) -> &'static str {
    let before = w.to_json().unwrap();
    let result = apply(w, caller, action, params);
    if result.is_err() {
        assert_eq!(before, w.to_json().unwrap(), "{action} failed but changed the state");
    }
    code(&result)
}

pub fn share(w: &mut State, mode: &str, principals: Value) {
    let r =
        run(w, "owner", "CreateResourceShare", json!({"name": "kms-share", "mode": mode, "principals": principals}));
    assert_eq!(r, "ok");
}

pub fn accounts(ids: &[&str]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"type": "account", "id": id})).collect())
}

pub fn bind_vpcs(n: usize) -> Value {
    let entries: Vec<Value> = (1..=n)
        .map(|i| {
            json!({"VpcId": format!("vpc-bp1go9qvmj78j4f4c{i:04}"), "VSwitchId": format!("vsw-bp16c5pvvcf0fp5b9{i:04}"),
                   "RegionId": "cn-hangzhou", "VpcOwnerId": OWNER})
        })
        .collect();
    json!({"BindVpcs": serde_json::to_string(&entries).unwrap()})
}
