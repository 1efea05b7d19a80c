//! The command-line tool as a user runs it: exit statuses and one-line errors.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn kms(args: &[&str], stdin: &str) -> Output {
    kms_bytes(args, stdin.as_bytes())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scenario(name: &str) -> String {
    let dir = std::env::var_os("KMS_SCENARIOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/scenarios"));
    dir.join(name).to_string_lossy().into_owned()
}

/// A file in a directory of its own (removed when dropped): tests run in parallel
/// threads, and none may see another's file.
struct TempFile {
    _dir: tempfile::TempDir,
    path: String,
}

impl TempFile {
    fn as_str(&self) -> &str {
        &self.path
    }
}

impl std::ops::Deref for TempFile {
    type Target = str;
    fn deref(&self) -> &str {
        &self.path
    }
}

fn temp_file(name: &str, contents: &(impl AsRef<[u8]> + ?Sized)) -> TempFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    TempFile { _dir: dir, path: path.to_string_lossy().into_owned() }
}

/// Exit 2 with exactly one line on stderr naming the problem, and no panic.
fn assert_fatal(out: &Output, mentions: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(mentions), "{err:?} should mention {mentions:?}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
}

const PLAN_HEAD: &str = r#""directory": {"resourceDirectoryId": "rd-a1b2c3", "enterpriseId": "ent-acme",
    "accounts": [{"id": "1207089758810000", "name": "security-team"}]},
  "instance": {"instanceId": "kst-hzz62f4a5c2d7ab12cd", "type": "software", "regionId": "cn-hangzhou",
    "ownerId": "1207089758810000", "status": "enabled",
    "spec": {"accessManagementQuota": 5, "keyQuota": 10, "secretQuota": 10}}"#;

fn plan_with(steps: &str) -> String {
    format!(r#"{{"name": "t", {PLAN_HEAD}, "steps": [{steps}]}}"#)
}

#[test]
fn plan_reports_every_shared_scenario_matched() {
    let files: Vec<String> =
        ["01-quota-example.json", "02-joint-ownership.json", "03-independent-ownership.json"].map(scenario).into();
    let args: Vec<&str> = std::iter::once("plan").chain(files.iter().map(String::as_str)).collect();
    let out = kms(&args, "");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("5 of 5 steps matched"), "{stdout}");
    assert!(stdout.contains("QuotaExceeded.AccessManagement"));
    assert!(!stdout.contains("DIFFERS"));
}

#[test]
fn plan_json_is_machine_readable() {
    let out = kms(&["plan", "--json", &scenario("05-sharing-preconditions.json")], "");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["matched"], true);
    assert_eq!(v[0]["steps"][0]["errors"][0], "Rejected.NotSameEnterprise");
    assert_eq!(v[0]["steps"].as_array().unwrap().len(), 7);
}

