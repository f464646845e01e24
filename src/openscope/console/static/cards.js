// Tool cards: one per call of an assistant turn. A function call shows its arguments and a
// form for its result; a built-in tool shows what it did: a search its queries and what it
// found (web pages as links, files with their score and a passage), a code run its code
// and output. Each card is labelled by what it is and reachable with the Tab key.
import { el, excerpt, externalLink, webUrl } from "./dom.js";

const CALL_LABELS = {
  function: "Function call",
  web_search_call: "Web search",
  code_interpreter_call: "Code interpreter",
  file_search_call: "File search",
  mcp_call: "MCP call",
  web_extractor_call: "Web extractor",
  image_search_call: "Image search",
};

const SEARCHES = new Set(["web_search_call", "file_search_call"]);

export function callCard(call, onResult) {
  const title = el("h3", { className: "card-title" });
  const status = el("span", { className: "card-status" });
  const args = el("pre", { className: "card-args" });
  const body = el("div", { className: "card-output" });
  // tabindex: a search card holds no control of its own until it has results, and a
  // keyboard user still reaches it to hear what the tool did.
  const element = el("article", { className: "tool-card", tabindex: "0" }, el("header", {}, title, status), args, body);
  let form = null;
  let shown = null; // what the body shows, so a turn still streaming does not rebuild it

  function update(c) {
    const label = `${CALL_LABELS[c.type] ?? c.type ?? "Tool"}${c.name && c.type === "function" ? `: ${c.name}` : ""}`;
    element.dataset.type = c.type ?? "";
    title.textContent = label;
    status.textContent = c.status ?? "";
    const queries = SEARCHES.has(c.type) ? queriesOf(c) : [];
    element.setAttribute("aria-label", queries.length ? `${label}: ${queries.join("; ")}` : label);
    // A search's arguments are its queries, shown in its body.
    args.hidden = !c.arguments || SEARCHES.has(c.type);
    args.textContent = prettyJson(c.arguments);
    // a <pre> has no role a name is announced with: a region's is
    args.setAttribute("role", "region");
    args.setAttribute("aria-label", c.type === "code_interpreter_call" ? "Code" : "Arguments");
    const next = JSON.stringify([c.type, queries, c.hits, c.error, c.output, c.status]);
    if (next !== shown) {
      shown = next;
      body.replaceChildren(...bodyOf(c, queries));
    }
    if (c.type === "function" && !form && onResult) {
      form = resultForm(c, onResult);
      element.append(form);
    }
  }
  return { element, update };
}

// The queries a search ran: as its API told them, or from the call's arguments (Anthropic
// streams `{"query": ...}` as the call's input).
function queriesOf(call) {
  if (Array.isArray(call.queries)) return call.queries.filter((q) => typeof q === "string" && q);
  try {
    const { query } = JSON.parse(call.arguments || "{}");
    return typeof query === "string" && query ? [query] : [];
  } catch {
    return []; // still streaming
  }
}

function bodyOf(call, queries) {
  if (call.type === "web_search_call") return searchBody(call, queries, webHit, "Results");
  if (call.type === "file_search_call") return searchBody(call, queries, fileHit, "Files found");
  return outputOf(call.output);
}

function searchBody(call, queries, hitItem, listLabel) {
  const parts = queries.map((q) => el("p", { className: "card-query" }, "Searched for ", el("q", { text: q })));
  const hits = Array.isArray(call.hits) ? call.hits : [];
  if (hits.length) {
    parts.push(el("ol", { className: "hits", "aria-label": listLabel }, ...hits.map(hitItem)));
  } else if (call.status === "completed" && !call.error) {
    parts.push(el("p", { className: "card-empty", text: "Nothing found." }));
  }
  if (call.error) parts.push(el("p", { className: "card-error", text: `The search failed: ${call.error}` }));
  return parts;
}

// A web page found: its title as a link (numbered as the API numbers it, so a citation
// marker [n] in the answer points at item n), its site, its snippet.
function webHit(hit) {
  const href = webUrl(hit.url);
  const name = hit.title || hit.url || "(untitled)";
  const item = el("li", Number.isInteger(hit.index) ? { value: String(hit.index) } : {});
  item.append(href ? externalLink(href, name) : el("span", { text: name }));
  const site = hit.site || (href ? new URL(href).host : "");
  // (a result named by its URL already shows its site)
  const where = [name !== hit.url ? site : "", hit.date ?? ""].filter(Boolean).join(" · ");
  if (where) item.append(el("span", { className: "hit-site", text: where }));
  if (hit.text) item.append(el("p", { className: "hit-text", text: excerpt(hit.text) }));
  return item;
}

// A file's passage found: the file's name, how well it matched, the passage.
function fileHit(hit) {
  const item = el("li", {}, el("span", { className: "hit-name", text: hit.filename || hit.fileId || "(a file)" }));
  if (typeof hit.score === "number") {
    item.append(el("span", { className: "hit-score", text: `score ${hit.score.toFixed(2)}` }));
  }
  if (hit.text) item.append(el("p", { className: "hit-text", text: excerpt(hit.text) }));
  return item;
}

// Any other built-in tool's result: logs as text, anything else as JSON.
function outputOf(out) {
  if (out === null || out === undefined) return [];
  if (Array.isArray(out)) {
    return out.map((o) => el("pre", { className: "card-log", text: o.logs ?? o.text ?? JSON.stringify(o, null, 2) }));
  }
  return [el("pre", { className: "card-log", text: typeof out === "string" ? out : JSON.stringify(out, null, 2) })];
}

function prettyJson(text) {
  if (!text) return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text; // still streaming, or code
  }
}

// The label wraps its box: no id to make unique across the page's cards.
function resultForm(call, onResult) {
  const area = el("textarea", { rows: "2", spellcheck: "false" });
  const button = el("button", { type: "submit", text: "Send result" });
  const form = el("form", { className: "result-form" }, el("label", {}, el("span", { text: "Function result" }), area), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onResult(call, area.value);
    button.disabled = true;
    area.disabled = true;
  });
  return form;
}
