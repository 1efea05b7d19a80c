//! Identifiers and names (RULES.md section 1, and the OSS bucket of R-LC-9).
//!
//! The patterns are small character classes, checked directly rather than through a
//! regex engine: that keeps the wasm module small and the messages precise. Lengths
//! are counted in Unicode scalar values, as RULES.md says.

use crate::code::{Code, Problem};
use serde::{Deserialize, Serialize};

/// Every kind of identifier or name the project validates.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum NameKind {
    /// A KMS instance id (R-ID-1).
    InstanceId,
    /// A VPC id (R-ID-2).
    VpcId,
    /// A vSwitch id (R-ID-3).
    VswitchId,
    /// A region id (R-ID-4).
    RegionId,
    /// An account id (R-ID-5).
    AccountId,
    /// A folder id (R-ID-6).
    FolderId,
    /// A resource directory id (R-ID-7).
    ResourceDirectoryId,
    /// A member account name (R-NAME-1).
    AccountName,
    /// A member display name (R-NAME-2).
    DisplayName,
    /// A resource share name (R-NAME-3).
    ResourceShareName,
    /// A key alias (R-NAME-4).
    Alias,
    /// A secret name (R-NAME-5).
    SecretName,
    /// An OSS bucket name (R-LC-9).
    Bucket,
}

impl NameKind {
    /// Every kind, in the order above.
    pub const ALL: [NameKind; 13] = [
        NameKind::InstanceId,
        NameKind::VpcId,
        NameKind::VswitchId,
        NameKind::RegionId,
        NameKind::AccountId,
        NameKind::FolderId,
        NameKind::ResourceDirectoryId,
        NameKind::AccountName,
        NameKind::DisplayName,
        NameKind::ResourceShareName,
        NameKind::Alias,
        NameKind::SecretName,
        NameKind::Bucket,
    ];

