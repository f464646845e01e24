// Elements built from data: text goes in through textContent only, so nothing a model or a
// server says is ever parsed as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

// A link only for an http(s) URL (a `javascript:` or `data:` one a result might carry is
// shown as text, never followed); null for anything else.
export function webUrl(text) {
  if (typeof text !== "string") return null;
  try {
    const url = new URL(text);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

// A link to another site, opened in a new tab that gets no handle on this one (noopener)
// and no referrer; screen readers hear that it opens a new tab.
export function externalLink(href, name) {
  return el(
    "a",
    { href, rel: "noopener noreferrer", target: "_blank" },
    name,
    el("span", { className: "visually-hidden", text: " (opens in a new tab)" }),
  );
}

// A passage cut to about `limit` characters, its white space folded.
export function excerpt(text, limit = 240) {
  const folded = String(text ?? "").replace(/\s+/g, " ").trim();
  return folded.length > limit ? `${folded.slice(0, limit - 1).trimEnd()}…` : folded;
}
