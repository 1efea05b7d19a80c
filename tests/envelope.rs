//! Envelope encryption (RULES.md section 8, ENVELOPE.md) with the software bridge.

use kms_instance::envelope::message::{Message, MAX_BODY_BYTES, MAX_CONTEXT_PAIRS, MAX_DATA_KEYS};
use kms_instance::envelope::KeyProvider;
use kms_instance::envelope::{
    self, Algorithm, CacheLimits, DataKeyCache, DecryptOptions, EncryptOptions, EncryptionContext, KeyArn,
    DEFAULT_MAX_ENTRIES,
};
use kms_instance::key_providers::software::SoftwareKeyProvider;
use kms_instance::Code;
use pollster::block_on;
use proptest::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn arn(id: &str) -> KeyArn {
    format!("acs:kms:cn-hangzhou:1207089758810000:key/{id}").parse().unwrap()
}

fn bridge(ids: &[&str]) -> SoftwareKeyProvider {
    let mut b = SoftwareKeyProvider::new();
    for (i, id) in ids.iter().enumerate() {
        b.add(arn(id), [i as u8 + 1; 32]).unwrap();
    }
    b
}

fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn seal(b: &SoftwareKeyProvider, keys: &[&str], plaintext: &[u8], ctx: &EncryptionContext) -> Vec<u8> {
    let keys: Vec<KeyArn> = keys.iter().map(|k| arn(k)).collect();
    let options = EncryptOptions { context: ctx.clone(), ..EncryptOptions::default() };
    block_on(envelope::encrypt(&[b], &keys, plaintext, &options)).unwrap()
}

fn open(b: &SoftwareKeyProvider, message: &[u8]) -> Result<envelope::Opened, kms_instance::Problem> {
    block_on(envelope::decrypt(&[b], message, &DecryptOptions::default()))
}

#[test]
fn r_env_1_generate_data_key_returns_plaintext_and_blob() {
    let b = bridge(&["k1"]);
    let ctx = context(&[("app", "demo")]);
    let dk = block_on(b.generate_data_key(&arn("k1"), 32, &ctx)).unwrap();
    assert_eq!(dk.plaintext.len(), 32);
    let back = block_on(b.decrypt(&arn("k1"), &dk.ciphertext_blob, &ctx)).unwrap();
    assert_eq!(*back, *dk.plaintext, "the blob is the plaintext under the named key");
    // The blob is bound to its context and its key.
    assert!(block_on(b.decrypt(&arn("k1"), &dk.ciphertext_blob, &EncryptionContext::new())).is_err());
    let other = bridge(&["k1", "k2"]);
    assert!(block_on(other.decrypt(&arn("k2"), &dk.ciphertext_blob, &ctx)).is_err());
    let description = block_on(b.describe_key(&arn("k1"))).unwrap();
    assert_eq!(description.protection_level, "SOFTWARE");
    assert_eq!(block_on(b.describe_key(&arn("nope"))).unwrap_err().code, Code::BridgeKeyNotFound);
    assert_eq!(block_on(b.random(7)).unwrap().len(), 7);
}

#[test]
fn r_env_2_message_holds_the_encrypted_data_keys_and_the_body() {
    let b = bridge(&["k1", "k2"]);
    let ctx = context(&[("app", "demo")]);
    let message = seal(&b, &["k1", "k2"], b"secret data", &ctx);
    let parsed = Message::from_der(&message).unwrap();
    assert_eq!(parsed.header.algorithm, Algorithm::AesGcm256);
    let arns: Vec<&str> = parsed.header.encrypted_data_keys.iter().map(|k| k.key_arn.as_str()).collect();
    assert_eq!(arns.len(), 2);
    assert!(arns.contains(&arn("k1").as_str()) && arns.contains(&arn("k2").as_str()));
    assert_eq!(parsed.header.context, ctx);
    assert_eq!(parsed.ciphertext.len(), b"secret data".len());
    assert!(!message.windows(11).any(|w| w == b"secret data"), "the body is encrypted");
    // Either key alone opens it.
    for id in ["k1", "k2"] {
        let mut single = SoftwareKeyProvider::new();
        single.add(arn(id), if id == "k1" { [1; 32] } else { [2; 32] }).unwrap();
        let opened = open(&single, &message).unwrap();
        assert_eq!(opened.plaintext, b"secret data");
        assert_eq!(opened.key_arn, arn(id).to_string());
    }
}

