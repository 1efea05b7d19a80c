//! `kms-instance`: run change plans and validate inputs from the command line.
//!
//! Exit status: 0 when everything matched or was valid, 1 when a plan did not match
//! or an input is invalid, 2 when the command itself could not run (a missing file,
//! a malformed plan), with a one-line reason.

use clap::{Parser, Subcommand};
use kms_instance::bind_vpcs::{self, Context, Report};
use kms_instance::names::{self, NameKind};
use kms_instance::plan::{self, PlanResult};
use std::io::Read;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kms-instance",
    version,
    about = "The rules of an Alibaba Cloud KMS instance: simulate change plans, validate inputs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run change plans (SCENARIOS.md) and report each step against what it expects.
    Plan {
        /// Plan files (JSON).
        #[arg(required = true)]
        files: Vec<String>,
        /// Print the results as JSON, one array of plan results.
        #[arg(long)]
        json: bool,
    },
    /// Validate an input the way the service does.
    #[command(subcommand)]
    Validate(Validate),
}

#[derive(Subcommand)]
enum Validate {
    /// Validate the BindVpcs JSON of UpdateKmsInstanceBindVpc; every problem is reported.
    BindVpcs {
        /// The instance's region (R-BV-4).
        #[arg(long)]
        region: String,
        /// The instance owner's account id: cross-account VPCs are flagged (R-BV-8).
        #[arg(long)]
        owner: Option<String>,
        /// The instance's own VPC, which cannot be listed (R-BV-6).
        #[arg(long)]
        primary_vpc: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The file holding the JSON; `-` or nothing reads standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Validate an identifier or a name (RULES.md section 1).
    Name {
        /// What the value is.
        #[arg(value_enum)]
        kind: NameKind,
        value: String,
    },
}

/// A failure of the command itself: reported in one line, exit status 2.
struct Fatal(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan { files, json } => run_plans(&files, json),
        Command::Validate(Validate::BindVpcs {
            region,
            owner,
            primary_vpc,
            json,
            file,
        }) => validate_bind_vpcs(
            Context {
                region,
                owner,
                primary_vpc,
                ..Context::default()
            },
            &file,
            json,
        ),
        Command::Validate(Validate::Name { kind, value }) => Ok(validate_name(kind, &value)),
    };
    result.unwrap_or_else(|Fatal(message)| {
        eprintln!("kms-instance: {message}");
        ExitCode::from(2)
    })
}

fn read_input(file: &str) -> Result<String, Fatal> {
    if file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Fatal(format!("standard input: {e}")))?;
        Ok(s)
    } else {
        std::fs::read_to_string(file).map_err(|e| Fatal(format!("{file}: {e}")))
    }
}

fn run_plans(files: &[String], json: bool) -> Result<ExitCode, Fatal> {
    // Every file is read and parsed before any runs: a malformed one stops all (exit 2).
    let plans = files
        .iter()
        .map(|f| {
            let text = read_input(f)?;
            plan::Plan::from_json(&text)
                .map(|p| (f, p))
                .map_err(|e| Fatal(format!("{f}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let results: Vec<(&String, PlanResult)> = plans.iter().map(|(f, p)| (*f, p.run())).collect();
    if json {
        let all: Vec<&PlanResult> = results.iter().map(|(_, r)| r).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&all).map_err(|e| Fatal(e.to_string()))?
        );
    } else {
        for (file, result) in &results {
            print_plan(file, result);
        }
    }
    let all_matched = results.iter().all(|(_, r)| r.matched);
    Ok(if all_matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_plan(file: &str, result: &PlanResult) {
    println!("plan {file}: {}", result.name);
    for s in &result.steps {
        let mut outcome = match s.errors.first() {
            None => "ok".to_string(),
            Some(code) if s.errors.len() == 1 => code.to_string(),
            Some(code) => format!("{code} (+{} more)", s.errors.len() - 1),
        };
        if !s.warnings.is_empty() {
            let w: Vec<&str> = s.warnings.iter().map(|c| c.as_str()).collect();
            outcome.push_str(&format!(", {}", w.join(", ")));
        }
        if s.ok && !s.failed_principals.is_empty() {
            outcome.push_str(&format!(", failed: {}", s.failed_principals.join(" ")));
        }
        let verdict = if s.matched {
            "matched".to_string()
        } else {
            format!("DIFFERS: {}", s.differences.join("; "))
        };
        println!(
            "  {:>2}  {:<16}  {:<28}  {:<48}  quota {}/{}  {verdict}",
            s.index, s.caller, s.action, outcome, s.quota_used, s.quota_purchased
        );
    }
    let matched = result.steps.iter().filter(|s| s.matched).count();
    println!("  {matched} of {} steps matched\n", result.steps.len());
}

fn validate_bind_vpcs(ctx: Context, file: &str, json: bool) -> Result<ExitCode, Fatal> {
    names::validate(NameKind::RegionId, &ctx.region)
        .map_err(|p| Fatal(format!("--region: {}", p.message)))?;
    let input = read_input(file)?;
    let report = bind_vpcs::validate_str(&input, &ctx);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Fatal(e.to_string()))?
        );
    } else {
        print_report(&report);
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_report(report: &Report) {
    if report.ok {
        println!("valid: {} VPC(s) to bind", report.vpcs.len());
        for v in &report.vpcs {
            println!(
                "  {} via {} (owner {})",
                v.vpc_id, v.v_switch_id, v.vpc_owner_id
            );
        }
    } else {
        println!("invalid: {} problem(s)", report.errors.len());
        for p in &report.errors {
            println!(
                "  {:<16} {:<44} {}",
                p.path.as_deref().unwrap_or(""),
                p.code,
                p.message
            );
        }
    }
    for w in &report.warnings {
        println!(
            "  warning {:<8} {:<36} {}",
            w.path.as_deref().unwrap_or(""),
            w.code,
            w.message
        );
    }
}

fn validate_name(kind: NameKind, value: &str) -> ExitCode {
    match names::validate(kind, value) {
        Ok(()) => {
            println!("valid {} ({})", kind_name(kind), kind.rule());
            ExitCode::SUCCESS
        }
        Err(p) => {
            println!(
                "invalid {}: {} ({}): {}",
                kind_name(kind),
                p.code,
                kind.rule(),
                p.message
            );
            ExitCode::from(1)
        }
    }
}

fn kind_name(kind: NameKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
