// Server-sent events read from a fetch() body: yields {event, data} records as they arrive.
// fetch + ReadableStream rather than EventSource, which can neither POST nor send a key header.

export async function* readEvents(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "";
  let data = [];
  // One line of the stream: a blank one ends a record.
  function* line(text) {
    if (text === "") {
      if (data.length) yield { event: event || "message", data: data.join("\n") };
      event = "";
      data = [];
      return;
    }
    if (text.startsWith(":")) return; // a comment (keep-alive)
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  try {
    while (true) {
      if (signal?.aborted) return;
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.search(/\r\n|\r|\n/)) >= 0) {
        // A CR that ends the buffer may be the first half of a CRLF split across chunks.
        if (buffer[end] === "\r" && end === buffer.length - 1) break;
        const width = buffer.startsWith("\r\n", end) ? 2 : 1;
        yield* line(buffer.slice(0, end));
        buffer = buffer.slice(end + width);
      }
    }
    for (const rest of buffer.split(/\r\n|\r|\n/)) yield* line(rest);
    yield* line(""); // a record the stream ended without a blank line after
  } finally {
    reader.releaseLock();
  }
}
