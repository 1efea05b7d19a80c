// Browsers and bundlers: the module is fetched beside this file (bundlers copy the
// asset named by `new URL(…, import.meta.url)`) and instantiated before any export is used.
import init from "../wasm/kms_instance.js";

await init({ module_or_path: new URL("../wasm/kms_instance_bg.wasm", import.meta.url) });

export * from "./index.js";
