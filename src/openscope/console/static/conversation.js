// The page's own conversation, independent of any API: each protocol module turns it into
// its request and its stream back into updates of an assistant turn, so one conversation
// can continue over any of the three APIs.
//
// Turns: {role: "user", text}
//        {role: "assistant", api, text, reasoning, calls: Map(key -> call), citations, usage,
//         error, state, responseId (a stored response's id, Responses only)}
//        {role: "tool", callId, name, output}       (a function's result, typed by the user)
// A call: {key, id, type, name, arguments, output, status}; type "function" for the
// caller's functions, else the built-in tool's item type (web_search_call, ...). A search
// (web or file) has, whatever API it came over, `queries` (strings, when the API tells
// them), `hits` ([{title, url, site, date, index, fileId, filename, score, text}], the
// fields it gives) and `error` (a failed search's reason).
// A citation: {title, url, fileId, filename, text}, a source the answer names (an API's
// annotation or citation block); each source once.

export function assistantTurn(api) {
  return {
    role: "assistant",
    api,
    text: "",
    reasoning: "",
    calls: new Map(),
    citations: [],
    usage: null,
    error: null,
    state: "streaming",
  };
}

// Applies one update from a protocol decoder to an assistant turn.
export function apply(turn, update) {
  switch (update.kind) {
    case "text":
      turn.text += update.delta;
      break;
    case "reasoning":
      turn.reasoning += update.delta;
      break;
    case "call": {
      const call = turn.calls.get(update.key) ?? { key: update.key, arguments: "" };
      for (const [name, value] of Object.entries(update)) {
        if (name !== "kind" && value !== undefined && value !== null) call[name] = value;
      }
      turn.calls.set(update.key, call);
      break;
    }
    case "callArgs": {
      const call = turn.calls.get(update.key);
      if (call) call.arguments += update.delta;
      break;
    }
    case "citation": {
      const key = citationKey(update.citation);
      if (!turn.citations.some((c) => citationKey(c) === key)) turn.citations.push(update.citation);
      break;
    }
    case "usage":
      turn.usage = { ...(turn.usage ?? {}), ...definedOnly(update.usage) };
      break;
    case "error":
      turn.error = { status: update.status ?? null, message: update.message };
      break;
    case "responseId": // the stored response this turn is (Responses only)
      turn.responseId = update.id;
      break;
    case "done":
      if (update.finish) turn.finish = update.finish;
      break;
    default:
      throw new Error(`unknown update ${update.kind}`);
  }
}

// Annotations repeat a source at each place it is cited: one source, one entry.
function citationKey(citation) {
  return citation.url || citation.fileId || citation.filename || citation.title || "";
}

function definedOnly(record) {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined && v !== null));
}

// The function calls of a turn that the user has answered (a call the user did not answer
// is left out of the history: every API refuses a call without its result).
export function answeredCalls(turn, history) {
  const answered = new Set(history.filter((t) => t.role === "tool").map((t) => t.callId));
  return [...turn.calls.values()].filter((c) => c.type === "function" && answered.has(c.id));
}

export function toolResults(history) {
  return history.filter((t) => t.role === "tool");
}
