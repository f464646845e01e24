// The playground: wires the form, the key, the model list and the transcript to the three
// protocol modules. The key lives in this tab's sessionStorage only and travels in request
// headers only: never in a URL, never in the persistent local storage.
import * as anthropic from "./anthropic.js";
import * as chat from "./chat.js";
import { apply, assistantTurn } from "./conversation.js";
import { assistantItem, toolResultItem, userItem } from "./render.js";
import * as responses from "./responses.js";
import { curlSnippet, sdkSnippet } from "./snippets.js";
import { readEvents } from "./sse.js";
import {
  conversationTurns,
  createConversation,
  knownConversations,
  rememberConversation,
  responseTurns,
} from "./stored.js";
import { initTheme } from "./theme.js";

const PROTOCOLS = { chat, responses, anthropic };
const KEY_ITEM = "openscope.apiKey";
// Set when the key came from the server (the one `openscope serve` generated for this
// run), or when the user forgot that key: then it is not taken again in this tab.
const LOCAL_KEY_ITEM = "openscope.localKey";
const $ = (id) => document.getElementById(id);

const state = {
  history: [], // the conversation (see conversation.js)
  abort: null, // the running turn's AbortController
  // The server-side state Responses turns continue: {conversation, from} or
  // {previousResponseId, from}; `from` is the first turn the server has not seen.
  link: null,
};

function apiKey() {
  return sessionStorage.getItem(KEY_ITEM) ?? "";
}

function showKeyState() {
  const key = apiKey();
  const fromServer = key && sessionStorage.getItem(LOCAL_KEY_ITEM) === "used";
  $("key-state").textContent = !key
    ? "No key set."
    : fromServer
      ? `Using the key this server generated for this run (…${key.slice(-4)}).`
      : `A key is set (…${key.slice(-4)}).`;
  $("forget-key").hidden = !key;
}

// A server started with no key configured hands the key it generated to this page, in a
// browser on its own machine only (the server checks; see console/local_key.py), so the
// playground works without copying the key from the terminal. While the tab uses that key
// it is asked for again on each load: a restarted server has generated a new one. Any other
// answer (the route is absent when keys are configured, or refused) leaves the key as it is.
async function adoptLocalKey() {
  const source = sessionStorage.getItem(LOCAL_KEY_ITEM);
  if (source === "forgotten" || source === "replaced") return;
  if (apiKey() && source !== "used") return; // a key the user typed
  try {
    const response = await fetch("/console/local-key", {
      method: "POST",
      cache: "no-store",
      credentials: "omit",
    });
    if (!response.ok) return;
    const { key } = await response.json();
    if (typeof key !== "string" || !key) return;
    // the user may have typed a key while this was asked
    if (apiKey() && sessionStorage.getItem(LOCAL_KEY_ITEM) !== "used") return;
    sessionStorage.setItem(KEY_ITEM, key);
    sessionStorage.setItem(LOCAL_KEY_ITEM, "used");
  } catch {
    // no key to adopt: the user enters one
  }
}

function showError(message) {
  const banner = $("error");
  banner.hidden = !message;
  banner.textContent = message ?? "";
}

function currentApi() {
  return document.querySelector('input[name="api"]:checked').value;
}

function numberOrNull(id) {
  const raw = $(id).value.trim();
  if (raw === "") return null;
  const value = Number(raw);
  return Number.isFinite(value) ? value : null;
}

// A JSON box's value, or throws with a message naming the box.
function jsonBox(id, errorId, check) {
  const raw = $(id).value.trim();
  $(errorId).textContent = "";
  $(id).removeAttribute("aria-invalid");
  if (!raw) return null;
  try {
    const value = JSON.parse(raw);
    check(value);
    return value;
  } catch (error) {
    $(errorId).textContent = error.message;
    $(id).setAttribute("aria-invalid", "true");
    throw new Error(`${$(id).labels[0].textContent}: ${error.message}`);
  }
}

