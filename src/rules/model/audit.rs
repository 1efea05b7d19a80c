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
use std::borrow::Cow;
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The level of an audit record.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// A request that succeeded.
    Info,
    /// A request that was refused.
    Error,
}

/// One audit record: one request, success or not (RULES.md section 9).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// When the request was applied (the caller's clock).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), tsify(type = "string"))]
    pub time: OffsetDateTime,
    /// INFO for a success, ERROR for a refusal.
    pub level: Level,
    /// The request's id.
    pub request_id: String,
    /// The action's API name.
    pub action: String,
    /// Already masked: at most the first eight characters of a long credential.
    pub credential: Option<String>,
    /// The calling account.
    pub caller: String,
    /// The instance owner's account.
    pub owner: String,
    /// The instance's id.
    pub instance_id: String,
    /// The latency the caller reports, in ms.
    pub latency_ms: u64,
    /// `Success`, or the code of the first error.
    pub result: String,
}

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

/// A line that is not an audit line this module wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit line: {0}")]
pub struct ParseError(String);

/// A field as the line writes it: `-` when empty; whitespace, control characters, `%`
/// and a lone `-` percent-encoded (UTF-8 bytes), so that no value, however it came in,
/// can split the line or forge a field.
fn field(value: &str) -> Cow<'_, str> {
    if value.is_empty() {
        return Cow::Borrowed("-");
    }
    let plain = |c: char| !(c.is_whitespace() || c.is_control() || c == '%');
    if value != "-" && value.chars().all(plain) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len().saturating_mul(3));
    for c in value.chars() {
        if plain(c) && value != "-" {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    Cow::Owned(out)
}

/// The value of a field [`field`] wrote.
fn unfield(text: &str) -> Result<String, ParseError> {
    if text == "-" {
        return Ok(String::new());
    }
    let bad = || ParseError(format!("field {text:?} is not percent-encoded correctly"));
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b != b'%' {
            bytes.push(b);
            continue;
        }
        let (hex, tail) = rest.split_first_chunk::<2>().ok_or_else(bad)?;
        let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
        bytes.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
        rest = tail;
    }
    String::from_utf8(bytes).map_err(|_| bad())
}

impl fmt::Display for AuditRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The engine only applies requests at times RFC 3339 can write; a record built
        // by hand with another time shows `-` rather than failing the whole line.
        let time = self.time.format(&Rfc3339).unwrap_or_else(|_| "-".into());
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
        let fields: Vec<&str> = line.split_whitespace().collect();
        let &[time, level, d3, d4, request_id, action, d7, credential, caller, owner, d11, instance_id, d13, latency, d15, result] =
            fields.as_slice()
        else {
            return Err(ParseError(format!("expected 16 fields, found {}", fields.len())));
        };
        for (n, f) in [(3, d3), (4, d4), (7, d7), (11, d11), (13, d13), (15, d15)] {
            if f != "-" {
                return Err(ParseError(format!("field {n} should be `-`, found {f:?}")));
            }
        }
        let time = OffsetDateTime::parse(time, &Rfc3339).map_err(|e| ParseError(format!("time {time:?}: {e}")))?;
        let level = match level {
            "[INFO]" => Level::Info,
            "[ERROR]" => Level::Error,
            other => return Err(ParseError(format!("unknown level {other:?}"))),
        };
        let latency_ms = latency.parse().map_err(|_| ParseError(format!("latency {latency:?} is not a number")))?;
        Ok(AuditRecord {
            time,
            level,
            request_id: unfield(request_id)?,
            action: unfield(action)?,
            credential: if credential == "-" { None } else { Some(unfield(credential)?) },
            caller: unfield(caller)?,
            owner: unfield(owner)?,
            instance_id: unfield(instance_id)?,
            latency_ms,
            result: unfield(result)?,
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
    fn no_field_can_split_or_forge_the_line() {
        let r = AuditRecord {
            request_id: "id with spaces\nand a newline".into(),
            caller: "-".into(),
            owner: "50%".into(),
            action: "Create Key [INFO]".into(),
            ..record()
        };
        let line = r.to_string();
        assert_eq!(line.lines().count(), 1);
        assert_eq!(line.split_whitespace().count(), 16, "{line}");
        assert_eq!(line.parse::<AuditRecord>(), Ok(r));
    }

    #[test]
    fn credential_is_masked() {
        assert_eq!(mask_credential("LTAI5tABCDEFGHIJKLMN"), "LTAI5tAB****");
        assert_eq!(mask_credential("short-key"), "****");
    }
}
