//! The reference pages made from the code: docs/reference/codes.md from the `Code` enum
//! (with what RULES.md section 10 says of each), docs/reference/cli.md from the CLI's
//! clap definitions. A page that differs from what the code makes fails the test; run
//! `KMS_BLESS=1 cargo test --test docs` to write it anew.

use kms_instance::Code;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Compares a generated page with the committed one, or writes it when blessing.
fn check_page(path: &str, made: &str) {
    let file = Path::new(ROOT).join(path);
    if std::env::var_os("KMS_BLESS").is_some() {
        std::fs::write(&file, made).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(committed == made, "{path} is not what the code makes: run KMS_BLESS=1 cargo test --test docs");
}

/// RULES.md section 10's rows: (what the row names, when).
fn rules_rows() -> Vec<(String, String)> {
    let shared = std::env::var("KMS_SHARED").unwrap_or_else(|_| format!("{ROOT}/../shared"));
    let rules = std::fs::read_to_string(format!("{shared}/spec/RULES.md")).unwrap();
    let section = rules.split("## 10. Error codes").nth(1).unwrap().split("\n## ").next().unwrap();
    let mut rows: Vec<(String, String)> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            Some((cells.first()?.to_string(), cells.get(1)?.to_string()))
        })
        .collect();
    // The warnings are a sentence: "`Warning.X` (when), …".
    let warnings = section.split("Warnings (the step succeeds):").nth(1).unwrap_or_default().replace('\n', " ");
    for item in warnings.split("`Warning.").skip(1) {
        if let Some((name, rest)) = item.split_once("` (") {
            let when = rest.split(')').next().unwrap_or_default();
            rows.push((format!("`Warning.{name}`"), when.to_string()));
        }
    }
    rows
}

/// What RULES.md says of `code`, if it names it.
fn said_of(code: &str, rows: &[(String, String)]) -> Option<String> {
    let quoted = |s: &str| format!("`{s}`");
    for (names, when) in rows {
        if names.contains(&quoted(code)) {
            return Some(when.clone());
        }
        // `InvalidParameter.<Field>` and `InvalidParameter.BindVpcs.*` list their fields in `when`.
        for (family, prefix) in [
            ("`InvalidParameter.<Field>`", "InvalidParameter."),
            ("`InvalidParameter.BindVpcs.*`", "InvalidParameter.BindVpcs."),
        ] {
            let field = code.strip_prefix(prefix).filter(|f| !f.contains('.'));
            if names == family && field.is_some_and(|f| when.contains(&quoted(f))) {
                return Some(if prefix.ends_with("BindVpcs.") {
                    "R-BV-1…6".into()
                } else {
                    "a field fails its format".into()
                });
            }
        }
    }
    None
}

/// The doc comment of each code this project adds, from `src/code.rs`.
fn source_docs() -> Vec<(String, String)> {
    let source = std::fs::read_to_string(format!("{ROOT}/src/code.rs")).unwrap();
    let block = source.split("codes! {").nth(1).unwrap().split("\n}").next().unwrap();
    let (mut doc, mut out) = (Vec::new(), Vec::new());
    for line in block.lines().map(str::trim) {
        if let Some(text) = line.strip_prefix("/// ") {
            doc.push(text);
        } else if let Some((_, code)) = line.split_once(" = \"") {
            out.push((code.trim_end_matches("\",").to_string(), doc.join(" ")));
            doc.clear();
        }
    }
    out
}

fn codes_page() -> String {
    let rows = rules_rows();
    let docs = source_docs();
    let mut page = String::from(
        "# Error and warning codes\n\n\
         Made from the `Code` enum (`src/code.rs`) by `tests/docs.rs`: every code the crate, the CLI \
         and the package can give. Match on the code, never on the message. \"RULES.md\" is what \
         section 10 of `../shared/spec/RULES.md` says of it; a code it does not list is this \
         project's, and [the decisions](../design/decisions.md) say why.\n",
    );
    let family = |code: &Code| code.as_str().split('.').next().unwrap_or_default().to_string();
    let mut families: Vec<String> = Code::ALL.iter().map(family).collect();
    families.dedup();
    let mut seen = std::collections::HashSet::new();
    for name in families.into_iter().filter(|f| seen.insert(f.clone())) {
        page += &format!("\n## {name}\n\n| code | when |\n|---|---|\n");
        for code in Code::ALL.iter().filter(|c| family(c) == name) {
            let text = code.as_str();
            let when = match said_of(text, &rows) {
                Some(when) => format!("RULES.md: {when}"),
                None => {
                    let doc = docs.iter().find(|(c, _)| c == text).map(|(_, d)| d.as_str()).unwrap_or_default();
                    assert!(!doc.is_empty(), "{text}: RULES.md does not list it, so src/code.rs must say when");
                    format!("this project's: {doc}")
                }
            };
            page += &format!("| `{text}` | {} |\n", when.replace('|', "\\|"));
        }
    }
    page
}

#[test]
fn the_codes_page_is_the_code_enum() {
    let page = codes_page();
    for code in Code::ALL {
        assert!(page.contains(&format!("`{}`", code.as_str())), "{code}");
    }
    check_page("docs/reference/codes.md", &page);
}

#[test]
fn the_cli_page_is_the_clap_definitions() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kms-instance")).arg("markdown-help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let page = format!(
        "<!-- Made from the CLI's clap definitions by tests/docs.rs (kms-instance markdown-help): do not edit. -->\n\n{help}"
    );
    for command in ["encrypt", "decrypt", "keyring new", "xks-proxy", "serve"] {
        assert!(page.contains(&format!("## `kms-instance {command}`")), "{command}");
    }
    check_page("docs/reference/cli.md", &page);
}
