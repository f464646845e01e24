// Stored Responses state read back into the page's conversation (see conversation.js):
// a conversation's items, or a stored response's input and output items, become turns.
// The server has no route listing conversations, so the ids this tab made or used are kept
// in its sessionStorage (like the key: gone with the tab, never in a URL).
import { apply, assistantTurn } from "./conversation.js";
import { callUpdate, citationOf, usageOf } from "./responses.js";

const LIST_ITEM = "openscope.conversations";
const BASE = "/compatible-mode/v1";

// [{id, title}], the newest first.
export function knownConversations() {
  try {
    const list = JSON.parse(sessionStorage.getItem(LIST_ITEM) ?? "[]");
    return Array.isArray(list) ? list.filter((c) => c && typeof c.id === "string") : [];
  } catch {
    return []; // a damaged entry is a list of none, not a broken page
  }
}

export function rememberConversation(id, title) {
  const others = knownConversations().filter((c) => c.id !== id);
  const previous = knownConversations().find((c) => c.id === id);
  const entry = { id, title: previous?.title || title || "" };
  sessionStorage.setItem(LIST_ITEM, JSON.stringify([entry, ...others].slice(0, 50)));
}

function textOf(content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => (typeof part?.text === "string" ? part.text : "")).join("");
}

// Items (input or output, in order) to turns; consecutive assistant items (reasoning, calls,
// text) share one assistant turn, as they did when they streamed.
export function turnsOf(items, model) {
  const turns = [];
  let assistant = null;
  const current = () => {
    if (!assistant) {
      assistant = assistantTurn("responses");
      assistant.model = model;
      assistant.state = "done";
      turns.push(assistant);
    }
    return assistant;
  };
  for (const item of items) {
    const type = item.type ?? "message";
    if (type === "message" && item.role !== "assistant") {
      assistant = null;
      const text = textOf(item.content);
      if (item.role === "user") turns.push({ role: "user", text });
      // System and developer messages are the request's instructions, not turns.
    } else if (type === "message") {
      apply(current(), { kind: "text", delta: textOf(item.content) });
      for (const part of Array.isArray(item.content) ? item.content : []) {
        for (const annotation of part?.annotations ?? []) {
          const citation = citationOf(annotation);
          if (citation) apply(current(), { kind: "citation", citation });
        }
      }
    } else if (type === "reasoning") {
      const text = textOf(item.content) || textOf(item.summary);
      apply(current(), { kind: "reasoning", delta: text });
    } else if (type === "function_call_output") {
      assistant = null;
      const call = turns.flatMap((t) => (t.calls ? [...t.calls.values()] : [])).find((c) => c.id === item.call_id);
      turns.push({ role: "tool", callId: item.call_id, name: call?.name ?? "function", output: textOf(item.output) });
    } else {
      const update = callUpdate(item);
      const text = item.arguments ?? item.code;
      if (typeof text === "string") update.arguments = text;
      apply(current(), update);
    }
  }
  return turns;
}

async function readJson(response, errorOf) {
  if (response.ok) return response.json();
  const text = await response.text();
  let message = text || response.statusText;
  try {
    message = errorOf(JSON.parse(text));
  } catch {
    // not JSON: the text itself
  }
  throw new Error(`${response.status}: ${message}`);
}

// Every item of a list route, following its pages, oldest first.
async function allItems(path, headers, errorOf) {
  const items = [];
  let after = null;
  for (;;) {
    // Only paging in the query: the key travels in the headers.
    const query = `order=asc&limit=100${after ? `&after=${encodeURIComponent(after)}` : ""}`;
    const page = await readJson(await fetch(`${path}?${query}`, { headers }), errorOf);
    items.push(...page.data);
    if (!page.has_more || !page.data.length) return items;
    after = page.data.at(-1).id;
  }
}

export async function createConversation(headers, errorOf) {
  const response = await fetch(`${BASE}/conversations`, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json" },
    body: "{}",
  });
  return (await readJson(response, errorOf)).id;
}

export async function conversationTurns(id, headers, errorOf) {
  const path = `${BASE}/conversations/${encodeURIComponent(id)}/items`;
  return turnsOf(await allItems(path, headers, errorOf), "stored conversation");
}

// A stored response as turns: its input items, then its output.
export async function responseTurns(id, headers, errorOf) {
  const path = `${BASE}/responses/${encodeURIComponent(id)}`;
  const response = await readJson(await fetch(path, { headers }), errorOf);
  const input = await allItems(`${path}/input_items`, headers, errorOf);
  const turns = [...turnsOf(input, response.model), ...turnsOf(response.output ?? [], response.model)];
  const last = turns.at(-1);
  if (last?.role === "assistant" && response.usage) {
    apply(last, { kind: "usage", usage: usageOf(response.usage) });
  }
  return turns;
}
