//! Envelope encryption for JS hosts: a [`Keyring`] of key providers, sealing and
//! opening whole messages in wasm, or handing the body's AES-GCM to the host's
//! WebCrypto through a [`SealSession`] / [`OpenSession`] (faster for large bodies;
//! the bytes are the same).

use super::{optional, problem_to_js, to_js};
use crate::bridge::blob::{BlobBridge, MasterKeys};
use crate::bridge::software::SoftwareBridge;
use crate::bridge::{HsmBridge, KeyDescription};
use crate::code::{Code, Problem};
use crate::envelope::message::{IV_LEN, TAG_LEN};
use crate::envelope::{self, Algorithm, EncryptionContext, KeyArn};
use crate::limits::{self, MAX_KEYRING_BYTES, MAX_KEYRING_KEYS};
use serde::{Deserialize, Serialize};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use zeroize::Zeroizing;

/// Master keys in wasm memory, from a keyring (`{"keys": [{"arn", "material"}]}`).
#[wasm_bindgen]
pub struct SoftwareKeyProvider {
    bridge: Rc<SoftwareBridge>,
}

#[wasm_bindgen]
impl SoftwareKeyProvider {
    #[wasm_bindgen(constructor)]
    pub fn new(keyring: JsValue) -> Result<SoftwareKeyProvider, JsValue> {
        let json = super::json_text(&keyring, Code::Keyring, MAX_KEYRING_BYTES)?;
        let bridge = SoftwareBridge::from_keyring_json(&json).map_err(|p| problem_to_js(&p))?;
        Ok(SoftwareKeyProvider { bridge: Rc::new(bridge) })
    }

    pub fn arns(&self) -> Vec<String> {
        self.bridge.arns().map(ToString::to_string).collect()
    }
}

#[wasm_bindgen]
extern "C" {
    /// A key store written in JS (the WebCrypto provider): AES-256-GCM under a named key.
    /// Its promises reject with `{code, message}`. It is handed copies, never views of
    /// wasm memory, so it may keep them across its own awaits.
    pub type JsKeyStore;

    #[wasm_bindgen(method, catch)]
    fn seal(
        this: &JsKeyStore,
        arn: &str,
        iv: js_sys::Uint8Array,
        aad: js_sys::Uint8Array,
        plaintext: js_sys::Uint8Array,
    ) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn open(
        this: &JsKeyStore,
        arn: &str,
        iv: js_sys::Uint8Array,
        aad: js_sys::Uint8Array,
        sealed: js_sys::Uint8Array,
    ) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn describe(this: &JsKeyStore, arn: &str) -> Result<js_sys::Promise, JsValue>;
}

/// What a store's message may add to a problem: enough to say what went wrong.
const MAX_STORE_MESSAGE_CHARS: usize = 512;

/// A JS failure as a problem: its `code` when it is one of ours, else `Bridge.Hsm`.
fn js_problem(e: JsValue) -> Problem {
    let field = |name: &str| js_sys::Reflect::get(&e, &name.into()).ok().and_then(|v| v.as_string());
    let message = field("message").or_else(|| e.as_string()).unwrap_or_else(|| "the key store failed".into());
    let message: String = message.chars().take(MAX_STORE_MESSAGE_CHARS).collect();
    match field("code").and_then(|c| c.parse::<Code>().ok()) {
        Some(code) => Problem::new(code, message),
        None => Problem::new(Code::BridgeHsm, message),
    }
}

async fn call(promise: Result<js_sys::Promise, JsValue>) -> Result<JsValue, Problem> {
    JsFuture::from(promise.map_err(js_problem)?).await.map_err(js_problem)
}

/// A sealed or opened data key is a few dozen bytes; a store that answers more is
/// broken, and its answer is not copied.
const MAX_STORE_ANSWER_BYTES: u32 = 4096;

