// Cloudflare workerd: a `.wasm` import is a compiled WebAssembly.Module.
import module from "../wasm/kms_instance_bg.wasm";
import { initSync } from "../wasm/kms_instance.js";

initSync({ module });

export * from "./index.js";