    /// The kind's name, as JSON and the CLI write it (`region-id`): a table, not serde's
    /// writer, so that naming a kind in wasm needs no JSON value.
    pub fn name(self) -> &'static str {
        match self {
            NameKind::InstanceId => "instance-id",
            NameKind::VpcId => "vpc-id",
            NameKind::VswitchId => "vswitch-id",
            NameKind::RegionId => "region-id",
            NameKind::AccountId => "account-id",
            NameKind::FolderId => "folder-id",
            NameKind::ResourceDirectoryId => "resource-directory-id",
            NameKind::AccountName => "account-name",
            NameKind::DisplayName => "display-name",
            NameKind::ResourceShareName => "resource-share-name",
            NameKind::Alias => "alias",
            NameKind::SecretName => "secret-name",
            NameKind::Bucket => "bucket",
        }
    }

    /// The kind of that name, if one has it.
    pub fn named(name: &str) -> Option<NameKind> {
        NameKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The rule id that defines the format.
    pub fn rule(self) -> &'static str {
        match self {
            NameKind::InstanceId => "R-ID-1",
            NameKind::VpcId => "R-ID-2",
            NameKind::VswitchId => "R-ID-3",
            NameKind::RegionId => "R-ID-4",
            NameKind::AccountId => "R-ID-5",
            NameKind::FolderId => "R-ID-6",
            NameKind::ResourceDirectoryId => "R-ID-7",
            NameKind::AccountName => "R-NAME-1",
            NameKind::DisplayName => "R-NAME-2",
            NameKind::ResourceShareName => "R-NAME-3",
            NameKind::Alias => "R-NAME-4",
            NameKind::SecretName => "R-NAME-5",
            NameKind::Bucket => "R-LC-9",
        }
    }

    /// The `InvalidParameter.<Field>` code for a value of this kind.
    pub fn code(self) -> Code {
        match self {
            NameKind::InstanceId => Code::KmsInstanceId,
            NameKind::VpcId => Code::VpcId,
            NameKind::VswitchId => Code::VSwitchId,
            NameKind::RegionId => Code::RegionId,
            NameKind::AccountId => Code::AccountId,
            NameKind::FolderId => Code::FolderId,
            NameKind::ResourceDirectoryId => Code::ResourceDirectoryId,
            NameKind::AccountName => Code::AccountName,
            NameKind::DisplayName => Code::DisplayName,
            NameKind::ResourceShareName => Code::ResourceShareName,
            NameKind::Alias => Code::Alias,
            NameKind::SecretName => Code::SecretName,
            NameKind::Bucket => Code::Bucket,
        }
    }

    /// What a valid value looks like, for messages.
    fn expected(self) -> &'static str {
        match self {
            NameKind::InstanceId => "`kst-` then 8 to 32 of [a-z0-9]",
            NameKind::VpcId => "`vpc-` then 8 to 32 of [a-z0-9]",
            NameKind::VswitchId => "`vsw-` then 8 to 32 of [a-z0-9]",
            NameKind::RegionId => "lower-case words joined by `-`, such as cn-hangzhou",
            NameKind::AccountId => "16 decimal digits, not starting with 0",
            NameKind::FolderId => "`fd-` then 8 to 32 of [A-Za-z0-9]",
            NameKind::ResourceDirectoryId => "`rd-` then 6 to 32 of [A-Za-z0-9]",
            NameKind::AccountName => {
                "2 to 50 letters, digits and `_.-`, starting and ending with a letter or digit, no two of `_.-` in a row"
            }
            NameKind::DisplayName => "2 to 50 CJK characters, letters, digits and `_.-`",
            NameKind::ResourceShareName => "1 to 50 CJK characters, letters, digits and `._-`",
            NameKind::Alias => "`alias/` then 1 to 255 of [A-Za-z0-9/_-], not under `alias/acs/`",
            NameKind::SecretName => "1 to 192 of [A-Za-z0-9/_+=.@-], not starting with `acs/`",
            NameKind::Bucket => "3 to 63 of [a-z0-9-], starting and ending with a letter or digit",
        }
    }

    fn is_valid(self, value: &str) -> bool {
        match self {
            NameKind::InstanceId => prefixed(value, "kst-", 8, 32, is_lower_alnum),
            NameKind::VpcId => prefixed(value, "vpc-", 8, 32, is_lower_alnum),
            NameKind::VswitchId => prefixed(value, "vsw-", 8, 32, is_lower_alnum),
            NameKind::RegionId => is_region(value),
            NameKind::AccountId => is_account_id(value),
            NameKind::FolderId => prefixed(value, "fd-", 8, 32, |b| b.is_ascii_alphanumeric()),
            NameKind::ResourceDirectoryId => prefixed(value, "rd-", 6, 32, |b| b.is_ascii_alphanumeric()),
            NameKind::AccountName => is_account_name(value),
            NameKind::DisplayName => within(value, 2, 50, |c| is_cjk_or_word(c) || c == '-'),
            NameKind::ResourceShareName => within(value, 1, 50, |c| is_cjk_or_word(c) || c == '-'),
            NameKind::Alias => {
                !value.starts_with(SERVICE_ALIAS_PREFIX) && prefixed(value, "alias/", 1, 255, is_alias_char)
            }
            NameKind::SecretName => !value.starts_with("acs/") && ascii_within(value, 1, 192, is_secret_char),
            NameKind::Bucket => {
                ascii_within(value, 3, 63, |b| is_lower_alnum(b) || b == b'-')
                    && !value.starts_with('-')
                    && !value.ends_with('-')
            }
        }
    }
}

/// Service keys carry aliases under this prefix (seed 003); users cannot create them.
pub const SERVICE_ALIAS_PREFIX: &str = "alias/acs/";

/// Checks `value` against the format of `kind`. The error carries the field's code,
/// a message saying what was expected, and the rule id.
///
/// ```
/// use kms_instance::names::{validate, NameKind};
///
/// assert!(validate(NameKind::Alias, "alias/app").is_ok());
/// let reserved = validate(NameKind::Alias, "alias/acs/ecs").unwrap_err();
/// assert_eq!((reserved.code.as_str(), reserved.rule), ("InvalidParameter.Alias", Some("R-NAME-4")));
/// ```
pub fn validate(kind: NameKind, value: &str) -> Result<(), Problem> {
    if kind.is_valid(value) {
        return Ok(());
    }
    let mut message = format!("expected {}", kind.expected());
    if kind == NameKind::Alias && value.starts_with(SERVICE_ALIAS_PREFIX) {
        message = "`alias/acs/` is reserved for service keys".into();
    }
    Err(Problem::new(kind.code(), message).rule(kind.rule()))
}

/// What is worth saying of a valid value: a region id Alibaba Cloud has not published
/// ([`super::regions`]).
pub fn warning(kind: NameKind, value: &str) -> Option<Problem> {
    match kind {
        NameKind::RegionId => super::regions::unknown(value),
        _ => None,
    }
}

