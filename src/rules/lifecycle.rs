//! Instance lifecycle (RULES.md section 2): enabling each type with its prerequisites
//! and channel, completion, upgrade, renewal, expiry and the security audit; and
//! BindVpcs applied to the instance (section 4).

use crate::code::{Code, Problem};
use crate::limits::{self, count, MAX_ENTRIES, MAX_TEXT_BYTES};
use crate::rules::bind_vpcs;
use crate::rules::handler::{Effects, Failure, Handled};
use crate::rules::model::instance::{InstanceRecord, InstanceType, ProxyLink, Status, VSwitch};
use crate::rules::model::request::{BindVpc, Connect, ProxyParam, SpecChange};
use crate::rules::names::{self, NameKind};
use serde_json::Value;
use std::collections::BTreeSet;
use time::format_description::well_known::Rfc3339;
use time::{Month, OffsetDateTime};

/// R-LC-3: the HSM crypto user is fixed.
const HSM_USER: &str = "kmsuser";
const PEM_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----";

/// R-LC-2, R-LC-3, R-LC-4, R-LC-5, R-LC-6.
pub fn connect(inst: &mut InstanceRecord, p: &Connect) -> Handled {
    if inst.status != Status::PendingEnable {
        return Err(Problem::new(
            Code::AlreadyConnected,
            format!("the instance is {}; only a pendingEnable instance is enabled", inst.status.as_str()),
        )
        .rule("R-LC-1")
        .into());
    }
    match p.channel.as_str() {
        "console" => {}
        "api" if inst.kind == InstanceType::Software => {}
        "api" => {
            return Err(Problem::new(
                Code::ConsoleOnly,
                "hardware and external instances are enabled from the console only",
            )
            .rule("R-LC-5")
            .into())
        }
        other => {
            return Err(Problem::new(Code::Channel, format!("channel {other:?} is neither api nor console"))
                .at("/channel")
                .rule("R-LC-5")
                .into())
        }
    }
    names::validate(NameKind::VpcId, &p.vpc_id).map_err(|e| e.at("/vpcId"))?;
    limits::check("the number of vSwitches", p.v_switches.len(), MAX_ENTRIES).map_err(|e| e.at("/vSwitches"))?;
    for (i, vsw) in p.v_switches.iter().enumerate() {
        names::validate(NameKind::VswitchId, &vsw.id).map_err(|e| e.at(format!("/vSwitches/{i}/id")))?;
    }

    let zones = dual_zones(p)?;
    let (min_switches, min_ips, rule) = match inst.kind {
        InstanceType::Software => (2, 1, "R-LC-2"),
        InstanceType::Hardware => (2, 4, "R-LC-3"),
        InstanceType::External => (1, 1, "R-LC-4"),
    };
    let switch_zones: BTreeSet<&str> = p.v_switches.iter().map(|v| v.zone.as_str()).collect();
    if p.v_switches.len() < min_switches || switch_zones.len() < min_switches {
        return Err(dual_zone(format!("{min_switches} vSwitches in different zones are needed"), rule));
    }
    if let Some(v) = p.v_switches.iter().find(|v| !zones.contains(&v.zone)) {
        return Err(dual_zone(format!("vSwitch {} is in {}, outside the instance's zones", v.id, v.zone), rule));
    }
    if let Some(v) = p.v_switches.iter().find(|v| v.available_ips < min_ips) {
        return Err(Problem::new(
            Code::NoAvailableIp,
            format!("vSwitch {} has {} available IPs; {min_ips} are needed", v.id, v.available_ips),
        )
        .rule(rule)
        .into());
    }

    match inst.kind {
        InstanceType::Software => {}
        InstanceType::Hardware => {
            check_hsm(p)?;
            inst.hsm_cluster_id = p.hsm_cluster_id.clone();
        }
        InstanceType::External => {
            let proxy = p.proxy.as_ref().ok_or_else(|| {
                Problem::new(Code::ProxyConnectivity, "an external instance needs a proxy").rule("R-LC-4")
            })?;
            inst.proxy = Some(check_proxy(proxy, &zones)?);
        }
    }

    inst.status = Status::Enabling;
    inst.vpc_id = Some(p.vpc_id.clone());
    inst.zones = zones.into_iter().collect();
    inst.v_switches = p.v_switches.iter().map(|v| VSwitch { id: v.id.clone(), zone: v.zone.clone() }).collect();
    // R-LC-6: a hardware or external instance bought without secrets enables faster.
    let minutes = match inst.kind {
        InstanceType::Software => 30,
        _ if inst.spec.secret_quota > 0 => 30,
        _ => 10,
    };
    inst.expected_enable_minutes = Some(minutes);
    Ok(Effects { expected_enable_minutes: Some(minutes), ..Effects::default() })
}

