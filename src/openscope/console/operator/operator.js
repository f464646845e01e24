// The operator view: wires the page's forms and tables to the admin API. Every failure is
// shown in the one alert box, with the status in words (a wrong admin key is a 401).

import { ApiError, forgetKey, saveKey, savedKey } from "./api.js";
import { REFRESH_MS, showEngine } from "./engine.js";
import {
  createKey,
  createWorkspace,
  drawChoices,
  drawKeys,
  drawWorkspaces,
  readKeys,
  readWorkspaces,
  revokeKey,
  setLimits,
} from "./keys.js";
import { showUsage } from "./usage.js";

const THEME = "openscope.theme"; // a preference, not a secret: localStorage is fine
const $ = (id) => document.getElementById(id);

const state = { keys: [], timer: null };

function showError(error) {
  const box = $("error");
  const text = error instanceof ApiError ? error.explain() : `Something went wrong: ${error.message || error}`;
  const strong = document.createElement("strong");
  strong.textContent = "Error. ";
  box.replaceChildren(strong, document.createTextNode(text));
  box.hidden = false;
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    stopEngine();
    // a refused key is not kept: a reload would only be refused again
    forgetKey();
    $("admin").hidden = true;
    $("key-status").textContent = "The admin key was not accepted; enter another.";
  }
}

function clearError() {
  $("error").hidden = true;
  $("error").replaceChildren();
}

/** Runs `action`, showing its failure; `button` is disabled meanwhile. A `quiet` action
 * (the engine's polling) leaves an earlier failure on screen when it succeeds. */
async function guarded(action, button, { quiet = false } = {}) {
  if (button) button.disabled = true;
  try {
    const result = await action();
    if (!quiet) clearError();
    return result;
  } catch (error) {
    showError(error);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

async function refreshAccounts() {
  const [workspaces, keys] = await Promise.all([readWorkspaces(), readKeys()]);
  state.keys = keys;
  drawWorkspaces($("workspaces"), workspaces);
  drawKeys($("keys"), keys, (key) => guarded(async () => {
    await revokeKey(key.id);
    $("key-status").textContent = `Key ${key.name} revoked.`;
    await refreshAccounts();
  }));
  drawChoices($("key-workspace"), $("limits-owner"), workspaces, keys);
}

async function refreshUsage() {
  const names = new Map(state.keys.map((k) => [k.id, k.name]));
  await showUsage($("usage-form"), names, {
    tokens: $("chart-tokens"),
    requests: $("chart-requests"),
    summary: $("usage-summary"),
  });
}

const engineNodes = () => ({
  backends: $("engine-backends"),
  statuses: $("requests-status"),
  refusals: $("rate-limited"),
  updated: $("engine-updated"),
});

function stopEngine() {
  if (state.timer !== null) clearInterval(state.timer);
  state.timer = null;
}

function startEngine() {
  stopEngine();
  state.timer = setInterval(() => {
    if (document.visibilityState === "visible") guarded(() => showEngine(engineNodes()), undefined, { quiet: true });
  }, REFRESH_MS);
}

async function openAdmin() {
  const ok = await guarded(async () => {
    await refreshAccounts(); // first: a wrong key is refused here, once
    await Promise.all([showEngine(engineNodes()), refreshUsage()]);
    return true;
  });
  $("admin").hidden = !ok;
  if (ok) {
    $("key-status").textContent = "Admin key accepted.";
    startEngine();
  }
}

function showSecret(created) {
  $("secret-value").value = created.value;
  $("secret-copied").textContent = "";
  $("secret").hidden = false;
  $("secret").focus();
}

function hideSecret() {
  $("secret-value").value = "";
  $("secret").hidden = true;
}

async function copySecret() {
  const input = $("secret-value");
  try {
    await navigator.clipboard.writeText(input.value);
    $("secret-copied").textContent = "Copied to the clipboard.";
  } catch {
    input.select(); // no clipboard permission: leave it selected for Ctrl+C
    $("secret-copied").textContent = "Select the key and copy it (Ctrl+C).";
  }
}

function applyTheme(theme) {
  const dark = theme === "dark" || (theme !== "light" && matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  $("theme").setAttribute("aria-pressed", String(dark));
}

function wire() {
  applyTheme(localStorage.getItem(THEME));
  $("theme").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    localStorage.setItem(THEME, next);
    applyTheme(next);
  });

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("admin-key").value.trim();
    if (!key) return;
    saveKey(key);
    $("admin-key").value = "";
    openAdmin();
  });
  $("forget-key").addEventListener("click", () => {
    forgetKey();
    stopEngine();
    hideSecret();
    $("admin").hidden = true;
    clearError();
    $("key-status").textContent = "Admin key forgotten.";
  });

  $("key-create").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    guarded(async () => {
      const created = await createKey(form);
      form.reset();
      showSecret(created);
      await refreshAccounts();
    }, event.submitter);
  });
  $("secret-copy").addEventListener("click", copySecret);
  $("secret-done").addEventListener("click", () => {
    hideSecret();
    $("key-create").elements.name.focus();
  });

  $("ws-create").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    guarded(async () => {
      const created = await createWorkspace(form);
      form.reset();
      $("key-status").textContent = `Workspace ${created.id} created.`;
      await refreshAccounts();
    }, event.submitter);
  });

  $("limits").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const operation = event.submitter?.value === "DELETE" ? "DELETE" : "OVERLAY";
    guarded(async () => {
      await setLimits(form, operation);
      $("key-status").textContent = operation === "DELETE" ? "Limits removed." : "Limits set.";
      await refreshAccounts();
    }, event.submitter);
  });

  $("usage-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(refreshUsage, event.submitter);
  });
  for (const name of ["period", "group"]) {
    $("usage-form").elements[name].addEventListener("change", () => {
      $("usage-form").elements.which.value = "";
      guarded(refreshUsage);
    });
  }
  $("usage-form").elements.which.addEventListener("change", () => guarded(refreshUsage));

  if (savedKey()) openAdmin();
}

wire();