#[test]
fn r_env_3_plaintext_keys_never_show() {
    let b = bridge(&["k1"]);
    let dk = block_on(b.generate_data_key(&arn("k1"), 32, &EncryptionContext::new())).unwrap();
    let shown = format!("{dk:?} {b:?}");
    assert!(shown.contains("redacted"), "{shown}");
    let hex: String = dk.plaintext.iter().map(|x| format!("{x:02x}")).collect();
    assert!(!shown.contains(&hex) && !shown.contains(&format!("{:?}", &dk.plaintext[..4])));
    let sealing = block_on(envelope::begin_seal(&[&b], &[arn("k1")], 4, &EncryptOptions::default())).unwrap();
    let shown = format!("{sealing:?}");
    let hex: String = sealing.data_key().iter().map(|x| format!("{x:02x}")).collect();
    assert!(shown.contains("<redacted>") && !shown.contains(&hex), "{shown}");
    // A keyring error names the entry, never the material.
    let bad = SoftwareKeyProvider::from_keyring_json(
        r#"{"keys": [{"arn": "acs:kms:r:1:key/a", "material": "c2VjcmV0LW1hdGVyaWFs"}]}"#,
    );
    let err = bad.unwrap_err();
    assert_eq!(err.code, Code::Keyring);
    assert!(!err.to_string().contains("c2VjcmV0") && !err.to_string().contains("secret-material"), "{err}");
}

#[test]
fn r_env_4_wrong_key_changed_message_or_context_fail() {
    let b = bridge(&["k1"]);
    let ctx = context(&[("app", "demo")]);
    let message = seal(&b, &["k1"], b"payload", &ctx);

    let mut wrong = SoftwareKeyProvider::new();
    wrong.add(arn("k1"), [9; 32]).unwrap();
    assert_eq!(open(&wrong, &message).unwrap_err().code, Code::InvalidCiphertext, "same ARN, other material");
    assert_eq!(open(&bridge(&["other"]), &message).unwrap_err().code, Code::InvalidCiphertext, "no key held");

    let require = |pairs: &[(&str, &str)]| {
        block_on(envelope::decrypt(
            &[&b],
            &message,
            &DecryptOptions { require_context: context(pairs), ..DecryptOptions::default() },
        ))
    };
    assert!(require(&[("app", "demo")]).is_ok());
    // An authentic message of another context is told apart from a changed one.
    assert_eq!(require(&[("app", "other")]).unwrap_err().code, Code::ContextMismatch);
    assert_eq!(require(&[("tenant", "x")]).unwrap_err().code, Code::ContextMismatch);

    // A context changed in transit to the one required is a changed message, not the
    // wrong tenant: the header tag is checked before the context is compared.
    let at = message.windows(4).position(|w| w == b"demo").unwrap();
    let mut forged = message.clone();
    forged[at..at + 4].copy_from_slice(b"fake");
    let options = DecryptOptions { require_context: context(&[("app", "demo")]), ..DecryptOptions::default() };
    assert_eq!(block_on(envelope::decrypt(&[&b], &forged, &options)).unwrap_err().code, Code::InvalidCiphertext);
    let options = DecryptOptions { require_context: context(&[("app", "fake")]), ..DecryptOptions::default() };
    assert_eq!(block_on(envelope::decrypt(&[&b], &forged, &options)).unwrap_err().code, Code::InvalidCiphertext);
}

