// Chat Completions (/compatible-mode/v1/chat/completions): request body and stream decoder.
import { answeredCalls } from "./conversation.js";

export const label = "Chat Completions";
export const path = "/compatible-mode/v1/chat/completions";

export function headers(key) {
  return { "Content-Type": "application/json", Authorization: `Bearer ${key}` };
}

export function messages(history, system) {
  const out = system ? [{ role: "system", content: system }] : [];
  for (const turn of history) {
    if (turn.role === "user") out.push({ role: "user", content: turn.text });
    else if (turn.role === "tool") {
      out.push({ role: "tool", tool_call_id: turn.callId, content: turn.output });
    } else if (!turn.error) {
      const calls = answeredCalls(turn, history);
      if (!turn.text && !calls.length) continue; // only an unanswered call: nothing to send
      const message = { role: "assistant", content: turn.text || null };
      if (calls.length) {
        message.tool_calls = calls.map((c) => ({
          id: c.id,
          type: "function",
          function: { name: c.name, arguments: c.arguments || "{}" },
        }));
      }
      out.push(message);
    }
  }
  return out;
}

// Fields Model Studio adds to the OpenAI request: the SDK sends them through extra_body.
export const EXTENSIONS = [
  "enable_thinking",
  "thinking_budget",
  "enable_search",
  "search_options",
  "enable_code_interpreter",
];

export function body(history, req) {
  const wire = {
    model: req.model,
    messages: messages(history, req.system),
    stream: true,
    stream_options: { include_usage: true },
  };
  if (req.temperature !== null) wire.temperature = req.temperature;
  if (req.topP !== null) wire.top_p = req.topP;
  if (req.maxTokens !== null) wire.max_tokens = req.maxTokens;
  if (req.thinking !== "default") wire.enable_thinking = req.thinking === "on";
  if (req.builtins.includes("web_search")) {
    wire.enable_search = true;
    // Model Studio's compatible mode says nothing of a search; these ask for its results
    // (`search_info`) and for citation markers in the answer, so the page can show both.
    wire.search_options = { enable_source: true, enable_citation: true };
  }
  if (req.builtins.includes("code_interpreter")) wire.enable_code_interpreter = true;
  if (req.tools.length) {
    wire.tools = req.tools.map((t) => ({ type: "function", function: t }));
  }
  if (req.schema) {
    wire.response_format = { type: "json_schema", json_schema: { name: "output", schema: req.schema } };
  }
  return wire;
}

export function unsupported(req) {
  return req.builtins.includes("file_search")
    ? "File search is a Responses tool: switch to Responses or turn it off."
    : null;
}

// A `search_info.search_results[]` entry as a card's hit.
function searchHit(result) {
  const site = result.site_name && result.site_name !== "无" ? result.site_name : undefined; // 无: Model Studio's "none"
  return { index: result.index, title: result.title, url: result.url, site };
}

export function decoder() {
  let searches = 0;
  return {
    // One SSE record -> updates.
    feed({ data }) {
      if (data === "[DONE]") return [{ kind: "done" }];
      const chunk = JSON.parse(data);
      if (chunk.error) return [{ kind: "error", message: errorText(chunk.error) }];
      const updates = [];
      // The results of a search come on the first chunk after it (none on the others), and
      // Chat names no query: each is a search card of its own.
      const found = chunk.search_info?.search_results;
      if (Array.isArray(found) && found.length) {
        searches += 1;
        const key = `search-${searches}`;
        updates.push({
          kind: "call",
          key,
          id: key,
          type: "web_search_call",
          status: "completed",
          hits: found.filter((r) => r && typeof r === "object").map(searchHit),
        });
      }
      for (const choice of chunk.choices ?? []) {
        const delta = choice.delta ?? {};
        if (delta.reasoning_content) updates.push({ kind: "reasoning", delta: delta.reasoning_content });
        if (delta.content) updates.push({ kind: "text", delta: delta.content });
        for (const call of delta.tool_calls ?? []) {
          const key = `call-${call.index ?? 0}`;
          updates.push({
            kind: "call",
            key,
            id: call.id,
            type: "function",
            name: call.function?.name,
          });
          if (call.function?.arguments) {
            updates.push({ kind: "callArgs", key, delta: call.function.arguments });
          }
        }
        if (choice.finish_reason) updates.push({ kind: "done", finish: choice.finish_reason });
      }
      if (chunk.usage) {
        const u = chunk.usage;
        updates.push({
          kind: "usage",
          usage: {
            input: u.prompt_tokens,
            cached: u.prompt_tokens_details?.cached_tokens ?? 0,
            output: u.completion_tokens,
            reasoning: u.completion_tokens_details?.reasoning_tokens ?? 0,
          },
        });
      }
      return updates;
    },
  };
}

// An error body of this API ({error: {message, code, type}}) as one line.
export function errorText(error) {
  if (!error) return "unknown error";
  const code = error.code || error.type;
  return code ? `${error.message} (${code})` : error.message;
}

export function errorOf(json) {
  return errorText(json?.error);
}
