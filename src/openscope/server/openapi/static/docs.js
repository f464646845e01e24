// Renders /openapi.json as a page: every API (tag), each operation folded with its
// paths, key, parameters, request body schema, examples and answers. Plain DOM calls,
// no innerHTML: the text shown is the document's, never parsed as markup.
"use strict";

const METHODS = ["get", "post", "put", "patch", "delete"];
const MAX_DEPTH = 8;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

// `code` spans in the document's prose, shown as code.
function inline(tag, text) {
  const node = el(tag);
  text.split("`").forEach((piece, i) => node.append(i % 2 ? el("code", {}, piece) : piece));
  return node;
}

function prose(text) {
  return inline("p", text);
}

function resolve(doc, schema) {
  let ref = null;
  while (schema && schema.$ref) {
    ref = schema.$ref;
    schema = doc.components.schemas[ref.replace("#/components/schemas/", "")] || {};
  }
  return [schema || {}, ref];
}

function typeName(doc, schema) {
  const [resolved, ref] = resolve(doc, schema);
  const name = ref ? ref.replace("#/components/schemas/", "") + " " : "";
  if (resolved.enum) return name + "one of " + resolved.enum.map((v) => JSON.stringify(v)).join(", ");
  if (resolved.const !== undefined) return name + JSON.stringify(resolved.const);
  const variants = resolved.anyOf || resolved.oneOf;
  if (variants) return name + variants.map((v) => typeName(doc, v)).join(" | ");
  let type = resolved.type || (resolved.properties ? "object" : "any");
  if (Array.isArray(type)) type = type.join(" | ");
  if (type === "array" && resolved.items) return name + "array of " + typeName(doc, resolved.items);
  return name + type;
}

// A schema as a nested list of its fields; `seen`: the refs on the way here (a model
// that contains itself is shown once).
function schemaTree(doc, schema, depth, seen) {
  const [resolved, ref] = resolve(doc, schema);
  if (depth > MAX_DEPTH || (ref && seen.has(ref))) return null;
  const inner = new Set(seen);
  if (ref) inner.add(ref);
  const list = el("ul", { class: "schema" });
  const variants = resolved.anyOf || resolved.oneOf;
  if (variants) {
    for (const variant of variants) {
      const sub = schemaTree(doc, variant, depth + 1, inner);
      if (sub) list.append(el("li", {}, el("span", { class: "type" }, typeName(doc, variant)), sub));
    }
  }
  if (resolved.type === "array" && resolved.items) {
    const sub = schemaTree(doc, resolved.items, depth + 1, inner);
    if (sub) return sub;
  }
  const required = new Set(resolved.required || []);
  for (const [name, field] of Object.entries(resolved.properties || {})) {
    const item = el(
      "li",
      {},
      el("span", { class: "name" }, name),
      " ",
      el("span", { class: "type" }, typeName(doc, field)),
      required.has(name) ? el("span", { class: "required" }, " required") : null,
    );
    const [fieldSchema] = resolve(doc, field);
    if (fieldSchema.description) item.append(" — " + fieldSchema.description);
    const sub = schemaTree(doc, field, depth + 1, inner);
    if (sub) item.append(sub);
    list.append(item);
  }
  return list.childElementCount ? list : null;
}

function securityText(doc, operation) {
  const security = operation.security === undefined ? doc.security || [] : operation.security;
  if (!security.length) return "none";
  const schemes = doc.components.securitySchemes || {};
  return security
    .map((entry) => {
      const names = Object.keys(entry);
      if (!names.length) return "none";
      return names
        .map((n) => {
          const s = schemes[n] || {};
          return s.type === "http" ? `${n} (Authorization: Bearer)` : `${n} (${s.name} header)`;
        })
        .join(" + ");
    })
    .join(", or ");
}

function parametersTable(doc, parameters) {
  const body = el("tbody");
  for (const p of parameters) {
    body.append(
      el(
        "tr",
        {},
        el("td", {}, el("span", { class: "name" }, p.name)),
        el("td", {}, p.in),
        el("td", {}, el("span", { class: "type" }, typeName(doc, p.schema || {}))),
        el("td", {}, p.required ? "yes" : "no"),
        el("td", {}, p.description || (p.schema && p.schema.description) || ""),
      ),
    );
  }
  const head = el("tr", {}, ...["name", "in", "type", "required", "about"].map((h) => el("th", { scope: "col" }, h)));
  return el("table", {}, el("thead", {}, head), body);
}

