// The transcript: one <li> per turn, updated in place while a turn streams (text through
// textContent only: nothing a model or server says is ever parsed as HTML).
import { callCard } from "./cards.js";
import { citationItem, citedSources } from "./citations.js";
import { el } from "./dom.js";

const API_LABELS = {
  chat: "Chat Completions",
  responses: "Responses",
  anthropic: "Anthropic Messages",
};

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
  // The sources the answer cites (see citations.js), under it.
  const citedList = el("ol", { "aria-label": "Sources cited" });
  const cited = el("div", { className: "citations", hidden: "" }, el("p", { className: "citations-title", text: "Sources cited" }), citedList);
  const error = el("p", { className: "turn-error", role: "alert", hidden: "" });
  const usage = el("p", { className: "usage", hidden: "" });
  const item = el("li", { className: "turn assistant", "aria-busy": "true" }, who, reasoning, cards, text, cited, error, usage);
  const cardElements = new Map();
  let citedShown = "[]";

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
    const sources = citedSources(turn);
    if (JSON.stringify(sources) !== citedShown) {
      citedShown = JSON.stringify(sources);
      citedList.replaceChildren(...sources.map(citationItem));
    }
    cited.hidden = !sources.length;
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
