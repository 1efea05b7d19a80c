// A Cloudflare Worker that seals and opens through an XKS proxy (its settings in the
// request), beside a WebCrypto key, with the package's workerd build.
import { decrypt, encrypt, isKmsError, WebCryptoKeyProvider, XksKeyProvider } from "../../dist/workerd/index.js";

const WEBCRYPTO = "acs:kms:cn-hangzhou:1207089758810000:key/key-edge";

export default {
  async fetch(request) {
    try {
      const settings = await request.json();
      const proxy = new XksKeyProvider(settings);
      const local = await WebCryptoKeyProvider.generate([WEBCRYPTO]);
      const data = new TextEncoder().encode("sealed in workerd through the proxy");
      const keys = [settings.keys[0], WEBCRYPTO];
      const sealed = await encrypt([proxy, local], data, { keys, context: { runtime: "workerd" } });
      const opened = await decrypt([proxy], sealed);
      const unreachable = new XksKeyProvider({ ...settings, endpoint: "http://127.0.0.1:9", timeoutMs: 2000 });
      const refused = await encrypt([unreachable], data).then(() => "sealed", (e) => (isKmsError(e) ? e.code : String(e)));
      return Response.json({ plaintext: new TextDecoder().decode(opened.plaintext), keyArn: opened.keyArn, refused, sealed: [...sealed] });
    } catch (e) {
      return Response.json({ error: String(e), code: e?.code }, { status: 500 });
    }
  },
};
