// A Cloudflare Worker that seals and opens through KMS (`kms-instance serve`; its
// options in the request) with the package's workerd build.
import { decrypt, encrypt, isKmsError, KmsKeyProvider } from "../../dist/workerd/index.js";

export default {
  async fetch(request) {
    try {
      const { options, keys } = await request.json();
      const kms = new KmsKeyProvider(options);
      const data = new TextEncoder().encode("sealed in workerd through KMS");
      const sealed = await encrypt([kms], data, { keys, context: { runtime: "workerd" } });
      const opened = await decrypt([kms], sealed);
      const wrong = new KmsKeyProvider({ ...options, accessKeySecret: "wrong" });
      const refused = await encrypt([wrong], data, { keys }).then(() => "sealed", (e) => (isKmsError(e) ? e.code : String(e)));
      return Response.json({ plaintext: new TextDecoder().decode(opened.plaintext), keyArn: opened.keyArn, refused, sealed: [...sealed] });
    } catch (e) {
      return Response.json({ error: String(e), code: e?.code }, { status: 500 });
    }
  },
};
