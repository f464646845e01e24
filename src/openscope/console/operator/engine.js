// The engine's live state from `GET /admin/v1/engine` (the numbers /metrics has, as JSON),
// read every few seconds while the tab is visible.

import { call } from "./api.js";
import { compact } from "./charts.js";

export const REFRESH_MS = 3000;

function cell(text, numeric = false) {
  const td = document.createElement("td");
  td.textContent = text;
  if (numeric) td.className = "num";
  return td;
}

function fillRows(table, rows, columns, empty) {
  const body = table.tBodies[0];
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(empty);
    td.colSpan = columns.length + 1;
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  const sorted = [...rows].sort((a, b) => b.count - a.count);
  body.replaceChildren(
    ...sorted.map((row) => {
      const tr = document.createElement("tr");
      tr.append(...columns.map((c) => cell(row[c] ?? "")), cell(String(row.count), true));
      return tr;
    }),
  );
}

function backendCard(name, state) {
  const card = document.createElement("article");
  card.className = "backend";
  const heading = document.createElement("h3");
  heading.textContent = name;
  const capacity = state.kv_capacity_tokens || 0;
  const used = state.kv_used_tokens || 0;
  const prompt = state.prompt_tokens_total || 0;
  const hitRate = prompt ? (100 * (state.cache_hit_tokens_total || 0)) / prompt : 0;
  const facts = [
    ["Queue depth", String(state.queue_depth ?? 0)],
    ["Running sequences", `${state.running_sequences ?? 0} of ${state.parallel_sequences ?? 0}`],
    ["KV cache in use", capacity ? `${compact(used)} of ${compact(capacity)} (${((100 * used) / capacity).toFixed(1)}%)` : "—"],
    ["Prefix cache hit rate", prompt ? `${hitRate.toFixed(1)}%` : "—"],
    ["Cached prefixes", String(state.cached_prefixes ?? 0)],
    ["Tokens / s", (state.tokens_per_second ?? 0).toFixed(1)],
    ["Generated tokens", compact(state.generated_tokens_total || 0)],
    ["Overload refusals", String(state.rejected_total ?? 0)],
  ];
  const list = document.createElement("dl");
  for (const [term, value] of facts) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }
  const meter = document.createElement("meter");
  meter.min = 0;
  meter.max = capacity || 1;
  meter.value = used;
  meter.setAttribute("aria-label", `${name}: KV cache in use`);
  card.append(heading, list, meter);
  return card;
}

/** Reads the state once and draws it into `nodes`. */
export async function showEngine(nodes) {
  const state = await call("GET", "/admin/v1/engine");
  const names = Object.keys(state.backends).sort();
  if (names.length) {
    nodes.backends.replaceChildren(...names.map((name) => backendCard(name, state.backends[name])));
  } else {
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent = "No backend here reports an engine (only the embedded model does).";
    nodes.backends.replaceChildren(note);
  }
  fillRows(nodes.statuses, state.requests, ["model", "api", "status"], "No requests yet.");
  fillRows(nodes.refusals, state.rate_limited, ["model", "api", "reason"], "No request was refused by a rate limit.");
  nodes.updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshed every ${REFRESH_MS / 1000} s.`;
}
