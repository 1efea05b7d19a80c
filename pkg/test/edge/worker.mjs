// A Cloudflare Worker that uses the package's workerd build: validation on
// /validate, envelope encryption with WebCrypto-held keys on /seal, a request body
// sealed as a stream into the response on /seal-stream.
import { decrypt, decryptSource, decryptStream, encrypt, encryptStream, isKmsError, SoftwareKeyProvider, validateBindVpcs, WebCryptoKeyProvider } from "../../dist/workerd/index.js";

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
      if (url.pathname === "/seal-stream") {
        // The body as it arrives, sealed into the response as it leaves: its length from
        // Content-Length, the key from the test (so it can open the message).
        const keys = new SoftwareKeyProvider(request.headers.get("x-keyring"));
        const size = Number(request.headers.get("content-length"));
        return new Response(request.body.pipeThrough(encryptStream([keys], { size, context: { runtime: "workerd" } })));
      }
      if (url.pathname === "/stream-round-trip") {
        // workerd has no node:crypto: the streams' bodies go through wasm here.
        const size = Number(url.searchParams.get("size"));
        const keys = await WebCryptoKeyProvider.generate([ARN]);
        const data = new Uint8Array(size).map((_, i) => (i * 7) % 251);
        const all = async (stream) => new Uint8Array(await new Response(stream).arrayBuffer());
        const sealed = await all(new Blob([data]).stream().pipeThrough(encryptStream([keys], { size })));
        const same = (bytes) => bytes.length === size && bytes.every((b, i) => b === data[i]);
        const whole = (await decrypt([keys], sealed)).plaintext;
        const piped = await all(new Blob([sealed]).stream().pipeThrough(decryptStream([keys])));
        const unverified = await all(new Blob([sealed]).stream().pipeThrough(decryptStream([keys], { unverified: true })));
        const twice = await all(decryptSource([keys], new Blob([sealed])));
        // A changed byte of the body: nothing reaches the reader.
        const changed = sealed.slice();
        changed[changed.length - 20] ^= 1;
        const reader = decryptSource([keys], new Blob([changed])).getReader();
        let released = 0, refused = "opened";
        try {
          for (let r = await reader.read(); !r.done; r = await reader.read()) released += r.value.length;
        } catch (e) {
          refused = isKmsError(e) ? e.code : String(e);
        }
        return Response.json({ ok: [whole, piped, unverified, twice].map(same), released, refused });
      }
      return new Response("not found", { status: 404 });
    } catch (e) {
      return Response.json({ error: String(e), code: e?.code }, { status: 500 });
    }
  },
};
