"use client";

// The browser side: the bundler's client build of the package, run in the page.
import { useEffect, useState } from "react";
import { checks } from "../shared/checks.mjs";

export default function Page() {
  const [result, setResult] = useState(null);
  useEffect(() => {
    let live = true;
    checks().then(
      (r) => live && setResult(r),
      (e) => live && setResult({ error: String(e?.message ?? e) }),
    );
    return () => {
      live = false;
    };
  }, []);
  return result === null ? <p id="pending">running</p> : <pre id="result">{JSON.stringify(result)}</pre>;
}
