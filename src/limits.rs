//! Every input's documented limit (docs/reference/limits.md lists them all).
//!
//! Each limit is checked before any work that grows with the input, so a hostile
//! input costs at most what a legal one at the limit costs, and below the limits the
//! cost is linear in the input. An input over a limit gets `InvalidParameter.TooLarge`
//! (or the field's own code where the format has one); a request that is valid but
//! would take the state past a limit gets `Rejected.LimitExceeded`.
//!
//! The envelope's own limits (data keys, context pairs, header and body sizes) live
//! beside the format, in `envelope::message`.

use crate::code::{Code, Problem};

/// A JSON document handed to the library: a state, a request, a plan (UTF-8 bytes).
/// Large enough for any state the engine can reach within the list limits below.
pub const MAX_DOCUMENT_BYTES: usize = 32 << 20;

/// Entries of any one list of a state: accounts, folders, resource shares, principals,
/// associations, bound VPCs, keys, secrets; aliases and tags are counted across the
/// instance. Quotas (`spec`) cannot be set above it either.
pub const MAX_ENTRIES: usize = 10_000;

/// Bytes of a free-text field of a state that no format bounds (enterprise ids,
/// permission names, zones, resource share ids).
pub const MAX_TEXT_BYTES: usize = 256;

/// Tags of one key or secret, and the length of a tag's key and value (characters).
pub const MAX_TAGS_PER_RESOURCE: usize = 20;
/// Characters of a tag's key.
pub const MAX_TAG_KEY_CHARS: usize = 128;
/// Characters of a tag's value.
pub const MAX_TAG_VALUE_CHARS: usize = 256;

/// BindVpcs JSON text, and its entries.
pub const MAX_BIND_VPCS_BYTES: usize = 2 << 20;
/// Entries of one BindVpcs document.
pub const MAX_BIND_VPCS_ENTRIES: usize = MAX_ENTRIES;

/// Problems listed in one report; past it they are counted, not listed.
pub const MAX_REPORTED_PROBLEMS: usize = 100;

/// Steps of one change plan.
pub const MAX_PLAN_STEPS: usize = 1_000;

/// A keyring file, and the master keys in it.
pub const MAX_KEYRING_BYTES: usize = 1 << 20;
/// Master keys in one keyring file.
pub const MAX_KEYRING_KEYS: usize = 1_000;

/// Key providers offered to one encryption or decryption.
pub const MAX_KEY_PROVIDERS: usize = 16;

/// 2^53 − 1: numbers the library hands out (latencies, key numbers) stay exact in
/// JavaScript.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// `InvalidParameter.TooLarge` for an input of `size` over `limit` (`what` names both).
pub fn too_large(what: &str, size: usize, limit: usize) -> Problem {
    Problem::new(Code::TooLarge, format!("{what} is {size}; the limit is {limit}"))
}

/// Checks a count or size against its limit.
pub fn check(what: &str, size: usize, limit: usize) -> Result<(), Problem> {
    if size > limit {
        return Err(too_large(what, size, limit));
    }
    Ok(())
}

/// A count as the `u32` the quota uses. Every list is capped at [`MAX_ENTRIES`], so the
/// conversion never saturates; if it did, the count would read as over any quota.
pub fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