#[test]
fn bytes_that_are_not_a_message_and_a_newer_format_have_codes_of_their_own() {
    let b = bridge(&["k1"]);
    let not_a_message = "InvalidCiphertext.NotAMessage: the bytes are not a message of the Encryption SDK's format";
    for bytes in [&b""[..], b"plain text", &[0x30, 0x03, 0x02, 0x01], &[0x6e, 0x00], &[0x30, 0x80, 0x00, 0x00]] {
        let p = open(&b, bytes).unwrap_err();
        assert_eq!((p.code, p.to_string()), (Code::NotAMessage, not_a_message.to_string()), "{bytes:?}");
    }
    // Version 2 with another layout: the version is read before the rest.
    let v2 = [0x30, 0x07, 0x30, 0x05, 0x02, 0x01, 0x02, 0x05, 0x00];
    let p = open(&b, &v2).unwrap_err();
    assert_eq!(p.code, Code::NewerVersion);
    assert_eq!(p.message, "the message is of format version 2; this library reads version 1: open it with a newer one");
    // A message cut short is not a message; every refusal is one of the family.
    let message = seal(&b, &["k1"], b"payload", &EncryptionContext::new());
    assert_eq!(open(&b, &message[..message.len() - 1]).unwrap_err().code, Code::NotAMessage);
    assert!([Code::NotAMessage, Code::NewerVersion, Code::ContextMismatch].iter().all(|c| c.is_invalid_ciphertext()));
}

#[test]
fn r_env_4_every_single_byte_change_fails() {
    let b = bridge(&["k1", "k2"]);
    for algorithm in ALGORITHMS {
        let keys = [arn("k1"), arn("k2")];
        let options =
            EncryptOptions { context: context(&[("app", "demo"), ("名前", "値")]), algorithm, cache: None };
        let message = block_on(envelope::encrypt(&[&b], &keys, b"walk every byte of me", &options)).unwrap();
        every_byte_is_checked(&b, &message);
    }
}

fn every_byte_is_checked(b: &SoftwareKeyProvider, message: &[u8]) {
    assert!(open(b, message).is_ok());
    // The context the message carries, required: a changed byte must never read as
    // an authentic message of another context.
    let required = DecryptOptions { require_context: context(&[("app", "demo")]), ..DecryptOptions::default() };
    for i in 0..message.len() {
        for flip in [0x01u8, 0x80] {
            let mut changed = message.to_vec();
            changed[i] ^= flip;
            let result = open(b, &changed);
            assert!(result.is_err(), "byte {i} ^ {flip:#x} still opened");
            let with_required = block_on(envelope::decrypt(&[b], &changed, &required)).unwrap_err().code;
            assert_ne!(with_required, Code::ContextMismatch, "byte {i} ^ {flip:#x}");
            let code = result.unwrap_err().code;
            // The algorithm's byte changed to a legacy one is refused as such; allowed,
            // it still does not open.
            if code == Code::LegacyAlgorithm {
                let allowed = DecryptOptions { allow_legacy_algorithms: true, ..DecryptOptions::default() };
                let opened = block_on(envelope::decrypt(&[b], &changed, &allowed));
                assert!(opened.unwrap_err().code.is_invalid_ciphertext(), "byte {i}, legacy allowed");
            } else {
                // Unreadable, or read and refused.
                assert!(code.is_invalid_ciphertext(), "byte {i}: {code}");
            }
        }
    }
    for cut in 0..message.len() {
        assert!(open(b, &message[..cut]).is_err(), "truncated to {cut}");
    }
}

#[test]
fn header_is_checked_before_the_body() {
    // A message whose header tag is wrong fails even when the body would open: the
    // header tag is the first thing checked under the data key.
    let b = bridge(&["k1"]);
    let message = seal(&b, &["k1"], b"x", &EncryptionContext::new());
    let mut parsed = Message::from_der(&message).unwrap();
    parsed.header.header_tag[0] ^= 1;
    let resealed = parsed.to_der().unwrap();
    assert_eq!(open(&b, &resealed).unwrap_err().code, Code::InvalidCiphertext);
}

#[test]
fn set_of_elements_are_written_in_der_order_and_read_in_any() {
    let b = bridge(&["k1", "k2"]);
    let message = seal(&b, &["k2", "k1"], b"order", &context(&[("b", "2"), ("a", "1")]));
    let parsed = Message::from_der(&message).unwrap();
    assert_eq!(parsed.to_der().unwrap(), message, "re-encoding is stable (DER order)");
    let mut reversed = parsed.clone();
    reversed.header.encrypted_data_keys.reverse();
    assert_eq!(reversed.to_der().unwrap(), message, "written sorted whatever the order in memory");
}