function functionTools() {
  const value = jsonBox("tools", "tools-error", (v) => {
    if (!Array.isArray(v)) throw new Error("must be a JSON array");
    for (const t of v) {
      if (!t || typeof t.name !== "string") throw new Error("every tool needs a name");
    }
  });
  // {type: "function", function: {...}} (Chat's shape) is accepted too.
  return (value ?? []).map((t) => (t.function ? t.function : t)).map(({ type, ...rest }) => rest);
}

function requestOptions() {
  return {
    model: $("model").value,
    system: $("system").value.trim(),
    temperature: numberOrNull("temperature"),
    topP: numberOrNull("top-p"),
    maxTokens: numberOrNull("max-tokens"),
    thinking: $("thinking").value,
    thinkingBudget: numberOrNull("thinking-budget") ?? 512,
    builtins: [...document.querySelectorAll('input[name="builtin"]:checked')].map((b) => b.value),
    vectorStores: $("vector-stores").value.split(",").map((s) => s.trim()).filter(Boolean),
    tools: functionTools(),
    schema: jsonBox("schema", "schema-error", (v) => {
      if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("must be a JSON object");
    }),
  };
}

function placeholderOption(text) {
  const option = document.createElement("option");
  option.value = "";
  option.textContent = text;
  $("model").replaceChildren(option);
}

// The list needs a key: it is loaded once one is set.
async function loadModels() {
  const select = $("model");
  const previous = select.value;
  if (!apiKey()) {
    placeholderOption("Enter an API key to list the models");
    return;
  }
  try {
    const response = await fetch("/compatible-mode/v1/models", { headers: keyHeaders() });
    if (!response.ok) {
      placeholderOption("No models: see the error above");
      throw new Error(`${response.status}: ${await errorMessage(response, chat)}`);
    }
    const { data } = await response.json();
    select.replaceChildren(
      ...data.map((m) => {
        const option = document.createElement("option");
        option.value = m.id;
        option.textContent = m.id;
        return option;
      }),
    );
    if (data.some((m) => m.id === previous)) select.value = previous;
  } catch (error) {
    showError(`Could not load the models: ${error.message}`);
  }
}

function keyHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

const transcript = () => $("transcript");

// The whole conversation, as opened from stored state; a function call already answered
// gets no result form.
function renderHistory() {
  const answered = new Set(state.history.filter((t) => t.role === "tool").map((t) => t.callId));
  const open = (turn) => [...turn.calls.values()].some((c) => c.type === "function" && !answered.has(c.id));
  transcript().replaceChildren(
    ...state.history.map((turn) => {
      if (turn.role === "user") return userItem(turn);
      if (turn.role === "tool") return toolResultItem(turn);
      return assistantItem(turn, open(turn) ? sendToolResult : null).element;
    }),
  );
}

function appendTurn(turn) {
  state.history.push(turn);
  if (turn.role === "user") transcript().append(userItem(turn));
  else if (turn.role === "tool") transcript().append(toolResultItem(turn));
}

