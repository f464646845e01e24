// Anthropic Messages (/apps/anthropic/v1/messages): request body and stream decoder.
import { answeredCalls } from "./conversation.js";

export const label = "Anthropic Messages";
export const path = "/apps/anthropic/v1/messages";
export const VERSION = "2023-06-01";
export const WEB_SEARCH = "web_search_20250305";

export function headers(key) {
  return { "Content-Type": "application/json", "x-api-key": key, "anthropic-version": VERSION };
}

function parsed(text) {
  try {
    const value = JSON.parse(text || "{}");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

export function messages(history) {
  const out = [];
  // Anthropic alternates roles: consecutive blocks of one role join one message.
  const push = (role, blocks) => {
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const turn of history) {
    if (turn.role === "user") push("user", [{ type: "text", text: turn.text }]);
    else if (turn.role === "tool") {
      push("user", [{ type: "tool_result", tool_use_id: turn.callId, content: turn.output }]);
    } else if (!turn.error) {
      const blocks = turn.text ? [{ type: "text", text: turn.text }] : [];
      for (const c of answeredCalls(turn, history)) {
        blocks.push({ type: "tool_use", id: c.id, name: c.name, input: parsed(c.arguments) });
      }
      if (blocks.length) push("assistant", blocks);
    }
  }
  // A lone text block is sent as a plain string, as people write it.
  return out.map((m) =>
    m.content.length === 1 && m.content[0].type === "text" ? { role: m.role, content: m.content[0].text } : m,
  );
}

// The anthropic SDK from 2.x takes no sampling keywords (temperature, top_p): they travel
// in extra_body, which every version accepts.
export const EXTENSIONS = ["temperature", "top_p"];

export function body(history, req) {
  const wire = {
    model: req.model,
    max_tokens: req.maxTokens ?? 1024,
    messages: messages(history),
    stream: true,
  };
  if (req.system) wire.system = req.system;
  if (req.temperature !== null) wire.temperature = req.temperature;
  if (req.topP !== null) wire.top_p = req.topP;
  if (req.thinking === "on") wire.thinking = { type: "enabled", budget_tokens: req.thinkingBudget };
  if (req.thinking === "off") wire.thinking = { type: "disabled" };
  const tools = req.tools.map((t) => ({
    name: t.name,
    ...(t.description ? { description: t.description } : {}),
    input_schema: t.parameters ?? { type: "object" },
  }));
  if (req.builtins.includes("web_search")) tools.push({ type: WEB_SEARCH, name: "web_search" });
  if (tools.length) wire.tools = tools;
  return wire;
}

export function unsupported(req) {
  if (req.schema) return "Anthropic Messages takes no output schema: clear it or switch API.";
  const other = req.builtins.filter((b) => b !== "web_search");
  if (other.length) return `${other.join(", ")}: not offered on Anthropic Messages; turn it off or switch API.`;
  return null;
}

// A `web_search_tool_result` block: its search's results, or the error that ended it.
function searchResult(block) {
  const content = block.content;
  if (!Array.isArray(content)) {
    return { kind: "call", key: block.tool_use_id, status: "failed", error: content?.error_code ?? "unknown error" };
  }
  const hits = content
    .filter((r) => r?.type === "web_search_result")
    .map((r) => ({ title: r.title, url: r.url, date: r.page_age ?? undefined }));
  return { kind: "call", key: block.tool_use_id, status: "completed", hits };
}

// A text block's citation (a web search result's, or a document's) as a cited source.
function citationUpdate(citation) {
  return {
    kind: "citation",
    citation: { title: citation.title ?? citation.document_title, url: citation.url, text: citation.cited_text },
  };
}

export function decoder() {
  const keys = new Map(); // content block index -> call key
  return {
    feed({ event, data }) {
      const payload = JSON.parse(data);
      switch (payload.type ?? event) {
        case "message_start": {
          const u = payload.message?.usage ?? {};
          const cached = u.cache_read_input_tokens ?? 0;
          const input = (u.input_tokens ?? 0) + cached + (u.cache_creation_input_tokens ?? 0);
          return [{ kind: "usage", usage: { input, cached, output: u.output_tokens ?? 0 } }];
        }
        case "content_block_start": {
          const block = payload.content_block ?? {};
          if (block.type === "tool_use" || block.type === "server_tool_use") {
            keys.set(payload.index, block.id);
            const server = block.type === "server_tool_use";
            const input = block.input && Object.keys(block.input).length ? JSON.stringify(block.input) : undefined;
            return [
              {
                kind: "call",
                key: block.id,
                id: block.id,
                type: server ? `${block.name}_call` : "function",
                name: block.name,
                status: server ? "in_progress" : undefined,
                arguments: input, // streamed as input_json_delta when not given whole here
              },
            ];
          }
          if (block.type === "web_search_tool_result") return [searchResult(block)];
          if (block.type?.endsWith("_tool_result")) {
            return [
              { kind: "call", key: block.tool_use_id, output: block.content, status: "completed" },
            ];
          }
          if (block.type === "thinking" && block.thinking) return [{ kind: "reasoning", delta: block.thinking }];
          if (block.type === "text") {
            return [
              ...(block.text ? [{ kind: "text", delta: block.text }] : []),
              ...(block.citations ?? []).map(citationUpdate),
            ];
          }
          return [];
        }
        case "content_block_delta": {
          const delta = payload.delta ?? {};
          if (delta.type === "text_delta") return [{ kind: "text", delta: delta.text }];
          if (delta.type === "thinking_delta") return [{ kind: "reasoning", delta: delta.thinking }];
          if (delta.type === "citations_delta" && delta.citation) return [citationUpdate(delta.citation)];
          if (delta.type === "input_json_delta" && keys.has(payload.index)) {
            return [{ kind: "callArgs", key: keys.get(payload.index), delta: delta.partial_json }];
          }
          return [];
        }
        case "message_delta":
          return [
            ...(payload.usage?.output_tokens !== undefined
              ? [{ kind: "usage", usage: { output: payload.usage.output_tokens } }]
              : []),
            { kind: "done", finish: payload.delta?.stop_reason },
          ];
        case "error":
          return [{ kind: "error", message: errorText(payload.error) }];
        default:
          return [];
      }
    },
  };
}

export function errorText(error) {
  if (!error) return "unknown error";
  return error.type ? `${error.message} (${error.type})` : error.message;
}

export function errorOf(json) {
  return errorText(json?.error);
}
