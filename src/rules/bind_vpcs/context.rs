//! What a BindVpcs document is checked against: the instance's facts a caller knows.

use crate::code::Problem;
use crate::rules::model::instance::{BoundVpc, InstanceRecord};
use crate::rules::model::params::Network;
use crate::rules::names::{self, NameKind};
use serde::{Deserialize, Serialize};

/// What the validation is checked against: each field enables the rules that need it
/// (a console form may not know the instance yet).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Context {
    /// R-BV-4: the instance's region.
    #[serde(default)]
    pub region: Option<String>,
    /// R-BV-8: the instance owner's account id.
    #[serde(default)]
    pub owner: Option<String>,
    /// R-BV-6: the instance's own VPC.
    #[serde(default)]
    pub primary_vpc: Option<String>,
    /// R-BV-7, R-BV-8.
    #[serde(default)]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "Record<string, VSwitchFacts>"))]
    pub network: Option<Network>,
    /// The VPCs bound now, for the added/removed/kept report.
    #[serde(default)]
    pub current: Vec<BoundVpc>,
    /// R-BV-9: the quota, when known.
    #[serde(default)]
    pub quota: Option<QuotaContext>,
}

impl Context {
    /// What UpdateKmsInstanceBindVpc checks a document against on this instance: its
    /// region, owner, own VPC, the VPCs bound now and its quota, with the accounts its
    /// share has associated (R-Q-1). A console checks a form against the same. The
    /// vSwitch facts (R-BV-7, R-BV-8) come with a request, not from the instance: none here.
    pub fn of(instance: &InstanceRecord) -> Context {
        Context {
            region: Some(instance.region_id.clone()),
            owner: Some(instance.owner_id.clone()),
            primary_vpc: instance.vpc_id.clone(),
            network: None,
            current: instance.bound_vpcs.clone(),
            quota: Some(QuotaContext {
                purchased: instance.spec.access_management_quota,
                principals: instance.share.as_ref().map_or(0, |s| s.associated_count()),
            }),
        }
    }

    /// The context's own ids in their formats (R-ID-2, R-ID-4, R-ID-5): a context is the
    /// caller's configuration, so a bad one is an error (`InvalidParameter.RegionId`, …
    /// at `/context/…`), not a problem of the document.
    pub fn check(&self) -> Result<(), Problem> {
        let fields = [
            ("region", NameKind::RegionId, &self.region),
            ("owner", NameKind::AccountId, &self.owner),
            ("primaryVpc", NameKind::VpcId, &self.primary_vpc),
        ];
        for (name, kind, value) in fields {
            if let Some(value) = value {
                names::validate(kind, value).map_err(|p| p.at(format!("/context/{name}")))?;
            }
        }
        Ok(())
    }
}

/// The quota facts that R-BV-9 checks the new set against.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaContext {
    /// The purchased access management quota.
    pub purchased: u32,
    /// Accounts the instance is shared with (they count too, R-Q-1).
    #[serde(default)]
    pub principals: u32,
}
