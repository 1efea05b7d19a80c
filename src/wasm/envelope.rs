//! Envelope encryption for JS hosts: the [`KeyProviders`] of one call, sealing and
//! opening whole messages in wasm, or handing the body's AES-GCM to the host's
//! WebCrypto through a [`SealSession`] / [`OpenSession`] (faster for large bodies;
//! the bytes are the same).

use super::{from_js, optional, problem_to_js, to_js, type_error};
use crate::code::{Code, Problem};
use crate::envelope::arn::MAX_ARN_BYTES;
use crate::envelope::message::{IV_LEN, TAG_LEN};
use crate::envelope::{
    self, host, CacheLimits, DataKeyCache, EncryptionContext, KeyArn, KeyProvider, DEFAULT_MAX_ENTRIES,
};
use crate::key_providers::blob::{BlobKeyProvider, MasterKeys};
use crate::key_providers::js::{JsKeyProvider, JsKeys};
use crate::key_providers::software::SoftwareKeyProvider;
use crate::limits::{self, MAX_KEYRING_BYTES, MAX_KEYRING_KEYS};
use crate::platform::js;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// Master keys in wasm memory, from a keyring (`{"keys": [{"arn", "material"}]}`).
#[wasm_bindgen(js_name = SoftwareKeyProvider)]
pub struct WasmSoftwareKeyProvider {
    provider: Rc<SoftwareKeyProvider>,
    /// The (key, IV) pairs another entry has sealed under.
    ivs_lent: std::cell::RefCell<std::collections::HashSet<(KeyArn, [u8; IV_LEN])>>,
}

#[wasm_bindgen(js_class = SoftwareKeyProvider)]
impl WasmSoftwareKeyProvider {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "KeyringFile | string")] keyring: JsValue,
    ) -> Result<WasmSoftwareKeyProvider, JsValue> {
        // The text holds the keys' base64: wiped once read.
        let json = zeroize::Zeroizing::new(super::json_text(&keyring, Code::Keyring, MAX_KEYRING_BYTES)?);
        let provider = SoftwareKeyProvider::from_keyring_json(&json).map_err(|p| problem_to_js(&p))?;
        Ok(WasmSoftwareKeyProvider { provider: Rc::new(provider), ivs_lent: Default::default() })
    }

    pub fn arns(&self) -> Vec<String> {
        self.provider.arns().map(ToString::to_string).collect()
    }

    /// AES-256-GCM of a data key under one of its keys (`ciphertext | tag`): what a
    /// JavaScript key provider does, so that another entry of the package (a module of
    /// its own) can use these keys, which never leave this module. Only what a data key
    /// is (16 or 32 bytes) is sealed, and never twice under one IV: the lender, not the
    /// caller, keeps GCM's one rule.
    pub fn seal(
        &self,
        arn: JsValue,
        iv: &[u8],
        aad: &[u8],
        plaintext: js_sys::Uint8Array,
    ) -> Result<js_sys::Uint8Array, JsValue> {
        let (arn, iv) = store_args(&arn, iv)?;
        if !matches!(plaintext.length(), 16 | 32) {
            return Err(type_error("plaintext", "a data key (16 or 32 bytes)"));
        }
        if !self.ivs_lent.borrow_mut().insert((arn.clone(), iv)) {
            return Err(problem_to_js(&Problem::new(Code::BridgeRejected, "an IV already used with this key")));
        }
        // The data key crosses into a buffer that is wiped when dropped.
        let mut key = zeroize::Zeroizing::new(vec![0u8; plaintext.length() as usize]);
        plaintext.copy_to(&mut key);
        let sealed = ready(self.provider.store().seal(&arn, &iv, aad, &key)).map_err(|p| problem_to_js(&p))?;
        Ok(js_sys::Uint8Array::from(&sealed[..]))
    }

    /// Opens what [`Self::seal`] sealed (`InvalidCiphertext` when it does not open); the
    /// data key goes straight to JavaScript, its copy here wiped.
    pub fn open(&self, arn: JsValue, iv: &[u8], aad: &[u8], sealed: &[u8]) -> Result<js_sys::Uint8Array, JsValue> {
        let (arn, iv) = store_args(&arn, iv)?;
        let opened = ready(self.provider.store().open(&arn, &iv, aad, sealed)).map_err(|p| problem_to_js(&p))?;
        Ok(js_sys::Uint8Array::from(&opened[..]))
    }
}

