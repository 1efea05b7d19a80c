// The server side: the bundler's Node build of the package, run in a route handler.
import { checks } from "../../../shared/checks.mjs";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET() {
  try {
    return Response.json(await checks());
  } catch (e) {
    return Response.json({ error: String(e?.message ?? e) }, { status: 500 });
  }
}