// Sends the conversation over the chosen API and streams the answer into a new turn.
async function run() {
  const api = currentApi();
  const protocol = PROTOCOLS[api];
  const options = requestOptions();
  const refusal = protocol.unsupported(options);
  if (refusal) throw new Error(refusal);
  // A Responses turn lives in a server-side conversation, so it can be reopened later.
  if (api === "responses" && !state.link) {
    const id = await createConversation(keyHeaders(), responses.errorOf);
    rememberConversation(id, state.history.find((t) => t.role === "user")?.text);
    state.link = { conversation: id, from: 0 };
    showLink();
  }
  const link = api === "responses" ? state.link : null;
  const body = protocol.body(state.history, options, link);
  const turn = assistantTurn(api);
  turn.model = options.model;
  const view = assistantItem(turn, sendToolResult);
  transcript().append(view.element);
  state.history.push(turn);

  const controller = new AbortController();
  state.abort = controller;
  setBusy(true);
  let pending = false;
  const refresh = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      view.update();
    });
  };
  try {
    const response = await fetch(protocol.path, {
      method: "POST",
      headers: protocol.headers(apiKey()),
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!response.ok) {
      const message = await errorMessage(response, protocol);
      apply(turn, { kind: "error", status: response.status, message });
      showError(`${response.status} ${response.statusText || ""}: ${message}`.replace(" :", ":"));
      if (response.status === 401) $("api-key").focus();
    } else {
      const decoder = protocol.decoder();
      for await (const record of readEvents(response.body, controller.signal)) {
        for (const update of decoder.feed(record)) apply(turn, update);
        refresh();
      }
      if (turn.error) showError(turn.error.message);
      else if (link && !controller.signal.aborted) advance(link, turn);
    }
    turn.state = controller.signal.aborted ? "stopped" : "done";
  } catch (error) {
    if (controller.signal.aborted) turn.state = "stopped";
    else {
      turn.state = "done";
      apply(turn, { kind: "error", message: error.message });
      showError(error.message);
    }
  } finally {
    state.abort = null;
    setBusy(false);
    view.update();
  }
}

// After a Responses turn the server holds every turn so far.
function advance(link, turn) {
  link.from = state.history.length;
  if (link.previousResponseId && turn.responseId) link.previousResponseId = turn.responseId;
  if (link.conversation) rememberConversation(link.conversation);
  showLink();
}

function showLink() {
  const link = state.link;
  $("link-state").textContent = !link
    ? "New conversation: the first Responses turn stores it on the server."
    : link.conversation
      ? `Responses turns continue conversation ${link.conversation}.`
      : `Responses turns continue from response ${link.previousResponseId}.`;
  const list = knownConversations();
  $("no-conversations").hidden = list.length > 0;
  $("known-conversations").replaceChildren(
    ...list.map(({ id, title }) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "ghost";
      button.textContent = title ? `${title} (${id})` : id;
      button.setAttribute("aria-label", `Open conversation ${id}${title ? `: ${title}` : ""}`);
      if (link?.conversation === id) button.setAttribute("aria-current", "true");
      button.addEventListener("click", () => openStored(() => openConversation(id)));
      const item = document.createElement("li");
      item.append(button);
      return item;
    }),
  );
}

async function openConversation(id) {
  try {
    state.history = await conversationTurns(id, keyHeaders(), responses.errorOf);
  } catch (error) {
    throw new Error(`Could not open conversation ${id}: ${error.message}`);
  }
  state.link = { conversation: id, from: state.history.length };
  rememberConversation(id);
}

async function openResponse(id) {
  try {
    state.history = await responseTurns(id, keyHeaders(), responses.errorOf);
  } catch (error) {
    throw new Error(`Could not open response ${id}: ${error.message}`);
  }
  state.link = { previousResponseId: id, from: state.history.length };
}

// Replaces the page's conversation with stored state; the next turn continues it over
// Responses. A failure (a wrong id: 404) leaves the current conversation as it was.
async function openStored(load) {
  if (state.abort) return;
  showError(null);
  if (!apiKey()) {
    showError("Enter an API key first.");
    $("api-key").focus();
    return;
  }
  try {
    await load();
  } catch (error) {
    showError(error.message);
    return;
  }
  document.querySelector('input[name="api"][value="responses"]').checked = true;
  renderHistory();
  showLink();
  updateCode();
  $("prompt").focus();
}

async function errorMessage(response, protocol) {
  const text = await response.text();
  try {
    return protocol.errorOf(JSON.parse(text));
  } catch {
    return text || response.statusText;
  }
}

function setBusy(busy) {
  $("send").disabled = busy;
  $("stop").disabled = !busy;
  document.body.dataset.busy = String(busy);
}