/// The key and IV of a store call from another entry.
fn store_args(arn: &JsValue, iv: &[u8]) -> Result<(KeyArn, [u8; IV_LEN]), JsValue> {
    let arn = super::string(arn, "arn", MAX_ARN_BYTES)?.parse::<KeyArn>().map_err(|p| problem_to_js(&p))?;
    let iv = iv.try_into().map_err(|_| type_error("iv", "12 bytes"))?;
    Ok((arn, iv))
}

/// The value of a future that needs no waiting (keys in wasm memory).
fn ready<T>(call: impl Future<Output = Result<T, Problem>>) -> Result<T, Problem> {
    match std::pin::pin!(call).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(Problem::new(Code::BridgeHsm, "a key in wasm memory waited")),
    }
}

/// The TypeScript shape of the options of an `XksKeyProvider`.
#[cfg(all(feature = "xks", feature = "typescript"))]
#[wasm_bindgen(typescript_custom_section)]
const XKS_OPTIONS_TS: &'static str = r#"
/** Where an XKS proxy is and how to sign for it (ENVELOPE.md "The remote proxy"). */
export interface XksKeyProviderOptions {
    /** `https://host[:port]` (`http://` only to a loopback address). */
    endpoint: string;
    /** The proxy's URI prefix, before `/kms/xks/v1` (may be `""`). */
    uriPrefix: string;
    /** The SigV4 region; the key ARN's region when left out. */
    region?: string;
    /** The SigV4 service; `kms-xks-proxy` when left out. */
    service?: string;
    accessKeyId: string;
    secretAccessKey: string;
    /** The caller's principal, sent as `awsPrincipalArn`. */
    principal: string;
    /** The keys, in order: an ARN (its key id is the external key id), or an ARN and its external key id. */
    keys: (string | { arn: string; externalKeyId: string })[];
    /** One request's timeout, in ms (default 5,000). */
    timeoutMs?: number;
}
"#;

/// Master keys behind an XKS proxy, reached through the host's `fetch` (the package's
/// `XksKeyProvider` passes it in with the settings and the secret).
#[cfg(feature = "xks")]
#[wasm_bindgen(js_name = XksKeyProvider)]
pub struct WasmXksKeyProvider {
    provider: Rc<crate::key_providers::xks::XksBridge>,
}

#[cfg(feature = "xks")]
#[wasm_bindgen(js_class = XksKeyProvider)]
impl WasmXksKeyProvider {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "Omit<XksKeyProviderOptions, \"secretAccessKey\">")] settings: JsValue,
        secret: String,
        fetch: crate::key_providers::xks::fetch::XksFetch,
    ) -> Result<WasmXksKeyProvider, JsValue> {
        use crate::key_providers::xks::{fetch::FetchTransport, XksBridge};
        // Wiped whatever happens next, a refusal included.
        let secret = zeroize::Zeroizing::new(secret);
        let settings = from_js(&settings, Code::Keyring)?;
        let transport = Box::new(FetchTransport(fetch));
        let bridge = XksBridge::new(settings, secret, transport).map_err(|p| problem_to_js(&p))?;
        Ok(WasmXksKeyProvider { provider: Rc::new(bridge) })
    }

    pub fn arns(&self) -> Vec<String> {
        self.provider.listed_keys().iter().map(ToString::to_string).collect()
    }
}

/// The TypeScript shape of the options of a `KmsKeyProvider`.
#[cfg(all(feature = "kms", feature = "typescript"))]
#[wasm_bindgen(typescript_custom_section)]
const KMS_OPTIONS_TS: &'static str = r#"
/** Where Alibaba Cloud KMS is and how to sign for it. */
export interface KmsKeyProviderOptions {
    /** `https://kms.<region>.aliyuncs.com`, a VPC endpoint, a KMS instance's `https://<instance-id>.cryptoservice.kms.aliyuncs.com` (its CA trusted by the host), or `http://` to a loopback address (`kms-instance serve`). */
    endpoint: string;
    /** The region; every key must be of it. */
    region: string;
    accessKeyId: string;
    accessKeySecret: string;
    /** An STS token. */
    securityToken?: string;
    /** The keys' ARNs, in order (the first seals when none is named); left out, any key of the region opens. */
    keys?: string[];
    /** `"v3"` (ACS3-HMAC-SHA256, the default) or `"v1"` (HMAC-SHA1). */
    signature?: "v3" | "v1";
    /** One request's timeout, in ms (default 5,000). */
    timeoutMs?: number;
    /** PEM of the CA certificate(s) an `https://` endpoint is trusted by, in place of the host's (a KMS instance's own CA). Node 20.16 and later, where requests then go through `node:https`; a `TypeError` on a host without it (browsers; workerd without Node compatibility): trust the CA in the host. */
    caCertificate?: string;
}
"#;

