// Envelope encryption: the key providers and sealing and opening messages. The format
// and the checks are in Rust; JavaScript adds timeouts and, for large bodies, the host's
// AES-GCM (node:crypto or WebCrypto), when the core says it pays.
import type * as glue from "#glue";
import * as args from "./args.js";
import { wasm } from "./bound.js";
import { freed, guard, guardAsync, KmsError, toError } from "./errors.js";
import type { Bytes, DataKeyCacheLimits, DecryptOptions, DecryptStreamOptions, EncryptOptions, EncryptStreamOptions, Rereadable, JsKeyProvider, KeyringFile, KmsKeyProviderOptions, MessageSummary, Opened, XksKeyProviderOptions } from "./types.js";
import { AES_GCM, gcmParams, TAG_LEN, view } from "./gcm.js";
import { hostCipher, NODE_CHUNK, nodeCipher, nodeGcmUnder, type NodeCrypto, type NodeGcm } from "./hostcipher.js";
import { post, postTrusting } from "./xks.js";
import { TWIN, twinIn, Twins, type Twinned } from "./twins.js";
import { opening, openingTwice, sealing } from "./streams.js";
import type { ByteStream, ByteTransform } from "./host.js";
import { NodeOpenStream, nodeSealStream } from "./nodestreams.js";

/** The module's exports as another entry's twins are made in them. */
type Module = typeof glue;

const softwareKeys = new WeakMap<SoftwareKeyProvider, glue.SoftwareKeyProvider>();

/**
 * Master keys in wasm memory, from a keyring (for tests, development, offline use).
 * Another entry of the package uses them through calls into this entry's module: the
 * keys never leave it.
 *
 * @example A key made here, a message sealed and opened with it
 * ```ts
 * import { decrypt, encrypt, SoftwareKeyProvider } from "kms-instance/envelope";
 * import { randomBytes } from "node:crypto";
 *
 * const arn = "acs:kms:cn-hangzhou:1207089758810000:key/key-dev";
 * const keys = new SoftwareKeyProvider({ keys: [{ arn, material: randomBytes(32).toString("base64") }] });
 * const message = await encrypt([keys], new TextEncoder().encode("hello"));
 * console.log(new TextDecoder().decode((await decrypt([keys], message)).plaintext)); // hello
 * keys.free();
 * ```
 */
export class SoftwareKeyProvider implements Twinned {
  /** From a keyring: `{ keys: [{ arn, material }] }` (material: the base64 of 32 bytes), or its JSON text (`kms-instance keyring new`). */
  constructor(keyring: KeyringFile | string) {
    softwareKeys.set(this, guard(() => new (wasm().SoftwareKeyProvider)(keyring)));
  }

