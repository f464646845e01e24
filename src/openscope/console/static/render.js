// The transcript: one <li> per turn, updated in place while a turn streams (text through
// textContent only: nothing a model or server says is ever parsed as HTML).

const API_LABELS = {
  chat: "Chat Completions",
  responses: "Responses",
  anthropic: "Anthropic Messages",
};

const CALL_LABELS = {
  function: "Function call",
  web_search_call: "Web search",
  code_interpreter_call: "Code interpreter",
  file_search_call: "File search",
  mcp_call: "MCP call",
  web_extractor_call: "Web extractor",
  image_search_call: "Image search",
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

export function userItem(turn) {
  return el("li", { className: "turn user" }, el("p", { className: "who", text: "You" }), el("div", { className: "text", text: turn.text }));
}

export function toolResultItem(turn) {
  return el(
    "li",
    { className: "turn tool-result" },
    el("p", { className: "who", text: `Result of ${turn.name}` }),
    el("pre", { className: "text", text: turn.output }),
  );
}

// An assistant turn's element; `update(turn)` refreshes it as the turn streams.
export function assistantItem(turn, onResult) {
  const who = el("p", { className: "who" });
  const reasoningBody = el("div", { className: "reasoning-text" });
  const reasoning = el("details", { className: "reasoning", hidden: "" }, el("summary", { text: "Reasoning" }), reasoningBody);
  const cards = el("div", { className: "cards" });
  const text = el("div", { className: "text" });
  const error = el("p", { className: "turn-error", role: "alert", hidden: "" });
  const usage = el("p", { className: "usage", hidden: "" });
  const item = el("li", { className: "turn assistant", "aria-busy": "true" }, who, reasoning, cards, text, error, usage);
  const cardElements = new Map();

  function update() {
    const state = turn.state === "streaming" ? " · streaming…" : turn.state === "stopped" ? " · stopped" : "";
    who.textContent = `${turn.model} via ${API_LABELS[turn.api]}${state}`;
    item.setAttribute("aria-busy", String(turn.state === "streaming"));
    item.dataset.state = turn.state;
    reasoning.hidden = !turn.reasoning;
    reasoningBody.textContent = turn.reasoning;
    for (const call of turn.calls.values()) {
      let card = cardElements.get(call.key);
      if (!card) {
        card = callCard(call, onResult);
        cardElements.set(call.key, card);
        cards.append(card.element);
      }
      card.update(call);
    }
    text.textContent = turn.text;
    error.hidden = !turn.error;
    if (turn.error) {
      error.textContent = turn.error.status ? `Error ${turn.error.status}: ${turn.error.message}` : `Error: ${turn.error.message}`;
    }
    usage.hidden = !turn.usage;
    if (turn.usage) usage.textContent = usageLine(turn.usage);
  }
  update();
  return { element: item, update };
}

export function usageLine(usage) {
  const n = (value) => (value === undefined || value === null ? "–" : String(value));
  return `Usage: input ${n(usage.input)} · cached ${n(usage.cached)} · output ${n(usage.output)} · reasoning ${n(usage.reasoning)}`;
}

function callCard(call, onResult) {
  const title = el("h3", { className: "card-title" });
  const status = el("span", { className: "card-status" });
  const args = el("pre", { className: "card-args" });
  const output = el("div", { className: "card-output" });
  const element = el("article", { className: "tool-card" }, el("header", {}, title, status), args, output);
  let form = null;

  function update(c) {
    element.dataset.type = c.type ?? "";
    title.textContent = `${CALL_LABELS[c.type] ?? c.type ?? "Tool"}${c.name && c.type === "function" ? `: ${c.name}` : ""}`;
    status.textContent = c.status ?? "";
    args.hidden = !c.arguments;
    args.textContent = prettyJson(c.arguments);
    args.setAttribute("aria-label", c.type === "code_interpreter_call" ? "Code" : "Arguments");
    output.replaceChildren(...renderOutput(c));
    if (c.type === "function" && !form && onResult) {
      form = resultForm(c, onResult);
      element.append(form);
    }
  }
  return { element, update };
}

function prettyJson(text) {
  if (!text) return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text; // still streaming, or code
  }
}

// A built-in tool's result as the card's body: search hits as a list, logs as text.
function renderOutput(call) {
  const out = call.output;
  if (out === null || out === undefined) return [];
  const hits = Array.isArray(out) ? out : out.sources ?? out.results ?? null;
  if (Array.isArray(hits) && hits.some((h) => h && (h.url || h.title || h.filename))) {
    const list = el("ul", { className: "hits" });
    for (const hit of hits) {
      const name = hit.title || hit.filename || hit.url;
      const item = el("li");
      if (typeof hit.url === "string" && /^https?:\/\//.test(hit.url)) {
        item.append(el("a", { href: hit.url, rel: "noopener noreferrer", target: "_blank", text: name }));
      } else {
        item.append(document.createTextNode(name));
      }
      if (hit.text) item.append(el("p", { className: "hit-text", text: String(hit.text).slice(0, 300) }));
      list.append(item);
    }
    return [list];
  }
  if (Array.isArray(out)) {
    return out.map((o) => el("pre", { className: "card-log", text: o.logs ?? o.text ?? JSON.stringify(o, null, 2) }));
  }
  if (typeof out === "object" && out.query) return [el("p", { text: `Query: ${out.query}` })];
  return [el("pre", { className: "card-log", text: typeof out === "string" ? out : JSON.stringify(out, null, 2) })];
}

let formCount = 0;

function resultForm(call, onResult) {
  formCount += 1;
  const id = `tool-result-${formCount}`;
  const area = el("textarea", { id, rows: "2", spellcheck: "false" });
  const button = el("button", { type: "submit", text: "Send result" });
  const form = el("form", { className: "result-form" }, el("label", { for: id, text: "Function result" }), area, button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onResult(call, area.value);
    button.disabled = true;
    area.disabled = true;
  });
  return form;
}
