// How the XKS and KMS clients reach their endpoints from JavaScript: signing, the request and answer
// formats, the integrity check and the CiphertextBlob are the Rust client's
// (`XksKeyProvider`, `KmsKeyProvider` in sealing.ts); this only carries its requests over the host's
// fetch, so TLS and the certificates trusted are the host's.
import { view } from "./gcm.js";
import type { Code } from "./generated/types.js";

/** Bytes of an answer read, at most: one more than the module takes, so it can refuse a longer one. */
const MAX_ANSWER_BYTES = (64 << 10) + 1;

/** A rejection the module maps to its code (an Error with `code`, as a JsKeyProvider's are). */
function failure(code: Code, message: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

/** What went wrong with a fetch that gave no answer, as far as the host tells. */
function unreachable(cause: unknown): Error {
  const inner = (cause as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const detail = typeof inner?.code === "string" ? inner.code : cause instanceof Error ? cause.message : String(cause);
  // Node (undici) names the failure in its cause's code: CERT_HAS_EXPIRED,
  // UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID, ERR_SSL_…
  const tls = /CERT|TLS|SSL|VERIFY|ISSUER|HANDSHAKE/i.test(detail);
  return failure(tls ? "Bridge.Tls" : "Bridge.Unavailable", `the endpoint could not be reached (${detail})`, cause);
}

/** The two ways an exchange fails once sent, the same whatever carried it. */
const timedOut = (timeoutMs: number) => failure("Bridge.Timeout", `the endpoint did not answer within ${timeoutMs} ms`);
const brokeOff = (cause?: unknown) => failure("Bridge.Unavailable", "the endpoint's answer broke off", cause);

/** The body, stopped past `limit` bytes. */
async function readAtMost(response: Response, limit: number): Promise<Uint8Array> {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  if (length >= limit) await reader.cancel().catch(() => {});
  return joined(chunks, Math.min(length, limit));
}

/** The first `length` bytes of `chunks`, in one array. */
function joined(chunks: Uint8Array[], length: number): Uint8Array {
  const body = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, body.length - at);
    body.set(part, at);
    at += part.length;
  }
  return body;
}

/** One signed request over the host's fetch, bounded by `timeoutMs` from start to the body's end. */
export async function post(url: string, headers: [string, string][], body: Uint8Array, timeoutMs: number) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    let response: Response;
    try {
      // The host sets Host itself (to the URL's authority, as signed). No redirect is
      // followed: a signed request goes where it was signed for.
      const sent = headers.filter(([name]) => name !== "host");
      response = await fetch(url, { method: "POST", headers: sent, body: view(body), signal: controller.signal, redirect: "manual" });
    } catch (e) {
      throw controller.signal.aborted ? timedOut(timeoutMs) : unreachable(e);
    }
    try {
      return { status: response.status, body: await readAtMost(response, MAX_ANSWER_BYTES) };
    } catch (e) {
      throw controller.signal.aborted ? timedOut(timeoutMs) : brokeOff(e);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** What of Node's `https` module is used here (no Node types in the package's build). */
interface NodeHttps {
  request(url: string, options: object, answered: (response: NodeAnswer) => void): NodeRequest;
}
interface NodeAnswer {
  statusCode?: number;
  on(event: "data", listener: (chunk: Uint8Array) => void): void;
  on(event: "end" | "error" | "aborted", listener: (e?: unknown) => void): void;
  destroy(): void;
}
interface NodeRequest {
  on(event: "error", listener: (e: unknown) => void): void;
  end(body: Uint8Array): void;
  destroy(): void;
}

/**
 * `post` trusting the CA certificates `ca` (PEM) for an `https://` endpoint, through
 * Node's `https` (fetch cannot be given a CA); `undefined` on a host without it. The
 * module is reached by `process.getBuiltinModule` (Node 20.16+), so no bundler follows it.
 */
export function postTrusting(ca: string): typeof post | undefined {
  const host = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const https = host?.getBuiltinModule?.("node:https") as NodeHttps | undefined;
  if (!https) return undefined;
  return (url, headers, body, timeoutMs) =>
    url.startsWith("https:") ? postOver(https, ca, url, headers, body, timeoutMs) : post(url, headers, body, timeoutMs);
}

function postOver(https: NodeHttps, ca: string, url: string, headers: [string, string][], body: Uint8Array, timeoutMs: number) {
  return new Promise<{ status: number; body: Uint8Array }>((resolve, reject) => {
    let settled = false;
    const settle = (then: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      then();
    };
    const fail = (e: unknown) => settle(() => reject(unreachable(new Error(String((e as Error)?.message ?? e), { cause: e }))));
    const answerBrokeOff = () => settle(() => reject(brokeOff()));
    // Node sets Host from the URL (the authority signed); the module writes each header
    // once, in lower case. The length is given so the body is not chunked.
    const sent = Object.fromEntries(headers.filter(([name]) => name !== "host"));
    sent["content-length"] = String(body.length);
    let request: NodeRequest;
    const timer = setTimeout(() => {
      request?.destroy();
      settle(() => reject(timedOut(timeoutMs)));
    }, timeoutMs);
    try {
      request = https.request(url, { method: "POST", headers: sent, ca }, (answer) => {
        const chunks: Uint8Array[] = [];
        let length = 0;
        // Past the limit, what was read goes to the module (which refuses it as too long), as with fetch.
        const done = () => settle(() => resolve({ status: answer.statusCode ?? 0, body: joined(chunks, Math.min(length, MAX_ANSWER_BYTES)) }));
        answer.on("data", (chunk) => {
          chunks.push(chunk);
          length += chunk.length;
          if (length >= MAX_ANSWER_BYTES) {
            done();
            answer.destroy();
          }
        });
        answer.on("error", answerBrokeOff);
        answer.on("aborted", answerBrokeOff);
        answer.on("end", done);
      });
    } catch (e) {
      fail(e);
      return;
    }
    request.on("error", fail);
    request.end(view(body));
  });
}