  #live(): glue.SoftwareKeyProvider {
    const inner = softwareKeys.get(this);
    if (!inner) throw freed("SoftwareKeyProvider");
    return inner;
  }

  /** The ARNs of its keys, in order. */
  arns(): string[] {
    return this.#live().arns();
  }

  /**
   * Its keys lent to another entry as a JavaScript key provider (the same blobs).
   * @internal
   */
  [TWIN](): JsKeyProvider {
    this.#live();
    return {
      arns: () => this.arns(),
      seal: async (arn, iv, aad, plaintext) => guard(() => this.#live().seal(arn, iv, aad, plaintext)),
      open: async (arn, iv, aad, sealed) => guard(() => this.#live().open(arn, iv, aad, sealed)),
      describe: async () => ({ protectionLevel: "SOFTWARE" }),
    };
  }

  /** Frees the keys' wasm memory now (it is wiped); the provider cannot be used afterwards. */
  free(): void {
    softwareKeys.get(this)?.free();
    softwareKeys.delete(this);
  }
}

const proxies = new WeakMap<XksKeyProvider, glue.XksKeyProvider>();

/**
 * Master keys in an HSM behind a proxy that speaks the XKS Proxy API v1: each data key
 * is made here and encrypted at the proxy (SigV4-signed, its integrity value checked).
 * Requests go through the host's `fetch`: TLS and the certificates trusted are the
 * host's (Node: `NODE_EXTRA_CA_CERTS`; a browser needs the proxy to allow CORS).
 * Used by another entry of the package, it makes its twin in that entry's module from
 * its settings and secret, which it keeps for that.
 *
 * @example A proxy's keys (made here, the proxy is asked only by `encrypt` and `decrypt`)
 * ```ts
 * import { XksKeyProvider } from "kms-instance/envelope";
 *
 * const hsm = new XksKeyProvider({
 *   endpoint: "https://xks.example.com", uriPrefix: "/tenant-a",
 *   accessKeyId: process.env.XKS_ACCESS_KEY_ID!, secretAccessKey: process.env.XKS_SECRET!,
 *   principal: "acs:ram::1207089758810000:user/edge",
 *   keys: ["acs:kms:cn-hangzhou:1207089758810000:key/key-hsm"], // or { arn, externalKeyId }
 * });
 * console.log(hsm.arns()); // then: await encrypt([hsm], data, { context: { tenant: "a" } })
 * ```
 */
export class XksKeyProvider implements Twinned {
  #twins: Twins<glue.XksKeyProvider> | undefined;

  /** Checks the settings (an unknown one is refused); contacts nothing. */
  constructor(options: XksKeyProviderOptions) {
    const made = guard(() => {
      const { secretAccessKey, ...settings } = args.options<XksKeyProviderOptions>("options", options);
      if (typeof secretAccessKey !== "string") throw new TypeError("options.secretAccessKey must be a string");
      if (typeof globalThis.fetch !== "function") throw new TypeError("this host has no fetch: XksKeyProvider needs it");
      // The module checks every setting (and refuses unknown ones).
      // A copy: the twin another entry makes later gets these settings, whatever the caller changes since.
      const checked = structuredClone(settings) as Omit<XksKeyProviderOptions, "secretAccessKey">;
      this.#twins = new Twins((m) => new (m as Module).XksKeyProvider(checked, secretAccessKey, { post }));
      return new (wasm().XksKeyProvider)(checked, secretAccessKey, { post });
    });
    proxies.set(this, made);
  }

  /**
   * Its twin in another entry's module, made from the same settings and secret.
   * @internal
   */
  [TWIN](module: object): unknown {
    if (!proxies.has(this)) throw freed("XksKeyProvider");
    return guard(() => this.#twins?.of(module));
  }

  /** The ARNs of its keys, in order. */
  arns(): string[] {
    const inner = proxies.get(this);
    if (!inner) throw freed("XksKeyProvider");
    return inner.arns();
  }

  /** Frees its wasm memory now, and its twins' in other entries (the modules' copies of the secret are wiped; the string you passed, which it kept, is yours); it cannot be used afterwards. */
  free(): void {
    proxies.get(this)?.free();
    proxies.delete(this);
    this.#twins?.free();
  }
}

const kmsProviders = new WeakMap<KmsKeyProvider, glue.KmsKeyProvider>();

function unsupported(): never {
  throw new TypeError("options.caCertificate needs Node 20.16 or later; on this host, trust the CA in the host itself");
}

/**
 * Master keys in Alibaba Cloud KMS (or `kms-instance serve`): each data key is made
 * here and encrypted by KMS's `Encrypt`, opened by its `Decrypt`, requests signed with
 * ACS3-HMAC-SHA256 (or v1). Messages open with Alibaba's Encryption SDK against the
 * same KMS, and the reverse. Requests go through the host's `fetch`: TLS and the
 * certificates trusted are the host's, unless `caCertificate` names a KMS instance's CA
 * (Node 20.16+, through `node:https`). Nothing is retried; a refusal's message has
 * KMS's code and RequestId. Used by another entry of the package, it makes its twin in
 * that entry's module from its settings and secret, which it keeps for that.
 *
 * @example Keys of a region (made here, KMS is asked only by `encrypt` and `decrypt`)
 * ```ts
 * import { KmsKeyProvider } from "kms-instance/envelope";
 *
 * const kms = new KmsKeyProvider({
 *   endpoint: "https://kms.cn-hangzhou.aliyuncs.com", region: "cn-hangzhou",
 *   accessKeyId: process.env.ALIBABA_CLOUD_ACCESS_KEY_ID!, accessKeySecret: process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
 *   keys: ["acs:kms:cn-hangzhou:1207089758810000:key/key-hzz6example0001"],
 * });
 * console.log(kms.arns()); // then: await encrypt([kms], data), which opens with Alibaba's Encryption SDK too
 * ```
 */
export class KmsKeyProvider implements Twinned {
  #twins: Twins<glue.KmsKeyProvider> | undefined;

  /** Checks the settings (an unknown one is refused); contacts nothing. */
  constructor(options: KmsKeyProviderOptions) {
    const made = guard(() => {
      const { accessKeySecret, caCertificate, ...settings } = args.options<KmsKeyProviderOptions>("options", options);
      if (typeof accessKeySecret !== "string") throw new TypeError("options.accessKeySecret must be a string");
      if (typeof globalThis.fetch !== "function") throw new TypeError("this host has no fetch: KmsKeyProvider needs it");
      let send = post;
      if (caCertificate !== undefined) {
        if (typeof caCertificate !== "string" || !caCertificate.includes("-----BEGIN CERTIFICATE-----")) {
          throw new TypeError("options.caCertificate must be PEM text (-----BEGIN CERTIFICATE-----)");
        }
        send = postTrusting(caCertificate) ?? unsupported();
      }
      // The module checks every setting (and refuses unknown ones).
      // A copy: the twin another entry makes later gets these settings, whatever the caller changes since.
      const checked = structuredClone(settings) as Omit<KmsKeyProviderOptions, "accessKeySecret" | "caCertificate">;
      this.#twins = new Twins((m) => new (m as Module).KmsKeyProvider(checked, accessKeySecret, { post: send }));
      return new (wasm().KmsKeyProvider)(checked, accessKeySecret, { post: send });
    });
    kmsProviders.set(this, made);
  }

  /**
   * Its twin in another entry's module, made from the same settings and secret.
   * @internal
   */
  [TWIN](module: object): unknown {
    if (!kmsProviders.has(this)) throw freed("KmsKeyProvider");
    return guard(() => this.#twins?.of(module));
  }

  /** The ARNs of its keys, in order (none: any key of its region opens). */
  arns(): string[] {
    const inner = kmsProviders.get(this);
    if (!inner) throw freed("KmsKeyProvider");
    return inner.arns();
  }

  /** Frees its wasm memory now, and its twins' in other entries (the modules' copies of the secret are wiped); it cannot be used afterwards. */
  free(): void {
    kmsProviders.get(this)?.free();
    kmsProviders.delete(this);
    this.#twins?.free();
  }
}

const caches = new WeakMap<DataKeyCache, glue.DataKeyCache>();

/**
 * Data keys reused by the `encrypt` calls that pass it (`{ cache }`), each for at most
 * `maxMessages` messages, `maxBytes` bytes of plaintext and `maxAgeMs`, per set of keys,
 * algorithm and context: the Rust API's `DataKeyCache`. The keys are kept in wasm memory
 * (a body of 16 KiB or more imports a copy into WebCrypto, wiped after). A hit is used
 * without asking a provider, as in Rust. Opening is never cached. Another entry of the
 * package uses a twin of its own: the same limits, its own data keys.
 *
 * @example Three messages sealed under one data key
 * ```ts
 * import { DataKeyCache, encrypt, WebCryptoKeyProvider } from "kms-instance/envelope";
 *
 * const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1207089758810000:key/key-web"]);
 * const cache = new DataKeyCache({ maxMessages: 100, maxBytes: 1 << 30, maxAgeMs: 300_000 });
 * for (const line of ["a", "b", "c"]) await encrypt([keys], new TextEncoder().encode(line), { cache });
 * console.log(cache.size); // 1
 * cache.free();
 * ```
 */
export class DataKeyCache implements Twinned {
  #twins: Twins<glue.DataKeyCache>;

  /** A cache with these limits (a data key past any of them is made anew). */
  constructor(limits: DataKeyCacheLimits) {
    // Read once (a getter that throws is the caller's Error), for this module and any twin.
    const checked = guard(() => ({ ...args.options<DataKeyCacheLimits>("limits", limits) }) as DataKeyCacheLimits);
    caches.set(this, guard(() => new (wasm().DataKeyCache)(checked)));
    this.#twins = new Twins((m) => new (m as Module).DataKeyCache(checked));
  }

  /** Data keys held now, in this entry's module (those past their age are dropped, and wiped, first). */
  get size(): number {
    return caches.get(this)?.size ?? 0;
  }

  /**
   * Its twin in another entry's module: the same limits, its own data keys (each still within them).
   * @internal
   */
  [TWIN](module: object): unknown {
    if (!caches.has(this)) throw freed("DataKeyCache");
    return this.#twins.of(module);
  }

  /** Wipes and frees the cached keys now, its twins' too; the cache cannot be used afterwards. */
  free(): void {
    caches.get(this)?.free();
    caches.delete(this);
    this.#twins.free();
  }
}

/** The wasm cache behind `options.cache`, checked. */
function cacheOf(value: unknown): glue.DataKeyCache | undefined {
  if (value === undefined) return undefined;
  if (value instanceof DataKeyCache && !caches.has(value)) throw freed("DataKeyCache");
  const inner = value instanceof DataKeyCache ? caches.get(value) : twinIn(value, wasm());
  if (!(inner instanceof wasm().DataKeyCache)) throw new TypeError("options.cache must be a DataKeyCache");
  return inner;
}

/** Where master keys are kept: in wasm memory, behind an XKS proxy, or in a JavaScript key provider (`WebCryptoKeyProvider` is one). */
export type KeyProvider = SoftwareKeyProvider | XksKeyProvider | KmsKeyProvider | JsKeyProvider;

/**
 * How long a key provider may take to answer one call, unless `timeoutMs` says otherwise:
 * past it, the call fails with `Bridge.Timeout`.
 *
 * @example A slow provider given three times as long
 * ```ts
 * import { DEFAULT_TIMEOUT_MS, encrypt, WebCryptoKeyProvider } from "kms-instance/envelope";
 *
 * const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1207089758810000:key/key-web"]);
 * console.log(DEFAULT_TIMEOUT_MS); // 10000
 * await encrypt([keys], new Uint8Array(16), { timeoutMs: 3 * DEFAULT_TIMEOUT_MS });
 * ```
 */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** `call()`'s promise, or a `Bridge.Timeout` `KmsError` after `ms`; a synchronous throw rejects. */
function within<T>(ms: number, call: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new KmsError({ code: "Bridge.Timeout", message: `the key provider did not answer within ${ms} ms` })),
      ms,
    );
    const settle = () => clearTimeout(timer);
    try {
      Promise.resolve(call()).then(resolve, reject).finally(settle);
    } catch (e) {
      settle();
      reject(e);
    }
  });
}