/// The one of `among` nearest to `given` (case aside), when it is near enough to be what
/// was meant: a few letters off. Input is cut to 64 characters before it is compared.
pub fn nearest<'a>(given: &str, among: &[&'a str]) -> Option<&'a str> {
    let given: String = given.chars().take(64).collect::<String>().to_ascii_lowercase();
    among
        .iter()
        .map(|name| (strsim::damerau_levenshtein(&given, &name.to_ascii_lowercase()), *name))
        .min()
        .filter(|(distance, _)| *distance <= 3)
        .map(|(_, name)| name)
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn is_alias_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-')
}

fn is_secret_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'+' | b'=' | b'.' | b'@' | b'-')
}

/// Letters, digits, `_` and `.`, or a CJK ideograph.
fn is_cjk_or_word(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '.')
        || matches!(c as u32,
            0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF | 0x2A700..=0x2EBEF | 0x30000..=0x3134F)
}

fn within(value: &str, min: usize, max: usize, allowed: impl Fn(char) -> bool) -> bool {
    let mut len = 0usize;
    value.chars().all(|c| {
        len = len.saturating_add(1);
        allowed(c)
    }) && (min..=max).contains(&len)
}

/// [`within`] for a set of ASCII characters, by bytes: a byte of a longer character is
/// never allowed, so bytes count characters whenever they pass, and the length is
/// checked before any is read.
fn ascii_within(value: &str, min: usize, max: usize, allowed: impl Fn(u8) -> bool) -> bool {
    (min..=max).contains(&value.len()) && every_byte(value, allowed)
}

/// Whether each byte is allowed, every byte read with no early exit, so that the compiler
/// checks them in vectors: ids are checked per entry of a long BindVpcs, and this was a
/// third of the validator's time when it went by `char`s.
fn every_byte(value: &str, allowed: impl Fn(u8) -> bool) -> bool {
    value.bytes().fold(true, |all, b| all & allowed(b))
}

fn prefixed(value: &str, prefix: &str, min: usize, max: usize, allowed: impl Fn(u8) -> bool) -> bool {
    value.strip_prefix(prefix).is_some_and(|rest| ascii_within(rest, min, max, allowed))
}

fn is_region(value: &str) -> bool {
    // ^[a-z]{2,}(-[a-z0-9]+){1,3}$
    let mut parts = value.split('-');
    let first = parts.next().unwrap_or_default();
    let mut rest = 0usize;
    first.len() >= 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| {
            rest = rest.saturating_add(1);
            !p.is_empty() && every_byte(p, is_lower_alnum)
        })
        && (1..=3).contains(&rest)
}

fn is_account_id(value: &str) -> bool {
    value.len() == 16 && value.bytes().all(|b| b.is_ascii_digit()) && !value.starts_with('0')
}

