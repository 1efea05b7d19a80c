//! The encryption context and its canonical bytes `C` (ENVELOPE.md).

use std::collections::BTreeMap;

/// Key–value pairs bound to a message. A `BTreeMap` of `String`s orders its keys by
/// their UTF-8 bytes, which is the order the format needs.
pub type EncryptionContext = BTreeMap<String, String>;

/// `C`: empty for an empty context; otherwise `u32 count`, then for each pair in key
/// order `u32 len | key | u32 len | value`, big-endian. It is the body's AAD, part of
/// the header's, and the AAD of a software CiphertextBlob.
pub fn context_bytes(context: &EncryptionContext) -> Vec<u8> {
    if context.is_empty() {
        return Vec::new();
    }
    let size =
        context.iter().map(|(k, v)| k.len().saturating_add(v.len()).saturating_add(8)).fold(4, usize::saturating_add);
    let mut out = Vec::with_capacity(size);
    put_u32(&mut out, context.len());
    for (key, value) in context {
        put_bytes(&mut out, key.as_bytes());
        put_bytes(&mut out, value.as_bytes());
    }
    out
}

/// Appends a length as the format's big-endian u32. Every length here is bounded by
/// the message limits (far below 4 GiB), so the conversion cannot truncate.
pub(crate) fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

/// Appends `u32 len | bytes`.
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_context_is_empty() {
        assert!(context_bytes(&EncryptionContext::new()).is_empty());
    }

    #[test]
    fn pairs_are_sorted_by_utf8_bytes() {
        let ctx = EncryptionContext::from([("é".into(), "1".into()), ("b".into(), "22".into())]);
        let c = context_bytes(&ctx);
        let expected: Vec<u8> = [
            &2u32.to_be_bytes()[..],
            &1u32.to_be_bytes(),
            b"b",
            &2u32.to_be_bytes(),
            b"22",
            &2u32.to_be_bytes(),
            "é".as_bytes(),
            &1u32.to_be_bytes(),
            b"1",
        ]
        .concat();
        assert_eq!(c, expected);
    }
}