/** A JavaScript key provider as the module calls it: each call bounded by `ms`. */
function bounded(store: JsKeyProvider, ms: number): JsKeyProvider {
  const describe = store.describe;
  return {
    arns: () => store.arns(),
    seal: (arn, iv, aad, plaintext) => within(ms, () => store.seal(arn, iv, aad, plaintext)),
    open: (arn, iv, aad, sealed) => within(ms, () => store.open(arn, iv, aad, sealed)),
    ...(typeof describe === "function" && { describe: (arn: string) => within(ms, () => describe.call(store, arn)) }),
  };
}

const STORE_METHODS = ["arns", "seal", "open"] as const;

// Each JavaScript provider object's identity in the module: each call wraps the object
// anew, and the data-key cache must see one provider, not a new one per call.
const jsIds = new WeakMap<object, number>();
function idOf(provider: object): number {
  let id = jsIds.get(provider);
  if (id === undefined) jsIds.set(provider, (id = wasm().newProviderId()));
  return id;
}

function keyring(providers: unknown, ms: number): glue.KeyProviders {
  const list = args.list("providers", providers);
  const ring = new (wasm().KeyProviders)();
  try {
    list.forEach((provider, i) => {
      const software = provider instanceof SoftwareKeyProvider ? softwareKeys.get(provider) : undefined;
      if (software) return ring.addSoftware(software);
      const proxy = provider instanceof XksKeyProvider ? proxies.get(provider) : undefined;
      if (proxy) return ring.addXks(proxy);
      const kms = provider instanceof KmsKeyProvider ? kmsProviders.get(provider) : undefined;
      if (kms) return ring.addKms(kms);
      // A provider another entry made: its twin here, or its keys lent as a JavaScript provider.
      const twin = twinIn(provider, wasm());
      if (twin instanceof wasm().XksKeyProvider) return ring.addXks(twin);
      if (twin instanceof wasm().KmsKeyProvider) return ring.addKms(twin);
      const store = (twin ?? provider) as JsKeyProvider;
      args.methods(`providers[${i}]`, store, STORE_METHODS);
      // The module counts them before it reads one, and cuts each string before copying it.
      const arns = args.list(`providers[${i}].arns()`, store.arns());
      guard(() => ring.addJs(bounded(store, ms), arns as string[], idOf(provider as object)));
    });
    return ring;
  } catch (e) {
    ring.free();
    throw e;
  }
}

