//! `kms-instance validate`: BindVpcs documents and names, as the service checks them.

use super::io::{read_bytes, write_stdout, Fatal};
use kms_instance::bind_vpcs::{self, Context, Report};
use kms_instance::code::Problem;
use kms_instance::limits::MAX_BIND_VPCS_BYTES;
use kms_instance::names::{self, NameKind};
use std::fmt::Write as _;
use std::process::ExitCode;

pub fn validate_bind_vpcs(ctx: Context, file: &str, json: bool) -> Result<ExitCode, Fatal> {
    ctx.check().map_err(|p| {
        let flag = match p.path.as_deref() {
            Some("/context/owner") => "--owner",
            Some("/context/primaryVpc") => "--primary-vpc",
            _ => "--region",
        };
        Fatal(format!("{flag}: {p}"))
    })?;
    // A region of the right form that is not published is most likely misspelt: every
    // entry would then be cross-region. Said first, on standard error.
    if let Some(w) = ctx.region.as_deref().and_then(kms_instance::regions::unknown) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "kms-instance: warning: --region: {w}");
    }
    // Not UTF-8 or past the limit: the report says so (exit 1), as for any bad input.
    let input = read_bytes(file, MAX_BIND_VPCS_BYTES)?;
    let report = bind_vpcs::validate_bytes(&input, &ctx);
    let out = if json {
        serde_json::to_string_pretty(&report).map_err(|e| Fatal(e.to_string()))? + "\n"
    } else {
        print_report(&report, file)
    };
    write_stdout(out.as_bytes())?;
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Each problem leads with `file:line:column`, as compilers print them, so an editor's
/// terminal can jump to it.
fn print_report(report: &Report, file: &str) -> String {
    let file = if file == "-" { "<stdin>" } else { file };
    let at = |p: &Problem| p.place.as_deref().map_or_else(|| file.to_string(), |place| format!("{file}:{place}"));
    let mut out = String::new();
    if report.ok {
        let _ = writeln!(out, "valid: {} VPC(s) to bind", report.vpcs.len());
        for v in &report.vpcs {
            let _ = writeln!(out, "  {} via {} (owner {})", v.vpc_id, v.v_switch_id, v.vpc_owner_id);
        }
    } else {
        let found = report.errors.len().saturating_add(report.omitted);
        let _ = writeln!(out, "invalid: {found} problem(s)");
        for p in &report.errors {
            let _ = writeln!(out, "  {}: {} {} at {}: {}", at(p), p.code, p.rule.unwrap_or(""), pointer(p), p.message);
        }
        if report.omitted > 0 {
            let _ = writeln!(out, "  … and {} more, not listed", report.omitted);
        }
    }
    for w in &report.warnings {
        let _ = writeln!(out, "  {}: warning {} at {}: {}", at(w), w.code, pointer(w), w.message);
    }
    out
}

fn pointer(p: &Problem) -> &str {
    match p.path.as_deref() {
        None | Some("") => "(document)",
        Some(path) => path,
    }
}

pub fn validate_name(kind: NameKind, value: &str) -> Result<ExitCode, Fatal> {
    match names::validate(kind, value) {
        Ok(()) => {
            let mut line = format!("valid {} ({})", kind.name(), kind.rule());
            if let Some(w) = names::warning(kind, value) {
                line.push_str(&format!("; {}: {}", w.code, w.message));
            }
            write_stdout(format!("{line}\n").as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(p) => {
            let line = format!("invalid {}: {} ({}): {}\n", kind.name(), p.code, kind.rule(), p.message);
            write_stdout(line.as_bytes())?;
            Ok(ExitCode::from(1))
        }
    }
}
