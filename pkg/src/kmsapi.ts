// Any operation of Alibaba Cloud's OpenAPI, signed in the module as KmsKeyProvider signs:
// what a console needs beside sealing (an instance's operations, Resource Sharing's).
import type * as glue from "#glue";
import * as args from "./args.js";
import { wasm } from "./bound.js";
import { freed, guard, guardAsync } from "./errors.js";
import type { KmsKeyProviderOptions } from "./types.js";
import { post } from "./xks.js";

/** A parameter's value: a list is flattened as the SDKs do (`Targets.1`, `Resources.1.ResourceId`). */
export type KmsApiValue = string | number | boolean | ReadonlyArray<string | number | boolean | Readonly<Record<string, string | number | boolean>>>;

/** An answer as it came: a refusal resolves too, with the API's `Code` and `Message` in its body. */
export interface KmsApiAnswer {
  /** The HTTP status. */
  status: number;
  /** Whether the status is 2xx. */
  ok: boolean;
  /** The body, read as JSON (`undefined` when it is not JSON). */
  body: Record<string, unknown> | undefined;
}

/** Options of a `KmsApiClient`: a `KmsKeyProvider`'s, without keys. */
export type KmsApiClientOptions = Omit<KmsKeyProviderOptions, "keys" | "caCertificate">;

/** Flattens `params` as Alibaba's SDKs do, into name, value, name, value, … */
function flatten(params: Readonly<Record<string, KmsApiValue>>): string[] {
  const out: string[] = [];
  const scalar = (name: string, v: unknown) => {
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      throw new TypeError(`params.${name} must be a string, number or boolean`);
    }
    out.push(name, String(v));
  };
  for (const [name, value] of Object.entries(params)) {
    if (!Array.isArray(value)) {
      scalar(name, value);
      continue;
    }
    value.forEach((item: unknown, i: number) => {
      if (item !== null && typeof item === "object") {
        for (const [field, v] of Object.entries(item)) scalar(`${name}.${i + 1}.${field}`, v);
      } else {
        scalar(`${name}.${i + 1}`, item);
      }
    });
  }
  return out;
}

const clients = new WeakMap<KmsApiClient, glue.KmsApiClient>();

/**
 * Any operation of Alibaba Cloud's OpenAPI in the RPC style (KMS's `2016-01-20` by
 * default; Resource Sharing's `2020-01-10`, …), signed with ACS3-HMAC-SHA256 (or v1) in
 * the module, sent with the host's `fetch`. A console calls an instance's operations with
 * it: answers resolve as they came, refusals included; only a transport's failure
 * rejects. The secret stays in the module until `free()`.
 *
 * @example An instance's state from `kms-instance serve` (or KMS itself)
 * ```ts
 * import { KmsApiClient } from "kms-instance";
 *
 * const api = new KmsApiClient({
 *   endpoint: "https://kms.cn-hangzhou.aliyuncs.com", region: "cn-hangzhou",
 *   accessKeyId: process.env.ALIBABA_CLOUD_ACCESS_KEY_ID!, accessKeySecret: process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
 * });
 * console.log(typeof api.call); // then: const { ok, body } = await api.call("GetKmsInstance", { KmsInstanceId: "kst-…" })
 * ```
 */
export class KmsApiClient {
  /** Checks the settings (an unknown one is refused); contacts nothing. */
  constructor(options: KmsApiClientOptions) {
    const made = guard(() => {
      const { accessKeySecret, ...settings } = args.options<KmsKeyProviderOptions>("options", options);
      if (typeof accessKeySecret !== "string") throw new TypeError("options.accessKeySecret must be a string");
      if (typeof globalThis.fetch !== "function") throw new TypeError("this host has no fetch: KmsApiClient needs it");
      if ("keys" in settings) throw new TypeError("options.keys: a KmsApiClient names no keys (each call names what it acts on)");
      // The module checks every setting (and refuses unknown ones, `caCertificate` among them).
      const checked = structuredClone(settings) as Omit<KmsKeyProviderOptions, "accessKeySecret" | "caCertificate" | "keys">;
      return new (wasm().KmsApiClient)(checked, accessKeySecret, { post });
    });
    clients.set(this, made);
  }

  /** Calls `action` with `params`, of API `options.version` (`2016-01-20` when left out). */
  async call(action: string, params: Readonly<Record<string, KmsApiValue>> = {}, options: { version?: string } = {}): Promise<KmsApiAnswer> {
    const inner = clients.get(this);
    if (!inner) throw freed("KmsApiClient");
    if (typeof action !== "string" || action === "") throw new TypeError("action must be an operation's name");
    const version = args.options<{ version?: string }>("options", options).version ?? "2016-01-20";
    if (typeof version !== "string") throw new TypeError("options.version must be a string");
    const flat = flatten(args.options<Record<string, KmsApiValue>>("params", params) as Record<string, KmsApiValue>);
    const { status, body } = await guardAsync(() => inner.call(version, action, flat));
    let parsed: Record<string, unknown> | undefined;
    try {
      const read: unknown = JSON.parse(body);
      parsed = read !== null && typeof read === "object" && !Array.isArray(read) ? (read as Record<string, unknown>) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status, ok: status >= 200 && status < 300, body: parsed };
  }

  /** Frees its wasm memory now (the module's copy of the secret is wiped); it cannot be used afterwards. */
  free(): void {
    clients.get(this)?.free();
    clients.delete(this);
  }
}