/** Imports a data key for one use, then wipes the copy that crossed from wasm. */
async function importDataKey(subtle: SubtleCrypto, raw: Uint8Array, usage: KeyUsage): Promise<CryptoKey> {
  try {
    return await subtle.importKey("raw", view(raw), AES_GCM, false, [usage]);
  } finally {
    raw.fill(0);
  }
}

/** The options the module reads, apart from those only JavaScript uses. */
function split<T extends { timeoutMs?: number; cache?: unknown }>(name: string, value: unknown): [Omit<T, "timeoutMs" | "cache">, number, unknown] {
  const { timeoutMs, cache, ...rest } = args.options<T>(name, value);
  return [rest as Omit<T, "timeoutMs" | "cache">, args.timeout(`${name}.timeoutMs`, timeoutMs, DEFAULT_TIMEOUT_MS), cache];
}

/** A Node GCM under the session's data key (the copy that crossed from wasm is wiped). */
function nodeGcmOf(node: NodeCrypto, session: { dataKey(): Uint8Array; iv(): Uint8Array; aad(): Uint8Array }, decrypt: boolean): NodeGcm {
  return nodeGcmUnder(node, session.dataKey(), session.iv(), session.aad(), decrypt);
}

/**
 * The message around a body sealed at `offset` of `buffer` (room after it for the tag):
 * in place when the prefix is as long as foretold, else moved once into a message of its
 * own. The session is freed.
 */
