//! An envelope message: parsed, re-encoded, opened. A parsed message re-encodes to a
//! message of the same length that parses to the same message, and encoding that again
//! gives the same bytes (the SET OF elements may be read in any order and are written in
//! DER order, so the first encoding may reorder them; nothing else can differ). The head
//! a host reads without the body (`Head::from_der`) agrees with the whole message, and
//! reads nothing the whole message refuses. A legacy message (CBC, CTR) is read by its
//! own parser only, and opening it, allowed or not, ends in an answer.
#![no_main]

use kms_instance::key_providers::software::SoftwareKeyProvider;
use kms_instance::envelope::message::{algorithm_of, Head, LegacyMessage, HEAD_WINDOW};
use kms_instance::envelope::{self, DecryptOptions, Message};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn keys() -> &'static SoftwareKeyProvider {
    static KEYS: OnceLock<SoftwareKeyProvider> = OnceLock::new();
    KEYS.get_or_init(|| SoftwareKeyProvider::from_keyring_json(include_str!("../keyring.json")).expect("the fuzz keyring"))
}

/// The message with its data keys in one order: they are a set.
fn as_set(mut m: Message<'_>) -> Message<'_> {
    m.header.encrypted_data_keys.sort();
    m
}

fuzz_target!(|data: &[u8]| {
    let tail = &data[data.len().saturating_sub(18)..];
    let head = Head::from_der(&data[..data.len().min(HEAD_WINDOW)], data.len(), tail);
    let whole = Message::from_der(data);
    match (&head, &whole) {
        (Ok(h), Ok(m)) => {
            assert_eq!((&h.header, h.iv, h.tag), (&m.header, m.iv, m.tag));
            assert_eq!(&data[h.ciphertext.clone()], m.ciphertext);
        }
        (Ok(_), Err(_)) => panic!("the head reads a message the whole parse refuses"),
        _ => {}
    }
    let legacy = LegacyMessage::from_der(data);
    if let Ok(Some(l)) = &legacy {
        assert!(whole.is_err() && head.is_err(), "a legacy message is read by its own parser only");
        assert!(l.header.algorithm.is_legacy());
    }
    if let Ok(m) = &whole {
        assert!(matches!(legacy, Ok(None)));
        assert_eq!(algorithm_of(data), Some(m.header.algorithm));
    }
    if let Ok(message) = whole {
        let encoded = message.to_der().expect("a parsed message encodes");
        assert_eq!(encoded.len(), data.len());
        let again = Message::from_der(&encoded).expect("its encoding parses");
        assert_eq!(again.to_der().expect("encodes"), encoded);
        assert_eq!(as_set(again), as_set(message));
    }
    for allow_legacy_algorithms in [false, true] {
        let options = DecryptOptions { allow_legacy_algorithms, ..DecryptOptions::default() };
        let opened = pollster::block_on(envelope::decrypt(&[keys()], data, &options));
        if let Err(p) = opened {
            assert!(!p.message.is_empty());
        }
    }
});