fn dual_zone(message: String, rule: &'static str) -> Failure {
    Problem::new(Code::DualZone, message).rule(rule).into()
}

/// The instance's two zones: as given, or those of its vSwitches.
fn dual_zones(p: &Connect) -> Result<BTreeSet<String>, Failure> {
    let zones: BTreeSet<String> = match &p.zones {
        Some(z) => z.iter().cloned().collect(),
        None => p.v_switches.iter().map(|v| v.zone.clone()).collect(),
    };
    let given = p.zones.as_ref().map_or(zones.len(), Vec::len);
    if zones.len() != 2 || given != 2 || zones.iter().any(|z| z.is_empty() || z.len() > MAX_TEXT_BYTES) {
        return Err(dual_zone(
            format!(
                "dual-zone deployment needs exactly two different zones, each named in 1 to {MAX_TEXT_BYTES} bytes"
            ),
            "R-LC-2",
        ));
    }
    Ok(zones)
}

fn check_hsm(p: &Connect) -> Result<(), Problem> {
    let rule = "R-LC-3";
    if p.hsm_cluster_id.as_deref().is_none_or(|c| c.trim().is_empty() || c.len() > MAX_TEXT_BYTES) {
        return Err(Problem::new(Code::HsmCluster, "an HSM cluster id is required").at("/hsmClusterId").rule(rule));
    }
    if p.user.as_deref() != Some(HSM_USER) {
        return Err(Problem::new(Code::HsmUser, "the crypto user is always kmsuser").at("/user").rule(rule));
    }
    if p.password.as_ref().is_none_or(|s| s.0.is_empty()) {
        return Err(Problem::new(Code::HsmPassword, "the crypto user's password is required")
            .at("/password")
            .rule(rule));
    }
    if !p.certificate.as_deref().is_some_and(|c| c.trim_start().starts_with(PEM_CERTIFICATE)) {
        return Err(Problem::new(Code::Certificate, "expected a PEM root CA certificate")
            .at("/certificate")
            .rule(rule));
    }
    Ok(())
}

fn check_proxy(proxy: &ProxyParam, zones: &BTreeSet<String>) -> Result<ProxyLink, Problem> {
    let rule = "R-LC-4";
    let bad = |m: &str| Problem::new(Code::ProxyConnectivity, m).at("/proxy").rule(rule);
    let endpoint = match proxy.connectivity.as_str() {
        "public" => match proxy.domain.as_deref() {
            Some(d) if is_domain(d) => d.to_string(),
            _ => return Err(bad("public connectivity needs the proxy's domain name")),
        },
        "endpointService" => match &proxy.endpoint_service {
            Some(es) if es.id.len() > MAX_TEXT_BYTES || es.id.trim().is_empty() => {
                return Err(bad("the endpoint service's id is 1 to 256 bytes"))
            }
            Some(es) if es.zones.iter().cloned().collect::<BTreeSet<_>>() == *zones && es.zones.len() == 2 => {
                es.id.clone()
            }
            Some(_) => return Err(bad("the endpoint service's two zones must be the instance's zones")),
            None => return Err(bad("endpointService connectivity needs an endpoint service")),
        },
        _ => return Err(bad("connectivity is public or endpointService")),
    };
    let config = proxy.config.clone().unwrap_or_default();
    let filled = |s: &Option<String>| s.as_deref().is_some_and(|v| !v.trim().is_empty() && v.len() <= MAX_TEXT_BYTES);
    let manual = filled(&config.path)
        && filled(&config.certificate_fingerprint)
        && filled(&config.access_key_id)
        && config.access_key_secret.as_ref().is_some_and(|s| !s.0.is_empty());
    let file = config.file.as_ref().is_some_and(|f| !f.0.trim().is_empty());
    if !manual && !file {
        return Err(Problem::new(
            Code::ProxyConfig,
            "the proxy configuration needs path, certificate fingerprint, AccessKey id and secret, or a file",
        )
        .at("/proxy/config")
        .rule(rule));
    }
    Ok(ProxyLink {
        connectivity: proxy.connectivity.clone(),
        endpoint: Some(endpoint),
        access_key_id: if manual { config.access_key_id } else { None },
    })
}