function framed(session: glue.SealSession, buffer: Uint8Array, offset: number, length: number, tag: Uint8Array): Bytes {
  try {
    const [prefix, suffix]: Uint8Array[] = guard(() => session.frame(length, tag));
    let message = buffer;
    if (prefix.length !== offset || buffer.length !== prefix.length + length + suffix.length) {
      message = new Uint8Array(prefix.length + length + suffix.length);
      message.set(buffer.subarray(offset, offset + length), prefix.length);
    }
    message.set(prefix);
    message.set(suffix, prefix.length + length);
    return view(message);
  } finally {
    session.free();
  }
}

/**
 * `read()` of what the body needs from `prepared`, then its `wrap()` started (which
 * takes it). If reading fails it is freed; if wrapping throws, `wipe` gets what was read.
 */
function start<T>(prepared: glue.PreparedSeal, read: () => T, wipe: (read: T) => void = () => {}): [T, glue.SealSession | Promise<glue.SealSession>] {
  let got: T;
  try {
    got = read();
  } catch (e) {
    prepared.free();
    throw e;
  }
  try {
    return [got, guard(() => prepared.wrap())];
  } catch (e) {
    wipe(got);
    throw e;
  }
}

/** Frees the session `wrap` gives, when the body failed before it was joined. */
function discard(pending: glue.SealSession | Promise<glue.SealSession>): void {
  if (pending instanceof Promise) pending.then((s) => s.free(), () => {});
  else pending.free();
}

/**
 * The body sealed by Node while the providers wrap the data key: piece by piece, where
 * it is foretold to go in the message, so the message is the one copy of it. With keys in
 * wasm memory it is all done during the call.
 */
function sealOnNode(node: NodeCrypto, prepared: glue.PreparedSeal, data: Uint8Array): Bytes | Promise<Bytes> {
  // Read now: the caller may transfer or resize its buffer once the call has returned.
  const bodyLength = data.length;
  const [[cipher, [offset, length]], pending] = start(prepared, () => [nodeGcmOf(node, prepared, false), prepared.predictedLayout() ?? [0, data.length]] as const);
  let buffer: Uint8Array, tag: Uint8Array;
  try {
    buffer = new Uint8Array(length);
    for (let at = 0; at < data.length; at += NODE_CHUNK) buffer.set(cipher.update(data.subarray(at, at + NODE_CHUNK)), offset + at);
    cipher.final();
    tag = cipher.getAuthTag();
  } catch (e) {
    discard(pending);
    throw e;
  }
  const join = (session: glue.SealSession) => framed(session, buffer, offset, bodyLength, tag);
  return pending instanceof Promise ? guardAsync(() => pending).then(join) : join(pending);
}

/** The body sealed by WebCrypto while the providers wrap the data key. */
async function sealOnWebCrypto(subtle: SubtleCrypto, prepared: glue.PreparedSeal, data: Uint8Array): Promise<Bytes> {
  const [[params, raw], pending] = start(prepared, () => [gcmParams(prepared.iv(), prepared.aad()), prepared.dataKey()] as const, ([, raw]) => raw.fill(0));
  const body = importDataKey(subtle, raw, "encrypt").then(async (key) => new Uint8Array(await subtle.encrypt(params, key, view(data))));
  // Both settle before either is looked at, so neither is left to fail unheard.
  const [session, sealed] = await Promise.allSettled([guardAsync(() => pending), body]);
  if (session.status === "rejected") throw session.reason;
  if (sealed.status === "rejected") {
    session.value.free();
    throw sealed.reason;
  }
  const out = sealed.value;
  return framed(session.value, out, 0, out.length - TAG_LEN, out.subarray(out.length - TAG_LEN));
}

/**
 * Seals `plaintext` (a `Uint8Array` or `Buffer`, read as it is when called: a change
 * made to it afterwards changes nothing) into a message of Alibaba's Encryption SDK
 * format. The body is encrypted while the key providers wrap its data key; with keys in
 * wasm memory, or a small body, all of it runs before the promise is returned.
 *
 * @example A message bound to a context (in its header: authenticated, not hidden)
 * ```ts
 * import { encrypt, inspectMessage, WebCryptoKeyProvider } from "kms-instance/envelope";
 *
 * const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1207089758810000:key/key-web"]);
 * const message = await encrypt([keys], new TextEncoder().encode("hello"), { context: { tenant: "a" } });
 * console.log(message instanceof Uint8Array, inspectMessage(message).context); // true { tenant: 'a' }
 * ```
 */
