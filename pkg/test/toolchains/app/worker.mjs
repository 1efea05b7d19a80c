// A Cloudflare Worker: the checks' answer as the response.
import { checks } from "./checks.mjs";

export default {
  async fetch() {
    try {
      return Response.json(await checks());
    } catch (e) {
      return Response.json({ error: String(e?.stack ?? e) }, { status: 500 });
    }
  },
};
