//! `kms-instance plan`: run change plans and report each step against what it expects.

use super::io::{read_text, write_stdout, Fatal};
use kms_instance::limits::MAX_DOCUMENT_BYTES;
use kms_instance::plan::{self, PlanResult};
use kms_instance::Code;
use std::fmt::Write as _;
use std::process::ExitCode;

/// Runs `files` in the library, or against `endpoint` (its URL and the seed it was
/// started with).
pub fn run_plans(files: &[String], json: bool, endpoint: Option<(&str, &str)>) -> Result<ExitCode, Fatal> {
    // Every file is read and parsed before any runs: a malformed one stops all (exit 2).
    let plans = files
        .iter()
        .map(|f| {
            let text = read_text(f, MAX_DOCUMENT_BYTES, Code::Plan)?;
            plan::Plan::from_json(&text).map(|p| (f, p)).map_err(|e| {
                // `file:line:column`, as compilers print it.
                let place = e.problem().place.as_deref().map_or_else(String::new, |place| format!(":{place}"));
                Fatal(format!("{f}{place}: {e}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let results: Vec<(&String, PlanResult)> = match endpoint {
        None => plans.iter().map(|(f, p)| (*f, p.run())).collect(),
        Some((url, seed)) => {
            let run = on_endpoint(plans.iter().map(|(_, p)| p), url, seed)?;
            plans.iter().map(|(f, _)| *f).zip(run).collect()
        }
    };
    let mut out = String::new();
    if json {
        let all: Vec<&PlanResult> = results.iter().map(|(_, r)| r).collect();
        out = serde_json::to_string_pretty(&all).map_err(|e| Fatal(e.to_string()))? + "\n";
    } else {
        for (file, result) in &results {
            print_plan(&mut out, file, result);
        }
    }
    write_stdout(out.as_bytes())?;
    let all_matched = results.iter().all(|(_, r)| r.matched);
    Ok(if all_matched { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print_plan(out: &mut String, file: &str, result: &PlanResult) {
    let _ = writeln!(out, "plan {file}: {}", result.name);
    for s in &result.steps {
        let mut outcome = match s.errors.first() {
            None => "ok".to_string(),
            Some(code) if s.errors.len() == 1 => code.to_string(),
            Some(code) => format!("{code} (+{} more)", s.errors.len().saturating_sub(1)),
        };
        if !s.warnings.is_empty() {
            let w: Vec<&str> = s.warnings.iter().map(|c| c.as_str()).collect();
            outcome.push_str(&format!(", {}", w.join(", ")));
        }
        if s.ok && !s.failed_principals.is_empty() {
            outcome.push_str(&format!(", failed: {}", s.failed_principals.join(" ")));
        }
        let verdict = if s.matched { "matched".to_string() } else { format!("DIFFERS: {}", s.differences.join("; ")) };
        let _ = writeln!(
            out,
            "  {:>2}  {:<16}  {:<28}  {:<48}  quota {}/{}  {verdict}",
            s.index, s.caller, s.action, outcome, s.quota_used, s.quota_purchased
        );
    }
    let matched = result.steps.iter().filter(|s| s.matched).count();
    let _ = writeln!(out, "  {matched} of {} steps matched\n", result.steps.len());
}

#[cfg(feature = "kms-server")]
fn on_endpoint<'a>(
    plans: impl Iterator<Item = &'a plan::Plan>,
    url: &str,
    seed: &str,
) -> Result<Vec<PlanResult>, Fatal> {
    let endpoint = super::plan_endpoint::Endpoint::open(url, seed)?;
    Ok(plans.map(|p| endpoint.run(p)).collect())
}

#[cfg(not(feature = "kms-server"))]
fn on_endpoint<'a>(_: impl Iterator<Item = &'a plan::Plan>, _: &str, _: &str) -> Result<Vec<PlanResult>, Fatal> {
    Err(Fatal("--endpoint: this build has no KMS endpoint client (feature kms-server)".into()))
}

/// A hardware instance's token for the seed: the module, the token's label, the PIN's variable.
pub type TokenArgs = (std::path::PathBuf, String, String);

/// `plan FILE --write-seed SEED`: a seed of the plan's world for `serve` (one plan).
#[cfg(feature = "kms-server")]
pub fn write_seed(files: &[String], out: &str, token: Option<TokenArgs>) -> Result<ExitCode, Fatal> {
    use kms_instance::kms_server::seed::{seed_of, Token};
    let [file] = files else { return Err(Fatal("--write-seed: give one plan".into())) };
    let text = read_text(file, MAX_DOCUMENT_BYTES, Code::Plan)?;
    let plan = plan::Plan::from_json(&text).map_err(|e| Fatal(format!("{file}: {e}")))?;
    // The seed names the module relative to itself: an absolute path holds wherever it is written.
    let token = match token {
        Some((module, token, pin_env)) => {
            let module = std::path::absolute(&module).map_err(|e| Fatal(format!("--pkcs11-module: {e}")))?;
            Some(Token { module, token, pin_env })
        }
        None => None,
    };
    let seed = seed_of(&plan, token.as_ref()).map_err(|p| Fatal(format!("--write-seed: {p}")))?;
    let json = serde_json::to_string_pretty(&seed).map_err(|e| Fatal(e.to_string()))?;
    std::fs::write(out, json + "\n").map_err(|e| Fatal(format!("{out}: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "kms-server"))]
pub fn write_seed(_: &[String], _: &str, _: Option<TokenArgs>) -> Result<ExitCode, Fatal> {
    Err(Fatal("--write-seed: this build has no KMS endpoint (feature kms-server)".into()))
}
