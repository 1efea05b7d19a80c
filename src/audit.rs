//! Audit records (RULES.md section 9) and their log line.
//!
//! The seed's sample line repeats itself; read once, it has sixteen whitespace-separated
//! fields with `-` for an empty one. This project writes exactly these sixteen fields:
//!
//! ```text
//!  1 time (RFC 3339, UTC)      2 [LEVEL]     3 -            4 -
//!  5 request id                6 action      7 -            8 credential (masked)
//!  9 caller account           10 owner      11 -           12 instance id
//! 13 -                        14 latency ms 15 -           16 result (Success or a code)
//! ```
//!
//! The seed's time has no zone (`2021-10-19T21:40:01`); RULES.md asks for RFC 3339, so
//! the line carries `Z`. The seed leaves the last field empty; this project puts the
//! result there, so a reader sees failures without another source.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Info,
    Error,
}

#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "string"))]
    pub time: OffsetDateTime,
    pub level: Level,
    pub request_id: String,
    pub action: String,
    /// Already masked: at most the first eight characters of a long credential.
    pub credential: Option<String>,
    pub caller: String,
    pub owner: String,
    pub instance_id: String,
    pub latency_ms: u64,
    /// `Success`, or the code of the first error.
    pub result: String,
}

const FIELDS: usize = 16;

/// Masks a credential (an AccessKey id or an STS token) for the log: a long one keeps
/// its first eight characters, so an operator can tell keys apart; a short one is
/// hidden whole, since eight characters would be most of it.
pub fn mask_credential(credential: &str) -> String {
    const SHOWN: usize = 8;
    if credential.chars().count() >= 2 * SHOWN {
        let head: String = credential.chars().take(SHOWN).filter(|c| !c.is_whitespace()).collect();
        format!("{head}****")
    } else {
        "****".to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit line: {0}")]
pub struct ParseError(String);

fn field(value: &str) -> &str {
    if value.is_empty() {
        "-"
    } else {
        value
    }
}

impl fmt::Display for AuditRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let time = self.time.format(&Rfc3339).map_err(|_| fmt::Error)?;
        let level = match self.level {
            Level::Info => "[INFO]",
            Level::Error => "[ERROR]",
        };
        write!(
            f,
            "{time} {level} - - {} {} - {} {} {} - {} - {} - {}",
            field(&self.request_id),
            field(&self.action),
            field(self.credential.as_deref().unwrap_or("")),
            field(&self.caller),
            field(&self.owner),
            field(&self.instance_id),
            self.latency_ms,
            field(&self.result),
        )
    }
}

impl std::str::FromStr for AuditRecord {
    type Err = ParseError;

    /// Parses a line this module wrote.
    fn from_str(line: &str) -> Result<Self, ParseError> {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != FIELDS {
            return Err(ParseError(format!("expected {FIELDS} fields, found {}", f.len())));
        }
        for i in [2, 3, 6, 10, 12, 14] {
            if f[i] != "-" {
                return Err(ParseError(format!("field {} should be `-`, found {:?}", i + 1, f[i])));
            }
        }
        let time = OffsetDateTime::parse(f[0], &Rfc3339).map_err(|e| ParseError(format!("time {:?}: {e}", f[0])))?;
        let level = match f[1] {
            "[INFO]" => Level::Info,
            "[ERROR]" => Level::Error,
            other => return Err(ParseError(format!("unknown level {other:?}"))),
        };
        let text = |s: &str| {
            if s == "-" {
                String::new()
            } else {
                s.to_string()
            }
        };
        let latency_ms = f[13].parse().map_err(|_| ParseError(format!("latency {:?} is not a number", f[13])))?;
        Ok(AuditRecord {
            time,
            level,
            request_id: text(f[4]),
            action: text(f[5]),
            credential: (f[7] != "-").then(|| f[7].to_string()),
            caller: text(f[8]),
            owner: text(f[9]),
            instance_id: text(f[11]),
            latency_ms,
            result: text(f[15]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn record() -> AuditRecord {
        AuditRecord {
            time: datetime!(2021-10-19 21:40:01 UTC),
            level: Level::Info,
            request_id: "3dd60a7a-4587-4c57-8197-d749c3578974".into(),
            action: "CreateKey".into(),
            credential: Some(mask_credential("TMP.3KfAHseF5DVULM2s8YUhdB8YvwM4nZA1wXr8AcAAhR7Yhdyos")),
            caller: "1117600963840000".into(),
            owner: "1117600963840000".into(),
            instance_id: "kst-phzz6108e50c15333w0000".into(),
            latency_ms: 37,
            result: "Success".into(),
        }
    }

    #[test]
    fn audit_line_matches_the_seed_layout() {
        assert_eq!(
            record().to_string(),
            "2021-10-19T21:40:01Z [INFO] - - 3dd60a7a-4587-4c57-8197-d749c3578974 CreateKey - TMP.3KfA**** \
             1117600963840000 1117600963840000 - kst-phzz6108e50c15333w0000 - 37 - Success"
        );
    }

    #[test]
    fn audit_line_round_trips() {
        let r = record();
        assert_eq!(r.to_string().parse::<AuditRecord>(), Ok(r.clone()));
        let failed = AuditRecord { level: Level::Error, credential: None, result: "Forbidden.NotShared".into(), ..r };
        assert_eq!(failed.to_string().parse::<AuditRecord>(), Ok(failed));
    }

    #[test]
    fn audit_parse_rejects_other_lines() {
        assert!("".parse::<AuditRecord>().is_err());
        let seed = "2021-10-19T212021-10-19T21:40:01     [INFO]  - - 3dd60a7a CreateKey - T 1 1 - kst-x - 37 - -";
        assert!(seed.parse::<AuditRecord>().is_err());
        let line = record().to_string().replace(" 37 ", " x ");
        assert!(line.parse::<AuditRecord>().is_err());
    }

    #[test]
    fn credential_is_masked() {
        assert_eq!(mask_credential("LTAI5tABCDEFGHIJKLMN"), "LTAI5tAB****");
        assert_eq!(mask_credential("short-key"), "****");
    }
}
