//! A key provider written in JavaScript (the package's `WebCryptoKeyProvider`, or a
//! user's own object with `arns`, `seal`, `open` and `describe`): AES-256-GCM under a
//! named key, kept wherever the object keeps it. It writes the CiphertextBlob every
//! provider writes ([`super::blob`]).

use super::blob::MasterKeys;
use crate::code::{Code, Problem};
use crate::envelope::message::IV_LEN;
use crate::envelope::{KeyArn, KeyDescription};
use crate::platform::js::{self, NotBytes};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

#[wasm_bindgen]
extern "C" {
    /// A key provider written in JS (the WebCrypto provider): AES-256-GCM under a named key.
    /// Its promises reject with `{code, message}`. It is handed copies, never views of
    /// wasm memory, so it may keep them across its own awaits.
    #[wasm_bindgen(typescript_type = "JsKeyProvider")]
    pub type JsKeyProvider;

    #[wasm_bindgen(method, catch)]
    fn seal(
        this: &JsKeyProvider,
        arn: &str,
        iv: js_sys::Uint8Array,
        aad: js_sys::Uint8Array,
        plaintext: js_sys::Uint8Array,
    ) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn open(
        this: &JsKeyProvider,
        arn: &str,
        iv: js_sys::Uint8Array,
        aad: js_sys::Uint8Array,
        sealed: js_sys::Uint8Array,
    ) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn describe(this: &JsKeyProvider, arn: &str) -> Result<js_sys::Promise, JsValue>;
}

/// The TypeScript shape of a [`JsKeyProvider`], the object the module calls.
#[cfg(feature = "typescript")]
#[wasm_bindgen(typescript_custom_section)]
const JS_KEY_PROVIDER_TS: &'static str = r#"
/**
 * Master keys kept by JavaScript: AES-256-GCM under a named key. The module calls these
 * with copies it owns; a failure rejects with an Error whose `code` is a known one
 * (`Bridge.KeyNotFound`, `InvalidCiphertext`, `Bridge.Unavailable`, …) or anything else
 * (`Bridge.Hsm`). `WebCryptoKeyProvider` is one.
 */
export interface JsKeyProvider {
    /** The ARNs of the keys it holds, in order. */
    arns(): string[];
    seal(arn: string, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
    open(arn: string, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array>;
    /** How the key is protected (`SOFTWARE`, `HSM`, `WEBCRYPTO`, …); every master key is AES-256.
     * Optional: left out, the keys it lists are described as `JAVASCRIPT`. */
    describe?(arn: string): Promise<{ protectionLevel: string }>;
}
"#;

/// What a store's message may add to a problem: enough to say what went wrong.
const MAX_STORE_MESSAGE_CHARS: u32 = 512;

/// The longest code of ours, with room: a longer `code` is none of ours.
const MAX_CODE_CHARS: u32 = 64;

/// A JS failure as a problem: its `code` when it is one of ours, else `Bridge.Hsm`.
/// Its strings are cut in JavaScript before they are copied: a provider that rejects
/// with a huge message costs no wasm memory.
pub(crate) fn js_problem(e: JsValue) -> Problem {
    let field = |name: &str, max: u32| js::short_string(&js_sys::Reflect::get(&e, &name.into()).ok()?, max);
    let message = field("message", MAX_STORE_MESSAGE_CHARS)
        .or_else(|| js::short_string(&e, MAX_STORE_MESSAGE_CHARS))
        .unwrap_or_else(|| "the key provider failed".into());
    // A provider speaks for itself only: a key-provider code is kept, anything else (a
    // rule's code included) is `Bridge.Hsm`; a blob that does not open gets the one
    // answer every provider gives.
    let problem = match field("code", MAX_CODE_CHARS).and_then(|c| c.parse::<Code>().ok()) {
        Some(Code::InvalidCiphertext) => super::blob::opaque(),
        Some(code) if code.as_str().starts_with("Bridge.") => Problem::new(code, message),
        Some(_) | None => Problem::new(Code::BridgeHsm, message),
    };
    problem.caused_by(JsFailure(e))
}

/// What a JavaScript key provider threw, kept as the cause of the problem it became:
/// the package hands it back as the `KmsError`'s `cause`.
#[derive(Debug)]
pub(crate) struct JsFailure(pub(crate) JsValue);

impl std::fmt::Display for JsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the JavaScript key provider failed")
    }
}

impl std::error::Error for JsFailure {}

async fn call(promise: Result<js_sys::Promise, JsValue>) -> Result<JsValue, Problem> {
    JsFuture::from(promise.map_err(js_problem)?).await.map_err(js_problem)
}

/// A sealed or opened data key is a few dozen bytes; a store that answers more is
/// broken, and its answer is not copied.
const MAX_STORE_ANSWER_BYTES: usize = 4096;

/// A store's answer: a `Uint8Array`, read by its real length (not the `length` it may
/// claim), and not a view of a detached buffer.
fn bytes(value: JsValue) -> Result<Vec<u8>, Problem> {
    js::bytes(&value, MAX_STORE_ANSWER_BYTES).map_err(|why| match why {
        NotBytes::Wrong => Problem::new(Code::BridgeHsm, "the key provider did not return a Uint8Array it still holds"),
        NotBytes::TooLong(_) => {
            Problem::new(Code::BridgeHsm, "the key provider returned more bytes than a data key takes")
        }
    })
}

/// A copy of `bytes` owned by JavaScript.
fn copy(bytes: &[u8]) -> js_sys::Uint8Array {
    js_sys::Uint8Array::from(bytes)
}