#[test]
fn limits_are_enforced_on_both_sides() {
    let b = bridge(&["k1"]);
    let keys: Vec<KeyArn> = (0..=MAX_DATA_KEYS).map(|i| arn(&format!("k{i}"))).collect();
    let r = block_on(envelope::encrypt(&[&b], &keys, b"", &EncryptOptions::default()));
    assert_eq!(r.unwrap_err().code, Code::KeyId);
    let r = block_on(envelope::encrypt(&[&b], &[], b"", &EncryptOptions::default()));
    assert_eq!(r.unwrap_err().code, Code::KeyId);
    let big_context: EncryptionContext = (0..=MAX_CONTEXT_PAIRS).map(|i| (format!("k{i}"), "v".into())).collect();
    let options = EncryptOptions { context: big_context, ..EncryptOptions::default() };
    assert_eq!(
        block_on(envelope::encrypt(&[&b], &[arn("k1")], b"", &options)).unwrap_err().code,
        Code::EncryptionContext
    );
    let huge = vec![0u8; MAX_BODY_BYTES + 1];
    let r = block_on(envelope::encrypt(&[&b], &[arn("k1")], &huge, &EncryptOptions::default()));
    assert_eq!(r.unwrap_err().code, Code::Plaintext);
    let r = block_on(envelope::encrypt(&[&b], &[arn("missing")], b"", &EncryptOptions::default()));
    assert_eq!(r.unwrap_err().code, Code::BridgeKeyNotFound);
}

const ALGORITHMS: [Algorithm; 3] = [Algorithm::AesGcm128, Algorithm::AesGcm256, Algorithm::Sm4Gcm128];

#[test]
fn every_algorithm_seals_and_opens_at_every_size() {
    let b = bridge(&["k1"]);
    for algorithm in ALGORITHMS {
        for len in [0usize, 1, 16, (1 << 20) + 1] {
            let plaintext: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let options = EncryptOptions { algorithm, ..EncryptOptions::default() };
            let message = block_on(envelope::encrypt(&[&b], &[arn("k1")], &plaintext, &options)).unwrap();
            assert_eq!(Message::from_der(&message).unwrap().header.algorithm, algorithm);
            assert_eq!(open(&b, &message).unwrap().plaintext, plaintext, "{algorithm:?} {len}");
        }
    }
}

/// A bridge that counts GenerateDataKey calls.
struct Counting(SoftwareKeyProvider, AtomicU64);

#[async_trait::async_trait]
impl KeyProvider for Counting {
    fn id(&self) -> kms_instance::envelope::ProviderId {
        self.0.id()
    }
    async fn wrap_new_data_key(
        &self,
        k: &KeyArn,
        d: &[u8],
        c: &EncryptionContext,
    ) -> Result<Vec<u8>, kms_instance::Problem> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.wrap_new_data_key(k, d, c).await
    }
    async fn encrypt(&self, k: &KeyArn, p: &[u8], c: &EncryptionContext) -> Result<Vec<u8>, kms_instance::Problem> {
        self.0.encrypt(k, p, c).await
    }
    async fn decrypt(
        &self,
        k: &KeyArn,
        b: &[u8],
        c: &EncryptionContext,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, kms_instance::Problem> {
        self.0.decrypt(k, b, c).await
    }
    async fn describe_key(&self, k: &KeyArn) -> Result<kms_instance::envelope::KeyDescription, kms_instance::Problem> {
        self.0.describe_key(k).await
    }
    async fn random(&self, n: usize) -> Result<Vec<u8>, kms_instance::Problem> {
        self.0.random(n).await
    }
    async fn holds(&self, k: &KeyArn) -> Result<bool, kms_instance::Problem> {
        self.0.holds(k).await
    }
}

fn cached_run(limits: CacheLimits, steps: &[(u64, usize)]) -> (u64, usize) {
    let now = Arc::new(AtomicU64::new(0));
    let clock = Arc::clone(&now);
    let cache = DataKeyCache::with_clock(limits, Box::new(move || Duration::from_secs(clock.load(Ordering::SeqCst))));
    let b = Counting(bridge(&["k1"]), AtomicU64::new(0));
    for (at, size) in steps {
        now.store(*at, Ordering::SeqCst);
        let options = EncryptOptions { cache: Some(&cache), ..EncryptOptions::default() };
        let message = block_on(envelope::encrypt(&[&b], &[arn("k1")], &vec![7u8; *size], &options)).unwrap();
        assert_eq!(
            block_on(envelope::decrypt(&[&b.0], &message, &DecryptOptions::default())).unwrap().plaintext.len(),
            *size
        );
    }
    (b.1.load(Ordering::SeqCst), cache.len())
}

