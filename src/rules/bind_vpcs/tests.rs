//! BindVpcs validation, rule by rule (R-BV-1 to R-BV-10).
use super::*;

fn ctx() -> Context {
    Context {
        region: Some("cn-hangzhou".into()),
        owner: Some("1207089758810000".into()),
        primary_vpc: Some("vpc-bp1primary0000001".into()),
        ..Context::default()
    }
}

fn entry(n: u32, owner: &str) -> String {
    format!(
        r#"{{"VpcId":"vpc-bp1go9qvmj78j4f4c000{n}","VSwitchId":"vsw-bp16c5pvvcf0fp5b9000{n}","RegionId":"cn-hangzhou","VpcOwnerId":{owner}}}"#
    )
}

fn codes(r: &Report) -> Vec<&'static str> {
    r.errors.iter().map(|p| p.code.as_str()).collect()
}

#[test]
fn r_bv_1_malformed_reports_byte_offset() {
    let r = validate_str("[{\"VpcId\": }]", &ctx());
    assert_eq!(codes(&r), ["InvalidParameter.BindVpcs.Malformed"]);
    assert!(r.errors[0].message.contains("byte 11"), "{}", r.errors[0].message);
    let r = validate_str("[1]", &ctx());
    assert_eq!(r.errors[0].path.as_deref(), Some("/0"));
    let r = validate_str("{}", &ctx());
    assert_eq!(codes(&r), ["InvalidParameter.BindVpcs.Malformed"]);
}

#[test]
fn r_bv_1_offset_counts_bytes_across_lines() {
    let input = "[\n  \"é\",\n  x]";
    let r = validate_str(input, &ctx());
    let offset = input.find('x').unwrap();
    assert!(r.errors[0].message.contains(&format!("byte {offset}")), "{}", r.errors[0].message);
    // Placed on the character where the JSON stops being JSON: line 3, column 3, and
    // the UTF-16 offset (the "é" is two bytes but one unit).
    let place = *r.errors[0].place.clone().unwrap();
    assert_eq!((place.line, place.column, place.start, place.end), (3, 3, offset, offset + 1));
    assert_eq!((place.utf16_start, place.utf16_end), (offset - 1, offset));
}