fn is_account_name(value: &str) -> bool {
    let special = |c: char| matches!(c, '_' | '.' | '-');
    let chars: Vec<char> = value.chars().collect();
    (2..=50).contains(&chars.len())
        && chars.iter().all(|&c| c.is_ascii_alphanumeric() || special(c))
        && chars.first().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.last().is_some_and(|c| c.is_ascii_alphanumeric())
        && !chars.windows(2).any(|w| w.iter().all(|c| special(*c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(kind: NameKind, v: &str) -> bool {
        validate(kind, v).is_ok()
    }

    #[test]
    fn each_kind_is_named_as_serde_writes_and_reads_it() {
        for kind in NameKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
            assert_eq!(serde_json::from_value::<NameKind>(kind.name().into()).unwrap(), kind);
            assert_eq!(NameKind::named(kind.name()), Some(kind));
        }
        assert_eq!(NameKind::named("Region-Id"), None);
    }

    #[test]
    fn r_id_1_instance_id() {
        assert!(ok(NameKind::InstanceId, "kst-hzz62f4a5c2d7ab12cd"));
        assert!(!ok(NameKind::InstanceId, "kst-short"));
        assert!(!ok(NameKind::InstanceId, "kst-UPPERCASE0000"));
        assert!(!ok(NameKind::InstanceId, "kst-phzz64f722a1buamw0****"));
        assert_eq!(validate(NameKind::InstanceId, "x").unwrap_err().code, Code::KmsInstanceId);
    }

    #[test]
    fn r_id_2_vpc_id() {
        assert!(ok(NameKind::VpcId, "vpc-bp1go9qvmj78j4f4c0001"));
        assert!(!ok(NameKind::VpcId, "vpc-1234567"));
        assert!(ok(NameKind::VpcId, &format!("vpc-{}", "a".repeat(32))));
        assert!(!ok(NameKind::VpcId, &format!("vpc-{}", "a".repeat(33))));
    }

    #[test]
    fn r_id_3_vswitch_id() {
        assert!(ok(NameKind::VswitchId, "vsw-bp16c5pvvcf0fp5b90001"));
        assert!(!ok(NameKind::VswitchId, "VSW-1"));
    }

    #[test]
    fn r_id_4_region_id() {
        for r in ["cn-hangzhou", "ap-southeast-1", "cn-shanghai-finance-1"] {
            assert!(ok(NameKind::RegionId, r), "{r}");
        }
        for r in ["cn", "c-hangzhou", "CN-hangzhou", "cn-", "cn--x", "a-b-c-d-e", "cn-hang_zhou"] {
            assert!(!ok(NameKind::RegionId, r), "{r}");
        }
    }

    #[test]
    fn r_id_5_account_id() {
        assert!(ok(NameKind::AccountId, "1207089758810000"));
        assert!(!ok(NameKind::AccountId, "0207089758810000"));
        assert!(!ok(NameKind::AccountId, "120708975881000"));
        assert!(!ok(NameKind::AccountId, "120708975881****"));
    }

    #[test]
    fn r_id_6_folder_id() {
        assert!(ok(NameKind::FolderId, "fd-AbCd1234"));
        assert!(!ok(NameKind::FolderId, "fd-xxxx"));
    }

    #[test]
    fn r_id_7_resource_directory_id() {
        assert!(ok(NameKind::ResourceDirectoryId, "rd-a1b2c3"));
        assert!(!ok(NameKind::ResourceDirectoryId, "rd-a1b2"));
    }

    #[test]
    fn r_name_1_account_name() {
        assert!(ok(NameKind::AccountName, "security-team"));
        assert!(ok(NameKind::AccountName, "a.b_c-d9"));
        for bad in ["a", "-team", "team-", "te--am", "te._am", "t eam", &"a".repeat(51)] {
            assert!(!ok(NameKind::AccountName, bad), "{bad}");
        }
    }

    #[test]
    fn r_name_2_display_name() {
        assert!(ok(NameKind::DisplayName, "安全团队"));
        assert!(ok(NameKind::DisplayName, "-x-"));
        assert!(!ok(NameKind::DisplayName, "安"));
        assert!(!ok(NameKind::DisplayName, "team one"));
        // 50 characters of three bytes each: counted as characters, not bytes.
        assert!(ok(NameKind::DisplayName, &"安".repeat(50)));
        assert!(!ok(NameKind::DisplayName, &"安".repeat(51)));
    }

    #[test]
    fn r_name_3_resource_share_name() {
        assert!(ok(NameKind::ResourceShareName, "kms-share"));
        assert!(ok(NameKind::ResourceShareName, "共享.1"));
        assert!(!ok(NameKind::ResourceShareName, ""));
        assert!(!ok(NameKind::ResourceShareName, "kms share!"));
    }

    #[test]
    fn r_name_4_alias() {
        assert!(ok(NameKind::Alias, "alias/app"));
        assert!(ok(NameKind::Alias, "alias/team/app_1-x"));
        assert!(!ok(NameKind::Alias, "alias/"));
        assert!(!ok(NameKind::Alias, "app"));
        let reserved = validate(NameKind::Alias, "alias/acs/ecs").unwrap_err();
        assert_eq!(reserved.code, Code::Alias);
        assert!(reserved.message.contains("reserved"));
    }

    #[test]
    fn r_name_5_secret_name() {
        assert!(ok(NameKind::SecretName, "db-password"));
        assert!(ok(NameKind::SecretName, "a/b_c+d=e.f@g-h"));
        assert!(!ok(NameKind::SecretName, "acs/ecs"));
        assert!(!ok(NameKind::SecretName, &"a".repeat(193)));
    }

    #[test]
    fn r_lc_9_bucket_name() {
        assert!(ok(NameKind::Bucket, "kms-audit-logs"));
        for bad in ["ab", "-audit", "audit-", "Audit", "audit_logs"] {
            assert!(!ok(NameKind::Bucket, bad), "{bad}");
        }
    }
}
