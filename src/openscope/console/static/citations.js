// The sources an answer cites, shown under it. Responses (annotations) and Anthropic
// (citation blocks) name them; Chat Completions has only markers in the text ([1], [ref_1],
// Model Studio's `enable_citation`), whose number is a search result's `index`: a marker
// is resolved against the turn's own web search results, and one no result has is left
// out.
import { el, excerpt, externalLink, webUrl } from "./dom.js";

const MARKER = /\[(?:ref_)?(\d+)\]/g;

export function citedSources(turn) {
  const sources = [...(turn.citations ?? [])];
  const byIndex = new Map();
  for (const call of turn.calls.values()) {
    if (call.type !== "web_search_call") continue;
    for (const hit of call.hits ?? []) {
      if (Number.isInteger(hit.index)) byIndex.set(hit.index, hit);
    }
  }
  if (byIndex.size) {
    for (const [, number] of (turn.text ?? "").matchAll(MARKER)) {
      const hit = byIndex.get(Number(number));
      if (hit && !sources.some((s) => s.url === hit.url)) sources.push({ title: hit.title, url: hit.url });
    }
  }
  return sources;
}

export function citationItem(source) {
  const href = webUrl(source.url);
  const name = source.title || source.filename || source.url || source.fileId || "(a source)";
  const item = el("li", {}, href ? externalLink(href, name) : el("span", { text: name }));
  if (source.text) item.append(el("p", { className: "hit-text", text: excerpt(source.text) }));
  return item;
}
