// Rollup with node-resolve and nothing else: no wasm plugin, no asset plugin.
import { nodeResolve } from "@rollup/plugin-node-resolve";

export default { input: "shared/browser.mjs", output: { dir: "out/rollup", format: "es" }, plugins: [nodeResolve({ browser: true })] };