/// Master keys in Alibaba Cloud KMS, reached through the host's `fetch`.
#[cfg(feature = "kms")]
#[wasm_bindgen(js_name = KmsKeyProvider)]
pub struct WasmKmsKeyProvider {
    provider: Rc<crate::key_providers::kms::KmsKeyProvider>,
}

#[cfg(feature = "kms")]
#[wasm_bindgen(js_class = KmsKeyProvider)]
impl WasmKmsKeyProvider {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "Omit<KmsKeyProviderOptions, \"accessKeySecret\" | \"caCertificate\">")]
        settings: JsValue,
        secret: String,
        fetch: crate::key_providers::xks::fetch::XksFetch,
    ) -> Result<WasmKmsKeyProvider, JsValue> {
        use crate::key_providers::kms::KmsKeyProvider;
        use crate::key_providers::xks::fetch::FetchTransport;
        // Wiped whatever happens next, a refusal included.
        let secret = zeroize::Zeroizing::new(secret);
        let settings = from_js(&settings, Code::Keyring)?;
        let provider =
            KmsKeyProvider::new(settings, secret, Box::new(FetchTransport(fetch))).map_err(|p| problem_to_js(&p))?;
        Ok(WasmKmsKeyProvider { provider: Rc::new(provider) })
    }

    pub fn arns(&self) -> Vec<String> {
        self.provider.listed().iter().map(ToString::to_string).collect()
    }
}

/// Any operation of Alibaba Cloud's OpenAPI in the RPC style, signed as a
/// `KmsKeyProvider` signs, through the host's `fetch`: `{status, body}` as they came
/// (the body's text), a refusal included; only a transport's failure rejects.
#[cfg(feature = "kms")]
#[wasm_bindgen(js_name = KmsApiClient)]
pub struct WasmKmsApiClient {
    client: Rc<crate::kms_api::client::Client>,
}

#[cfg(feature = "kms")]
#[wasm_bindgen(js_class = KmsApiClient)]
impl WasmKmsApiClient {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(
            unchecked_param_type = "Omit<KmsKeyProviderOptions, \"accessKeySecret\" | \"caCertificate\" | \"keys\">"
        )]
        settings: JsValue,
        secret: String,
        fetch: crate::key_providers::xks::fetch::XksFetch,
    ) -> Result<WasmKmsApiClient, JsValue> {
        use crate::key_providers::xks::fetch::FetchTransport;
        let secret = zeroize::Zeroizing::new(secret);
        let settings: crate::key_providers::kms::KmsSettings = from_js(&settings, Code::Keyring)?;
        let client = crate::kms_api::client::Client::new(&settings, secret, Box::new(FetchTransport(fetch)))
            .map_err(|p| problem_to_js(&p))?;
        Ok(WasmKmsApiClient { client: Rc::new(client) })
    }

    /// Calls `action` of API `version` with `params` (names and values, as the SDKs
    /// flatten them).
    #[wasm_bindgen(unchecked_return_type = "Promise<{ status: number; body: string }>")]
    pub fn call(&self, version: String, action: String, params: Vec<String>) -> Result<JsValue, JsValue> {
        if params.len() % 2 != 0 {
            return Err(problem_to_js(&Problem::new(Code::Request, "params: names and values, in pairs")));
        }
        let mut flat = params.into_iter();
        let mut pairs = Vec::new();
        while let (Some(name), Some(value)) = (flat.next(), flat.next()) {
            pairs.push((name, value));
        }
        let client = Rc::clone(&self.client);
        now_or_promise(async move {
            let (status, body) = client.call(&version, &action, pairs).await.map_err(|p| problem_to_js(&p))?;
            let answer = js_sys::Object::new();
            js_sys::Reflect::set(&answer, &"status".into(), &JsValue::from(status))?;
            js_sys::Reflect::set(&answer, &"body".into(), &String::from_utf8_lossy(&body).as_ref().into())?;
            Ok(answer.into())
        })
    }
}

/// How long a cached data key may serve, as JavaScript gives it (`maxAgeMs` in ms).
#[cfg_attr(feature = "typescript", derive(tsify::Tsify))]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataKeyCacheLimits {
    /// Messages one data key may seal.
    max_messages: u64,
    /// Plaintext bytes one data key may seal, all messages together.
    max_bytes: u64,
    /// How long after it was made a data key may still seal, in ms.
    max_age_ms: u64,
    /// Data keys held at once (the oldest goes first past it); 1,000 when left out.
    #[serde(default)]
    max_entries: Option<usize>,
}