#[test]
fn caching_is_off_by_default() {
    let b = Counting(bridge(&["k1"]), AtomicU64::new(0));
    for _ in 0..3 {
        block_on(envelope::encrypt(&[&b], &[arn("k1")], b"x", &EncryptOptions::default())).unwrap();
    }
    assert_eq!(b.1.load(Ordering::SeqCst), 3);
}

#[test]
fn caching_honours_the_message_limit() {
    let limits = CacheLimits {
        max_messages: 3,
        max_bytes: u64::MAX,
        max_age: Duration::from_secs(3600),
        max_entries: DEFAULT_MAX_ENTRIES,
    };
    let (generated, held) = cached_run(limits, &[(0, 1); 7]);
    assert_eq!(generated, 3, "7 messages at 3 per key");
    assert_eq!(held, 1);
    let (_, held) = cached_run(limits, &[(0, 1); 6]);
    assert_eq!(held, 0, "a key that served its last message is dropped at once");
}

#[test]
fn caching_honours_the_byte_limit() {
    let limits = CacheLimits {
        max_messages: 100,
        max_bytes: 10,
        max_age: Duration::from_secs(3600),
        max_entries: DEFAULT_MAX_ENTRIES,
    };
    // 4 + 4 fit one key; the next 4 would pass 10 bytes: a new key.
    let (generated, _) = cached_run(limits, &[(0, 4), (0, 4), (0, 4), (0, 4)]);
    assert_eq!(generated, 2);
    // A message larger than the limit is never cached.
    let (generated, held) = cached_run(limits, &[(0, 11), (0, 11)]);
    assert_eq!((generated, held), (2, 0));
}

#[test]
fn caching_honours_the_age_limit() {
    let limits = CacheLimits {
        max_messages: 100,
        max_bytes: u64::MAX,
        max_age: Duration::from_secs(60),
        max_entries: DEFAULT_MAX_ENTRIES,
    };
    let (generated, _) = cached_run(limits, &[(0, 1), (59, 1), (60, 1), (61, 1)]);
    assert_eq!(generated, 2, "reused at 59 s, not at 60 s");
}

#[test]
fn an_expired_key_is_dropped_when_the_cache_is_counted() {
    let limits = CacheLimits {
        max_messages: 100,
        max_bytes: u64::MAX,
        max_age: Duration::from_secs(60),
        max_entries: DEFAULT_MAX_ENTRIES,
    };
    let now = Arc::new(AtomicU64::new(0));
    let clock = Arc::clone(&now);
    let cache = DataKeyCache::with_clock(limits, Box::new(move || Duration::from_secs(clock.load(Ordering::SeqCst))));
    let options = EncryptOptions { cache: Some(&cache), ..EncryptOptions::default() };
    block_on(envelope::encrypt(&[&bridge(&["k1"])], &[arn("k1")], b"x", &options)).unwrap();
    assert_eq!(cache.len(), 1);
    now.store(60, Ordering::SeqCst);
    assert_eq!(cache.len(), 0, "past its age, with no encryption since");
}

