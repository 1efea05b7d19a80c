//! Alibaba Cloud's published region ids, as its documentation listed them on the date
//! below ("Regions and zones" and the services' endpoint pages). A region id of the
//! right form that is not among them is warned of, with the nearest one (it is most
//! likely misspelt), never refused: a region opened since is not a mistake.

use crate::code::{Code, Problem};

/// When the table was read.
pub const PUBLISHED_AS_OF: &str = "2026-12-05";

/// The region ids: the public cloud's, then the finance cloud's.
pub const REGIONS: &[&str] = &[
    "cn-hangzhou",
    "cn-shanghai",
    "cn-qingdao",
    "cn-beijing",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-shenzhen",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-chengdu",
    "cn-hongkong",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ap-southeast-8",
    "us-east-1",
    "us-west-1",
    "us-southeast-1",
    "eu-central-1",
    "eu-west-1",
    "me-east-1",
    "me-central-1",
    "cn-shanghai-finance-1",
    "cn-shenzhen-finance-1",
    "cn-beijing-finance-1",
];
// Left out: the government cloud's `cn-north-2-gov-1`, which R-ID-4's pattern (at most
// four words) refuses; RULES.md and the published list differ there (docs/design/decisions.md).

/// The warning for `region`, a region id of the right form, when it is not published.
pub fn unknown(region: &str) -> Option<Problem> {
    if REGIONS.contains(&region) {
        return None;
    }
    let shown: String = region.chars().take(64).collect();
    let hint = match super::names::nearest(&shown, REGIONS) {
        Some(r) => format!("; did you mean {r:?}?"),
        None => String::new(),
    };
    Some(
        Problem::new(
            Code::WarnUnknownRegion,
            format!("{shown:?} is not one of Alibaba Cloud's published regions (as of {PUBLISHED_AS_OF}){hint}"),
        )
        .rule("R-ID-4"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_region_passes_and_a_misspelt_one_is_named_with_the_nearest() {
        assert!(REGIONS
            .iter()
            .all(|r| crate::rules::names::validate(crate::rules::names::NameKind::RegionId, r).is_ok()));
        assert!(unknown("cn-hangzhou").is_none());
        let p = unknown("cn-hangzou").unwrap();
        assert_eq!(p.code, Code::WarnUnknownRegion);
        assert!(p.message.contains("did you mean \"cn-hangzhou\"?"), "{}", p.message);
        assert!(!unknown("xx-nowhere-9").unwrap().message.contains("did you mean"));
    }
}