async function send(event) {
  event.preventDefault();
  if (state.abort) return;
  const text = $("prompt").value.trim();
  if (!text) return;
  showError(null);
  if (!apiKey()) {
    showError("Enter an API key first.");
    $("api-key").focus();
    return;
  }
  try {
    // A broken JSON box or a tool this API lacks is refused before the message joins the
    // conversation.
    const refusal = PROTOCOLS[currentApi()].unsupported(requestOptions());
    if (refusal) throw new Error(refusal);
  } catch (error) {
    showError(error.message);
    return;
  }
  appendTurn({ role: "user", text });
  $("prompt").value = "";
  await guarded(run);
}

async function sendToolResult(call, output) {
  if (state.abort) return;
  showError(null);
  appendTurn({ role: "tool", callId: call.id, name: call.name, output });
  await guarded(run);
}

async function guarded(step) {
  try {
    await step();
  } catch (error) {
    showError(error.message);
  }
  updateCode();
}

function codeBody() {
  const api = currentApi();
  const protocol = PROTOCOLS[api];
  const text = $("prompt").value.trim();
  const history = text ? [...state.history, { role: "user", text }] : state.history;
  const link = api === "responses" ? state.link : null;
  return { api, protocol, body: protocol.body(history, requestOptions(), link) };
}

function updateCode() {
  if ($("code-panel").hidden) return;
  try {
    const { api, protocol, body } = codeBody();
    const origin = window.location.origin;
    $("code-sdk").firstElementChild.textContent = sdkSnippet(api, protocol, body, origin);
    $("code-curl").firstElementChild.textContent = curlSnippet(api, protocol, body, origin);
  } catch (error) {
    $("code-sdk").firstElementChild.textContent = `# ${error.message}`;
    $("code-curl").firstElementChild.textContent = `# ${error.message}`;
  }
}

function selectTab(tab) {
  for (const other of document.querySelectorAll('[role="tab"]')) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !selected;
  }
  tab.focus();
}

function wire() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    if (key) {
      sessionStorage.setItem(KEY_ITEM, key);
      if (sessionStorage.getItem(LOCAL_KEY_ITEM) === "used") sessionStorage.setItem(LOCAL_KEY_ITEM, "replaced");
    }
    $("api-key").value = "";
    showError(null);
    showKeyState();
    loadModels();
    $("prompt").focus();
  });
  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_ITEM);
    // forgotten on purpose: a reload must not take the server's key again
    if (sessionStorage.getItem(LOCAL_KEY_ITEM)) sessionStorage.setItem(LOCAL_KEY_ITEM, "forgotten");
    showKeyState();
    loadModels();
    $("api-key").focus();
  });
  $("reload-models").addEventListener("click", loadModels);
  $("send-form").addEventListener("submit", send);
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("send-form").requestSubmit();
  });
  $("stop").addEventListener("click", () => state.abort?.abort());
  $("clear").addEventListener("click", () => {
    state.abort?.abort();
    state.history = [];
    state.link = null;
    showLink();
    transcript().replaceChildren();
    showError(null);
    updateCode();
    $("prompt").focus();
  });
  $("response-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("response-id").value.trim();
    if (id) openStored(() => openResponse(id));
  });
  $("show-code").addEventListener("click", () => {
    const panel = $("code-panel");
    panel.hidden = !panel.hidden;
    $("show-code").setAttribute("aria-expanded", String(!panel.hidden));
    $("show-code").textContent = panel.hidden ? "Show code" : "Hide code";
    updateCode();
  });
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) selectTab(tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length]);
    });
  }
  // The code follows every change of the request.
  for (const control of document.querySelectorAll(".settings input, .settings select, .settings textarea, #prompt")) {
    control.addEventListener("input", updateCode);
  }
}

initTheme($("theme-toggle"));
wire();
showKeyState();
showLink();
adoptLocalKey().then(() => {
  showKeyState();
  loadModels();
});