/// Data keys reused within limits by the encryptions that pass it, as the Rust API's
/// [`DataKeyCache`] does; the keys stay in wasm memory and are wiped when dropped.
#[wasm_bindgen(js_name = DataKeyCache)]
pub struct WasmDataKeyCache {
    cache: Rc<DataKeyCache>,
}

#[wasm_bindgen(js_class = DataKeyCache)]
impl WasmDataKeyCache {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "DataKeyCacheLimits")] limits: JsValue,
    ) -> Result<WasmDataKeyCache, JsValue> {
        let given: DataKeyCacheLimits = from_js(&limits, Code::Request)?;
        let limits = CacheLimits {
            max_messages: given.max_messages,
            max_bytes: given.max_bytes,
            max_age: Duration::from_millis(given.max_age_ms),
            max_entries: given.max_entries.unwrap_or(DEFAULT_MAX_ENTRIES),
        };
        Ok(WasmDataKeyCache { cache: Rc::new(DataKeyCache::new(limits)) })
    }

    /// Data keys held now.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.cache.len()
    }
}

/// The providers of one call, in the order given.
#[wasm_bindgen]
#[derive(Default)]
pub struct KeyProviders {
    providers: Vec<Rc<dyn KeyProvider>>,
    cache: Option<Rc<DataKeyCache>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OpenedInfo<'a> {
    context: &'a EncryptionContext,
    key_arn: &'a str,
}

/// The TypeScript shape of what `decrypt` resolves to (`OpenedInfo` and the bytes).
#[cfg(feature = "typescript")]
#[wasm_bindgen(typescript_custom_section)]
const OPENED_TS: &'static str = r#"
/** An opened message: the plaintext, its context, and the master key that opened it. */
export interface Opened {
    plaintext: Uint8Array;
    context: Record<string, string>;
    /** The master key whose encrypted data key opened the message. */
    keyArn: string;
}
"#;

/// Key ARNs from a JS array, at most as many as a keyring holds; a bad one is named by
/// its place. The count is checked before any is read, and each string is cut past the
/// longest ARN before it is copied into wasm memory.
fn parse_arns(arns: &JsValue, at: &str) -> Result<Vec<KeyArn>, JsValue> {
    let not_strings = || super::type_error("arns", "an array of strings");
    if !js_sys::Array::is_array(arns) {
        return Err(not_strings());
    }
    // Through Reflect, which catches: the array may be a proxy whose traps throw.
    let count = js_sys::Reflect::get(arns, &"length".into()).ok().and_then(|l| l.as_f64()).ok_or_else(not_strings)?;
    // A float-to-int cast saturates (and a NaN is 0).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let count = count as usize;
    limits::check("the number of keys", count, MAX_KEYRING_KEYS).map_err(|p| problem_to_js(&p.at(at)))?;
    let longest = u32::try_from(MAX_ARN_BYTES.saturating_add(1)).unwrap_or(u32::MAX);
    (0..count)
        .map(|i| {
            let item =
                u32::try_from(i).ok().and_then(|i| js_sys::Reflect::get_u32(arns, i).ok()).ok_or_else(not_strings)?;
            let arn = js::short_string(&item, longest).ok_or_else(not_strings)?;
            arn.parse::<KeyArn>().map_err(|p| problem_to_js(&p.at(format!("{at}/{i}"))))
        })
        .collect()
}

/// `{context, keyArn}` of an opened message.
pub(super) fn info_to_js(context: &EncryptionContext, key_arn: &str) -> Result<JsValue, JsValue> {
    to_js(&OpenedInfo { context, key_arn })
}

fn opened_to_js(plaintext: Vec<u8>, info: &OpenedInfo<'_>) -> Result<JsValue, JsValue> {
    let out = to_js(info)?;
    js_sys::Reflect::set(&out, &"plaintext".into(), &js_sys::Uint8Array::from(plaintext.as_slice()))?;
    Ok(out)
}

/// What one encryption needs, owned, so its future can outlive the call.
struct SealCall {
    providers: Vec<Rc<dyn KeyProvider>>,
    keys: Vec<KeyArn>,
    options: envelope::EncryptOptions<'static>,
    cache: Option<Rc<DataKeyCache>>,
}

