// Node: the module is read from the package and instantiated synchronously.
import { readFileSync } from "node:fs";
import { initSync } from "../wasm/kms_instance.js";

initSync({ module: readFileSync(new URL("../wasm/kms_instance_bg.wasm", import.meta.url)) });

export * from "./index.js";