#[test]
fn caching_separates_contexts_and_algorithms() {
    let limits = CacheLimits {
        max_messages: 100,
        max_bytes: u64::MAX,
        max_age: Duration::from_secs(60),
        max_entries: DEFAULT_MAX_ENTRIES,
    };
    let cache = DataKeyCache::with_clock(limits, Box::new(|| Duration::ZERO));
    let b = Counting(bridge(&["k1"]), AtomicU64::new(0));
    for (ctx, algorithm) in [
        ("a", Algorithm::AesGcm256),
        ("b", Algorithm::AesGcm256),
        ("a", Algorithm::AesGcm128),
        ("a", Algorithm::Sm4Gcm128),
        ("a", Algorithm::AesGcm256),
    ] {
        let options = EncryptOptions { context: context(&[("c", ctx)]), algorithm, cache: Some(&cache) };
        block_on(envelope::encrypt(&[&b], &[arn("k1")], b"x", &options)).unwrap();
    }
    assert_eq!(b.1.load(Ordering::SeqCst), 4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn seal_open_round_trips(
        plaintext in prop::collection::vec(any::<u8>(), 0..4096),
        pairs in prop::collection::btree_map(".{0,12}", ".{0,12}", 0..6),
        two_keys in any::<bool>(),
        algorithm in prop::sample::select(ALGORITHMS.to_vec()),
    ) {
        let b = bridge(&["k1", "k2"]);
        let keys: Vec<KeyArn> = if two_keys { vec![arn("k1"), arn("k2")] } else { vec![arn("k2")] };
        let options = EncryptOptions { context: pairs.clone(), algorithm, cache: None };
        let message = block_on(envelope::encrypt(&[&b], &keys, &plaintext, &options)).unwrap();
        let opened = open(&b, &message).unwrap();
        prop_assert_eq!(opened.plaintext, plaintext);
        prop_assert_eq!(opened.context, pairs);
    }

    #[test]
    fn parsing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Message::from_der(&bytes);
        let b = bridge(&["k1"]);
        prop_assert!(open(&b, &bytes).is_err());
    }
}

/// The body sealed with a prepared data key, before the providers wrap it, and joined
/// to the frame they make: the message opens. Returns whether the layout foretold was
/// the message's (`None`: none was), and the message.
fn sealed_early(bridges: &[&dyn KeyProvider], keys: &[&str], options: &EncryptOptions) -> (Option<bool>, Vec<u8>) {
    let keys: Vec<KeyArn> = keys.iter().map(|k| arn(k)).collect();
    let plaintext = vec![9u8; 3000];
    let prepared = block_on(envelope::prepare_seal(bridges, &keys, plaintext.len(), options)).unwrap();
    let mut body = plaintext.clone();
    let tag = envelope::gcm::seal(Algorithm::AesGcm256, prepared.data_key(), prepared.iv(), &prepared.aad(), &mut body)
        .unwrap();
    let predicted = prepared.predicted_layout(bridges);
    let sealing = block_on(prepared.wrap(bridges, options.cache)).unwrap();
    let (prefix, suffix) = sealing.frame(body.len() as u64, &tag).unwrap();
    let actual = (prefix.len(), prefix.len() + body.len() + suffix.len());
    let message = [prefix, body, suffix].concat();
    let opened = block_on(envelope::decrypt(bridges, &message, &DecryptOptions::default())).unwrap();
    assert_eq!(opened.plaintext, plaintext);
    (predicted.map(|p| p == actual), message)
}

#[test]
fn a_body_sealed_before_the_providers_answer_lands_where_foretold() {
    let (b1, b2) = (bridge(&["k1"]), bridge(&["k2"]));
    let bridges: [&dyn KeyProvider; 2] = [&b1, &b2];
    let plain = EncryptOptions::default();
    // Every key once, each from the provider that holds it.
    for keys in [&["k1"][..], &["k2", "k1"], &["k1", "k2", "k1"]] {
        let (foretold, message) = sealed_early(&bridges, keys, &plain);
        assert_eq!(foretold, Some(true), "{keys:?}");
        let arns: Vec<String> =
            Message::from_der(&message).unwrap().header.encrypted_data_keys.iter().map(|e| e.key_arn.clone()).collect();
        let mut expected: Vec<String> = Vec::new();
        for key in keys.iter().map(|k| arn(k).to_string()) {
            if !expected.contains(&key) {
                expected.push(key);
            }
        }
        // (the header keeps them sorted)
        expected.sort();
        assert_eq!(arns, expected);
    }
    // A cached data key: the blobs are known.
    let cache = DataKeyCache::new(CacheLimits {
        max_messages: 5,
        max_bytes: 1 << 20,
        max_age: Duration::from_secs(60),
        max_entries: DEFAULT_MAX_ENTRIES,
    });
    let cached = EncryptOptions { cache: Some(&cache), ..EncryptOptions::default() };
    for _ in 0..2 {
        assert_eq!(sealed_early(&bridges, &["k1", "k2"], &cached).0, Some(true));
    }
    assert_eq!(cache.len(), 1);
    // A provider that cannot foretell its blob's length: no offset, the message still opens.
    let counting = Counting(bridge(&["k1"]), AtomicU64::new(0));
    assert_eq!(sealed_early(&[&counting], &["k1"], &plain).0, None);
    assert_eq!(counting.1.load(Ordering::SeqCst), 1);
}