/// [`MasterKeys`] kept by a JavaScript key provider.
pub(crate) struct JsKeys {
    pub(crate) provider: JsKeyProvider,
    /// The keys it said it holds (`arns()`), in its order.
    pub(crate) arns: Vec<KeyArn>,
}

#[async_trait::async_trait(?Send)]
impl MasterKeys for JsKeys {
    async fn seal(&self, key: &KeyArn, iv: &[u8; IV_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Problem> {
        bytes(call(self.provider.seal(key.as_str(), copy(iv), copy(aad), copy(plaintext))).await?)
    }

    async fn open(
        &self,
        key: &KeyArn,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Problem> {
        bytes(call(self.provider.open(key.as_str(), copy(iv), copy(aad), copy(sealed))).await?).map(Zeroizing::new)
    }

    /// `describe` is optional for a JavaScript provider: one without it holds the keys it
    /// lists, protected as `JAVASCRIPT`.
    async fn describe(&self, key: &KeyArn) -> Result<KeyDescription, Problem> {
        let describes = js_sys::Reflect::get(&self.provider, &"describe".into()).is_ok_and(|f| f.is_function());
        if !describes {
            if !self.arns.contains(key) {
                return Err(Problem::new(Code::BridgeKeyNotFound, format!("the key provider does not hold {key}")));
            }
            return Ok(KeyDescription::master_key(key, "JAVASCRIPT"));
        }
        let value = call(self.provider.describe(key.as_str())).await?;
        let not_small = || Problem::new(Code::BridgeHsm, "the key provider's description is not a small JSON object");
        let limit = u32::try_from(MAX_STORE_ANSWER_BYTES).unwrap_or(u32::MAX);
        let text = js_sys::JSON::stringify(&value).map_err(|_| not_small())?;
        if text.length() > limit {
            return Err(not_small());
        }
        let text = String::from(text);
        /// A JavaScript provider says only how it protects the key: every provider's
        /// master keys are AES-256 ([`crate::envelope::MASTER_KEY_SPEC`]).
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Described {
            protection_level: String,
        }
        let d: Described = serde_json::from_str(&text)
            .map_err(|e| Problem::new(Code::BridgeHsm, format!("the key provider's description: {e}")))?;
        Ok(KeyDescription::master_key(key, d.protection_level))
    }

    fn listed_keys(&self) -> Vec<KeyArn> {
        self.arns.clone()
    }

    /// The keys it listed (`arns()`) are the keys it holds.
    async fn holds(&self, key: &KeyArn) -> Result<bool, Problem> {
        Ok(self.arns.contains(key))
    }
}

#[cfg(test)]
mod tests {
    //! How failures of a JS key provider become problems: the package's own provider
    //! only fails in well-formed ways, a user's may not.
    use super::*;
    use crate::envelope::{EncryptionContext, KeyProvider};
    use crate::key_providers::blob::BlobKeyProvider;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// A key provider whose `seal` runs `body` (JS) with `(arn, iv, aad, plaintext)`.
    fn store(body: &str) -> BlobKeyProvider<JsKeys> {
        let object = js_sys::Object::new();
        let seal = js_sys::Function::new_with_args("arn, iv, aad, plaintext", body);
        js_sys::Reflect::set(&object, &"seal".into(), &seal).unwrap();
        BlobKeyProvider::over(JsKeys { provider: object.unchecked_into(), arns: Vec::new() })
    }

    async fn seal_with(body: &str) -> Result<Vec<u8>, Problem> {
        let arn: KeyArn = "acs:kms:cn-hangzhou:1:key/k".parse().unwrap();
        store(body).encrypt(&arn, &[7; 32], &EncryptionContext::new()).await
    }

    #[wasm_bindgen_test]
    async fn a_store_that_seals_gives_a_blob() {
        let blob = seal_with("return Promise.resolve(new Uint8Array(48).fill(1))").await.unwrap();
        assert_eq!(blob[..3], [0x01, 1, b'k']);
        assert_eq!(blob.len(), 2 + 1 + 12 + 48);
    }

    #[wasm_bindgen_test]
    async fn rejections_keep_a_known_code() {
        let p =
            seal_with("return Promise.reject({code: 'Bridge.Timeout', message: 'proxy took 5 s'})").await.unwrap_err();
        assert_eq!((p.code, p.message.as_str()), (Code::BridgeTimeout, "proxy took 5 s"));
    }

    #[wasm_bindgen_test]
    async fn anything_else_is_a_bridge_failure() {
        for body in [
            "return Promise.reject('boom')",
            "return Promise.reject({code: 'Nope.Unknown', message: 'odd'})",
            "return Promise.reject(new Error('thrown'))",
            "throw new TypeError('synchronous')",
            "return Promise.resolve('not bytes')",
        ] {
            let p = seal_with(body).await.unwrap_err();
            assert_eq!(p.code, Code::BridgeHsm, "{body}: {p}");
            assert!(!p.message.is_empty());
        }
    }

    #[wasm_bindgen_test]
    async fn a_provider_without_describe_is_described_by_the_keys_it_lists() {
        let arn: KeyArn = "acs:kms:cn-hangzhou:1:key/k".parse().unwrap();
        let provider =
            BlobKeyProvider::over(JsKeys { provider: js_sys::Object::new().unchecked_into(), arns: vec![arn.clone()] });
        let described = provider.describe_key(&arn).await.unwrap();
        assert_eq!(
            (described.key_spec.as_str(), described.protection_level.as_str()),
            ("Aliyun_AES_256", "JAVASCRIPT")
        );
        let other: KeyArn = "acs:kms:cn-hangzhou:1:key/other".parse().unwrap();
        assert_eq!(provider.describe_key(&other).await.unwrap_err().code, Code::BridgeKeyNotFound);
    }
}
