//! SigV4 against AWS's published test suite (tests/vectors/sigv4/, as data): every
//! case's canonical request, string to sign and Authorization header; then the same
//! cases verified as the XKS proxy verifies them, and refused once tampered with.
#![cfg(feature = "xks")]

use kms_instance::xks::sigv4::{self, Authorization, Scope, SignedRequest};
use serde_json::Value;

struct Case {
    name: String,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    canonical_request: String,
    string_to_sign: String,
    authorization: String,
}

/// A `.req` file: request line, `Name:value` headers, a blank line, the body.
fn parse(name: &str, v: &Value) -> Case {
    let raw = v["request"].as_str().unwrap();
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let mut request_line = lines.next().unwrap().splitn(3, ' ');
    let method = request_line.next().unwrap().to_string();
    let target = request_line.next().unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_string(), v.to_string())
        })
        .collect();
    Case {
        name: name.to_string(),
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: body.as_bytes().to_vec(),
        canonical_request: v["canonicalRequest"].as_str().unwrap().to_string(),
        string_to_sign: v["stringToSign"].as_str().unwrap().to_string(),
        authorization: v["authorization"].as_str().unwrap().to_string(),
    }
}

fn suite() -> (Vec<Case>, Value) {
    let text = std::fs::read_to_string("tests/vectors/sigv4/aws-sig-v4-test-suite.json").unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap().iter().map(|c| parse(c["name"].as_str().unwrap(), c)).collect();
    (cases, doc["credentials"].clone())
}

fn with_request<T>(case: &Case, headers: &[(String, String)], f: impl FnOnce(&SignedRequest<'_>) -> T) -> T {
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    f(&SignedRequest {
        method: &case.method,
        path: &case.path,
        query: &case.query,
        headers: &headers,
        payload: &case.body,
    })
}

const SCOPE: Scope<'static> = Scope { region: "us-east-1", service: "service" };

#[test]
fn signs_every_case_of_the_suite() {
    let (cases, credentials) = suite();
    assert!(cases.len() >= 15);
    let (id, secret, date) = (
        credentials["accessKeyId"].as_str().unwrap(),
        credentials["secretAccessKey"].as_str().unwrap(),
        credentials["date"].as_str().unwrap(),
    );
    for case in &cases {
        with_request(case, &case.headers, |request| {
            let names = sigv4::signed_header_names(request.headers);
            let signed: Vec<&str> = names.iter().map(String::as_str).collect();
            let creq = sigv4::canonical_request(request, &signed);
            assert_eq!(creq, case.canonical_request, "{}", case.name);
            assert_eq!(sigv4::string_to_sign(date, SCOPE, &creq), case.string_to_sign, "{}", case.name);
            assert_eq!(
                sigv4::authorization(request, id, secret.as_bytes(), SCOPE, date),
                case.authorization,
                "{}",
                case.name
            );
        });
    }
}

#[test]
fn verifies_every_case_and_refuses_each_tampering() {
    let (cases, credentials) = suite();
    let secret = credentials["secretAccessKey"].as_str().unwrap().as_bytes();
    let date = credentials["date"].as_str().unwrap();
    for case in &cases {
        let auth = Authorization::parse(&case.authorization).unwrap_or_else(|| panic!("{}", case.name));
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
        assert!(with_request(case, &case.headers, |r| auth.verifies(r, date, secret)), "{}", case.name);

        assert!(!with_request(case, &case.headers, |r| auth.verifies(r, date, b"another secret")), "{}", case.name);
        assert!(!with_request(case, &case.headers, |r| auth.verifies(r, "20150830T123601Z", secret)), "{}", case.name);
        assert!(!with_request(case, &case.headers, |r| auth.verifies(r, "20150831T123600Z", secret)), "{}", case.name);
        let mut changed = case.headers.clone();
        changed.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case("host")).unwrap().1.push('x');
        assert!(!with_request(case, &changed, |r| auth.verifies(r, date, secret)), "{}", case.name);
        // A header that is not signed may change; one that is signed may not go missing.
        let mut extra = case.headers.clone();
        extra.push(("X-Unsigned".into(), "anything".into()));
        assert!(with_request(case, &extra, |r| auth.verifies(r, date, secret)), "{}", case.name);
        let without_date: Vec<_> =
            case.headers.iter().filter(|(n, _)| !n.eq_ignore_ascii_case("x-amz-date")).cloned().collect();
        assert!(!with_request(case, &without_date, |r| auth.verifies(r, date, secret)), "{}", case.name);
        let mut tampered = case.authorization.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        let bad = Authorization::parse(&tampered).unwrap();
        assert!(!with_request(case, &case.headers, |r| bad.verifies(r, date, secret)), "{}", case.name);
    }
}

#[test]
fn a_changed_payload_does_not_verify() {
    let (cases, credentials) = suite();
    let secret = credentials["secretAccessKey"].as_str().unwrap().as_bytes();
    let date = credentials["date"].as_str().unwrap();
    let case = cases.iter().find(|c| c.name == "post-vanilla").unwrap();
    let auth = Authorization::parse(&case.authorization).unwrap();
    let headers = case.headers.clone();
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let request = SignedRequest { method: "POST", path: "/", query: "", headers: &headers, payload: b"{}" };
    assert!(!auth.verifies(&request, date, secret));
    let request = SignedRequest { payload: b"", ..request };
    assert!(auth.verifies(&request, date, secret));
}

#[test]
fn refuses_malformed_authorization_headers() {
    let good = "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    assert!(Authorization::parse(good).is_some());
    for bad in [
        "",
        "AWS4-HMAC-SHA1 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=host, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=x-amz-date;host, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service, SignedHeaders=host, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=Host, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=host, Signature=5fa0",
        "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, Credential=B/20150830/us-east-1/service/aws4_request, SignedHeaders=host, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    ] {
        assert!(Authorization::parse(bad).is_none(), "{bad}");
    }
    // Bounded before any work: 33 signed headers, or a header past 4 KiB.
    let names: Vec<String> = (0..33).map(|i| format!("h{i:02}")).collect();
    let many = good.replace("SignedHeaders=host;x-amz-date", &format!("SignedHeaders={}", names.join(";")));
    assert!(Authorization::parse(&many).is_none());
    let fewer = good.replace("SignedHeaders=host;x-amz-date", &format!("SignedHeaders={}", names[..32].join(";")));
    assert!(Authorization::parse(&fewer).is_some());
    assert!(Authorization::parse(&format!("{good}{}", " ".repeat(4096))).is_none());
}
