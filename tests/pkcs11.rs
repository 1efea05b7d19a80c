//! The PKCS#11 bridge against SoftHSM2, on a token made in a temporary directory.
//!
//! Runs when the SoftHSM module and `softhsm2-util` are installed (`.ci/test` installs
//! them); the module path is `$KMS_SOFTHSM_MODULE` or Debian's. With
//! `KMS_REQUIRE_SOFTHSM=1`, as in CI, their absence is a failure.
#![cfg(feature = "pkcs11")]

use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::UserType;
use kms_instance::envelope::KeyProvider;
use kms_instance::envelope::{self, Algorithm, DecryptOptions, EncryptOptions, EncryptionContext, KeyArn};
use kms_instance::key_providers::pkcs11::Pkcs11KeyProvider;
use kms_instance::key_providers::software::SoftwareKeyProvider;
use kms_instance::Code;
use pollster::block_on;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const TOKEN: &str = "kms-test";
const PIN: &str = "246810";
const KNOWN: &str = "acs:kms:cn-hangzhou:1207089758810000:key/hsm-known";
const GENERATED: &str = "acs:kms:cn-hangzhou:1207089758810000:key/hsm-generated";
const KNOWN_MATERIAL: [u8; 32] = [0x5a; 32];

struct Token {
    module: PathBuf,
    bridge: Pkcs11KeyProvider,
    /// The token's files: a directory no other process or run shares.
    _dir: tempfile::TempDir,
}

fn module() -> Option<PathBuf> {
    let path = std::env::var_os("KMS_SOFTHSM_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"));
    let util = Command::new("softhsm2-util").arg("--version").output().is_ok();
    if path.exists() && util {
        return Some(path);
    }
    assert!(std::env::var_os("KMS_REQUIRE_SOFTHSM").is_none(), "KMS_REQUIRE_SOFTHSM is set but SoftHSM2 is missing");
    eprintln!("skipped: SoftHSM2 is not installed (apt-get install softhsm2)");
    None
}

/// One token per test process: SoftHSM reads its configuration once per process.
fn token() -> Option<&'static Token> {
    static TOKEN_CELL: OnceLock<Option<Token>> = OnceLock::new();
    TOKEN_CELL
        .get_or_init(|| {
            let module = module()?;
            let temp = tempfile::tempdir().unwrap();
            let dir = temp.path();
            std::fs::create_dir_all(dir.join("tokens")).unwrap();
            let conf = dir.join("softhsm2.conf");
            std::fs::write(
                &conf,
                format!(
                    "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                    dir.join("tokens").display()
                ),
            )
            .unwrap();
            // Set before the module is first loaded, and only here.
            std::env::set_var("SOFTHSM2_CONF", &conf);
            let init = Command::new("softhsm2-util")
                .args(["--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "13579"])
                .output()
                .unwrap();
            assert!(init.status.success(), "softhsm2-util: {}", String::from_utf8_lossy(&init.stderr));
            import_known_key(&module);
            let bridge = Pkcs11KeyProvider::open(&module, TOKEN, PIN).unwrap();
            bridge.generate_master_key(&arn(GENERATED)).unwrap();
            Some(Token { module, bridge, _dir: temp })
        })
        .as_ref()
}

/// Puts a key with known material on the token, so a software keyring can hold the same.
fn import_known_key(module: &std::path::Path) {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    let ctx = Pkcs11::new(module).unwrap();
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).unwrap();
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == TOKEN)
        .unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    session.login(UserType::User, Some(&PIN.into())).unwrap();
    session
        .create_object(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Label(b"hsm-known".to_vec()),
            Attribute::Value(KNOWN_MATERIAL.to_vec()),
        ])
        .unwrap();
}

fn arn(s: &str) -> KeyArn {
    s.parse().unwrap()
}

fn context() -> EncryptionContext {
    [("app".to_string(), "hsm".to_string())].into()
}

fn software_twin() -> SoftwareKeyProvider {
    let mut b = SoftwareKeyProvider::new();
    b.add(arn(KNOWN), KNOWN_MATERIAL).unwrap();
    b
}

#[test]
fn pkcs11_seals_and_opens_and_matches_the_software_blob() {
    let Some(t) = token() else { return };
    let options = EncryptOptions { context: context(), ..EncryptOptions::default() };
    let keys = [arn(KNOWN), arn(GENERATED)];
    let message = block_on(envelope::encrypt(&[&t.bridge], &keys, b"sealed on the token", &options)).unwrap();
    let opened = block_on(envelope::decrypt(&[&t.bridge], &message, &DecryptOptions::default())).unwrap();
    assert_eq!(opened.plaintext, b"sealed on the token");

    // The token and a keyring with the same material open each other's messages.
    let twin = software_twin();
    let opened = block_on(envelope::decrypt(&[&twin], &message, &DecryptOptions::default())).unwrap();
    assert_eq!((opened.plaintext.as_slice(), opened.key_arn.as_str()), (&b"sealed on the token"[..], KNOWN));
    let from_software = block_on(envelope::encrypt(&[&twin], &[arn(KNOWN)], b"sealed in software", &options)).unwrap();
    let opened = block_on(envelope::decrypt(&[&t.bridge], &from_software, &DecryptOptions::default())).unwrap();
    assert_eq!(opened.plaintext, b"sealed in software");

    // Every sealing algorithm, at every size: the token wraps a data key of its length.
    for algorithm in [Algorithm::AesGcm128, Algorithm::Sm4Gcm128] {
        for len in [0usize, 1, 16, (1 << 20) + 1] {
            let plaintext = vec![0x5a; len];
            let options = EncryptOptions { algorithm, ..EncryptOptions::default() };
            let message = block_on(envelope::encrypt(&[&t.bridge], &[arn(KNOWN)], &plaintext, &options)).unwrap();
            let opened = block_on(envelope::decrypt(&[&twin], &message, &DecryptOptions::default())).unwrap();
            assert_eq!(opened.plaintext, plaintext, "{algorithm:?}, {len} bytes");
        }
    }

    let description = block_on(t.bridge.describe_key(&arn(GENERATED))).unwrap();
    assert_eq!((description.key_spec.as_str(), description.protection_level.as_str()), ("Aliyun_AES_256", "HSM"));
    assert_eq!(block_on(t.bridge.random(32)).unwrap().len(), 32);
}