export function encrypt(providers: readonly KeyProvider[], plaintext: Uint8Array, options: EncryptOptions = {}): Promise<Bytes> {
  return guardAsync(() => seal(providers, plaintext, options));
}

async function seal(providers: readonly KeyProvider[], plaintext: Uint8Array, options: EncryptOptions): Promise<Bytes> {
  let data = args.view("plaintext", plaintext);
  const [opts, ms, cache] = split<EncryptOptions>("options", options);
  const ring = keyring(providers, ms);
  try {
    const cached = cacheOf(cache);
    if (cached) ring.useCache(cached);
    const host = wasm().sealOnHost(opts.algorithm) ? hostCipher(data.length) : undefined;
    // Wasm copies the plaintext in as the call is made.
    if (!host) return view(await guardAsync(() => ring.encrypt(data, opts)));
    // Node's synchronous cipher reads the body now; WebCrypto reads it after a wait, so
    // it is copied now.
    if (host.kind !== "node") data = args.copy(data);
    const pending = guard(() => ring.prepareSeal(data.length, opts));
    if (pending instanceof Promise && host.kind === "node") {
      try {
        data = args.copy(data);
      } catch (e) {
        // The seal is prepared but will not be wrapped: its data key is wiped.
        pending.then((p) => p.free(), () => {});
        throw e;
      }
    }
    // No wait when there is nothing to wait for: the body is read during the call.
    const prepared: glue.PreparedSeal = pending instanceof Promise ? await guardAsync(() => pending) : pending;
    return await (host.kind === "node" ? sealOnNode(host.crypto, prepared, data) : sealOnWebCrypto(host.subtle, prepared, data));
  } finally {
    ring.free();
  }
}

/** The body opened by Node from the caller's message, piece by piece, released only once its tag checks. */
function openOnNode(node: NodeCrypto, session: glue.OpenSession, message: Uint8Array): Bytes {
  const decipher = nodeGcmOf(node, session, true);
  decipher.setAuthTag(session.tag());
  const [start, end] = [session.bodyStart(), session.bodyEnd()];
  const plaintext = new Uint8Array(end - start);
  for (let at = start; at < end; at += NODE_CHUNK) plaintext.set(decipher.update(message.subarray(at, Math.min(at + NODE_CHUNK, end))), at - start);
  try {
    decipher.final();
  } catch {
    plaintext.fill(0);
    throw toError(session.doesNotOpen());
  }
  return plaintext;
}

async function openOnWebCrypto(subtle: SubtleCrypto, session: glue.OpenSession, message: Uint8Array): Promise<Bytes> {
  const [start, end] = [session.bodyStart(), session.bodyEnd()];
  // WebCrypto takes `ciphertext | tag` in one piece; the message has them apart.
  const sealed = new Uint8Array(end - start + TAG_LEN);
  sealed.set(message.subarray(start, end));
  sealed.set(session.tag(), end - start);
  const key = await importDataKey(subtle, session.dataKey(), "decrypt");
  try {
    return new Uint8Array(await subtle.decrypt(gcmParams(session.iv(), session.aad()), key, sealed));
  } catch {
    throw toError(session.doesNotOpen());
  }
}

/** A message whose buffer was transferred or resized while it was being opened. */
const changed = () => new KmsError({ code: "InvalidCiphertext", message: "the message's buffer was transferred or resized while it was being opened" });

/** What of a message crosses into wasm to read its header: the first bytes, the length, the tag's TLV; the body stays where it is. */
function headOf(data: Uint8Array): [Uint8Array, number, Uint8Array] {
  const head = data.subarray(0, Math.min(data.length, wasm().openWindow()));
  return [head, data.length, data.subarray(Math.max(0, data.length - TAG_LEN - 2))];
}

/**
 * What a message's header says (algorithm, the master keys by ARN, the context, the
 * body's length), without opening it: no key provider is asked. Throws
 * `InvalidCiphertext.NotAMessage` for bytes that are not a message,
 * `InvalidCiphertext.NewerVersion` for a later version of the format.
 *
 * @example What a console shows of a message before anyone opens it
 * ```ts
 * import { encrypt, inspectMessage, WebCryptoKeyProvider } from "kms-instance/envelope";
 *
 * const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1207089758810000:key/key-web"]);
 * const message = await encrypt([keys], new Uint8Array(100), { context: { tenant: "a" } });
 * const { algorithm, dataKeys, bodyBytes } = inspectMessage(message);
 * console.log(algorithm, dataKeys.map((k) => k.keyArn), bodyBytes); // AES_GCM_256 [ 'acs:kms:…:key/key-web' ] 100
 * ```
 */
export function inspectMessage(message: Uint8Array): MessageSummary {
  return guard(() => wasm().inspectMessage(...headOf(args.view("message", message))));
}

