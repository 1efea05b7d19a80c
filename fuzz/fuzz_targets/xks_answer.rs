//! Whatever a proxy answers, the XKS client (`XksBridge`) returns a result or a typed
//! problem: the first byte picks the operation and the HTTP status, the rest is the
//! answer's body. The same bytes are also read as an Authorization header (the proxy's
//! parser) and as a version-2 CiphertextBlob (which must re-encode to themselves).
#![no_main]

use kms_instance::code::{Code, Problem};
use kms_instance::envelope::{EncryptionContext, KeyArn, KeyProvider};
use kms_instance::key_providers::blob::ProxyBlob;
use kms_instance::key_providers::xks::{Answer, Exchange, Transport, XksBridge, XksSettings};
use kms_instance::xks::sigv4::Authorization;
use libfuzzer_sys::fuzz_target;
use std::sync::Mutex;

const ARN: &str = "acs:kms:cn-hangzhou:1207089758810000:key/k";
const METADATA: &str = r#"{"keySpec":"AES_256","keyUsage":["ENCRYPT","DECRYPT"],"keyStatus":"ENABLED"}"#;

/// Answers from a script, last first.
struct Scripted(Mutex<Vec<Answer>>);

#[async_trait::async_trait]
impl Transport for Scripted {
    async fn post(&self, _: Exchange) -> Result<Answer, Problem> {
        let next = self.0.lock().expect("not poisoned").pop();
        next.ok_or_else(|| Problem::new(Code::BridgeUnavailable, "the script is over"))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = Authorization::parse(text);
    }
    if let Ok(blob) = ProxyBlob::decode(body) {
        assert_eq!(blob.encode().expect("a decoded blob encodes"), body);
    }
    let status = [200, 200, 200, 400, 401, 404, 503, 302][usize::from(selector & 7)];
    let operation = (selector >> 3) & 3;
    let fuzzed = Answer { status, body: body.to_vec().into() };
    // The metadata answer comes first (popped last); for describe it is the fuzzed one.
    let script = if operation == 2 { vec![fuzzed] } else { vec![fuzzed, Answer { status: 200, body: METADATA.as_bytes().to_vec().into() }] };
    let settings: XksSettings = serde_json::from_value(serde_json::json!({
        "endpoint": "https://xks.example.com", "uriPrefix": "/p", "accessKeyId": "AKIAFUZZ",
        "principal": "fuzz", "keys": [ARN],
    }))
    .expect("settings");
    let bridge = XksBridge::new(settings, "secret".to_string().into(), Box::new(Scripted(Mutex::new(script)))).expect("a bridge");
    let arn: KeyArn = ARN.parse().expect("an ARN");
    let context = EncryptionContext::from([("purpose".to_string(), "fuzz".to_string())]);
    let tag = [0u8; 16];
    let sealed = ProxyBlob { key_id: "k", iv: &[0; 12], metadata: b"", ciphertext: &[0; 32], tag: &tag };
    pollster::block_on(async {
        match operation {
            0 => {
                if let Ok(key) = bridge.generate_data_key(&arn, 32, &context).await {
                    ProxyBlob::decode(&key.ciphertext_blob).expect("the bridge writes version-2 blobs");
                }
            }
            1 => {
                if let Ok(plaintext) = bridge.decrypt(&arn, &sealed.encode().expect("a blob"), &context).await {
                    assert_eq!(plaintext.len(), 32);
                }
            }
            2 => drop(bridge.describe_key(&arn).await),
            _ => drop(bridge.encrypt(&arn, &[1; 16], &context).await),
        }
    });
});