impl KeyProviders {
    /// A `PreparedSeal` of a whole message (within its limit) or a stream's.
    fn prepare(&self, length: u64, options: &JsValue, stream: bool) -> Result<JsValue, JsValue> {
        let call = self.seal_call(options)?;
        // Its data key goes to a host's cipher, which is AES-GCM: an SM4 body is sealed here.
        if !call.options.algorithm.is_aes_gcm() {
            return Err(problem_to_js(&host::not_on_host(call.options.algorithm)));
        }
        now_or_promise(async move {
            let (providers, keys, options) = (&refs(&call.providers), &call.keys, &call.options());
            let prepared = match (stream, usize::try_from(length)) {
                (true, _) => envelope::stream::prepare_seal_stream(providers, keys, length, options).await,
                (false, Ok(length)) => envelope::prepare_seal(providers, keys, length, options).await,
                (false, Err(_)) => Err(Problem::new(Code::Plaintext, "the plaintext is larger than one message holds")),
            }
            .map_err(|p| problem_to_js(&p))?;
            let (providers, cache) = (call.providers, call.cache);
            Ok(PreparedSeal { prepared, providers, cache }.into())
        })
    }

    fn seal_call(&self, options: &JsValue) -> Result<SealCall, JsValue> {
        let options: envelope::SealOptions = optional(options, Code::Request)?;
        let (keys, options) = options.resolve(&refs(&self.providers)).map_err(|p| problem_to_js(&p))?;
        Ok(SealCall { providers: self.providers.clone(), keys, options, cache: self.cache.clone() })
    }
}

impl SealCall {
    /// The options with the cache lent to them, for the call's future.
    fn options(&self) -> envelope::EncryptOptions<'_> {
        let (context, algorithm) = (self.options.context.clone(), self.options.algorithm);
        envelope::EncryptOptions { context, algorithm, cache: self.cache.as_deref() }
    }
}

/// The call's value now when it needs no waiting (keys in wasm memory: the whole
/// envelope runs synchronously, with no promise or task), else a promise of it. Polling
/// once with a waker that does nothing is harmless: whatever the future waits on is
/// polled again, with the task's waker, by `future_to_promise`.
fn now_or_promise(call: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Result<JsValue, JsValue> {
    let mut call = Box::pin(call);
    match call.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Ok(future_to_promise(call).into()),
    }
}

fn refs(providers: &[Rc<dyn KeyProvider>]) -> Vec<&dyn KeyProvider> {
    providers.iter().map(|b| b.as_ref()).collect()
}

#[wasm_bindgen]
impl KeyProviders {
    #[wasm_bindgen(constructor)]
    pub fn new() -> KeyProviders {
        KeyProviders::default()
    }

    #[wasm_bindgen(js_name = addSoftware)]
    pub fn add_software(&mut self, provider: &WasmSoftwareKeyProvider) {
        self.providers.push(provider.provider.clone());
    }

    /// Seals with data keys from `cache` while its limits allow (opening is not cached).
    #[wasm_bindgen(js_name = useCache)]
    pub fn use_cache(&mut self, cache: &WasmDataKeyCache) {
        self.cache = Some(Rc::clone(&cache.cache));
    }

    #[cfg(feature = "xks")]
    #[wasm_bindgen(js_name = addXks)]
    pub fn add_xks(&mut self, provider: &WasmXksKeyProvider) {
        self.providers.push(provider.provider.clone());
    }

    /// A JavaScript provider, with the identity `newProviderId` gave that object.
    #[cfg(feature = "kms")]
    #[wasm_bindgen(js_name = addKms)]
    pub fn add_kms(&mut self, provider: &WasmKmsKeyProvider) {
        self.providers.push(provider.provider.clone());
    }

    #[wasm_bindgen(js_name = addJs)]
    pub fn add_js(
        &mut self,
        provider: JsKeyProvider,
        #[wasm_bindgen(unchecked_param_type = "string[]")] arns: JsValue,
        id: f64,
    ) -> Result<(), JsValue> {
        let arns = parse_arns(&arns, "/arns")?;
        let id = envelope::ProviderId::from_js(id)
            .ok_or_else(|| super::type_error("the provider's id", "one newProviderId gave"))?;
        self.providers.push(Rc::new(BlobKeyProvider::with_id(JsKeys { provider, arns }, id)));
        Ok(())
    }