#[test]
fn a_prepared_seal_wrapped_by_other_providers_is_refused() {
    let (b1, b2) = (bridge(&["k1"]), bridge(&["k2"]));
    let prepared = block_on(envelope::prepare_seal(&[&b1, &b2], &[arn("k2")], 10, &EncryptOptions::default())).unwrap();
    let err = block_on(prepared.wrap(&[&b1], None)).unwrap_err();
    assert_eq!(err.code, Code::Request);
    // The same number of providers in another order would send the data key to b1,
    // which does not hold k2: refused too, and no layout is foretold for them.
    let prepared = block_on(envelope::prepare_seal(&[&b1, &b2], &[arn("k2")], 10, &EncryptOptions::default())).unwrap();
    assert!(prepared.predicted_layout(&[&b2, &b1]).is_none());
    assert!(prepared.predicted_layout(&[&b1, &b2]).is_some());
    let err = block_on(prepared.wrap(&[&b2, &b1], None)).unwrap_err();
    assert_eq!(err.code, Code::Request);
    // No provider holds a key: refused before any data key is made or wrapped.
    let err =
        block_on(envelope::prepare_seal(&[&b1], &[arn("k1"), arn("k9")], 10, &EncryptOptions::default())).unwrap_err();
    assert_eq!(err.code, Code::BridgeKeyNotFound);
}

#[test]
fn caching_separates_providers_that_name_the_same_key() {
    let limits =
        CacheLimits { max_messages: 100, max_bytes: u64::MAX, max_age: Duration::from_secs(60), max_entries: 10 };
    let cache = DataKeyCache::new(limits);
    let options = EncryptOptions { cache: Some(&cache), ..EncryptOptions::default() };
    // The same ARN, other material: a data key wrapped by one must not serve the other.
    let (a, mut b) = (bridge(&["k1"]), SoftwareKeyProvider::new());
    b.add(arn("k1"), [9; 32]).unwrap();
    let by_a = block_on(envelope::encrypt(&[&a], &[arn("k1")], b"a", &options)).unwrap();
    let by_b = block_on(envelope::encrypt(&[&b], &[arn("k1")], b"b", &options)).unwrap();
    assert_eq!(block_on(envelope::decrypt(&[&b], &by_b, &DecryptOptions::default())).unwrap().plaintext, b"b");
    assert_eq!(block_on(envelope::decrypt(&[&a], &by_a, &DecryptOptions::default())).unwrap().plaintext, b"a");
    assert_eq!(cache.len(), 2);
}

#[test]
fn caching_holds_at_most_max_entries_and_drops_the_oldest() {
    let limits =
        CacheLimits { max_messages: 100, max_bytes: u64::MAX, max_age: Duration::from_secs(60), max_entries: 3 };
    let cache = DataKeyCache::new(limits);
    let b = Counting(bridge(&["k1"]), AtomicU64::new(0));
    let seal = |tenant: &str| {
        let options = EncryptOptions {
            cache: Some(&cache),
            context: context(&[("tenant", tenant)]),
            ..EncryptOptions::default()
        };
        block_on(envelope::encrypt(&[&b], &[arn("k1")], b"x", &options)).unwrap();
    };
    for tenant in ["t0", "t1", "t2", "t3"] {
        seal(tenant);
    }
    assert_eq!((cache.len(), b.1.load(Ordering::SeqCst)), (3, 4));
    seal("t3");
    seal("t1");
    assert_eq!(b.1.load(Ordering::SeqCst), 4, "t1 and t3 are still held");
    seal("t0");
    assert_eq!(b.1.load(Ordering::SeqCst), 5, "t0, the oldest, was dropped for t3");
    assert_eq!(cache.len(), 3);
}
