//! Every rule id of RULES.md has a test named after it (`R-Q-4` → `fn r_q_4_…`).

use std::path::{Path, PathBuf};

fn rules_md() -> PathBuf {
    std::env::var_os("KMS_SPEC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spec"))
        .join("RULES.md")
}

/// `R-XX-N` ids in the order they first appear.
fn rule_ids(text: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for (i, _) in text.match_indices("R-") {
        let rest = &text[i + 2..];
        let letters: String = rest.chars().take_while(|c| c.is_ascii_uppercase()).collect();
        let after = &rest[letters.len()..];
        let Some(digits_at) = after.strip_prefix('-') else {
            continue;
        };
        let digits: String = digits_at.chars().take_while(|c| c.is_ascii_digit()).collect();
        if letters.is_empty() || digits.is_empty() {
            continue;
        }
        let id = format!("R-{letters}-{digits}");
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

fn sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_rule_id_has_a_test() {
    let text = std::fs::read_to_string(rules_md()).expect("RULES.md beside the repository");
    let ids = rule_ids(&text);
    assert!(ids.len() > 50, "found only {} rule ids", ids.len());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut code = String::new();
    sources(&root.join("src"), &mut code);
    sources(&root.join("tests"), &mut code);
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| {
            let prefix = format!("fn {}_", id.to_lowercase().replace('-', "_"));
            !code.contains(&prefix)
        })
        .collect();
    assert!(missing.is_empty(), "rules without a test named after them: {missing:?}");
}
