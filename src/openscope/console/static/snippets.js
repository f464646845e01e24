// "Show code": the current request as an official-SDK snippet and as curl. The key is
// read from the environment in both: it is never written into code or a URL.

const KEY_VAR = "OPENSCOPE_API_KEY";

// A JSON value as a Python literal, indented like `black` would.
export function python(value, indent = 0) {
  const pad = "    ".repeat(indent + 1);
  const end = "    ".repeat(indent);
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return `[\n${value.map((v) => `${pad}${python(v, indent + 1)},`).join("\n")}\n${end}]`;
  }
  const entries = Object.entries(value);
  if (!entries.length) return "{}";
  const lines = entries.map(([k, v]) => `${pad}${JSON.stringify(k)}: ${python(v, indent + 1)},`);
  return `{\n${lines.join("\n")}\n${end}}`;
}

function kwargs(body, extensions) {
  const lines = [];
  const extra = {};
  for (const [name, value] of Object.entries(body)) {
    if (extensions.includes(name)) extra[name] = value;
    else lines.push(`    ${name}=${python(value, 1)},`);
  }
  if (Object.keys(extra).length) lines.push(`    extra_body=${python(extra, 1)},`);
  return lines.join("\n");
}

const PRINT_LOOP = {
  chat: `for chunk in stream:
    for choice in chunk.choices:
        print(choice.delta.content or "", end="", flush=True)
print()`,
  responses: `for event in stream:
    if event.type == "response.output_text.delta":
        print(event.delta, end="", flush=True)
print()`,
  anthropic: `for event in stream:
    if event.type == "content_block_delta" and event.delta.type == "text_delta":
        print(event.delta.text, end="", flush=True)
print()`,
};

export function sdkSnippet(api, protocol, body, origin) {
  if (api === "anthropic") {
    return `import os

import anthropic

client = anthropic.Anthropic(
    base_url="${origin}/apps/anthropic",
    api_key=os.environ["${KEY_VAR}"],
)
stream = client.messages.create(
${kwargs(body, protocol.EXTENSIONS)}
)
${PRINT_LOOP.anthropic}
`;
  }
  const method = api === "chat" ? "client.chat.completions.create" : "client.responses.create";
  return `import os

from openai import OpenAI

client = OpenAI(
    base_url="${origin}/compatible-mode/v1",
    api_key=os.environ["${KEY_VAR}"],
)
stream = ${method}(
${kwargs(body, protocol.EXTENSIONS)}
)
${PRINT_LOOP[api]}
`;
}

// Single quotes around the body, with any single quote in it closed and escaped.
function shellQuote(text) {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export function curlSnippet(api, protocol, body, origin) {
  const lines = [`curl -N ${origin}${protocol.path} \\`];
  if (api === "anthropic") {
    lines.push(`  -H "x-api-key: $${KEY_VAR}" \\`, `  -H "anthropic-version: ${protocol.VERSION}" \\`);
  } else {
    lines.push(`  -H "Authorization: Bearer $${KEY_VAR}" \\`);
  }
  lines.push(`  -H "Content-Type: application/json" \\`);
  lines.push(`  -d ${shellQuote(JSON.stringify(body, null, 2))}`);
  return `# export ${KEY_VAR}=<your key>\n${lines.join("\n")}\n`;
}
