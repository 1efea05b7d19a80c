// Envelope encryption on files: seal a dropped file under this tab's WebCrypto key and
// download the message; open a message file, its header shown before it is opened.
import { decrypt, encrypt, inspectMessage, WebCryptoKeyProvider } from "../pkg/dist/index.js";
import { $, el, failure, setStatus } from "./dom.js";

const ARN = "acs:kms:cn-hangzhou:1207089758810000:key/key-console";
const SUFFIX = ".kms";

/** `name=value, name=value` as an encryption context; a pair without a name, or a name given twice, is refused (as the CLI's --context is). */
function contextOf(text) {
  const context = {};
  for (const pair of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`the context's "${pair}" is not name=value`);
    const name = pair.slice(0, at).trim();
    if (Object.hasOwn(context, name)) throw new Error(`the context names "${name}" twice`);
    context[name] = pair.slice(at + 1).trim();
  }
  return context;
}

export class Envelope {
  #keys = WebCryptoKeyProvider.generate([ARN]);
  #message; // the message whose header is shown: [name, bytes]
  #url;
  #turn = 0; // the file given last: a slower earlier seal or read does not overwrite it

  constructor() {
    $("seal-arn").textContent = ARN;
    this.#dropZone("seal-drop", "seal-file", (file) => this.seal(file));
    this.#dropZone("open-drop", "open-file", (file) => this.show(file));
    $("open-run").addEventListener("click", () => this.open());
  }

  /** A file input inside a label that takes a dropped file too. */
  #dropZone(zoneId, inputId, take) {
    const [zone, input] = [$(zoneId), $(inputId)];
    input.addEventListener("change", () => input.files[0] && take(input.files[0]));
    zone.addEventListener("dragover", (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      const file = e.dataTransfer?.files[0];
      if (file) take(file);
    });
  }

  async seal(file) {
    const turn = ++this.#turn;
    try {
      const context = contextOf($("seal-context").value);
      $("seal-preview").hidden = true;
      const sealed = await encrypt([await this.#keys], new Uint8Array(await file.arrayBuffer()), { context });
      if (turn !== this.#turn) return;
      this.#header(`${file.name}${SUFFIX}`, sealed);
      this.#offer(`${file.name}${SUFFIX}`, sealed, "the sealed message");
      setStatus($("seal-status"), true, `Sealed ${file.name} (${file.size.toLocaleString("en")} bytes) under ${ARN}.`);
    } catch (e) {
      if (turn === this.#turn) setStatus($("seal-status"), false, failure(e));
    }
  }

  /** Reads a message file and shows its header; opening waits for the button. */
  async show(file) {
    const turn = ++this.#turn;
    $("seal-result").replaceChildren();
    $("seal-preview").hidden = true;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (turn !== this.#turn) return;
      this.#header(file.name, bytes);
      setStatus($("seal-status"), true, `${file.name} is a message: its header is below.`);
    } catch (e) {
      if (turn !== this.#turn) return;
      $("seal-header").hidden = true;
      setStatus($("seal-status"), false, `${file.name} is not a message this page reads: ${failure(e)}`);
    }
  }

  async open() {
    const turn = ++this.#turn;
    const [name, message] = this.#message;
    try {
      const opened = await decrypt([await this.#keys], message, { requireContext: contextOf($("seal-context").value) });
      if (turn !== this.#turn) return;
      const plain = name.endsWith(SUFFIX) ? name.slice(0, -SUFFIX.length) : `${name}.opened`;
      this.#offer(plain, opened.plaintext, "the opened file");
      let text;
      try {
        // Streaming: a character the cut splits is left out, not taken for binary.
        const cut = opened.plaintext.length > 4000;
        text = new TextDecoder("utf-8", { fatal: true }).decode(opened.plaintext.subarray(0, 4000), { stream: cut });
      } catch {
        text = undefined; // not text: offered for download only
      }
      $("seal-preview").textContent = text ?? "";
      $("seal-preview").hidden = text === undefined;
      setStatus($("seal-status"), true, `Opened ${name} with ${opened.keyArn}: ${opened.plaintext.length.toLocaleString("en")} bytes.`);
    } catch (e) {
      if (turn === this.#turn) setStatus($("seal-status"), false, `${name} did not open: ${failure(e)}`);
    }
  }

  #header(name, message) {
    const summary = inspectMessage(message);
    this.#message = [name, message];
    $("header-algorithm").textContent = summary.algorithm;
    $("header-keys").replaceChildren(
      ...summary.dataKeys.map((k) =>
        el("li", { "data-arn": k.keyArn }, el("code", { text: k.keyArn }), ` (${k.blobBytes} bytes) ${k.keyArn === ARN ? "· held in this tab" : "· not held here"}`),
      ),
    );
    const pairs = Object.entries(summary.context);
    $("header-context").textContent = pairs.length ? pairs.map(([k, v]) => `${k}=${v}`).join(", ") : "none";
    $("header-body").textContent = `${summary.bodyBytes.toLocaleString("en")} bytes`;
    $("seal-header").hidden = false;
    $("open-run").hidden = false;
  }

  /** A download link for bytes the page made. */
  #offer(name, bytes, what) {
    if (this.#url) URL.revokeObjectURL(this.#url);
    this.#url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    const link = el("a", { href: this.#url, download: name, id: "seal-download", text: `Download ${name}` });
    $("seal-result").replaceChildren(link, ` (${what}, ${bytes.length.toLocaleString("en")} bytes)`);
  }
}
