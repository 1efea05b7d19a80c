// A Cloudflare Worker that uses the package's workerd build: validation on
// /validate, envelope encryption with WebCrypto-held keys on /seal.
import { decrypt, encrypt, isKmsError, validateBindVpcs, WebCryptoKeyProvider } from "../../dist/workerd/index.js";

const ARN = "acs:kms:cn-hangzhou:1207089758810000:key/key-edge";

export default {
  async fetch(request) {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/validate") {
        const region = url.searchParams.get("region") ?? undefined;
        return Response.json(validateBindVpcs(await request.text(), { region }));
      }
      if (url.pathname === "/seal") {
        const data = new Uint8Array(await request.arrayBuffer());
        const keys = await WebCryptoKeyProvider.generate([ARN]);
        const sealed = await encrypt([keys], data, { context: { runtime: "workerd" } });
        const opened = await decrypt([keys], sealed, { requireContext: { runtime: "workerd" } });
        const same = opened.plaintext.length === data.length && opened.plaintext.every((b, i) => b === data[i]);
        let tampered = "opened";
        sealed[sealed.length - 1] ^= 1;
        await decrypt([keys], sealed).catch((e) => (tampered = isKmsError(e) ? e.code : String(e)));
        return Response.json({ sealedBytes: sealed.length, same, context: opened.context, keyArn: opened.keyArn, tampered });
      }
      return new Response("not found", { status: 404 });
    } catch (e) {
      return Response.json({ error: String(e), code: e?.code }, { status: 500 });
    }
  },
};