#[test]
fn a_parsed_array_has_no_places_and_text_has_all() {
    let text = r#"[{"vpcid": "vpc-1"}]"#;
    let value: Value = serde_json::from_str(text).unwrap();
    assert!(validate_value(&value, &ctx()).errors.iter().all(|p| p.place.is_none()));
    assert!(validate_unplaced(text, &ctx()).errors.iter().all(|p| p.place.is_none()));
    let placed = validate_str(text, &ctx());
    assert!(!placed.errors.is_empty() && placed.errors.iter().all(|p| p.place.is_some()));
    let unknown = placed.errors.iter().find(|p| p.code == Code::BindVpcsUnknownField).unwrap().place.clone().unwrap();
    assert_eq!(&text[unknown.start..unknown.end], r#""vpcid""#);
}

#[test]
fn r_bv_2_missing_and_unknown_fields() {
    let r = validate_str(
        r#"[{"VpcId":"vpc-bp1go9qvmj78j4f4c0001","VswitchId":"vsw-bp16c5pvvcf0fp5b90001","RegionId":"cn-hangzhou","VpcOwnerId":"1207089758810000"}]"#,
        &ctx(),
    );
    assert_eq!(codes(&r), ["InvalidParameter.BindVpcs.MissingField", "InvalidParameter.BindVpcs.UnknownField"]);
    assert_eq!(r.errors[0].path.as_deref(), Some("/0/VSwitchId"));
    assert_eq!(r.errors[1].path.as_deref(), Some("/0/VswitchId"));
    assert!(r.errors[1].message.contains("did you mean VSwitchId"));
}

#[test]
fn r_bv_3_field_formats() {
    let r = validate_str(r#"[{"VpcId":"vpc-1","VSwitchId":7,"RegionId":"CN","VpcOwnerId":"12"}]"#, &ctx());
    assert_eq!(
        codes(&r),
        [
            "InvalidParameter.BindVpcs.VpcId",
            "InvalidParameter.BindVpcs.VSwitchId",
            "InvalidParameter.BindVpcs.RegionId",
            "InvalidParameter.BindVpcs.VpcOwnerId"
        ]
    );
    assert_eq!(r.errors[3].path.as_deref(), Some("/0/VpcOwnerId"));
}

#[test]
fn r_id_5_owner_id_precision() {
    let r = validate_str(&format!("[{}]", entry(1, "9007199254740993123")), &ctx());
    assert_eq!(codes(&r), ["InvalidParameter.BindVpcs.VpcOwnerIdPrecision"]);
    // A 16-digit id above 2^53 − 1 is rejected even though it has the right shape.
    let r = validate_str(&format!("[{}]", entry(1, "9007199254740993")), &ctx());
    assert_eq!(codes(&r), ["InvalidParameter.BindVpcs.VpcOwnerIdPrecision"]);
    let r = validate_str(&format!("[{}]", entry(1, "1e300")), &ctx());
    assert_eq!(codes(&r), ["InvalidParameter.BindVpcs.VpcOwnerIdPrecision"]);
    let r = validate_str(&format!("[{}]", entry(1, "\"9007199254740993\"")), &ctx());
    assert!(r.ok, "as a string the id is exact: {:?}", r.errors);
}

#[test]
fn r_bv_4_cross_region() {
    let r = validate_str(&format!("[{}]", entry(1, "1207089758810000").replace("cn-hangzhou", "cn-shanghai")), &ctx());
    assert_eq!(codes(&r), ["InvalidParameter.BindVpcs.CrossRegion"]);
    assert_eq!(r.errors[0].path.as_deref(), Some("/0/RegionId"));
}

#[test]
fn r_bv_5_duplicates() {
    let a = entry(1, "1207089758810000");
    let b = entry(2, "1207089758810000").replace("vsw-bp16c5pvvcf0fp5b90002", "vsw-bp16c5pvvcf0fp5b90001");
    let c = entry(1, "1207089758810000").replace("vsw-bp16c5pvvcf0fp5b90001", "vsw-bp16c5pvvcf0fp5b90003");
    let r = validate_str(&format!("[{a},{b},{c}]"), &ctx());
    assert_eq!(codes(&r), ["InvalidParameter.BindVpcs.DuplicateVSwitch", "InvalidParameter.BindVpcs.DuplicateVpc"]);
    assert_eq!(r.errors[0].path.as_deref(), Some("/1/VSwitchId"));
    assert_eq!(r.errors[1].path.as_deref(), Some("/2/VpcId"));
}

#[test]
fn r_bv_6_primary_vpc() {
    let e = entry(1, "1207089758810000").replace("vpc-bp1go9qvmj78j4f4c0001", "vpc-bp1primary0000001");
    let r = validate_str(&format!("[{e}]"), &ctx());
    assert_eq!(codes(&r), ["InvalidParameter.BindVpcs.PrimaryVpc"]);
}

#[test]
fn r_bv_7_network_facts() {
    let mut c = ctx();
    c.network = Some(Network::from([(
        "vsw-bp16c5pvvcf0fp5b90001".to_string(),
        VSwitchFacts { vpc_id: Some("vpc-otherxxxxxxx".into()), available_ips: Some(0), shared_with_owner: None },
    )]));
    let r = validate_str(&format!("[{}]", entry(1, "1207089758810000")), &c);
    assert_eq!(codes(&r), ["InvalidParameter.BindVpcs.VSwitchNotInVpc", "Rejected.BindVpcs.NoAvailableIp"]);
}

#[test]
fn r_bv_8_cross_account_vpc() {
    let other = "1192853035110000";
    let r = validate_str(&format!("[{}]", entry(1, other)), &ctx());
    assert!(r.ok);
    assert_eq!(r.warnings[0].code, Code::WarnCrossAccountVpc);

    let mut c = ctx();
    c.network = Some(Network::from([(
        "vsw-bp16c5pvvcf0fp5b90001".to_string(),
        VSwitchFacts { shared_with_owner: Some(false), ..VSwitchFacts::default() },
    )]));
    let r = validate_str(&format!("[{}]", entry(1, other)), &c);
    assert_eq!(codes(&r), ["Rejected.BindVpcs.VSwitchNotShared"]);
    assert!(r.warnings.is_empty());
}

#[test]
fn r_bv_9_replace_semantics_and_quota() {
    let mut c = ctx();
    c.current = vec![
        BoundVpc {
            vpc_id: "vpc-bp1go9qvmj78j4f4c0001".into(),
            v_switch_id: "vsw-bp16c5pvvcf0fp5b90001".into(),
            region_id: "cn-hangzhou".into(),
            vpc_owner_id: "1207089758810000".into(),
        },
        BoundVpc {
            vpc_id: "vpc-bp1go9qvmj78j4f4c0009".into(),
            v_switch_id: "vsw-bp16c5pvvcf0fp5b90009".into(),
            region_id: "cn-hangzhou".into(),
            vpc_owner_id: "1207089758810000".into(),
        },
    ];
    c.quota = Some(QuotaContext { purchased: 4, principals: 2 });
    let r = validate_str(&format!("[{},{}]", entry(1, "1207089758810000"), entry(2, "1207089758810000")), &c);
    assert!(r.ok);
    assert_eq!(r.kept, ["vpc-bp1go9qvmj78j4f4c0001"]);
    assert_eq!(r.added, ["vpc-bp1go9qvmj78j4f4c0002"]);
    assert_eq!(r.removed, ["vpc-bp1go9qvmj78j4f4c0009"]);
    assert_eq!(r.quota, Some(QuotaChange { before: 4, after: 4, purchased: 4 }));

    let r = validate_str(
        &format!(
            "[{},{},{}]",
            entry(1, "1207089758810000"),
            entry(2, "1207089758810000"),
            entry(3, "1207089758810000")
        ),
        &c,
    );
    assert_eq!(codes(&r), ["QuotaExceeded.AccessManagement"]);
    assert!(r.errors[0].message.contains("quota of 5"), "{}", r.errors[0].message);
}

#[test]
fn r_bv_10_every_problem_has_a_pointer() {
    let r = validate_str(r#"[{"VpcId":1},{"a/b":2}]"#, &ctx());
    assert!(r.errors.len() >= 6);
    assert!(r.errors.iter().all(|p| p.path.as_deref().is_some_and(|p| p.starts_with('/'))));
    assert!(r.errors.iter().any(|p| p.path.as_deref() == Some("/1/a~1b")));
}

#[test]
fn empty_array_unbinds_all() {
    let r = validate_str("[]", &ctx());
    assert!(r.ok && r.vpcs.is_empty());
}

#[test]
fn an_indexed_report_names_the_reports_entries_by_their_index() {
    let current = |n: u32| BoundVpc {
        vpc_id: format!("vpc-bp1go9qvmj78j4f4c000{n}"),
        v_switch_id: format!("vsw-bp16c5pvvcf0fp5b9000{n}"),
        region_id: "cn-hangzhou".into(),
        vpc_owner_id: "1207089758810000".into(),
    };
    let with_current = Context { current: vec![current(2), current(9)], ..ctx() };
    let owner = "1207089758810000";
    let texts = [
        format!("[{},{},{}]", entry(1, owner), entry(2, owner), entry(3, owner)),
        // The second entry refused: the others are still valid, and nothing is diffed.
        format!("[{},{},{}]", entry(1, owner), entry(2, "1"), entry(3, owner)),
        "[{\"VpcId\": }]".to_string(),
    ];
    for text in &texts {
        for ctx in [ctx(), with_current.clone()] {
            let report = validate_str(text, &ctx);
            let indexed = validate_str_indexed(text, &ctx);
            let ids: Vec<String> = text
                .match_indices("vpc-bp1go9qvmj78j4f4c000")
                .map(|(at, s)| text[at..at + s.len() + 1].to_string())
                .collect();
            let vpcs: Vec<&str> = report.vpcs.iter().map(|v| v.vpc_id.as_str()).collect();
            assert_eq!(indexed.vpcs_at.iter().map(|&i| ids[i].as_str()).collect::<Vec<_>>(), vpcs, "{text}");
            let named = |at: &[usize]| at.iter().map(|&j| vpcs[j].to_string()).collect::<Vec<_>>();
            assert_eq!(
                (named(&indexed.added_at), named(&indexed.kept_at)),
                (report.added.clone(), report.kept.clone())
            );
            assert_eq!((indexed.ok, &indexed.errors, &indexed.warnings), (report.ok, &report.errors, &report.warnings));
            assert_eq!(
                (&indexed.removed, &indexed.quota, indexed.omitted),
                (&report.removed, &report.quota, report.omitted)
            );
        }
    }
    assert_eq!(validate_str_indexed(&texts[1], &with_current).vpcs_at, [0, 2]);
    assert_eq!(validate_str_indexed(&texts[0], &with_current).kept_at, [1]);
}
