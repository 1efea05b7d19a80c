// A page's script: the checks' answer in window.__result, for run.mjs to read.
import { checks } from "./checks.mjs";

checks().then(
  (result) => (window.__result = result),
  (e) => (window.__result = { error: String(e?.stack ?? e) }),
);