fn bytes(value: JsValue) -> Result<Vec<u8>, Problem> {
    let array = value
        .dyn_into::<js_sys::Uint8Array>()
        .map_err(|_| Problem::new(Code::BridgeHsm, "the key store did not return a Uint8Array"))?;
    if array.length() > MAX_STORE_ANSWER_BYTES {
        return Err(Problem::new(Code::BridgeHsm, "the key store returned more bytes than a data key takes"));
    }
    Ok(array.to_vec())
}

/// A copy of `bytes` owned by JavaScript.
fn copy(bytes: &[u8]) -> js_sys::Uint8Array {
    js_sys::Uint8Array::from(bytes)
}

/// [`MasterKeys`] kept by a JS key store.
struct JsKeys(JsKeyStore);

#[async_trait::async_trait(?Send)]
impl MasterKeys for JsKeys {
    async fn seal(&self, key: &KeyArn, iv: &[u8; IV_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Problem> {
        bytes(call(self.0.seal(key.as_str(), copy(iv), copy(aad), copy(plaintext))).await?)
    }

    async fn open(
        &self,
        key: &KeyArn,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Problem> {
        bytes(call(self.0.open(key.as_str(), copy(iv), copy(aad), copy(sealed))).await?).map(Zeroizing::new)
    }

    async fn describe(&self, key: &KeyArn) -> Result<KeyDescription, Problem> {
        let value = call(self.0.describe(key.as_str())).await?;
        let text = super::json_text(&value, Code::BridgeHsm, MAX_STORE_ANSWER_BYTES as usize)
            .map_err(|_| Problem::new(Code::BridgeHsm, "the key store's description is not a small JSON object"))?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Described {
            key_spec: String,
            protection_level: String,
        }
        let d: Described = serde_json::from_str(&text)
            .map_err(|e| Problem::new(Code::BridgeHsm, format!("the key store's description: {e}")))?;
        Ok(KeyDescription { key_arn: key.to_string(), key_spec: d.key_spec, protection_level: d.protection_level })
    }
}

/// The providers of one call, in the order given, and the keys they hold.
#[wasm_bindgen]
#[derive(Default)]
pub struct Keyring {
    bridges: Vec<Rc<dyn HsmBridge>>,
    arns: Vec<KeyArn>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EncryptOptions {
    #[serde(default)]
    context: EncryptionContext,
    #[serde(default)]
    algorithm: Algorithm,
    /// Left out: every key of every provider, the first generating the data key.
    keys: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OpenedInfo<'a> {
    context: &'a EncryptionContext,
    key_arn: &'a str,
}

/// Key ARNs, at most as many as a keyring holds; a bad one is named by its place.
fn parse_arns(arns: &[String], at: &str) -> Result<Vec<KeyArn>, JsValue> {
    limits::check("the number of keys", arns.len(), MAX_KEYRING_KEYS).map_err(|p| problem_to_js(&p.at(at)))?;
    arns.iter()
        .enumerate()
        .map(|(i, a)| a.parse::<KeyArn>().map_err(|p| problem_to_js(&p.at(format!("{at}/{i}")))))
        .collect()
}

fn opened_to_js(plaintext: Vec<u8>, info: &OpenedInfo<'_>) -> Result<JsValue, JsValue> {
    let out = to_js(info)?;
    js_sys::Reflect::set(&out, &"plaintext".into(), &js_sys::Uint8Array::from(plaintext.as_slice()))?;
    Ok(out)
}

/// What one encryption needs, owned, so its future can outlive the call.
struct SealCall {
    bridges: Vec<Rc<dyn HsmBridge>>,
    keys: Vec<KeyArn>,
    options: envelope::EncryptOptions<'static>,
}

impl Keyring {
    fn seal_call(&self, options: &JsValue) -> Result<SealCall, JsValue> {
        let options: EncryptOptions = optional(options, Code::Request)?;
        let keys = match &options.keys {
            Some(keys) => parse_arns(keys, "/keys")?,
            None => self.arns.clone(),
        };
        let options = envelope::EncryptOptions { context: options.context, algorithm: options.algorithm, cache: None };
        Ok(SealCall { bridges: self.bridges.clone(), keys, options })
    }
}

fn refs(bridges: &[Rc<dyn HsmBridge>]) -> Vec<&dyn HsmBridge> {
    bridges.iter().map(|b| b.as_ref()).collect()
}

#[wasm_bindgen]
impl Keyring {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Keyring {
        Keyring::default()
    }

    #[wasm_bindgen(js_name = addSoftware)]
    pub fn add_software(&mut self, provider: &SoftwareKeyProvider) {
        self.arns.extend(provider.bridge.arns().cloned());
        self.bridges.push(provider.bridge.clone());
    }

    #[wasm_bindgen(js_name = addStore)]
    pub fn add_store(&mut self, store: JsKeyStore, arns: Vec<String>) -> Result<(), JsValue> {
        self.arns.extend(parse_arns(&arns, "/arns")?);
        self.bridges.push(Rc::new(BlobBridge(JsKeys(store))));
        Ok(())
    }

    /// Seals a whole message in wasm.
    pub fn encrypt(&self, plaintext: Vec<u8>, options: JsValue) -> Result<js_sys::Promise, JsValue> {
        let call = self.seal_call(&options)?;
        Ok(future_to_promise(async move {
            let message = envelope::encrypt(&refs(&call.bridges), &call.keys, &plaintext, &call.options)
                .await
                .map_err(|p| problem_to_js(&p))?;
            Ok(js_sys::Uint8Array::from(message.as_slice()).into())
        }))
    }

    /// Opens a whole message in wasm: `{plaintext, context, keyArn}`.
    pub fn decrypt(&self, message: Vec<u8>, options: JsValue) -> Result<js_sys::Promise, JsValue> {
        let options: envelope::DecryptOptions = optional(&options, Code::Request)?;
        let bridges = self.bridges.clone();
        Ok(future_to_promise(async move {
            let opened = envelope::decrypt(&refs(&bridges), &message, &options).await.map_err(|p| problem_to_js(&p))?;
            opened_to_js(opened.plaintext, &OpenedInfo { context: &opened.context, key_arn: &opened.key_arn })
        }))
    }

    /// All of one message of `length` bytes but its body, for a host that encrypts the
    /// body itself.
    #[wasm_bindgen(js_name = beginSeal)]
    pub fn begin_seal(&self, length: usize, options: JsValue) -> Result<js_sys::Promise, JsValue> {
        let call = self.seal_call(&options)?;
        Ok(future_to_promise(async move {
            let sealing = envelope::begin_seal(&refs(&call.bridges), &call.keys, length, &call.options)
                .await
                .map_err(|p| problem_to_js(&p))?;
            Ok(SealSession(sealing).into())
        }))
    }

    /// A message with its header checked and its data key open, for a host that
    /// decrypts the body itself.
    #[wasm_bindgen(js_name = beginOpen)]
    pub fn begin_open(&self, message: Vec<u8>, options: JsValue) -> Result<js_sys::Promise, JsValue> {
        let options: envelope::DecryptOptions = optional(&options, Code::Request)?;
        let bridges = self.bridges.clone();
        Ok(future_to_promise(async move {
            let opening =
                envelope::begin_open(&refs(&bridges), &message, &options).await.map_err(|p| problem_to_js(&p))?;
            let m = opening.message();
            let mut sealed = m.ciphertext.to_vec();
            sealed.extend_from_slice(&m.tag);
            Ok(OpenSession {
                data_key: Zeroizing::new(opening.data_key().to_vec()),
                iv: m.iv,
                aad: opening.aad(),
                sealed,
                context: m.header.context.clone(),
                key_arn: opening.key_arn().to_string(),
            }
            .into())
        }))
    }
}

/// One message being sealed by the host. Free it when done: the data key is wiped.
#[wasm_bindgen]
pub struct SealSession(envelope::Sealing);

#[wasm_bindgen]
impl SealSession {
    /// The raw data key, to import into WebCrypto as a non-extractable key. Wipe the
    /// copy after importing it.
    #[wasm_bindgen(js_name = dataKey)]
    pub fn data_key(&self) -> Vec<u8> {
        self.0.data_key().to_vec()
    }

    pub fn iv(&self) -> Vec<u8> {
        self.0.iv().to_vec()
    }

    /// The body's additional data: the context bytes.
    pub fn aad(&self) -> Vec<u8> {
        self.0.aad()
    }

    /// The bytes around a body the host encrypted: `[prefix, suffix]`, where
    /// `prefix | ciphertext | suffix` is the message. Only the 16-byte tag crosses into
    /// wasm, not the body.
    pub fn frame(&self, ciphertext_len: usize, tag: &[u8]) -> Result<js_sys::Array, JsValue> {
        let tag: [u8; TAG_LEN] = tag
            .try_into()
            .map_err(|_| problem_to_js(&Problem::new(Code::Plaintext, "the body's tag is not 16 bytes")))?;
        let (prefix, suffix) = self.0.frame(ciphertext_len, &tag).map_err(|p| problem_to_js(&p))?;
        Ok(js_sys::Array::of2(
            &js_sys::Uint8Array::from(prefix.as_slice()),
            &js_sys::Uint8Array::from(suffix.as_slice()),
        ))
    }
}

/// One message being opened by the host; its header is already checked. Free it when
/// done: the data key is wiped.
#[wasm_bindgen]
pub struct OpenSession {
    data_key: Zeroizing<Vec<u8>>,
    iv: [u8; IV_LEN],
    aad: Vec<u8>,
    sealed: Vec<u8>,
    context: EncryptionContext,
    key_arn: String,
}

#[wasm_bindgen]
impl OpenSession {
    #[wasm_bindgen(js_name = dataKey)]
    pub fn data_key(&self) -> Vec<u8> {
        self.data_key.to_vec()
    }

    pub fn iv(&self) -> Vec<u8> {
        self.iv.to_vec()
    }

    pub fn aad(&self) -> Vec<u8> {
        self.aad.clone()
    }

    /// The body's `ciphertext | tag`.
    pub fn sealed(&self) -> Vec<u8> {
        self.sealed.clone()
    }

    /// `{context, keyArn}` of the message.
    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&OpenedInfo { context: &self.context, key_arn: &self.key_arn })
    }
}

#[cfg(test)]
mod tests {
    //! How failures of a JS key store become problems: the package's own provider
    //! only fails in well-formed ways, a user's store may not.
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// A key store whose `seal` runs `body` (JS) with `(arn, iv, aad, plaintext)`.
    fn store(body: &str) -> BlobBridge<JsKeys> {
        let object = js_sys::Object::new();
        let seal = js_sys::Function::new_with_args("arn, iv, aad, plaintext", body);
        js_sys::Reflect::set(&object, &"seal".into(), &seal).unwrap();
        BlobBridge(JsKeys(object.unchecked_into()))
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
    fn thrown_objects_carry_every_problem() {
        let problems = [
            Problem::new(Code::BindVpcsVpcId, "a").at("/0/VpcId").rule("R-BV-3"),
            Problem::new(Code::BindVpcsMissingField, "b"),
        ];
        let thrown = super::super::problems_to_js(&problems, serde_json::Map::new());
        let get = |k: &str| js_sys::Reflect::get(&thrown, &k.into()).unwrap();
        assert_eq!(get("code").as_string().as_deref(), Some("InvalidParameter.BindVpcs.VpcId"));
        assert_eq!(get("path").as_string().as_deref(), Some("/0/VpcId"));
        assert_eq!(js_sys::Array::from(&get("errors")).length(), 2);
    }
}