fn is_domain(d: &str) -> bool {
    d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The wait of R-LC-6 is over.
pub fn complete_enable(inst: &mut InstanceRecord) -> Handled {
    if inst.status != Status::Enabling {
        return Err(Problem::new(Code::NotEnabling, format!("the instance is {}, not enabling", inst.status.as_str()))
            .rule("R-LC-6")
            .into());
    }
    inst.status = Status::Enabled;
    inst.expected_enable_minutes = None;
    Ok(Effects::default())
}

/// R-LC-7: new specifications, never below what is in use.
pub fn upgrade(inst: &mut InstanceRecord, spec: &SpecChange) -> Handled {
    let values = [spec.access_management_quota, spec.key_quota, spec.secret_quota, spec.compute_units];
    if values.iter().all(Option::is_none) {
        return Err(Problem::new(Code::Spec, "name at least one specification to change")
            .at("/spec")
            .rule("R-LC-7")
            .into());
    }
    let over = [
        ("accessManagementQuota", spec.access_management_quota),
        ("keyQuota", spec.key_quota),
        ("secretQuota", spec.secret_quota),
    ]
    .into_iter()
    .find(|(_, v)| v.is_some_and(|v| usize::try_from(v).map_or(true, |v| v > MAX_ENTRIES)));
    if let Some((name, _)) = over {
        return Err(Problem::new(Code::Spec, format!("{name} is at most {MAX_ENTRIES}, the library's limit"))
            .at(format!("/spec/{name}"))
            .rule("R-LC-7")
            .into());
    }
    if spec.compute_units == Some(0) {
        return Err(Problem::new(Code::Spec, "compute units must be positive")
            .at("/spec/computeUnits")
            .rule("R-LC-7")
            .into());
    }
    let below = |name: &str, new: Option<u32>, used: u32| {
        new.filter(|&n| n < used).map(|n| {
            Problem::new(Code::QuotaBelowUsage, format!("{name} {n} is below the {used} in use"))
                .at(format!("/spec/{name}"))
                .rule("R-LC-7")
        })
    };
    let problems: Vec<Problem> = [
        below("accessManagementQuota", spec.access_management_quota, inst.quota_used()),
        below("keyQuota", spec.key_quota, count(inst.keys.len())),
        below("secretQuota", spec.secret_quota, count(inst.secrets.len())),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !problems.is_empty() {
        return Err(Failure::all(problems));
    }
    let s = &mut inst.spec;
    s.access_management_quota = spec.access_management_quota.unwrap_or(s.access_management_quota);
    s.key_quota = spec.key_quota.unwrap_or(s.key_quota);
    s.secret_quota = spec.secret_quota.unwrap_or(s.secret_quota);
    s.compute_units = spec.compute_units.or(s.compute_units);
    Ok(Effects::default())
}

/// R-LC-8: whole months, 1 to 36. The term runs on from the current expiry when that
/// is still ahead, else from now.
pub fn renew(inst: &mut InstanceRecord, months: i64, now: OffsetDateTime) -> Handled {
    let months = u8::try_from(months).ok().filter(|m| (1..=36).contains(m)).ok_or_else(|| {
        Problem::new(Code::Months, format!("{months} months: renew for 1 to 36 months")).at("/months").rule("R-LC-8")
    })?;
    let from = inst.expires_at.filter(|e| *e > now).unwrap_or(now);
    let until = add_months(from, months).filter(|t| t.format(&Rfc3339).is_ok()).ok_or_else(|| {
        Problem::new(Code::LimitExceeded, format!("renewing for {months} months would run past 9999-12-31"))
            .at("/months")
            .rule("R-LC-8")
    })?;
    inst.expires_at = Some(until);
    inst.status = Status::Enabled;
    Ok(Effects::default())
}

/// Calendar months; a day past the end of the target month becomes its last day.
/// `None` when the result is past the calendar's range.
fn add_months(t: OffsetDateTime, months: u8) -> Option<OffsetDateTime> {
    let total =
        t.year().checked_mul(12)?.checked_add(i32::from(u8::from(t.month())))?.checked_add(i32::from(months))?;
    // `total` counts months from year 0 with January as 1.
    let zero_based = total.checked_sub(1)?;
    let (year, month) = (
        zero_based.div_euclid(12),
        Month::try_from(u8::try_from(zero_based.rem_euclid(12)).ok()?.checked_add(1)?).ok()?,
    );
    let day = t.day().min(month.length(year));
    t.replace_day(1)
        .and_then(|t| t.replace_year(year))
        .and_then(|t| t.replace_month(month))
        .and_then(|t| t.replace_day(day))
        .ok()
}

/// The subscription ran out.
pub fn expire(inst: &mut InstanceRecord) -> Handled {
    if inst.status != Status::Enabled {
        return Err(Problem::new(
            Code::InstanceNotEnabled,
            format!("only an enabled instance expires; this one is {}", inst.status.as_str()),
        )
        .rule("R-LC-1")
        .into());
    }
    inst.status = Status::Expired;
    Ok(Effects::default())
}

/// R-LC-9.
pub fn enable_audit(inst: &mut InstanceRecord, bucket: &str) -> Handled {
    names::validate(NameKind::Bucket, bucket).map_err(|e| e.at("/bucket"))?;
    inst.audit_bucket = Some(bucket.to_string());
    Ok(Effects::default())
}

/// R-BV-1…10 against the instance: replace its bound VPCs, within the quota.
pub fn bind_vpcs(inst: &mut InstanceRecord, p: &BindVpc) -> Handled {
    let ctx = bind_vpcs::Context { network: p.network.clone(), ..bind_vpcs::Context::of(inst) };
    let report = match &p.bind_vpcs {
        Value::String(s) => bind_vpcs::validate_in_check_order(s, &ctx),
        other => bind_vpcs::validate_value(other, &ctx),
    };
    if !report.ok {
        return Err(Failure { problems: report.errors, omitted: report.omitted });
    }
    inst.bound_vpcs = report.vpcs.clone();
    Ok(Effects { warnings: report.warnings.clone(), bind_vpcs: Some(report), ..Effects::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn r_lc_8_months_are_calendar_months() {
        assert_eq!(add_months(datetime!(2026-01-31 10:00 UTC), 1), Some(datetime!(2026-02-28 10:00 UTC)));
        assert_eq!(add_months(datetime!(2026-11-15 0:00 UTC), 2), Some(datetime!(2027-01-15 0:00 UTC)));
        assert_eq!(add_months(datetime!(2024-02-29 0:00 UTC), 12), Some(datetime!(2025-02-28 0:00 UTC)));
        assert_eq!(add_months(datetime!(2026-03-01 0:00 UTC), 36), Some(datetime!(2029-03-01 0:00 UTC)));
    }

    #[test]
    fn r_lc_8_the_calendar_has_edges() {
        assert_eq!(add_months(datetime!(9999-11-30 0:00 UTC), 1), Some(datetime!(9999-12-30 0:00 UTC)));
        assert_eq!(add_months(datetime!(9999-12-01 0:00 UTC), 1), None);
        assert_eq!(add_months(datetime!(0000-01-31 0:00 UTC), 1), Some(datetime!(0000-02-29 0:00 UTC)));
        assert_eq!(add_months(datetime!(2026-01-31 23:59 +23:59), 1), Some(datetime!(2026-02-28 23:59 +23:59)));
        assert_eq!(add_months(datetime!(2026-01-31 00:00 -23:59), 36), Some(datetime!(2029-01-31 00:00 -23:59)));
    }
}
