// Keys and workspaces through the admin API: lists, creation (a key's secret is shown once),
// revocation, and per-model limits (Model Studio's `POST /models/limits` shape).

import { call } from "./api.js";

function cell(content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content);
  else td.textContent = content ?? "";
  return td;
}

function code(text) {
  const element = document.createElement("code");
  element.textContent = text;
  return element;
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "never";
}

/** "model: 60 rpm, 1000 tpm; ..." from a `limits` table of keys or workspaces. */
export function limitsText(limits) {
  const parts = Object.entries(limits || {}).map(([model, rates]) => {
    const named = Object.entries(rates)
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([name, value]) => `${value} ${name}`);
    return `${model}: ${named.join(", ") || "none"}`;
  });
  return parts.join("; ") || "default";
}

function option(value, text) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = text;
  return element;
}

export async function readKeys() {
  const keys = [];
  let after;
  for (let n = 0; n < 50; n += 1) {
    const page = await call("GET", "/admin/v1/keys", { query: { limit: 100, after } });
    keys.push(...page.data);
    if (!page.has_more) break;
    after = page.last_id;
  }
  return keys;
}

export async function readWorkspaces() {
  return (await call("GET", "/admin/v1/workspaces")).data;
}

/**
 * Draws the keys table; `onRevoke(key)` is called after the operator confirmed. Revoking
 * asks twice, inline (no browser dialog): the first press turns into "Confirm" and "Cancel".
 */
export function drawKeys(table, keys, onRevoke) {
  const rows = keys.map((key) => {
    const tr = document.createElement("tr");
    tr.dataset.keyId = key.id;
    if (key.revoked_at) tr.className = "revoked";
    const actions = document.createElement("td");
    if (!key.revoked_at) {
      const revoke = document.createElement("button");
      revoke.type = "button";
      revoke.className = "danger";
      revoke.textContent = "Revoke";
      revoke.setAttribute("aria-label", `Revoke key ${key.name}`);
      revoke.addEventListener("click", () => {
        const confirm = document.createElement("button");
        confirm.type = "button";
        confirm.className = "danger";
        confirm.textContent = "Confirm revoke";
        confirm.setAttribute("aria-label", `Confirm: revoke key ${key.name} for good`);
        const cancel = document.createElement("button");
        cancel.type = "button";
        cancel.className = "plain";
        cancel.textContent = "Cancel";
        confirm.addEventListener("click", () => onRevoke(key));
        cancel.addEventListener("click", () => {
          actions.replaceChildren(revoke);
          revoke.focus();
        });
        actions.replaceChildren(confirm, cancel);
        confirm.focus();
      });
      actions.append(revoke);
    }
    const state = key.revoked_at
      ? `revoked ${when(key.revoked_at)}`
      : key.expires_at && key.expires_at * 1000 < Date.now()
        ? "expired"
        : "active";
    tr.append(
      cell(key.name),
      cell(code(key.id)),
      cell(key.workspace_id),
      cell(code(key.redacted_value)),
      cell(when(key.last_used_at)),
      cell(limitsText(key.limits)),
      cell(state),
      actions,
    );
    return tr;
  });
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell("No keys created here yet (keys from the settings file are not listed).");
    td.colSpan = 8;
    tr.append(td);
    rows.push(tr);
  }
  table.tBodies[0].replaceChildren(...rows);
}

export function drawWorkspaces(table, workspaces) {
  table.tBodies[0].replaceChildren(
    ...workspaces.map((ws) => {
      const tr = document.createElement("tr");
      tr.append(
        cell(code(ws.id)),
        cell(ws.name),
        cell(ws.models === null ? "every model" : ws.models.join(", ") || "none"),
        cell(limitsText(ws.limits)),
        cell(when(ws.created_at)),
      );
      return tr;
    }),
  );
}

/** The workspace choices of the key form and the owners of the limits form. */
export function drawChoices(workspaceSelect, ownerSelect, workspaces, keys) {
  const chosenWorkspace = workspaceSelect.value;
  const choices = workspaces.map((ws) => option(ws.id, `${ws.name} (${ws.id})`));
  if (!workspaces.some((ws) => ws.id === "default")) choices.unshift(option("default", "default"));
  workspaceSelect.replaceChildren(...choices);
  if (workspaces.some((ws) => ws.id === chosenWorkspace)) workspaceSelect.value = chosenWorkspace;

  const chosenOwner = ownerSelect.value;
  const keyGroup = document.createElement("optgroup");
  keyGroup.label = "Keys";
  keyGroup.append(...keys.filter((k) => !k.revoked_at).map((k) => option(`key:${k.id}`, `${k.name} (${k.id})`)));
  const wsGroup = document.createElement("optgroup");
  wsGroup.label = "Workspaces";
  // the default workspace has the account-level limits of the settings file
  wsGroup.append(...workspaces.filter((ws) => ws.id !== "default").map((ws) => option(`workspace:${ws.id}`, ws.name)));
  ownerSelect.replaceChildren(keyGroup, wsGroup);
  if ([...ownerSelect.options].some((o) => o.value === chosenOwner)) ownerSelect.value = chosenOwner;
}

function modelsList(text) {
  const models = text.split(",").map((m) => m.trim()).filter(Boolean);
  return models.length ? models : undefined;
}

export async function createKey(form) {
  const body = { name: form.elements.name.value.trim(), workspace_id: form.elements.workspace_id.value };
  const models = modelsList(form.elements.models.value);
  if (models) body.models = models;
  return call("POST", "/admin/v1/keys", { body });
}

export async function revokeKey(id) {
  return call("DELETE", `/admin/v1/keys/${encodeURIComponent(id)}`);
}

export async function createWorkspace(form) {
  const body = { id: form.elements.id.value.trim() };
  const name = form.elements.name.value.trim();
  if (name) body.name = name;
  return call("POST", "/admin/v1/workspaces", { body });
}

/** Sets (OVERLAY) or removes (DELETE) one model's RPM and TPM for a key or a workspace. */
export async function setLimits(form, operation) {
  const [kind, id] = form.elements.owner.value.split(/:(.*)/s);
  const entry = { model: form.elements.model.value.trim(), operation_type: operation };
  if (operation === "OVERLAY") {
    const rpm = form.elements.rpm.value;
    const tpm = form.elements.tpm.value;
    if (rpm) entry.request_limit = Number(rpm);
    if (tpm) entry.usage_limit = Number(tpm);
  }
  const body = { models: [entry] };
  body[kind === "key" ? "key_id" : "workspace_id"] = id;
  return call("POST", "/admin/v1/models/limits", { body });
}