    /// Seals a whole message in wasm (synchronously when no provider has to be waited for).
    #[wasm_bindgen(unchecked_return_type = "Uint8Array | Promise<Uint8Array>")]
    pub fn encrypt(
        &self,
        plaintext: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "SealOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let call = self.seal_call(&options)?;
        now_or_promise(async move {
            let message = envelope::encrypt(&refs(&call.providers), &call.keys, &plaintext, &call.options())
                .await
                .map_err(|p| problem_to_js(&p))?;
            Ok(js_sys::Uint8Array::from(message.as_slice()).into())
        })
    }

    /// Opens a whole message in wasm: `{plaintext, context, keyArn}` (synchronously when
    /// no provider has to be waited for).
    #[wasm_bindgen(unchecked_return_type = "Opened | Promise<Opened>")]
    pub fn decrypt(
        &self,
        message: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "DecryptOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let options: envelope::DecryptOptions = optional(&options, Code::Request)?;
        let providers = self.providers.clone();
        now_or_promise(async move {
            let opened =
                envelope::decrypt(&refs(&providers), &message, &options).await.map_err(|p| problem_to_js(&p))?;
            opened_to_js(opened.plaintext, &OpenedInfo { context: &opened.context, key_arn: &opened.key_arn })
        })
    }

    /// The data key and IV of one message of `length` bytes, made before any provider is
    /// asked to encrypt the data key, for a host that encrypts the body while
    /// `PreparedSeal.wrap` waits for the providers.
    #[wasm_bindgen(js_name = prepareSeal, unchecked_return_type = "PreparedSeal | Promise<PreparedSeal>")]
    pub fn prepare_seal(
        &self,
        length: usize,
        #[wasm_bindgen(unchecked_param_type = "SealOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.prepare(u64::try_from(length).unwrap_or(u64::MAX), &options, false)
    }

    /// `prepareSeal` for a streamed message of `length` bytes (any length GCM allows),
    /// for a host that encrypts the body as it comes (`node:crypto`).
    #[wasm_bindgen(js_name = prepareSealStream, unchecked_return_type = "PreparedSeal | Promise<PreparedSeal>")]
    pub fn prepare_seal_stream(
        &self,
        length: f64,
        #[wasm_bindgen(unchecked_param_type = "SealOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.prepare(super::streams::length_of(length)?, &options, true)
    }

    /// A message of `length` bytes sealed as a stream: its head now, its body in pieces
    /// (synchronously when no provider has to be waited for).
    #[wasm_bindgen(js_name = beginSealStream, unchecked_return_type = "SealStream | Promise<SealStream>")]
    pub fn begin_seal_stream(
        &self,
        length: f64,
        #[wasm_bindgen(unchecked_param_type = "SealOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let length = super::streams::length_of(length)?;
        let call = self.seal_call(&options)?;
        now_or_promise(async move {
            let sealing =
                envelope::stream::begin_seal_stream(&refs(&call.providers), &call.keys, length, &call.options())
                    .await
                    .map_err(|p| problem_to_js(&p))?;
            Ok(super::streams::WasmSealStream(sealing).into())
        })
    }

    /// A streamed message whose head is `head` (its first bytes, as many as
    /// `streamHead` says): its header checked, its data key open.
    #[wasm_bindgen(js_name = beginOpenStream, unchecked_return_type = "OpenStream | Promise<OpenStream>")]
    pub fn begin_open_stream(
        &self,
        head: &[u8],
        #[wasm_bindgen(unchecked_param_type = "DecryptOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let options: envelope::DecryptOptions = optional(&options, Code::Request)?;
        let head = envelope::message::StreamHead::read(head)
            .map_err(|p| problem_to_js(&p))?
            .ok_or_else(|| problem_to_js(&Problem::new(Code::NotAMessage, "the message ends in its head")))?;
        let providers = self.providers.clone();
        now_or_promise(async move {
            let opening = envelope::stream::begin_open_stream(&refs(&providers), head, &options)
                .await
                .map_err(|p| problem_to_js(&p))?;
            Ok(super::streams::WasmOpenStream(opening).into())
        })
    }

    /// A message with its header checked and its data key open, for a host that
    /// decrypts the body itself where it is: only the message's first bytes (`head`, at
    /// least `openWindow()` of them, or all), its length and its last 18 bytes (`tail`)
    /// cross, so a large body never enters wasm memory.
    #[wasm_bindgen(js_name = beginOpen, unchecked_return_type = "OpenSession | Promise<OpenSession>")]
    pub fn begin_open(
        &self,
        head: &[u8],
        length: usize,
        tail: &[u8],
        #[wasm_bindgen(unchecked_param_type = "DecryptOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let options: envelope::DecryptOptions = optional(&options, Code::Request)?;
        let head = envelope::message::Head::from_der(head, length, tail).map_err(|p| problem_to_js(&p))?;
        let providers = self.providers.clone();
        now_or_promise(async move {
            let opening =
                host::begin_open_head(&refs(&providers), head, &options).await.map_err(|p| problem_to_js(&p))?;
            Ok(OpenSession(opening).into())
        })
    }
}