function mediaBlock(doc, mediaType, media) {
  const block = el("div", {}, el("p", {}, "Content type ", el("code", {}, mediaType)));
  if (media.schema) {
    const tree = schemaTree(doc, media.schema, 0, new Set());
    block.append(el("p", { class: "type" }, typeName(doc, media.schema)));
    if (tree) block.append(tree);
  }
  for (const [name, example] of Object.entries(media.examples || {})) {
    block.append(
      el("h5", {}, "Example: " + (example.summary || name)),
      el("pre", { tabindex: "0" }, JSON.stringify(example.value, null, 2)),
    );
  }
  return block;
}

function operationView(doc, method, paths, operation) {
  const body = el("div", { class: "op-body" });
  if (operation.description) body.append(prose(operation.description));
  if (paths.length > 1) {
    body.append(el("p", {}, "Also at: ", ...paths.slice(1).flatMap((p, i) => [i ? ", " : "", el("code", {}, p)])));
  }
  body.append(el("p", {}, el("strong", {}, "Key: "), securityText(doc, operation)));
  if (operation.parameters && operation.parameters.length) {
    body.append(el("h4", {}, "Parameters"), parametersTable(doc, operation.parameters));
  }
  const request = operation.requestBody;
  if (request) {
    body.append(el("h4", {}, "Request body" + (request.required ? "" : " (optional)")));
    for (const [mediaType, media] of Object.entries(request.content || {})) {
      body.append(mediaBlock(doc, mediaType, media));
    }
  }
  body.append(el("h4", {}, "Answers"));
  for (const [status, answer] of Object.entries(operation.responses || {})) {
    const item = el("div", {}, inline("h5", `${status}: ${answer.description || ""}`));
    for (const [mediaType, media] of Object.entries(answer.content || {})) {
      item.append(mediaBlock(doc, mediaType, media));
    }
    body.append(item);
  }
  return el(
    "details",
    { class: "op", "data-search": `${method} ${paths.join(" ")} ${operation.summary || ""}`.toLowerCase() },
    el(
      "summary",
      {},
      el("span", { class: `method ${method}` }, method.toUpperCase()),
      el("span", { class: "path" }, paths[0]),
      el("span", {}, operation.summary || ""),
    ),
    body,
  );
}

// Operations grouped by tag; one operation served under several prefixes is shown once.
function groups(doc) {
  const byTag = new Map((doc.tags || []).map((t) => [t.name, { tag: t, ops: new Map() }]));
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const name = (operation.tags || ["other"])[0];
      if (!byTag.has(name)) byTag.set(name, { tag: { name }, ops: new Map() });
      const key = `${method} ${operation.summary}`;
      const ops = byTag.get(name).ops;
      if (!ops.has(key)) ops.set(key, { method, operation, paths: [] });
      ops.get(key).paths.push(path);
    }
  }
  return [...byTag.values()].filter((g) => g.ops.size);
}

function render(doc) {
  document.title = `${doc.info.title} API reference`;
  document.getElementById("title").textContent = `${doc.info.title} API reference`;
  document.getElementById("version").textContent = `version ${doc.info.version}, OpenAPI ${doc.openapi}`;
  const description = document.getElementById("description");
  for (const paragraph of (doc.info.description || "").split("\n\n")) {
    description.append(prose(paragraph.replace(/\n/g, " ")));
  }
  const nav = document.getElementById("tags");
  const main = document.getElementById("operations");
  main.replaceChildren();
  groups(doc).forEach((group, i) => {
    const id = `tag-${i}`;
    nav.append(el("a", { href: `#${id}` }, group.tag.name));
    const section = el(
      "section",
      { class: "tag", id, "aria-labelledby": `${id}-title` },
      el("h2", { id: `${id}-title` }, group.tag.name),
      group.tag.description ? el("p", { class: "muted" }, group.tag.description) : null,
    );
    for (const { method, operation, paths } of group.ops.values()) {
      section.append(operationView(doc, method, paths, operation));
    }
    main.append(section);
  });
}

function filter(text) {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  for (const section of document.querySelectorAll("section.tag")) {
    let shown = 0;
    for (const op of section.querySelectorAll("details.op")) {
      const match = words.every((w) => op.dataset.search.includes(w));
      op.hidden = !match;
      shown += match ? 1 : 0;
    }
    section.hidden = shown === 0;
  }
}

async function start() {
  const main = document.getElementById("operations");
  try {
    const answer = await fetch("openapi.json", { headers: { Accept: "application/json" } });
    if (!answer.ok) throw new Error(`openapi.json answered ${answer.status}`);
    render(await answer.json());
  } catch (error) {
    main.replaceChildren(el("p", { role: "alert" }, `The document could not be read: ${error.message}`));
    return;
  }
  const input = document.getElementById("filter");
  input.addEventListener("input", () => filter(input.value));
  document.getElementById("filters").addEventListener("submit", (event) => event.preventDefault());
}

document.addEventListener("DOMContentLoaded", start);
