// The wasm module's exports, loaded at their first use: the one way the API modules
// reach the glue (each entry's build points "#glue" at its own module).
import * as glue from "#glue";
import { ready } from "./load.js";

export function wasm(): typeof glue {
  ready();
  return glue;
}