/// A new provider identity, for a JavaScript key provider object the package has not
/// seen before: it keeps the number with the object and passes it to `addJs`.
#[wasm_bindgen(js_name = newProviderId)]
pub fn new_provider_id() -> f64 {
    envelope::ProviderId::new_for_js().to_js()
}

/// How many of a message's first bytes `beginOpen` needs (or all of a shorter one).
#[wasm_bindgen(js_name = openWindow)]
pub fn open_window() -> usize {
    envelope::message::HEAD_WINDOW
}

/// What a message's header says (algorithm, data keys by ARN, context), from its
/// first bytes, length and last 18 bytes as `beginOpen` takes them; no key is asked.
#[wasm_bindgen(js_name = inspectMessage, unchecked_return_type = "Summary")]
pub fn inspect_message(head: &[u8], length: usize, tail: &[u8]) -> Result<JsValue, JsValue> {
    to_js(&envelope::message::summarize(head, length, tail).map_err(|p| problem_to_js(&p))?)
}

/// One message's data key and IV, its providers not asked yet. `wrap` takes it (free it
/// only if it is never wrapped: the data key is wiped).
#[wasm_bindgen]
pub struct PreparedSeal {
    prepared: envelope::Prepared,
    providers: Vec<Rc<dyn KeyProvider>>,
    cache: Option<Rc<DataKeyCache>>,
}

#[wasm_bindgen]
impl PreparedSeal {
    /// The raw data key, to import into WebCrypto as a non-extractable key or give to
    /// `node:crypto`. Wipe the copy after.
    #[wasm_bindgen(js_name = dataKey)]
    pub fn data_key(&self) -> js_sys::Uint8Array {
        // Copied straight from the wiped-on-drop key into JS: no plain copy is left in wasm memory.
        js_sys::Uint8Array::from(self.prepared.data_key())
    }

    pub fn iv(&self) -> Vec<u8> {
        self.prepared.iv().to_vec()
    }

    /// The body's additional data: the context bytes.
    pub fn aad(&self) -> Vec<u8> {
        self.prepared.aad()
    }

    /// `[bodyOffset, messageLength]` of the message if every provider's blob is as long
    /// as it foretells, or `undefined`; the `SealSession`'s frame says what they are.
    #[wasm_bindgen(js_name = predictedLayout, unchecked_return_type = "[number, number] | undefined")]
    pub fn predicted_layout(&self) -> JsValue {
        match self.prepared.predicted_layout(&refs(&self.providers)) {
            Some((offset, length)) => js_sys::Array::of2(&offset.into(), &length.into()).into(),
            None => JsValue::UNDEFINED,
        }
    }

    /// The data key encrypted by each provider (synchronously when none has to be
    /// waited for), and the header: the rest of the message but its body.
    #[wasm_bindgen(unchecked_return_type = "SealSession | Promise<SealSession>")]
    pub fn wrap(self) -> Result<JsValue, JsValue> {
        let PreparedSeal { prepared, providers, cache } = self;
        now_or_promise(async move {
            let sealing = prepared.wrap(&refs(&providers), cache.as_deref()).await.map_err(|p| problem_to_js(&p))?;
            Ok(SealSession(sealing).into())
        })
    }
}

/// One message sealed but for its body, which the host encrypted with the
/// `PreparedSeal`'s data key. Free it when done: the data key is wiped.
#[wasm_bindgen]
pub struct SealSession(envelope::Sealing);

