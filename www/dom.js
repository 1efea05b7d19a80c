// The few DOM helpers the page's modules share.

export const $ = (id) => document.getElementById(id);

/** An element with its text, class and attributes. */
export function el(tag, { text, className, ...attributes } = {}, ...children) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Fills a list with its items, or says "none". */
export function fill(list, items) {
  list.replaceChildren(...(items.length ? items : [el("li", { className: "muted", text: "none" })]));
}

/** A status line; unchanged text is not rewritten, so a live region does not say it again. */
export function setStatus(node, ok, text) {
  if (node.textContent !== text) node.textContent = text;
  node.className = `status ${ok ? "ok" : "bad"}`;
}

/** A thrown error as a person reads it (a `KmsError`'s message starts with its code). */
export const failure = (e) => String(e?.message ?? e);
