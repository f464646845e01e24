// Responses (/compatible-mode/v1/responses): request body and stream decoder. The page's
// conversation is linked to server-side state (`link`): a conversation id, or the previous
// response's id; only the turns the server has not seen yet (from `link.from` on) are sent
// as input. Without a link the whole conversation is sent (store stays on).
import { answeredCalls } from "./conversation.js";

export const label = "Responses";
export const path = "/compatible-mode/v1/responses";

export function headers(key) {
  return { "Content-Type": "application/json", Authorization: `Bearer ${key}` };
}

export function input(history, from = 0) {
  const items = [];
  for (const turn of history.slice(from)) {
    if (turn.role === "user") items.push({ role: "user", content: turn.text });
    else if (turn.role === "tool") {
      items.push({ type: "function_call_output", call_id: turn.callId, output: turn.output });
    } else if (!turn.error) {
      if (turn.text) items.push({ role: "assistant", content: turn.text });
      for (const c of answeredCalls(turn, history)) {
        items.push({ type: "function_call", call_id: c.id, name: c.name, arguments: c.arguments || "{}" });
      }
    }
  }
  return items;
}

export const EXTENSIONS = ["enable_thinking"];

export function body(history, req, link = null) {
  const wire = { model: req.model, input: input(history, link?.from ?? 0), stream: true };
  if (link?.conversation) wire.conversation = link.conversation;
  else if (link?.previousResponseId) wire.previous_response_id = link.previousResponseId;
  if (req.system) wire.instructions = req.system;
  if (req.temperature !== null) wire.temperature = req.temperature;
  if (req.topP !== null) wire.top_p = req.topP;
  if (req.maxTokens !== null) wire.max_output_tokens = req.maxTokens;
  if (req.thinking !== "default") wire.enable_thinking = req.thinking === "on";
  const tools = req.tools.map((t) => ({ type: "function", ...t }));
  if (req.builtins.includes("web_search")) tools.push({ type: "web_search" });
  if (req.builtins.includes("code_interpreter")) {
    tools.push({ type: "code_interpreter", container: { type: "auto" } });
  }
  if (req.builtins.includes("file_search")) {
    tools.push({ type: "file_search", vector_store_ids: req.vectorStores });
  }
  if (tools.length) wire.tools = tools;
  if (req.schema) {
    wire.text = { format: { type: "json_schema", name: "output", schema: req.schema } };
  }
  return wire;
}

export function unsupported() {
  return null;
}

export function usageOf(u) {
  return {
    input: u.input_tokens,
    cached: u.input_tokens_details?.cached_tokens ?? 0,
    output: u.output_tokens,
    reasoning: u.output_tokens_details?.reasoning_tokens ?? 0,
  };
}

// A list from the server may hold anything: only objects are read as entries.
const isObject = (value) => typeof value === "object" && value !== null;

// A built-in tool item as a card's fields: a search's queries and hits (see
// conversation.js), any other tool's result wherever its type keeps it.
function builtinFields(item) {
  if (item.type === "web_search_call") {
    const action = item.action ?? {};
    const queries = Array.isArray(action.queries) ? action.queries : action.query ? [action.query] : [];
    const sources = Array.isArray(action.sources) ? action.sources.filter(isObject) : [];
    // Model Studio's sources carry only a URL (a title when there is one).
    return { queries, hits: sources.map((s) => ({ url: s.url, title: s.title })) };
  }
  if (item.type === "file_search_call") {
    const results = Array.isArray(item.results) ? item.results.filter(isObject) : [];
    return {
      queries: Array.isArray(item.queries) ? item.queries : [],
      hits: results.map((r) => ({ fileId: r.file_id, filename: r.filename, score: r.score, text: r.text })),
      error: item.error ?? undefined,
    };
  }
  if (item.type === "code_interpreter_call") return { output: item.outputs ?? null };
  return { output: item.output ?? null };
}

export function callUpdate(item) {
  return {
    kind: "call",
    key: item.id,
    id: item.call_id ?? item.id,
    type: item.type === "function_call" ? "function" : item.type,
    name: item.name ?? item.server_label,
    status: item.status,
    ...(item.type === "function_call" ? {} : builtinFields(item)),
  };
}

// An output text's annotation as a cited source: a web page (url_citation) or a file
// (file_citation); null for the others.
export function citationOf(annotation) {
  if (annotation?.type === "url_citation") return { title: annotation.title, url: annotation.url };
  if (annotation?.type === "file_citation") return { fileId: annotation.file_id, filename: annotation.filename };
  return null;
}

export function decoder() {
  return {
    feed({ event, data }) {
      const payload = JSON.parse(data);
      const type = payload.type ?? event;
      switch (type) {
        case "response.created":
          return payload.response?.id ? [{ kind: "responseId", id: payload.response.id }] : [];
        case "response.output_text.delta":
          return [{ kind: "text", delta: payload.delta }];
        case "response.reasoning_summary_text.delta":
        case "response.reasoning_text.delta":
          return [{ kind: "reasoning", delta: payload.delta }];
        case "response.output_item.added":
        case "response.output_item.done": {
          const item = payload.item;
          if (!item || item.type === "message" || item.type === "reasoning") return [];
          const update = callUpdate(item);
          if (type === "response.output_item.done") {
            const text = item.arguments ?? item.code;
            if (typeof text === "string") update.arguments = text;
          }
          return [update];
        }
        case "response.output_text.annotation.added": {
          const citation = citationOf(payload.annotation);
          return citation ? [{ kind: "citation", citation }] : [];
        }
        case "response.function_call_arguments.delta":
        case "response.code_interpreter_call_code.delta":
        case "response.mcp_call_arguments.delta":
          return [{ kind: "callArgs", key: payload.item_id, delta: payload.delta }];
        case "response.completed":
        case "response.incomplete":
          return [
            ...(payload.response?.usage ? [{ kind: "usage", usage: usageOf(payload.response.usage) }] : []),
            { kind: "done", finish: payload.response?.status },
          ];
        case "response.failed":
          return [
            { kind: "error", message: errorText(payload.response?.error) },
            { kind: "done", finish: "failed" },
          ];
        case "error":
          return [{ kind: "error", message: errorText(payload.error ?? payload) }];
        default:
          return [];
      }
    },
  };
}

export function errorText(error) {
  if (!error) return "unknown error";
  const code = error.code || error.type;
  return code ? `${error.message} (${code})` : error.message;
}

export function errorOf(json) {
  return errorText(json?.error);
}