/**
 * Opens a message (a `Uint8Array` or `Buffer`) with whichever of its data keys the
 * providers hold. Its header and tag are read when called; a large body is read where
 * it is, against that tag, so a message changed during the call does not open
 * (`InvalidCiphertext`) rather than open to something else.
 *
 * @example A message opened only if its context says the right tenant
 * ```ts
 * import { decrypt, encrypt, WebCryptoKeyProvider } from "kms-instance/envelope";
 *
 * const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1207089758810000:key/key-web"]);
 * const message = await encrypt([keys], new TextEncoder().encode("hello"), { context: { tenant: "a" } });
 * const opened = await decrypt([keys], message, { requireContext: { tenant: "a" } });
 * console.log(new TextDecoder().decode(opened.plaintext), opened.keyArn); // hello acs:kms:…:key/key-web
 * ```
 */
export function decrypt(providers: readonly KeyProvider[], message: Uint8Array, options: DecryptOptions = {}): Promise<Opened> {
  return guardAsync(() => open(providers, message, options));
}

async function open(providers: readonly KeyProvider[], message: Uint8Array, options: DecryptOptions): Promise<Opened> {
  const data = args.view("message", message);
  const [opts, ms, cache] = split<DecryptOptions>("options", options);
  if (cache !== undefined) throw new TypeError("options.cache is for encrypt: opening is never cached");
  const ring = keyring(providers, ms);
  try {
    const [head, length, tail] = headOf(data);
    const host = hostCipher(data.length);
    if (!host || !wasm().bodyOnHost(head)) {
      const opened = await guardAsync(() => ring.decrypt(data, opts));
      return { ...opened, plaintext: view(opened.plaintext) };
    }
    const session: glue.OpenSession = await guardAsync(() => ring.beginOpen(head, length, tail, opts));
    try {
      // The body is read where it is, after the wait: a buffer transferred or resized
      // meanwhile no longer holds the message whose header was checked.
      if (data.length !== length) throw changed();
      const plaintext = host.kind === "node" ? openOnNode(host.crypto, session, data) : await openOnWebCrypto(host.subtle, session, data);
      return { plaintext, ...session.info() };
    } finally {
      session.free();
    }
  } finally {
    ring.free();
  }
}

/**
 * A stream that seals the plaintext flowing through it into one message, in constant
 * memory, in the format `encrypt` writes (a message sealed either way opens either
 * way). The format puts the body's length before the body, so `options.size` must give
 * it (a file's or `Blob`'s size, a request's `Content-Length`); a stream that turns out
 * longer or shorter errors, and what it wrote cannot be read as a message. Node: wrap
 * it with `stream.Duplex.fromWeb`.
 *
 * @example A Worker seals a request body into an object store, as it arrives
 * ```ts
 * import { encryptStream, WebCryptoKeyProvider } from "kms-instance/envelope";
 *
 * const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1207089758810000:key/key-web"]);
 * const body = new Blob([new Uint8Array(3 << 20)]);
 * const sealed = body.stream().pipeThrough(encryptStream([keys], { size: body.size, context: { app: "backup" } }));
 * const message = new Uint8Array(await new Response(sealed).arrayBuffer());
 * console.log(message.length > body.size); // true
 * ```
 */
export function encryptStream(providers: readonly KeyProvider[], options: EncryptStreamOptions): ByteTransform {
  return guard(() => {
    const { size, ...rest } = args.options<EncryptStreamOptions>("options", options);
    if (typeof size !== "number") throw new TypeError("options.size must be the plaintext's length in bytes (a number)");
    const [opts, ms, cache] = split<EncryptOptions>("options", rest);
    const ring = keyring(providers, ms);
    try {
      const cached = cacheOf(cache);
      if (cached) ring.useCache(cached);
    } catch (e) {
      ring.free();
      throw e;
    }
    // The body by node:crypto where the host has it (an SM4 body stays in wasm).
    const node = wasm().sealOnHost(opts.algorithm) ? nodeCipher() : undefined;
    const begin = node
      ? async () => nodeSealStream(node, await guardAsync(async () => ring.prepareSealStream(size, opts)), size)
      : () => ring.beginSealStream(size, opts);
    return sealing(begin, () => ring.free());
  });
}

/**
 * The most of a message `decryptStream` holds in memory, by default, to check it before
 * releasing its plaintext (64 MiB): `bufferLimit` sets another.
 *
 * @example A larger limit for a stream known to be larger
 * ```ts
 * import { decryptStream, DEFAULT_BUFFER_LIMIT, encrypt, WebCryptoKeyProvider } from "kms-instance/envelope";
 *
 * const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1207089758810000:key/key-web"]);
 * const message = await encrypt([keys], new Uint8Array(10));
 * const opened = new Blob([message]).stream().pipeThrough(decryptStream([keys], { bufferLimit: 2 * DEFAULT_BUFFER_LIMIT }));
 * console.log(DEFAULT_BUFFER_LIMIT, (await new Response(opened).arrayBuffer()).byteLength); // 67108864 10
 * ```
 */
