//! The XKS client's transport in wasm: the host's `fetch`, through a function the npm
//! package passes in (`post(url, headers, body, timeoutMs)`), so TLS, proxies and
//! certificate trust are the host's (a browser's, Node's, workerd's), not the module's.

use super::{Answer, Exchange, Transport, MAX_ANSWER_BYTES};
use crate::code::{Code, Problem};
use crate::platform::js::{self, NotBytes};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// `post(url, headers, body, timeoutMs)`: resolves `{status, body}` with at most
    /// `MAX_ANSWER_BYTES + 1` bytes of body; rejects with a `Bridge.*` code.
    #[wasm_bindgen(typescript_type = "XksFetch")]
    pub type XksFetch;

    #[wasm_bindgen(method, catch)]
    fn post(
        this: &XksFetch,
        url: &str,
        headers: js_sys::Array,
        body: js_sys::Uint8Array,
        timeout_ms: f64,
    ) -> Result<js_sys::Promise, JsValue>;
}

/// The TypeScript shape of an [`XksFetch`].
#[cfg(feature = "typescript")]
#[wasm_bindgen(typescript_custom_section)]
const XKS_FETCH_TS: &'static str = r#"
/** How the module reaches an XKS proxy: the package's own, over the host's fetch. */
export interface XksFetch {
    post(url: string, headers: [string, string][], body: Uint8Array, timeoutMs: number): Promise<{ status: number; body: Uint8Array }>;
}
"#;

/// The host's `fetch`, through the package's function.
pub struct FetchTransport(pub XksFetch);

#[async_trait::async_trait(?Send)]
impl Transport for FetchTransport {
    async fn post(&self, exchange: Exchange) -> Result<Answer, Problem> {
        let headers = js_sys::Array::new();
        for (name, value) in &exchange.headers {
            headers.push(&js_sys::Array::of2(&name.into(), &value.into()));
        }
        let body = js_sys::Uint8Array::from(exchange.body.as_slice());
        let timeout = exchange.timeout.as_secs_f64() * 1000.0;
        let promise = self.0.post(&exchange.url, headers, body, timeout).map_err(super::super::js::js_problem)?;
        let answer = JsFuture::from(promise).await.map_err(super::super::js::js_problem)?;
        let field = |name: &str| js_sys::Reflect::get(&answer, &name.into()).ok();
        let bad = || Problem::new(Code::BridgeInvalidResponse, "the host's fetch gave no status and body");
        let status: u16 = field("status").and_then(|s| serde_wasm_bindgen::from_value(s).ok()).ok_or_else(bad)?;
        let body = match js::bytes(&field("body").ok_or_else(bad)?, MAX_ANSWER_BYTES) {
            Ok(body) => body,
            Err(NotBytes::Wrong) => return Err(bad()),
            Err(NotBytes::TooLong(_)) => {
                return Err(Problem::new(
                    Code::BridgeInvalidResponse,
                    format!("the proxy's answer is larger than {MAX_ANSWER_BYTES} bytes"),
                ))
            }
        };
        Ok(Answer { status, body: body.into() })
    }
}