#[test]
fn plan_that_does_not_match_exits_1_and_says_what_differed() {
    let file = temp_file(
        "mismatch.json",
        &plan_with(
            r#"{"as": "owner", "action": "CreateKey", "params": {"alias": "alias/a"}, "expect": {"error": "Conflict.NameExists"}}"#,
        ),
    );
    let out = kms(&["plan", &file], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("DIFFERS: expected error Conflict.NameExists, got success"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn bad_plan_files_exit_2_with_one_line() {
    assert_fatal(&kms(&["plan", "/nonexistent/plan.json"], ""), "/nonexistent/plan.json");
    let not_json = temp_file("not-json.json", "{\"name\": ");
    let out = kms(&["plan", &not_json], "");
    assert_fatal(&out, "not-json.json:1:9: ");
    assert!(!text(&out.stderr).contains("at line"), "the place is said once: {}", text(&out.stderr));
    // Nothing may follow a plan: two plans in one file are not one.
    let twice =
        temp_file("twice.json", &format!("{0}\n{0}", plan_with(r#"{"as": "owner", "action": "CreateBackup"}"#)));
    assert_fatal(&kms(&["plan", &twice], ""), "trailing characters");
    let unknown = temp_file("unknown.json", &plan_with(r#"{"as": "owner", "action": "LaunchRocket"}"#));
    assert_fatal(&kms(&["plan", &unknown], ""), "LaunchRocket");
    // A misspelt action: placed at its value (not at the step's end), with the nearest name.
    let misspelt_text = plan_with(
        r#"{"as": "owner", "action": "CreateBackup"},
        {"as": "owner",
         "action": "CreateKee", "params": {"alias": "alias/x"}}"#,
    );
    let at = misspelt_text.find("\"CreateKee\"").unwrap();
    let line = misspelt_text[..at].matches('\n').count() + 1;
    let column = at - misspelt_text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    let misspelt = temp_file("misspelt.json", &misspelt_text);
    let out = kms(&["plan", &misspelt], "");
    assert_fatal(&out, &format!("misspelt.json:{line}:{column}: "));
    assert_fatal(&out, "at /steps/1/action: unknown action \"CreateKee\": did you mean \"CreateKey\"?");
    let wrong_type = temp_file(
        "wrong-type.json",
        &plan_with(r#"{"as": "owner", "action": "RenewKmsInstance", "params": {"months": "twelve"}}"#),
    );
    assert_fatal(&kms(&["plan", &wrong_type], ""), "months");
    let typo =
        temp_file("typo.json", &plan_with(r#"{"as": "owner", "action": "CreateBackup", "expcet": {"ok": true}}"#));
    assert_fatal(&kms(&["plan", &typo], ""), "expcet");
    // A step is read whole before its fields are known, so serde_json stops past it: the
    // mistake is placed at the step its pointer names.
    let typo_text = plan_with(r#"{"as": "owner", "action": "CreateBackup", "expcet": {"ok": true}}"#);
    let start = typo_text.find(r#"{"as": "owner""#).unwrap();
    let line = typo_text[..start].matches('\n').count() + 1;
    let column = start - typo_text[..start].rfind('\n').map_or(0, |i| i + 1) + 1;
    assert_fatal(&kms(&["plan", &typo], ""), &format!("typo.json:{line}:{column}: "));
    assert_fatal(&kms(&["plan", &typo], ""), "at /steps/0: ");
    let bad_code = temp_file(
        "bad-code.json",
        &plan_with(r#"{"as": "owner", "action": "CreateBackup", "expect": {"error": "Nope"}}"#),
    );
    assert_fatal(&kms(&["plan", &bad_code], ""), "unknown code \"Nope\"");
    // One malformed file stops the run before any plan runs.
    assert_fatal(&kms(&["plan", &scenario("01-quota-example.json"), &not_json], ""), "not-json.json");
}

#[test]
fn validate_bind_vpcs_reports_every_problem() {
    let input = r#"[{"VpcId":"vpc-bp1go9qvmj78j4f4c0001","VSwitchId":"vsw-1","RegionId":"cn-shanghai"}]"#;
    let out = kms(&["validate", "bind-vpcs", "--region", "cn-hangzhou", "-"], input);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("invalid: 3 problem(s)"), "{stdout}");
    for needle in ["/0/VSwitchId", "/0/VpcOwnerId", "/0/RegionId", "InvalidParameter.BindVpcs.CrossRegion"] {
        assert!(stdout.contains(needle), "{needle} in {stdout}");
    }
    // Where each is, as a compiler says it: the region's value, and the entry that
    // lacks the vSwitch.
    let region = input.find("\"cn-shanghai\"").unwrap() + 1;
    assert!(
        stdout.contains(&format!("<stdin>:1:{region}: InvalidParameter.BindVpcs.CrossRegion R-BV-4 at /0/RegionId")),
        "{stdout}"
    );
    assert!(stdout.contains("<stdin>:1:2: InvalidParameter.BindVpcs.MissingField R-BV-2 at /0/VpcOwnerId"), "{stdout}");
    let ok = r#"[{"VpcId":"vpc-bp1go9qvmj78j4f4c0001","VSwitchId":"vsw-bp16c5pvvcf0fp5b90001","RegionId":"cn-hangzhou","VpcOwnerId":"1192853035110000"}]"#;
    let out = kms(&["validate", "bind-vpcs", "--region", "cn-hangzhou", "--owner", "1207089758810000", "--json"], ok);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["warnings"][0]["code"], "Warning.CrossAccountVpc");
    assert_fatal(&kms(&["validate", "bind-vpcs", "--region", "Hangzhou"], "[]"), "--region");
    assert_fatal(&kms(&["validate", "bind-vpcs", "--region", "cn-hangzhou", "/nonexistent"], ""), "/nonexistent");
}

#[test]
fn validate_name_covers_every_kind() {
    let valid = [
        ("instance-id", "kst-hzz62f4a5c2d7ab12cd"),
        ("vpc-id", "vpc-bp1go9qvmj78j4f4c0001"),
        ("vswitch-id", "vsw-bp16c5pvvcf0fp5b90001"),
        ("region-id", "cn-hangzhou"),
        ("account-id", "1207089758810000"),
        ("folder-id", "fd-AbCd1234"),
        ("resource-directory-id", "rd-a1b2c3"),
        ("account-name", "security-team"),
        ("display-name", "安全团队"),
        ("resource-share-name", "kms-share"),
        ("alias", "alias/app"),
        ("secret-name", "db-password"),
        ("bucket", "kms-audit-logs"),
    ];
    for (kind, value) in valid {
        let out = kms(&["validate", "name", kind, value], "");
        assert_eq!(out.status.code(), Some(0), "{kind} {value}: {}", text(&out.stdout));
        let out = kms(&["validate", "name", kind, "a b"], "");
        assert_eq!(out.status.code(), Some(1), "{kind} rejects a space");
        assert!(text(&out.stdout).contains("InvalidParameter."));
    }
    let out = kms(&["validate", "name", "colour", "x"], "");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_command_has_help() {
    for command in [
        &[][..],
        &["plan"],
        &["validate"],
        &["validate", "bind-vpcs"],
        &["validate", "name"],
        &["encrypt"],
        &["decrypt"],
        &["inspect"],
        &["keyring"],
        &["keyring", "new"],
        &["keyring", "add"],
        &["keyring", "list"],
        &["pkcs11", "generate-key"],
        &["serve"],
        &["xks-proxy"],
        &["completions"],
        &["man"],
    ] {
        for help in ["-h", "--help"] {
            let args: Vec<&str> = command.iter().copied().chain([help]).collect();
            let out = kms(&args, "");
            assert_eq!(out.status.code(), Some(0), "{args:?}");
            let said = text(&out.stdout);
            assert!(said.contains("Usage:"), "{args:?}");
            // Help that stands alone: no pointer to a file the user may not have.
            for elsewhere in ["README", "SCENARIOS.md", "RULES.md", "ENVELOPE.md"] {
                assert!(!said.contains(elsewhere), "{args:?} sends the reader to {elsewhere}: {said}");
            }
            // Every option says what it is (the short form puts it on the option's line):
            // past its names and its value (`-o, --output <FILE>`), words remain.
            if help == "-h" {
                let described = |l: &str| {
                    l.split_whitespace().any(|w| !(w.starts_with('-') || w.starts_with('<') || w.starts_with('[')))
                };
                let bare: Vec<&str> =
                    said.lines().filter(|l| l.trim_start().starts_with('-') && !described(l)).collect();
                assert!(bare.is_empty(), "{args:?}: options without a description: {bare:?}");
            }
        }
    }
}

#[test]
fn a_region_that_is_not_published_is_warned_of_with_the_nearest() {
    let out = kms(&["validate", "name", "region-id", "cn-hangzou"], "");
    assert_eq!(out.status.code(), Some(0), "the form is right: not an error");
    assert!(
        text(&out.stdout).contains("Warning.UnknownRegion")
            && text(&out.stdout).contains("did you mean \"cn-hangzhou\"?")
    );
    assert!(!text(&kms(&["validate", "name", "region-id", "cn-hangzhou"], "").stdout).contains("Warning"));
    let out = kms(&["validate", "bind-vpcs", "--region", "cn-hangzou"], "[]");
    assert!(text(&out.stderr).contains("warning: --region: Warning.UnknownRegion"), "{}", text(&out.stderr));
    // A malformed one is an error.
    assert_fatal(&kms(&["validate", "bind-vpcs", "--region", "CN_Hangzhou"], "[]"), "--region");
}

const ARN_A: &str = "acs:kms:cn-hangzhou:1207089758810000:key/key-cli-a";
const ARN_B: &str = "acs:kms:cn-hangzhou:1207089758810000:key/key-cli-b";

fn keyring() -> TempFile {
    temp_file(
        "keyring.json",
        &format!(
            r#"{{"keys": [{{"arn": "{ARN_A}", "material": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}},
                         {{"arn": "{ARN_B}", "material": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="}}]}}"#
        ),
    )
}

fn raw(out: &Output) -> Vec<u8> {
    out.stdout.clone()
}

#[test]
fn encrypt_then_decrypt_with_a_keyring() {
    let ring = keyring();
    let sealed = kms(
        &[
            "encrypt",
            "--keyring",
            &ring,
            "--key",
            ARN_A,
            "--key",
            ARN_B,
            "--context",
            "app=cli",
            "--algorithm",
            "aes-gcm-128",
        ],
        "a file's contents\n",
    );
    assert_eq!(sealed.status.code(), Some(0), "{}", text(&sealed.stderr));
    let message = String::from_utf8_lossy(&raw(&sealed)).into_owned();
    assert!(!message.contains("a file's contents"));

    // kms() takes text; a message is bytes, so go through a file.
    let file = temp_file("message.bin", &raw(&sealed));
    let decrypt = |args: &[&str]| {
        let mut all = vec!["decrypt", "--keyring", ring.as_str()];
        all.extend_from_slice(args);
        Command::new(env!("CARGO_BIN_EXE_kms-instance"))
            .args(&all)
            .stdin(std::fs::File::open(&*file).unwrap())
            .output()
            .unwrap()
    };
    let opened = decrypt(&["--require-context", "app=cli"]);
    assert_eq!((opened.status.code(), opened.stdout.as_slice()), (Some(0), &b"a file's contents\n"[..]));

    let mismatch = decrypt(&["--require-context", "app=other"]);
    assert_eq!(mismatch.status.code(), Some(1), "a message that does not open exits 1");
    assert_eq!(text(&mismatch.stderr).trim_end().lines().count(), 1);
    assert!(text(&mismatch.stderr).contains("InvalidCiphertext.ContextMismatch: ") && mismatch.stdout.is_empty());

    // The header, without a key: what the package's inspectMessage returns.
    let inspect = || {
        Command::new(env!("CARGO_BIN_EXE_kms-instance"))
            .arg("inspect")
            .stdin(std::fs::File::open(&*file).unwrap())
            .output()
            .unwrap()
    };
    let header = inspect();
    assert_eq!(header.status.code(), Some(0), "{}", text(&header.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&header.stdout).unwrap();
    assert_eq!(summary["algorithm"], "AES_GCM_128");
    assert_eq!(summary["context"], serde_json::json!({"app": "cli"}));
    assert_eq!(summary["bodyBytes"], "a file's contents\n".len());
    let arns: Vec<&str> =
        summary["dataKeys"].as_array().unwrap().iter().map(|k| k["keyArn"].as_str().unwrap()).collect();
    assert_eq!(arns.len(), 2);
    assert!(arns.contains(&ARN_A) && arns.contains(&ARN_B), "{arns:?}");

    let mut bytes = raw(&sealed);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&*file, &bytes).unwrap();
    assert_eq!(decrypt(&[]).status.code(), Some(1));
    // Not a message at all: exit 1, the reason on stderr, nothing on stdout.
    std::fs::write(&*file, b"not a message").unwrap();
    let refused = inspect();
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(text(&refused.stderr), format!("kms-instance: {NOT_A_MESSAGE}\n"));
    assert!(refused.stdout.is_empty());
}

#[test]
fn encrypt_and_decrypt_bad_input_exit_2() {
    let ring = keyring();
    assert_fatal(&kms(&["encrypt", "--keyring", &ring, "--key", "not-an-arn"], ""), "InvalidParameter.KeyId");
    assert_fatal(
        &kms(&["encrypt", "--keyring", "/nonexistent/ring.json", "--key", ARN_A], ""),
        "/nonexistent/ring.json",
    );
    let not_keyring =
        temp_file("bad-keyring.json", r#"{"keys": [{"arn": "acs:kms:r:1:key/a", "material": "dG9vIHNob3J0"}]}"#);
    let out = kms(&["encrypt", "--keyring", &not_keyring, "--key", ARN_A], "");
    assert_fatal(&out, "InvalidParameter.Keyring");
    assert!(!text(&out.stderr).contains("dG9vIHNob3J0"), "the material never shows");
    let missing = "acs:kms:cn-hangzhou:1207089758810000:key/absent";
    assert_fatal(&kms(&["encrypt", "--keyring", &ring, "--key", missing], "x"), "Bridge.KeyNotFound");
    assert_fatal(&kms(&["encrypt", "--keyring", &ring, "--key", ARN_A, "--context", "novalue"], "x"), "KEY=VALUE");
    // Argument errors are clap's: exit 2, the problem first, then the usage.
    let out = kms(&["decrypt", "--keyring", &ring, "--pin-env", "X"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: "), "{}", text(&out.stderr));
    assert_fatal(
        &kms(&["decrypt", "--pkcs11-module", "/x.so", "--token-label", "t", "--pin-env", "KMS_UNSET_PIN_VARIABLE"], ""),
        "KMS_UNSET_PIN_VARIABLE",
    );
    // Garbage in: a message that does not open, not a crash.
    let out = kms(&["decrypt", "--keyring", &ring], "not a message");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), format!("kms-instance: {NOT_A_MESSAGE}\n"));
}

/// The one text for bytes that are not a message: the library's, the package's and the
/// page's too.
const NOT_A_MESSAGE: &str = "InvalidCiphertext.NotAMessage: the bytes are not a message of the Encryption SDK's format";

/// Runs the binary with standard output closed (`>&-`). Rust's runtime reopens a
/// closed standard stream as /dev/null before `main`, so this is `> /dev/null`.
fn kms_closed_stdout(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$0" "$@" >&-"#)
        .arg(env!("CARGO_BIN_EXE_kms-instance"))
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_or_broken_standard_output_is_exit_2_not_a_panic() {
    for (args, status) in [
        (&["plan", &scenario("01-quota-example.json")][..], 0),
        (&["validate", "name", "alias", "alias/acs/x"], 1),
        (&["--help"], 0),
    ] {
        let out = kms_closed_stdout(args);
        assert_eq!(out.status.code(), Some(status), "{args:?}: {}", text(&out.stderr));
        assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    }
    // A reader that went away (`| head -c0`): the pipe is broken before the first write.
    let commands: [&[&str]; 3] = [
        &["plan", "--json", &scenario("01-quota-example.json")],
        &["validate", "bind-vpcs", "--region", "cn-hangzhou", "--json", "-"],
        &["--version"],
    ];
    for args in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_kms-instance"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_fatal(&out, "standard output");
    }
}

#[test]
fn encrypt_without_a_key_uses_every_key_of_the_keyring() {
    let ring = keyring();
    let sealed = kms(&["encrypt", "--keyring", &ring], "no key named");
    assert_eq!(sealed.status.code(), Some(0), "{}", text(&sealed.stderr));
    let only_b = temp_file(
        "b.json",
        &format!(r#"{{"keys": [{{"arn": "{ARN_B}", "material": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="}}]}}"#),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kms-instance"))
        .args(["decrypt", "--keyring", &only_b])
        .stdin(std::fs::File::open(&*temp_file("m.bin", &sealed.stdout)).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"no key named", "the second key of the keyring has a copy too");
}

#[test]
fn validate_bind_vpcs_takes_the_context_the_core_takes() {
    let input = r#"[{"VpcId":"vpc-bp1go9qvmj78j4f4c0001","VSwitchId":"vsw-bp16c5pvvcf0fp5b90001","RegionId":"cn-shanghai","VpcOwnerId":"1192853035110000"}]"#;
    // No region: regions are not compared (the core's Context leaves it optional).
    let out = kms(&["validate", "bind-vpcs", "-"], input);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_fatal(&kms(&["validate", "bind-vpcs", "--owner", "12"], input), "--owner");
    assert_fatal(&kms(&["validate", "bind-vpcs", "--primary-vpc", "VPC-1"], input), "InvalidParameter.VpcId");
}

#[test]
fn hostile_arguments_get_one_line_and_exit_2() {
    let out = kms(&["--no-such-flag"], "");
    assert_fatal(&out, "--no-such-flag");
    assert!(text(&out.stderr).starts_with("error: "));
    assert_fatal(&kms(&[], ""), "kms-instance --help");
    assert_fatal(&kms(&["validate", "name", "no-such-kind", "x"], ""), "no-such-kind");
    use std::os::unix::ffi::OsStrExt;
    let not_utf8 = std::ffi::OsStr::from_bytes(b"\xff\xfe");
    let out = Command::new(env!("CARGO_BIN_EXE_kms-instance")).args(["plan".as_ref(), not_utf8]).output().unwrap();
    assert_fatal(&out, "");
    let help = kms(&["--help"], "");
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("Usage"));
    // A value with a newline is one line of output, and is not echoed.
    let out = kms(&["validate", "name", "alias", "alias/a\nb"], "");
    assert_eq!((out.status.code(), text(&out.stdout).lines().count()), (Some(1), 1));
}

#[test]
fn hostile_files_get_their_exit_status() {
    let binary: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let bin = temp_file("binary.bin", &binary);
    let empty = temp_file("empty.json", "");
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.json");
    std::fs::File::create(&huge).unwrap().set_len(33 << 20).unwrap();
    let huge = huge.to_string_lossy().into_owned();

    // Plans: a file that is not a plan stops the run (exit 2).
    assert_fatal(&kms(&["plan", &bin], ""), "not UTF-8");
    assert_fatal(&kms(&["plan", &empty], ""), "invalid plan");
    assert_fatal(&kms(&["plan", &huge], ""), "InvalidParameter.TooLarge");
    assert_fatal(&kms(&["plan", dir.path().to_str().unwrap()], ""), dir.path().to_str().unwrap());

    // BindVpcs: bad input is a report (exit 1), whatever its bytes.
    for (file, code) in [(&*bin, "Malformed"), (&*empty, "Malformed"), (huge.as_str(), "TooLarge")] {
        let out = kms(&["validate", "bind-vpcs", "--region", "cn-hangzhou", file], "");
        assert_eq!(out.status.code(), Some(1), "{file}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains(code), "{file}: {}", text(&out.stdout));
    }

    // Keyrings and messages: exit 2 or 1, one line, nothing of the input echoed.
    assert_fatal(&kms(&["encrypt", "--keyring", &bin, "--key", ARN_A], "x"), "InvalidParameter.Keyring");
    assert_fatal(&kms(&["encrypt", "--keyring", &huge, "--key", ARN_A], "x"), "InvalidParameter.TooLarge");
    let ring = keyring();
    let out = Command::new(env!("CARGO_BIN_EXE_kms-instance"))
        .args(["decrypt", "--keyring", &ring])
        .stdin(std::fs::File::open(&*bin).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr).trim_end().lines().count(), 1);
}

#[test]
fn a_keyring_in_any_wrong_shape_never_shows_its_material() {
    let material = "c2VjcmV0LWtleS1tYXRlcmlhbC1vZi0zMi1ieXRlcyE=";
    for body in [
        format!(r#""{material}""#),
        format!(r#"{{"keys": ["{material}"]}}"#),
        format!(r#"{{"keys": [{{"arn": "{material}", "material": "{ARN_A}"}}]}}"#),
        format!(r#"{{"keys": [{{"arn": "{ARN_A}", "material": {{"{material}": 1}}}}]}}"#),
        format!(r#"{{"keys": [{{"arn": "{ARN_A}", "material": "{material}", "{material}": 0}}]}}"#),
    ] {
        let file = temp_file("keyring.json", &body);
        let out = kms(&["encrypt", "--keyring", &file, "--key", ARN_A], "x");
        assert_fatal(&out, "InvalidParameter.Keyring");
        assert!(!text(&out.stderr).contains(&material[..12]), "{}", text(&out.stderr));
    }
}

#[test]
fn a_plan_at_the_calendar_edge_is_exit_2_and_a_late_renewal_a_result() {
    let late = temp_file(
        "late.json",
        &plan_with(
            r#"{"as": "owner", "action": "DescribeKmsInstance"}, {"as": "owner", "action": "DescribeKmsInstance"}"#,
        )
        .replacen(r#""name": "t","#, r#""name": "t", "now": "9999-12-31T23:59:00Z","#, 1),
    );
    assert_fatal(&kms(&["plan", &late], ""), "9999-12-31");
    let renew = temp_file(
        "renew.json",
        &plan_with(r#"{"as": "owner", "action": "RenewKmsInstance", "params": {"months": 1}, "expect": {"error": "Rejected.LimitExceeded"}}"#)
            .replacen(r#""status": "enabled","#, r#""status": "enabled", "expiresAt": "9999-12-20T00:00:00Z","#, 1),
    );
    let out = kms(&["plan", &renew], "");
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn a_legacy_message_opens_only_with_allow_legacy_and_sm4_gcm_seals() {
    // A message the reference SDK sealed with AES-CBC (algorithm 5), from the vectors.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/legacy_aes_cbc_pkcs5_128.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    use base64::Engine as _;
    let b64 = |s: &serde_json::Value| base64::engine::general_purpose::STANDARD.decode(s.as_str().unwrap()).unwrap();
    let ring = temp_file("keyring.json", &v["keyring"].to_string());
    let file = temp_file("legacy.bin", &b64(&v["message"]));
    let decrypt = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kms-instance"))
            .args(["decrypt", "--keyring", ring.as_str()])
            .args(extra)
            .stdin(std::fs::File::open(&*file).unwrap())
            .output()
            .unwrap()
    };
    let refused = decrypt(&[]);
    assert_eq!(refused.status.code(), Some(2), "refused as a usage the flag allows: {}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("Rejected.LegacyAlgorithm") && text(&refused.stderr).contains("--allow-legacy")
    );
    assert!(refused.stdout.is_empty());
    let opened = decrypt(&["--allow-legacy"]);
    let plaintext = b64(&v["expect"]["plaintext"]);
    assert_eq!((opened.status.code(), &opened.stdout), (Some(0), &plaintext));
    // Its header reads without a key, and without the flag: reading opens nothing.
    let inspected = Command::new(env!("CARGO_BIN_EXE_kms-instance"))
        .arg("inspect")
        .stdin(std::fs::File::open(&*file).unwrap())
        .output()
        .unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(
        (&summary["algorithm"], &summary["bodyBytes"]),
        (&serde_json::json!("AES_CBC_PKCS5_128"), &serde_json::json!((plaintext.len() / 16 + 1) * 16))
    );

    let ring = keyring();
    let sealed = kms(&["encrypt", "--keyring", &ring, "--key", ARN_A, "--algorithm", "sm4-gcm-128"], "SM4 body\n");
    assert_eq!(sealed.status.code(), Some(0), "{}", text(&sealed.stderr));
    let message = temp_file("sm4.bin", &raw(&sealed));
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kms-instance"))
            .args(args)
            .stdin(std::fs::File::open(&*message).unwrap())
            .output()
            .unwrap()
    };
    let summary: serde_json::Value = serde_json::from_slice(&run(&["inspect"]).stdout).unwrap();
    assert_eq!(summary["algorithm"], "SM4_GCM_128");
    assert_eq!(run(&["decrypt", "--keyring", &ring]).stdout, b"SM4 body\n");
}

#[test]
fn files_in_and_out_keys_by_id_and_errors_that_name_what_is_missing() {
    let ring = keyring();
    let dir = tempfile::tempdir().unwrap();
    let (plain, sealed, opened) =
        (dir.path().join("report.txt"), dir.path().join("report.kms"), dir.path().join("back.txt"));
    std::fs::write(&plain, "a report\n").unwrap();
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    // A file argument and -o, as age and openssl take them; a keyring's key by its key id.
    let out = kms(&["encrypt", "--keyring", &ring, "--key", "key-cli-b", &path(&plain), "-o", &path(&sealed)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let summary = kms(&["inspect", &path(&sealed)], "");
    let summary: serde_json::Value = serde_json::from_slice(&summary.stdout).unwrap();
    assert_eq!(summary["dataKeys"][0]["keyArn"], ARN_B);
    let out = kms(&["decrypt", "--keyring", &ring, &path(&sealed), "--output", &path(&opened)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&opened).unwrap(), "a report\n");
    // A message that does not open leaves no output file behind.
    let failed = dir.path().join("failed.txt");
    let out = kms(&["decrypt", "--keyring", &ring, &path(&plain), "-o", &path(&failed)], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(!failed.exists());
    // An unknown key id says which ones there are.
    let out = kms(&["encrypt", "--keyring", &ring, "--key", "key-nope", &path(&plain)], "");
    assert_fatal(&out, "key-cli-a, key-cli-b");
    // A missing argument is named, on one line.
    assert_fatal(&kms(&["encrypt", &path(&plain)], ""), "--keyring");
}

#[test]
fn a_message_is_not_written_to_a_terminal_and_waiting_on_one_says_so() {
    // `script` (util-linux) gives the command a terminal; where it is not that one, this
    // cannot be tried.
    if !Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return;
    }
    let ring = keyring();
    let plain = temp_file("p.txt", "x\n");
    let bin = env!("CARGO_BIN_EXE_kms-instance");
    let in_terminal = |command: &str| {
        let out = Command::new("script").args(["-qec", command, "/dev/null"]).stdin(Stdio::null()).output().unwrap();
        (out.status.code(), text(&out.stdout))
    };
    let (status, said) = in_terminal(&format!("{bin} encrypt --keyring {} {}", ring.as_str(), plain.as_str()));
    assert_eq!(status, Some(2), "{said}");
    assert!(said.contains("refusing to write a binary message to a terminal"), "{said}");
    let (status, said) = in_terminal(&format!("{bin} encrypt --keyring {} --force {}", ring.as_str(), plain.as_str()));
    assert_eq!(status, Some(0), "{said}");
    let (_, said) = in_terminal(&format!("{bin} inspect"));
    assert!(said.contains("reading standard input; end it with Ctrl-D"), "{said}");
}

#[test]
fn completions_and_the_manual_page_come_from_the_same_definitions() {
    let bash = kms(&["completions", "bash"], "");
    assert_eq!(bash.status.code(), Some(0));
    let script = text(&bash.stdout);
    assert!(script.contains("encrypt") && script.contains("--allow-legacy") && script.contains("complete -F"));
    let checked = Command::new("bash").args(["-n", "-c", &script]).output().unwrap();
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    for shell in ["zsh", "fish"] {
        assert!(!kms(&["completions", shell], "").stdout.is_empty(), "{shell}");
    }
    let man = text(&kms(&["man"], "").stdout);
    assert!(man.starts_with(".ie") && man.contains(".TH kms-instance 1") && man.contains("encrypt"), "{man}");
}

#[test]
fn a_keyring_is_made_extended_and_listed_without_showing_its_material() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.json").to_string_lossy().into_owned();
    let made = kms(&["keyring", "new", &file, "--key", ARN_A], "");
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let before = std::fs::read_to_string(&file).unwrap();
    // Never replaced by `new`; a key already there is refused by `add`; neither changes the file.
    assert_fatal(&kms(&["keyring", "new", &file, "--key", ARN_B], ""), "exists");
    assert_fatal(&kms(&["keyring", "add", &file, "--key", ARN_A], ""), "has that key already");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    assert_eq!(kms(&["keyring", "add", &file, "--key", ARN_B], "").status.code(), Some(0));
    let listed = kms(&["keyring", "list", &file], "");
    assert_eq!(text(&listed.stdout), format!("{ARN_A}\n{ARN_B}\n"));
    let keyring: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let material = keyring["keys"][0]["material"].as_str().unwrap().to_string();
    assert!(!text(&listed.stdout).contains(&material), "the material is not listed");
    assert!(text(&kms(&["keyring", "list", &file, "--show-material"], "").stdout).contains(&material));
    assert_ne!(keyring["keys"][0]["material"], keyring["keys"][1]["material"]);
    // Nothing but the keyring is left in its folder (no temporary file).
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["keys.json"]);
    // It is a keyring the other commands take, keys named by id.
    let sealed = temp_file("m.kms", &raw(&kms(&["encrypt", "--keyring", &file, "--key", "key-cli-b"], "made here\n")));
    assert_eq!(kms(&["decrypt", "--keyring", &file, &sealed], "").stdout, b"made here\n");

    // Aliases: given with one key, listed after its ARN, taken by --key.
    let arn_c = "acs:kms:cn-hangzhou:1207089758810000:key/key-cli-c";
    let added =
        kms(&["keyring", "add", &file, "--key", arn_c, "--alias", "alias/billing", "--alias", "alias/team/b"], "");
    assert_eq!(added.status.code(), Some(0), "{}", text(&added.stderr));
    let listed = kms(&["keyring", "list", &file], "");
    assert_eq!(text(&listed.stdout), format!("{ARN_A}\n{ARN_B}\n{arn_c} alias/billing alias/team/b\n"));
    let sealed =
        temp_file("c.kms", &raw(&kms(&["encrypt", "--keyring", &file, "--key", "alias/billing"], "by alias\n")));
    let header: serde_json::Value = serde_json::from_slice(&kms(&["inspect", &sealed], "").stdout).unwrap();
    assert_eq!(header["dataKeys"][0]["keyArn"], arn_c, "the alias named the key");
    // An unknown alias lists the keyring's; a misformed one, one named twice, or an
    // alias for several keys at once is refused, and the file is left as it was.
    assert_fatal(
        &kms(&["encrypt", "--keyring", &file, "--key", "alias/billin"], "x"),
        "aliases: alias/billing, alias/team/b",
    );
    let before = std::fs::read_to_string(&file).unwrap();
    let arn_d = "acs:kms:cn-hangzhou:1207089758810000:key/key-cli-d";
    assert_fatal(
        &kms(&["keyring", "add", &file, "--key", arn_d, "--alias", "alias/acs/kms"], ""),
        "InvalidParameter.Alias",
    );
    assert_fatal(
        &kms(&["keyring", "add", &file, "--key", arn_d, "--alias", "alias/billing"], ""),
        "alias/billing names two keys",
    );
    assert_fatal(
        &kms(&["keyring", "add", &file, "--key", arn_d, "--key", ARN_A, "--alias", "alias/x"], ""),
        "one --key",
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    // A keyring written by hand is checked as one made here.
    let by_hand = before.replace("alias/team/b", "billing");
    let by_hand = temp_file("by-hand.json", &by_hand);
    assert_fatal(&kms(&["encrypt", "--keyring", &by_hand, "--key", "alias/billing"], "x"), "/keys/2/aliases/1");
}

/// The CLI with `stdin` on its standard input.
fn kms_bytes(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kms-instance"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    // Written beside the reading, so neither waits on the other's pipe; the tool may exit
    // before it reads its input (a bad argument): the pipe's error is ignored.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn files_and_pipes_are_sealed_and_opened_as_streams_of_the_same_format() {
    let ring = keyring();
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let data: Vec<u8> = (0..3 * (1 << 20) + 5).map(|i: usize| (i * 13 % 256) as u8).collect();
    std::fs::write(at("data"), &data).unwrap();
    let ok = |out: &Output| assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // A file, sealed as a stream (its length known), opened in two passes.
    ok(&kms(&["encrypt", "--keyring", &ring, &at("data"), "-o", &at("data.kms")], ""));
    ok(&kms(&["decrypt", "--keyring", &ring, &at("data.kms"), "-o", &at("back")], ""));
    assert_eq!(std::fs::read(at("back")).unwrap(), data);
    let message = std::fs::read(at("data.kms")).unwrap();
    // A pipe: verified in memory first, or unverified by name.
    for unverified in [false, true] {
        let args = ["decrypt", "--keyring", &ring, "--unverified"];
        let out = kms_bytes(&args[..if unverified { 4 } else { 3 }], &message);
        ok(&out);
        assert_eq!(out.stdout, data);
    }
    // A pipe of a length given: sealed as it comes; a longer or shorter one is refused
    // and leaves no file.
    let size = data.len().to_string();
    let out = kms_bytes(&["encrypt", "--keyring", &ring, "--size", &size, "-o", &at("piped.kms")], &data);
    ok(&out);
    let out = kms(&["decrypt", "--keyring", &ring, &at("piped.kms")], "");
    ok(&out);
    assert_eq!(out.stdout, data);
    for wrong in [data.len() - 1, data.len() + 1] {
        let out =
            kms_bytes(&["encrypt", "--keyring", &ring, "--size", &wrong.to_string(), "-o", &at("wrong.kms")], &data);
        assert_fatal(&out, "InvalidParameter.Plaintext");
        assert!(!dir.path().join("wrong.kms").exists());
    }
    assert_fatal(&kms(&["encrypt", "--keyring", &ring, "--size", "5", &at("data")], ""), "a file's length is known");
    // A named pipe is read as a pipe: sealed as it comes with --size.
    let fifo = at("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let writer = {
        let (fifo, data) = (fifo.clone(), data.clone());
        std::thread::spawn(move || std::fs::write(fifo, data).unwrap())
    };
    ok(&kms(&["encrypt", "--keyring", &ring, "--size", &size, &fifo, "-o", &at("fifo.kms")], ""));
    writer.join().unwrap();
    let out = kms(&["decrypt", "--keyring", &ring, &at("fifo.kms")], "");
    assert_eq!(out.stdout, data);

    // A changed byte: no plaintext, and no file, unless --unverified.
    let mut changed = message.clone();
    changed[message.len() / 2] ^= 1;
    std::fs::write(at("changed.kms"), &changed).unwrap();
    let out = kms(&["decrypt", "--keyring", &ring, &at("changed.kms"), "-o", &at("changed")], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!dir.path().join("changed").exists());
    let out = kms_bytes(&["decrypt", "--keyring", &ring], &changed);
    assert_eq!((out.status.code(), out.stdout.len()), (Some(1), 0));
    let out = kms_bytes(&["decrypt", "--keyring", &ring, "--unverified"], &changed);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("InvalidCiphertext"), "{}", text(&out.stderr));
}

#[test]
fn a_message_past_what_a_whole_call_holds_is_inspected_from_its_head_and_tail() {
    use kms_instance::envelope::{stream, EncryptOptions, KeyArn};
    use kms_instance::key_providers::software::SoftwareKeyProvider;
    let mut keys = SoftwareKeyProvider::new();
    let arn: KeyArn = ARN_A.parse().unwrap();
    keys.add(arn.clone(), [7; 32]).unwrap();
    // A 1 GiB message's head and tag around a body left sparse: inspect reads neither it
    // nor more than the head and the tag.
    let options = EncryptOptions { context: [("app".to_string(), "big".to_string())].into(), ..Default::default() };
    let sealing = pollster::block_on(stream::begin_seal_stream(&[&keys], &[arn], 1 << 30, &options)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.kms");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(sealing.head()).unwrap();
    let len = sealing.head().len() as u64 + (1 << 30) + 18;
    file.set_len(len).unwrap();
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(len - 18)).unwrap();
    file.write_all(&[&[0x04, 0x10][..], &[0; 16]].concat()).unwrap();
    drop(file);
    let path = path.to_string_lossy().into_owned();
    let out = kms(&["inspect", &path], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((summary["bodyBytes"].as_u64(), &summary["context"]["app"]), (Some(1 << 30), &serde_json::json!("big")));
    // A length that does not add up is no message.
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 1).unwrap();
    let out = kms(&["inspect", &path], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("InvalidCiphertext.NotAMessage"), "{}", text(&out.stderr));
    // A small one through a pipe reads the same as from its file.
    let ring = keyring();
    let sealed = kms_bytes(&["encrypt", "--keyring", &ring, "--key", "key-cli-a"], b"piped");
    let out = kms_bytes(&["inspect"], &sealed.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["bodyBytes"], 5);
}

/// Interrupted while it writes a file (Ctrl-C, SIGTERM), the CLI leaves no part of it:
/// no destructor runs then, so the file being written is removed by the signal's handler.
#[cfg(unix)]
#[test]
fn an_interrupted_stream_leaves_no_file_behind() {
    let ring = keyring();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("half.kms");
    for signal in ["-INT", "-TERM"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kms-instance"))
            .args(["encrypt", "--keyring", &ring, "--size", "10000000", "-o"])
            .arg(&out_file)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&[7u8; 1 << 20]).unwrap();
        let temps = || -> Vec<_> {
            std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).filter(|e| e.path() != out_file).collect()
        };
        let waited = std::time::Instant::now();
        while temps().is_empty() {
            assert!(waited.elapsed() < std::time::Duration::from_secs(30), "no file being written");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap().success());
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        assert_eq!(out.status.code(), Some(130), "{signal}: {}", text(&out.stderr));
        assert!(temps().is_empty() && !out_file.exists(), "{signal}: a file was left");
    }
}