export const DEFAULT_BUFFER_LIMIT = 64 << 20;

/** The providers' opener of streamed messages, and the options it was given. */
function opener(providers: readonly KeyProvider[], options: DecryptStreamOptions | undefined, name: string) {
  const { unverified, bufferLimit, ...rest } = args.options<DecryptStreamOptions>(name, options ?? {});
  if (unverified !== undefined && typeof unverified !== "boolean") throw new TypeError(`${name}.unverified must be a boolean`);
  const limit = bufferLimit ?? DEFAULT_BUFFER_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new TypeError(`${name}.bufferLimit must be a whole number of bytes`);
  const [opts, ms, cache] = split<DecryptOptions>(name, rest);
  if (cache !== undefined) throw new TypeError(`${name}.cache is for encrypt: opening is never cached`);
  const ring = keyring(providers, ms);
  const node = nodeCipher();
  const begin = async (head: Uint8Array) => {
    const core: glue.OpenStream = await guardAsync(async () => ring.beginOpenStream(head, opts));
    // The body by node:crypto where the host has it (an SM4 body stays in wasm).
    return node && core.onHost() ? new NodeOpenStream(node, core) : core;
  };
  return { unverified: unverified === true, limit, open: { begin, done: () => ring.free() } };
}

/**
 * A stream that opens the message flowing through it into its plaintext. By default no
 * plaintext comes out before the message's tag checks: the message is held in memory
 * (at most `bufferLimit` bytes, 64 MiB by default; past it,
 * `Rejected.UnverifiedStreamRequired`) and checked, then released. For a message that can
 * be read twice, `decryptSource` needs no such memory. `unverified: true` releases
 * plaintext as it decrypts, and errors the stream at the end if the tag does not check:
 * whatever came out must then be thrown away (what the Encryption SDKs' streams do).
 * Node: wrap it with `stream.Duplex.fromWeb`.
 *
 * @example A message piped through, opened once it checks
 * ```ts
 * import { decryptStream, encrypt, WebCryptoKeyProvider } from "kms-instance/envelope";
 *
 * const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1207089758810000:key/key-web"]);
 * const message = await encrypt([keys], new TextEncoder().encode("hello"));
 * const opened = new Blob([message]).stream().pipeThrough(decryptStream([keys]));
 * console.log(await new Response(opened).text()); // hello
 * ```
 */
export function decryptStream(providers: readonly KeyProvider[], options?: DecryptStreamOptions): ByteTransform {
  return guard(() => {
    const { unverified, limit, open } = opener(providers, options, "options");
    return opening(open, unverified, limit);
  });
}

/**
 * The plaintext of a message that can be read twice (a `Blob` or `File`, a file in Node
 * as `fileSource(path)`, or `{ size, stream() }` over an object store's reads), in
 * constant memory and verified first: a first pass checks the tag and makes no
 * plaintext; the second releases each piece only once it reads as it did in the first
 * (a source changed between the passes is refused before the change is released).
 * `unverified: true` reads it once, releasing plaintext as it decrypts. Node: wrap it with
 * `stream.Readable.fromWeb`.
 *
 * @example A sealed file opened from disk (Node)
 * ```ts
 * import { decryptSource, encrypt, WebCryptoKeyProvider } from "kms-instance/envelope";
 *
 * const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1207089758810000:key/key-web"]);
 * const message = new Blob([await encrypt([keys], new TextEncoder().encode("hello"))]); // or fileSource(path)
 * console.log(await new Response(decryptSource([keys], message)).text()); // hello
 * ```
 */
export function decryptSource(providers: readonly KeyProvider[], source: Rereadable, options?: DecryptStreamOptions): ByteStream {
  return guard(() => {
    if (typeof source !== "object" || source === null || typeof (source as Rereadable).stream !== "function") {
      throw new TypeError("source must be a Blob, or an object with size and stream()");
    }
    const { unverified, open } = opener(providers, options, "options");
    if (unverified) return streamOf(source).pipeThrough(opening(open, true, 0) as TransformStream<Uint8Array, Uint8Array>);
    return openingTwice(open, source);
  });
}

/** One stream of a source read twice, as a stream now (its `stream()` may be a promise). */
function streamOf(source: Rereadable): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      reader ??= ((await source.stream()) as ReadableStream<Uint8Array>).getReader();
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      await reader?.cancel(reason);
    },
  });
}