#[wasm_bindgen]
impl SealSession {
    /// The bytes around a body the host encrypted: `[prefix, suffix]`, where
    /// `prefix | ciphertext | suffix` is the message. Only the 16-byte tag crosses into
    /// wasm, not the body.
    #[wasm_bindgen(unchecked_return_type = "[Uint8Array, Uint8Array]")]
    pub fn frame(&self, ciphertext_len: f64, tag: &[u8]) -> Result<js_sys::Array, JsValue> {
        let ciphertext_len = super::streams::length_of(ciphertext_len)?;
        let tag: [u8; TAG_LEN] = tag
            .try_into()
            .map_err(|_| problem_to_js(&Problem::new(Code::AuthTag, "the body's tag is not 16 bytes")))?;
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
pub struct OpenSession(host::HostOpening);

#[wasm_bindgen]
impl OpenSession {
    #[wasm_bindgen(js_name = dataKey)]
    pub fn data_key(&self) -> js_sys::Uint8Array {
        js_sys::Uint8Array::from(self.0.data_key.as_slice())
    }

    pub fn iv(&self) -> Vec<u8> {
        self.0.iv.to_vec()
    }

    pub fn aad(&self) -> Vec<u8> {
        self.0.aad.clone()
    }

    /// Where the ciphertext starts in the message.
    #[wasm_bindgen(js_name = bodyStart)]
    pub fn body_start(&self) -> usize {
        self.0.ciphertext.start
    }

    /// Where the ciphertext ends in the message.
    #[wasm_bindgen(js_name = bodyEnd)]
    pub fn body_end(&self) -> usize {
        self.0.ciphertext.end
    }

    /// The body's tag.
    pub fn tag(&self) -> Vec<u8> {
        self.0.tag.to_vec()
    }

    /// `{context, keyArn}` of the message.
    #[wasm_bindgen(unchecked_return_type = "Omit<Opened, \"plaintext\">")]
    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&OpenedInfo { context: &self.0.context, key_arn: self.0.key_arn.as_str() })
    }

    /// What to throw when the host's AES-GCM does not open the body.
    #[wasm_bindgen(js_name = doesNotOpen, unchecked_return_type = "unknown")]
    pub fn does_not_open(&self) -> JsValue {
        problem_to_js(&self.0.does_not_open())
    }
}

/// Whether the host should run the body's AES-GCM itself for a body of `length` bytes,
/// with `cipher`: `"node"` (Node's `node:crypto`, where it exists) or `"webcrypto"`.
#[wasm_bindgen(js_name = hostCipherPays)]
pub fn host_cipher_pays(length: usize, #[wasm_bindgen(unchecked_param_type = "HostCipher")] cipher: &str) -> bool {
    let cipher = match cipher {
        "node" => host::HostCipher::Node,
        _ => host::HostCipher::WebCrypto,
    };
    host::host_cipher_pays(length, cipher)
}

/// Whether the body of the message whose first bytes are `head` may be opened by a
/// host's AES-GCM: not when its header names SM4 or a legacy algorithm (those open
/// here). Bytes that are not a message go the host's way, where the head alone refuses
/// them, rather than being copied whole into wasm.
#[wasm_bindgen(js_name = bodyOnHost)]
pub fn body_on_host(head: &[u8]) -> bool {
    envelope::message::algorithm_of(head).is_none_or(envelope::Algorithm::is_aes_gcm)
}

/// Whether a body sealed with `algorithm` (the options' value: a name, a number, or
/// undefined for the default) may go to a host's AES-GCM. What is not an algorithm is
/// sealed here, which says why.
#[wasm_bindgen(js_name = sealOnHost)]
pub fn seal_on_host(#[wasm_bindgen(unchecked_param_type = "SealAlgorithm | undefined")] algorithm: JsValue) -> bool {
    let given = if algorithm.is_undefined() {
        Some(envelope::Algorithm::default())
    } else if let Some(name) = algorithm.as_string() {
        serde_json::from_value(serde_json::Value::String(name)).ok()
    } else {
        algorithm
            .as_f64()
            .and_then(|n| (1..=12u32).find(|id| f64::from(*id) == n))
            .and_then(envelope::Algorithm::from_id)
    };
    given.is_some_and(envelope::Algorithm::is_aes_gcm)
}

#[cfg(feature = "typescript")]
#[wasm_bindgen(typescript_custom_section)]
const HOST_CIPHER_TS: &'static str = r#"
/** The host AES-GCM a body can go to: Node's `node:crypto`, or WebCrypto. */
export type HostCipher = "node" | "webcrypto";
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn thrown_objects_carry_every_problem() {
        let problems = [
            Problem::new(Code::BindVpcsVpcId, "a").at("/0/VpcId").rule("R-BV-3"),
            Problem::new(Code::BindVpcsMissingField, "b"),
        ];
        let thrown = super::super::problems_to_js(&problems, ());
        let get = |k: &str| js_sys::Reflect::get(&thrown, &k.into()).unwrap();
        assert_eq!(get("code").as_string().as_deref(), Some("InvalidParameter.BindVpcs.VpcId"));
        assert_eq!(get("path").as_string().as_deref(), Some("/0/VpcId"));
        assert_eq!(js_sys::Array::from(&get("errors")).length(), 2);
    }
}
