// How an entry gets its wasm module, the same way on every host: no top-level await,
// no asset to find. The default entries carry the module inside their JavaScript
// (base64) and instantiate it synchronously at the first call; the workerd entries
// import it as a compiled `WebAssembly.Module` (workerd cannot compile bytes); the
// slim entries carry nothing and wait for `init`/`initSync`. The README compares the
// three (bytes, load time, what each host needs).
import { initSync as instantiate } from "#glue";
import bundled, { shape } from "#wasm-source";
import { KmsError } from "./errors.js";
import { shapeOf } from "./shape.js";
import type { HostType } from "./host.js";

type WasmModule = typeof globalThis extends { WebAssembly: { Module: { prototype: infer T } } } ? T : never;

/** Where the module's bytes are: read, compiled, or to be fetched. */
export type InitSource =
  | string
  | HostType<"URL">
  | HostType<"Response">
  | PromiseLike<HostType<"Response">>
  | ArrayBuffer
  | ArrayBufferView
  | WasmModule;

/** The module's bytes, or a compiled module: what can be instantiated without waiting. */
export type InitSyncSource = ArrayBuffer | ArrayBufferView | WasmModule;

// Set once the glue holds an instance; a second instance would strand the first's objects.
let loaded = false;

/** The bytes the entry carries, decoded; a workerd entry's compiled module as it is. */
function carried(): InitSyncSource | undefined {
  if (typeof bundled !== "string") return bundled as InitSyncSource | undefined;
  const text = atob(bundled);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** What a failure says, for a message that wraps it. */
const reason = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause));

/** A failed compile or instantiation, with what usually causes it on the web. */
function loadFailed(cause: unknown): KmsError {
  const why = reason(cause);
  return new KmsError({
    code: "Module.LoadFailed",
    message:
      `the wasm module did not load (${why}). Under a Content-Security-Policy, script-src needs 'wasm-unsafe-eval'; ` +
      `a host that cannot compile wasm from bytes (Cloudflare Workers) needs the workerd build or init() with a WebAssembly.Module`,
    cause,
  });
}

const notLoaded = () =>
  new KmsError({
    code: "Module.NotLoaded",
    message: pending
      ? "the wasm module is still loading: await init() before calling"
      : "this entry carries no wasm module: call init(url | response | bytes | module) or initSync(bytes | module) first",
  });

/** The module's bytes from a URL or a response; a failed fetch says so (no CSP advice: it is not a compile). */
async function fetched(source: string | URL | Response | PromiseLike<Response>): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = (await (typeof source === "string" || source instanceof URL ? fetch(source) : source)) as Response;
  } catch (cause) {
    throw new KmsError({ code: "Module.LoadFailed", message: `fetching the module failed (${reason(cause)})`, cause });
  }
  if (typeof response?.arrayBuffer !== "function") throw new TypeError("init takes a URL, a Response, the bytes or a WebAssembly.Module");
  if (!response.ok) {
    throw new KmsError({ code: "Module.LoadFailed", message: `fetching ${response.url || "the module"} answered ${response.status}` });
  }
  return response.arrayBuffer();
}

/** A compiled module from any source `init` takes; only the compile itself is left to the host. */
async function compile(source: InitSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  const bytes = source instanceof ArrayBuffer || ArrayBuffer.isView(source) ? source : await fetched(source as string | URL | Response | PromiseLike<Response>);
  try {
    return await WebAssembly.compile(bytes as BufferSource);
  } catch (e) {
    throw loadFailed(e);
  }
}

let pending: Promise<void> | undefined;

/**
 * Loads the module now: from `source`, or (default entries) the bytes the entry carries,
 * compiled asynchronously. Optional for the default and workerd entries, which load at
 * the first call; needed once for a slim entry. Calls while one is loading share it;
 * once loaded, it does nothing.
 *
 * @example A slim entry, given the module's bytes
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { init, validateName } from "kms-instance/validate/slim";
 *
 * // In a browser: await init(fetch(url)), with url from "kms-instance/wasm/validate.wasm?url" in a bundler.
 * await init(await readFile(new URL(import.meta.resolve("kms-instance/wasm/validate.wasm"))));
 * console.log(validateName("alias", "alias/app").ok); // true
 * ```
 */
export function init(source?: InitSource): Promise<void> {
  if (loaded) return Promise.resolve();
  if (pending) return pending;
  const from = source ?? carried();
  if (from === undefined) return Promise.reject(notLoaded());
  pending = compile(from)
    .then((module) => initSync(module))
    .finally(() => {
      pending = undefined;
    });
  return pending;
}

/**
 * Loads the module now, synchronously, from its bytes or a compiled module (or what the entry carries).
 *
 * @example A slim entry, from the module's file: usable on the next line, no `await`
 * ```ts
 * import { readFileSync } from "node:fs";
 * import { initSync, validateId } from "kms-instance/validate/slim";
 *
 * initSync(readFileSync(new URL(import.meta.resolve("kms-instance/wasm/validate.wasm"))));
 * console.log(validateId("vpc-id", "vpc-bp1go9qvmj78j4f4c0001").ok); // true
 * ```
 */
export function initSync(source?: InitSyncSource): void {
  if (loaded) return;
  const from = source ?? carried();
  if (from === undefined) throw notLoaded();
  let module: WebAssembly.Module;
  try {
    module = from instanceof WebAssembly.Module ? from : new WebAssembly.Module(from as BufferSource);
  } catch (e) {
    throw loadFailed(e);
  }
  const given = shapeOf(module);
  if (given !== shape) {
    throw new KmsError({
      code: "Module.LoadFailed",
      message: `this module is not the one this entry was built with (shape ${given}, expected ${shape}): pass the .wasm shipped with the same entry and version (dist/wasm/)`,
    });
  }
  try {
    instantiate({ module: module as never });
  } catch (e) {
    throw loadFailed(e);
  }
  loaded = true;
}

/** Called by every export before it uses the module: loads what the entry carries, once. */
export function ready(): void {
  if (!loaded) initSync();
}