#[test]
fn pkcs11_bridge_survives_concurrent_use() {
    let Some(t) = token() else { return };
    std::thread::scope(|scope| {
        for worker in 0..8 {
            scope.spawn(move || {
                for i in 0..25 {
                    let plaintext = format!("worker {worker} message {i}");
                    let key = if i % 2 == 0 { KNOWN } else { GENERATED };
                    let options = EncryptOptions { context: context(), ..EncryptOptions::default() };
                    let message =
                        block_on(envelope::encrypt(&[&t.bridge], &[arn(key)], plaintext.as_bytes(), &options)).unwrap();
                    let opened =
                        block_on(envelope::decrypt(&[&t.bridge], &message, &DecryptOptions::default())).unwrap();
                    assert_eq!(opened.plaintext, plaintext.as_bytes());
                }
            });
        }
    });
}

#[test]
fn pkcs11_failures_name_the_call_and_never_the_pin() {
    let Some(t) = token() else { return };
    let wrong = Pkcs11KeyProvider::open(&t.module, TOKEN, "999999").unwrap_err();
    assert_eq!(wrong.code, Code::BridgeAuthenticationFailed);
    assert!(wrong.message.contains("C_Login") && !wrong.to_string().contains("999999"), "{wrong}");
    assert!(Pkcs11KeyProvider::open(&t.module, TOKEN, PIN).is_ok(), "a second bridge with the right PIN");
    let missing = Pkcs11KeyProvider::open(&t.module, "no-such-token", PIN).unwrap_err();
    assert_eq!(missing.code, Code::BridgeUnavailable);
    let no_module = Pkcs11KeyProvider::open(std::path::Path::new("/nonexistent/libpkcs11.so"), TOKEN, PIN).unwrap_err();
    assert_eq!(no_module.code, Code::BridgeUnavailable);

    let unknown =
        block_on(t.bridge.generate_data_key(&arn("acs:kms:cn-hangzhou:1:key/absent"), 32, &context())).unwrap_err();
    assert_eq!(unknown.code, Code::BridgeKeyNotFound);
    let dk = block_on(t.bridge.generate_data_key(&arn(KNOWN), 32, &context())).unwrap();
    assert!(!format!("{dk:?}").contains(&format!("{:?}", &dk.plaintext[..4])));
    let mut tampered = dk.ciphertext_blob.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let tampered_result = block_on(t.bridge.decrypt(&arn(KNOWN), &tampered, &context()));
    assert_eq!(tampered_result.unwrap_err().code, Code::InvalidCiphertext);
    let other_context =
        block_on(t.bridge.decrypt(&arn(KNOWN), &dk.ciphertext_blob, &EncryptionContext::new())).unwrap_err();
    assert_eq!(other_context.code, Code::InvalidCiphertext);
    assert_eq!(t.bridge.generate_master_key(&arn(GENERATED)).unwrap_err().code, Code::Keyring, "labels are unique");
}

#[test]
fn pkcs11_from_the_command_line() {
    let Some(t) = token() else { return };
    let kms = env!("CARGO_BIN_EXE_kms-instance");
    let module = t.module.to_string_lossy().into_owned();
    let token_args = ["--pkcs11-module", &module, "--token-label", TOKEN, "--pin-env", "KMS_TEST_PIN"];
    let run = |args: &[&str], input: &[u8]| {
        use std::io::Write;
        let mut child = Command::new(kms)
            .args(args)
            .env("KMS_TEST_PIN", PIN)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    let mut encrypt = vec!["encrypt", "--key", KNOWN, "--context", "app=cli"];
    encrypt.extend(token_args);
    let sealed = run(&encrypt, b"from the CLI");
    assert!(sealed.status.success(), "{}", String::from_utf8_lossy(&sealed.stderr));
    let mut decrypt = vec!["decrypt", "--require-context", "app=cli"];
    decrypt.extend(token_args);
    let opened = run(&decrypt, &sealed.stdout);
    assert_eq!(opened.stdout, b"from the CLI");
    let mut mismatch = vec!["decrypt", "--require-context", "app=other"];
    mismatch.extend(token_args);
    assert_eq!(run(&mismatch, &sealed.stdout).status.code(), Some(1));
}

#[test]
fn a_failed_call_keeps_what_pkcs11_said_as_its_cause() {
    let p = Pkcs11KeyProvider::open(Path::new("/nonexistent/libpkcs11.so"), TOKEN, PIN).unwrap_err();
    assert_eq!(p.code, Code::BridgeUnavailable);
    assert!(std::error::Error::source(&p).is_some(), "the cryptoki error is kept as the cause");
}
