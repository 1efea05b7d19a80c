//! A CiphertextBlob (version 1): decoded, re-encoded to the same bytes, and opened
//! under the key it names.
#![no_main]

use kms_instance::key_providers::blob::Blob;
use kms_instance::key_providers::software::SoftwareKeyProvider;
use kms_instance::envelope::KeyProvider;
use kms_instance::envelope::{EncryptionContext, KeyArn};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn keys() -> &'static (SoftwareKeyProvider, KeyArn) {
    static KEYS: OnceLock<(SoftwareKeyProvider, KeyArn)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let bridge = SoftwareKeyProvider::from_keyring_json(include_str!("../keyring.json")).expect("the fuzz keyring");
        let arn = bridge.arns().next().expect("a key").clone();
        (bridge, arn)
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(blob) = Blob::decode(data) {
        assert_eq!(Blob::encode(blob.key_id, &blob.iv, blob.sealed).expect("encodes"), data);
    }
    let (bridge, arn) = keys();
    let context = EncryptionContext::from([("purpose".to_string(), "fuzz".to_string())]);
    let _ = pollster::block_on(bridge.decrypt(arn, data, &context));
});
