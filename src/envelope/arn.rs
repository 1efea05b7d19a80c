//! Key ARNs: `acs:kms:<region>:<uid>:key/<key-id>`, as the Encryption SDK names keys.

use crate::code::{Code, Problem};
use std::fmt;
use std::str::FromStr;

/// A key ARN, `acs:kms:<region>:<uid>:key/<key-id>`, checked when parsed.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyArn {
    arn: String,
    key_id: String,
}

impl KeyArn {
    /// The whole ARN.
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// The region, the ARN's third part.
    pub fn region(&self) -> &str {
        self.arn.split(':').nth(2).unwrap_or_default()
    }

    /// The raw key id, the part after `key/`; KMS and the software blob use it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

/// The software CiphertextBlob stores the key id behind a one-byte length.
pub const MAX_KEY_ID_BYTES: usize = 255;

/// A whole ARN: the key id and room for any region and account id.
pub const MAX_ARN_BYTES: usize = 512;

impl FromStr for KeyArn {
    type Err = Problem;

    fn from_str(arn: &str) -> Result<Self, Problem> {
        // The value is not quoted: a caller that mixed up its fields may have put key
        // material here. Callers that know it is harmless (the CLI's --key) name it.
        let bad = |why: &str| {
            Problem::new(Code::KeyId, format!("not a key ARN: {why}; expected acs:kms:<region>:<uid>:key/<key-id>"))
        };
        if arn.len() > MAX_ARN_BYTES {
            return Err(bad("longer than 512 bytes"));
        }
        let parts: Vec<&str> = arn.split(':').collect();
        let [acs, kms, region, uid, resource] = parts[..] else {
            return Err(bad("not five `:`-separated parts"));
        };
        if acs != "acs" || kms != "kms" {
            return Err(bad("not a KMS ARN"));
        }
        if region.is_empty() || uid.is_empty() {
            return Err(bad("region and uid are required"));
        }
        let key_id = resource.strip_prefix("key/").ok_or_else(|| bad("the resource is not key/…"))?;
        if key_id.is_empty() || key_id.len() > MAX_KEY_ID_BYTES || key_id.chars().any(char::is_whitespace) {
            return Err(bad("the key id must be 1 to 255 bytes without spaces"));
        }
        Ok(KeyArn { arn: arn.to_string(), key_id: key_id.to_string() })
    }
}

impl fmt::Display for KeyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

impl fmt::Debug for KeyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyArn({})", self.arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sdk_arn() {
        let a: KeyArn = "acs:kms:cn-hangzhou:1207089758810000:key/key-hzz62f4a5c2d7ab12cd".parse().unwrap();
        assert_eq!(a.key_id(), "key-hzz62f4a5c2d7ab12cd");
        assert_eq!(a.region(), "cn-hangzhou");
        for bad in
            ["", "key-1", "acs:kms:cn-hangzhou:1:alias/x", "acs:oss:r:1:key/x", "acs:kms::1:key/x", "acs:kms:r:1:key/"]
        {
            assert_eq!(bad.parse::<KeyArn>().unwrap_err().code, Code::KeyId, "{bad}");
        }
    }
}
