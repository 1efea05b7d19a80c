//! An envelope message: parsed, re-encoded, opened. A parsed message re-encodes to a
//! message of the same length that parses to the same message, and encoding that again
//! gives the same bytes (the SET OF elements may be read in any order and are written in
//! DER order, so the first encoding may reorder them; nothing else can differ).
#![no_main]

use kms_instance::key_providers::software::SoftwareKeyProvider;
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
    if let Ok(message) = Message::from_der(data) {
        let encoded = message.to_der().expect("a parsed message encodes");
        assert_eq!(encoded.len(), data.len());
        let again = Message::from_der(&encoded).expect("its encoding parses");
        assert_eq!(again.to_der().expect("encodes"), encoded);
        assert_eq!(as_set(again), as_set(message));
    }
    let opened = pollster::block_on(envelope::decrypt(&[keys()], data, &DecryptOptions::default()));
    if let Err(p) = opened {
        assert!(!p.message.is_empty());
    }
});
