"""The console's playground in a real browser: Debian's chromium driven by Playwright against
a real `openscope serve`. Most checks use the scripted backend (deterministic echo, paced so
a stream is seen growing); one uses the embedded model.

Screenshots go to `$OPENSCOPE_SCREENSHOTS` (default: the test's tmp directory)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.e2e.conftest import CHROMIUM, MODEL, SCRIPTED, Server, serving
from tests.tools.code_interpreter.conftest import requires_bwrap

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the Python package playwright is not installed"
)
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]

Page = sync_api.Page
expect = sync_api.expect

SLOW = "scripted-slow"  # the echo paced at PACE seconds an event: a stream the eye can see
PACE = 0.04
CONFIG = f"""
[backends.embedded]
type = "llamacpp"

[backends.scripted]
type = "scripted"

[backends.slow]
type = "scripted"
delay = {PACE}

[routes]
"{MODEL}" = "embedded"
"{SCRIPTED}" = "scripted"
"{SLOW}" = "slow"
"""
# The built-in code interpreter, where its sandbox can run (.ci/run installs bubblewrap).
INTERPRETER = shutil.which("bwrap") is not None
if INTERPRETER:
    CONFIG += "\n[tools.code_interpreter]\nenabled = true\n"
TIMEOUT_MS = 30_000
WEATHER = [
    {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]
APIS = ["chat", "responses", "anthropic"]
API_LABELS = {
    "chat": "Chat Completions",
    "responses": "Responses",
    "anthropic": "Anthropic Messages",
}


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("console-e2e"), config=CONFIG) as running:
        yield running


@pytest.fixture
def page(browser: sync_api.Browser, console_server: Server) -> Iterator[Page]:
    """A fresh tab (its own session storage) on the playground, light theme, wide screen."""
    context = browser.new_context(
        base_url=console_server.root_url,
        viewport={"width": 1280, "height": 900},
        color_scheme="light",
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            # The browser logs every refused request: the 401 and 404 tests expect theirs.
            if message.type == "error" and not any(c in message.text for c in ("401", "404"))
            else None
        ),
    )
    tab.goto("/")
    yield tab
    context.close()
    assert problems == [], "the page logged errors"


def use_key(page: Page, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Use key").click()
    expect(page.locator("#key-state")).to_contain_text(f"…{key[-4:]}")


def choose(page: Page, *, model: str = SCRIPTED, api: str = "chat") -> None:
    expect(page.locator(f'#model option[value="{model}"]')).to_have_count(1)
    page.get_by_label("Model", exact=True).select_option(model)
    pick_api(page, api)


def pick_api(page: Page, api: str) -> None:
    page.get_by_label(API_LABELS[api], exact=True).check()


def send(page: Page, text: str) -> sync_api.Locator:
    """Sends `text`; returns the new assistant turn, once it has finished."""
    before = page.locator(".turn.assistant").count()
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send", exact=True).click()
    turn = page.locator(".turn.assistant").nth(before)
    expect(turn).to_have_attribute("data-state", "done")
    return turn


def send_and_see_it_stream(page: Page, words: str) -> sync_api.Locator:
    """Sends `words` to the paced echo and checks the answer was seen growing: every text
    it showed, in order, a prefix of the whole, at least three of them."""
    page.evaluate(
        """() => {
        window.seen = [];
        new MutationObserver(() => {
          const text = document.querySelector(".turn.assistant .text")?.textContent;
          if (text && text !== window.seen.at(-1)) window.seen.push(text);
        }).observe(document.getElementById("transcript"),
                   {subtree: true, childList: true, characterData: true});
      }"""
    )
    turn = send(page, words)
    expect(turn.locator(".text")).to_have_text(words)
    seen = page.evaluate("window.seen")
    assert len(seen) >= 3, f"the answer did not stream: {seen}"
    assert all(words.startswith(text) for text in seen)
    return turn


def ready(page: Page, console_server: Server, **choice: str) -> None:
    use_key(page, console_server.api_key)
    choose(page, **choice)


def test_a_message_streams_into_the_page(page: Page, console_server: Server) -> None:
    ready(page, console_server, model=SLOW)
    words = "one two three four five six seven eight"
    turn = send_and_see_it_stream(page, words)
    expect(turn.locator(".who")).to_have_text(f"{SLOW} via Chat Completions")
    expect(turn.locator(".usage")).to_contain_text("Usage: input ")
    expect(turn.locator(".usage")).to_contain_text("output 8")
    expect(page.locator("#error")).to_be_hidden()


def test_one_conversation_continues_over_each_api(page: Page, console_server: Server) -> None:
    ready(page, console_server)
    for index, api in enumerate(APIS):
        pick_api(page, api)
        turn = send(page, f"message {index} over {api}")
        expect(turn.locator(".text")).to_have_text(f"message {index} over {api}")
        expect(turn.locator(".who")).to_have_text(f"{SCRIPTED} via {API_LABELS[api]}")
        expect(turn.locator(".usage")).to_contain_text("input ")
        expect(turn.locator(".turn-error")).to_be_hidden()
    expect(page.locator(".turn.user")).to_have_count(3)
    expect(page.locator(".turn.assistant")).to_have_count(3)


@pytest.mark.parametrize("api", APIS)
def test_a_function_call_shows_as_a_card_and_its_result_continues(
    page: Page, console_server: Server, api: str
) -> None:
    ready(page, console_server, api=api)
    page.get_by_label("Function tools (JSON array)").fill(json.dumps(WEATHER))
    turn = send(page, "Paris")
    card = turn.locator(".tool-card")
    expect(card).to_have_count(1)
    expect(card.locator(".card-title")).to_have_text("Function call: get_weather")
    expect(card.locator(".card-args")).to_contain_text('"city": "Paris"')
    card.get_by_label("Function result").fill("sunny, 21 °C")
    card.get_by_role("button", name="Send result").click()
    answer = page.locator(".turn.assistant").nth(1)
    expect(answer).to_have_attribute("data-state", "done")
    expect(answer.locator(".text")).to_have_text("The tool returned: sunny, 21 °C")
    expect(page.locator(".turn.tool-result")).to_contain_text("sunny, 21 °C")


@requires_bwrap
def test_a_code_interpreter_run_shows_as_a_card(page: Page, console_server: Server) -> None:
    # The scripted model calls the offered tool with the user's text as its code, then says
    # what the tool returned.
    ready(page, console_server, api="responses")
    page.get_by_label("Code interpreter").check()
    turn = send(page, "print(123 * 456)")
    card = turn.locator(".tool-card")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-type", "code_interpreter_call")
    expect(card.locator(".card-title")).to_have_text("Code interpreter")
    expect(card.locator(".card-args")).to_have_text("print(123 * 456)")
    expect(card.locator(".card-status")).to_have_text("completed")
    expect(card.locator(".card-log")).to_have_text("56088")
    expect(turn.locator(".text")).to_have_text("The tool returned: 56088")


@pytest.mark.parametrize("api", APIS)
def test_thinking_shows_the_reasoning_folded(page: Page, console_server: Server, api: str) -> None:
    ready(page, console_server, api=api)
    page.get_by_label("Thinking", exact=True).select_option("on")
    turn = send(page, "think about it")
    reasoning = turn.locator("details.reasoning")
    expect(reasoning).to_be_visible()
    expect(reasoning).not_to_have_attribute("open", "")
    expect(reasoning.locator(".reasoning-text")).to_be_hidden()  # folded
    reasoning.locator("summary").click()
    expect(reasoning.locator(".reasoning-text")).to_have_text("The user wrote: think about it")
    expect(turn.locator(".text")).to_have_text("think about it")
    # The scripted backend counts its one reasoning delta as one token; Anthropic's usage
    # has no reasoning count.
    reasoning_tokens = "\u2013" if api == "anthropic" else "1"
    expect(turn.locator(".usage")).to_contain_text(f"reasoning {reasoning_tokens}")


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_an_output_schema_is_sent_and_a_broken_one_is_refused_in_the_page(
    page: Page, console_server: Server, api: str
) -> None:
    ready(page, console_server, api=api)
    box = page.get_by_label("Structured output schema (JSON, optional)")
    box.fill("{not json")
    page.get_by_label("Message", exact=True).fill("structured")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#schema-error")).not_to_be_empty()
    expect(page.locator("#error")).to_contain_text("Structured output schema")
    expect(page.locator(".turn")).to_have_count(0)  # nothing was sent
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    box.fill(json.dumps(schema))
    turn = send(page, "structured")
    expect(turn.locator(".turn-error")).to_be_hidden()
    page.get_by_role("button", name="Show code").click()
    expect(page.locator("#code-sdk")).to_contain_text('"answer"')


def test_a_wrong_key_shows_the_401(page: Page, console_server: Server) -> None:
    ready(page, console_server)
    use_key(page, "sk-wrong-key-0000")
    page.get_by_label("Message", exact=True).fill("hello")
    page.get_by_role("button", name="Send", exact=True).click()
    banner = page.get_by_role("alert").filter(has_text="401")
    expect(banner.first).to_be_visible()
    expect(page.locator("#error")).to_contain_text("401")
    expect(page.locator(".turn.assistant .turn-error")).to_contain_text("Error 401")
    expect(page.get_by_label("API key")).to_be_focused()  # where the fix is typed


def test_stop_ends_a_running_answer(page: Page, console_server: Server) -> None:
    ready(page, console_server, model=SLOW)
    page.get_by_label("Message", exact=True).fill(" ".join(f"w{i}" for i in range(200)))
    page.get_by_role("button", name="Send", exact=True).click()
    turn = page.locator(".turn.assistant").first
    expect(turn.locator(".text")).to_contain_text("w3")
    page.get_by_role("button", name="Stop").click()
    expect(turn).to_have_attribute("data-state", "stopped")
    assert "w199" not in turn.locator(".text").inner_text()
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_enabled()


def test_the_key_stays_in_session_storage(page: Page, console_server: Server) -> None:
    ready(page, console_server)
    send(page, "hello")
    key = console_server.api_key
    assert page.evaluate("sessionStorage.getItem('openscope.apiKey')") == key
    assert key not in page.evaluate("JSON.stringify({...localStorage})")
    assert key not in page.url
    assert page.get_by_label("API key").input_value() == ""  # not left on the screen


@pytest.mark.parametrize("api", APIS)
def test_show_code_gives_a_snippet_that_runs(
    page: Page, console_server: Server, api: str, tmp_path: Path
) -> None:
    ready(page, console_server, api=api)
    page.get_by_label("System prompt").fill("Answer briefly.")
    page.get_by_label("Temperature").fill("0.5")
    page.get_by_label("Message", exact=True).fill("snippet check")
    page.get_by_role("button", name="Show code").click()
    sdk = page.locator("#code-sdk").inner_text()
    page.get_by_role("tab", name="curl").click()
    curl = page.locator("#code-curl").inner_text()
    for code in (sdk, curl):
        assert console_server.api_key not in code
        assert "OPENSCOPE_API_KEY" in code
    env = {**os.environ, "OPENSCOPE_API_KEY": console_server.api_key}
    script = tmp_path / "snippet.py"
    script.write_text(sdk)
    ran = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "snippet check"
    ran = subprocess.run(
        ["bash", "-c", curl], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    assert "snippet" in ran.stdout and "check" in ran.stdout


def stored_texts(console_server: Server, conversation: str) -> list[str]:
    """The texts of a conversation's items on the server, oldest first."""
    client = openai.OpenAI(base_url=console_server.base_url, api_key=console_server.api_key)
    items = client.conversations.items.list(conversation, order="asc")
    return [part.text for item in items for part in getattr(item, "content", None) or []]


def open_browser_panel(page: Page) -> None:
    page.get_by_text("Stored conversations and responses").click()


def test_a_responses_conversation_reopens_after_a_reload_and_continues(
    page: Page, console_server: Server
) -> None:
    ready(page, console_server, api="responses")
    send(page, "first turn")
    send(page, "second turn")
    known = page.evaluate("JSON.parse(sessionStorage.getItem('openscope.conversations'))")
    assert [c["title"] for c in known] == ["first turn"]
    conversation = known[0]["id"]
    # The turns live in one server-side conversation, each sent once.
    assert stored_texts(console_server, conversation) == [
        "first turn",
        "first turn",
        "second turn",
        "second turn",
    ]
    page.reload()
    expect(page.locator(".turn")).to_have_count(0)
    open_browser_panel(page)
    page.get_by_role("button", name=f"Open conversation {conversation}: first turn").click()
    expect(page.locator(".turn.user .text")).to_have_text(["first turn", "second turn"])
    expect(page.locator(".turn.assistant .text")).to_have_text(["first turn", "second turn"])
    expect(page.locator("#link-state")).to_contain_text(f"continue conversation {conversation}")
    choose(page, api="responses")
    turn = send(page, "third turn")
    expect(turn.locator(".text")).to_have_text("third turn")
    # The model read all five messages (the scripted backend counts a message's words + 1).
    expect(turn.locator(".usage")).to_contain_text("input 15 ")
    assert stored_texts(console_server, conversation)[-2:] == ["third turn", "third turn"]
    assert len(page.evaluate("JSON.parse(sessionStorage.getItem('openscope.conversations'))")) == 1
    # Gone from the server: opening it says so, and the page keeps what it shows.
    client = openai.OpenAI(base_url=console_server.base_url, api_key=console_server.api_key)
    client.conversations.delete(conversation)
    page.get_by_role("button", name=f"Open conversation {conversation}: first turn").click()
    refused = f"Could not open conversation {conversation}: 404"
    expect(page.locator("#error")).to_contain_text(refused)
    expect(page.locator(".turn.user")).to_have_count(3)


def test_a_reopened_conversation_shows_its_answered_function_call(
    page: Page, console_server: Server
) -> None:
    ready(page, console_server, api="responses")
    page.get_by_label("Function tools (JSON array)").fill(json.dumps(WEATHER))
    card = send(page, "Paris").locator(".tool-card")
    card.get_by_label("Function result").fill("sunny")
    card.get_by_role("button", name="Send result").click()
    expect(page.locator(".turn.assistant").nth(1)).to_have_attribute("data-state", "done")
    conversation = page.evaluate("JSON.parse(sessionStorage.getItem('openscope.conversations'))")
    page.reload()
    open_browser_panel(page)
    page.get_by_role("button", name=f"Open conversation {conversation[0]['id']}: Paris").click()
    card = page.locator(".tool-card")
    expect(card.locator(".card-title")).to_have_text("Function call: get_weather")
    expect(card.locator(".card-args")).to_contain_text('"city": "Paris"')
    expect(page.locator(".turn.tool-result")).to_contain_text("sunny")
    expect(page.locator(".turn.assistant .text").last).to_have_text("The tool returned: sunny")
    expect(page.locator(".result-form")).to_have_count(0)  # answered: nothing to send


def test_a_stored_response_opens_by_id_and_continues(page: Page, console_server: Server) -> None:
    client = openai.OpenAI(base_url=console_server.base_url, api_key=console_server.api_key)
    stored = client.responses.create(model=SCRIPTED, input="remember me", store=True)
    use_key(page, console_server.api_key)
    open_browser_panel(page)
    missing = "resp_no_such_response"
    page.get_by_label("Stored response id").fill(missing)
    page.get_by_role("button", name="Open response").click()
    expect(page.locator("#error")).to_contain_text(f"Could not open response {missing}: 404")
    expect(page.locator(".turn")).to_have_count(0)
    page.get_by_label("Stored response id").fill(stored.id)
    page.get_by_role("button", name="Open response").click()
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator(".turn.user .text")).to_have_text(["remember me"])
    answer = page.locator(".turn.assistant")
    expect(answer.locator(".text")).to_have_text(["remember me"])
    expect(answer.locator(".who")).to_have_text([f"{SCRIPTED} via Responses"])
    expect(page.locator("#link-state")).to_contain_text(f"from response {stored.id}")
    choose(page, api="responses")
    turn = send(page, "next one")
    expect(turn.locator(".text")).to_have_text("next one")
    expect(turn.locator(".usage")).to_contain_text("input 9 ")  # 3 messages of 2 words
    # The next turn chains on from the turn just made, not from the pasted one.
    expect(page.locator("#link-state")).not_to_contain_text(stored.id)
    turn = send(page, "and more")
    expect(turn.locator(".usage")).to_contain_text("input 15 ")
    # No conversation was created for a chain of responses.
    assert page.evaluate("sessionStorage.getItem('openscope.conversations')") is None


def test_the_embedded_model_answers_in_the_page(page: Page, console_server: Server) -> None:
    ready(page, console_server, model=MODEL)
    page.get_by_label("Max tokens").fill("12")
    turn = send(page, "Say hello.")
    # the real model on a busy machine: seconds, not the default wait of 5
    expect(turn.locator(".usage")).to_contain_text("output ", timeout=TIMEOUT_MS)
    expect(turn.locator(".text")).not_to_be_empty()
    expect(turn.locator(".turn-error")).to_be_hidden()


def test_screenshots_light_dark_and_narrow(
    page: Page, console_server: Server, screenshots: Path
) -> None:
    ready(page, console_server)
    page.get_by_label("Function tools (JSON array)").fill(json.dumps(WEATHER))
    send(page, "What is the weather in Paris?")
    page.get_by_label("Function tools (JSON array)").fill("")
    page.get_by_label("Thinking", exact=True).select_option("on")
    pick_api(page, "responses")
    send(page, "Thanks! And tomorrow?")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.screenshot(path=screenshots / "playground-light.png", full_page=True)
    page.get_by_role("button", name="Dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.screenshot(path=screenshots / "playground-dark.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshots / "playground-narrow.png", full_page=True)
    # Narrow: nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for name in ("playground-light", "playground-dark", "playground-narrow"):
        assert (screenshots / f"{name}.png").stat().st_size > 10_000


def test_the_system_dark_preference_is_followed(
    browser: sync_api.Browser, console_server: Server
) -> None:
    context = browser.new_context(base_url=console_server.root_url, color_scheme="dark")
    tab = context.new_page()
    tab.goto("/")
    expect(tab.locator("html")).to_have_attribute("data-theme", "dark")
    expect(tab.get_by_role("button", name="Dark theme")).to_have_attribute("aria-pressed", "true")
    context.close()


# Records a server may send, with comments, CRLF, CR and multi-byte text; the parser must
# read the same records whatever the chunks the network cuts them into.
SSE_TEXT = (
    ': keep-alive\r\nevent: a\r\ndata: {"x": "é€"}\r\n\r\n'
    "data: line1\ndata: line2\n\n"
    "event: b\rdata:z\r\r"
    "data: [DONE]\n\n"
)
SSE_RECORDS = [
    {"event": "a", "data": '{"x": "é€"}'},
    {"event": "message", "data": "line1\nline2"},
    {"event": "b", "data": "z"},
    {"event": "message", "data": "[DONE]"},
]


def test_the_event_parser_reads_the_same_records_in_any_chunks(page: Page) -> None:
    readings = page.evaluate(
        """async (text) => {
        const { readEvents } = await import("/console/sse.js");
        const bytes = new TextEncoder().encode(text);
        const readings = new Set();
        for (let size = 1; size <= bytes.length; size++) {
          const body = new ReadableStream({ start(controller) {
            for (let i = 0; i < bytes.length; i += size) {
              controller.enqueue(bytes.slice(i, i + size));
            }
            controller.close();
          } });
          const records = [];
          for await (const record of readEvents(body)) records.push(record);
          readings.add(JSON.stringify(records));
        }
        return [...readings];
      }""",
        SSE_TEXT,
    )
    assert [json.loads(r) for r in readings] == [SSE_RECORDS]


def test_every_control_has_a_label_and_the_keyboard_sends(
    page: Page, console_server: Server
) -> None:
    ready(page, console_server)
    page.get_by_label("Function tools (JSON array)").fill(json.dumps(WEATHER))
    send(page, "label check")  # a card with its own controls is on the page too
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll("input, select, textarea, button")]
            .filter((c) => !(c.labels?.length || c.getAttribute("aria-label")
                             || (c.tagName === "BUTTON" && c.textContent.trim())))
            .map((c) => c.outerHTML)"""
    )
    assert unlabelled == []
    page.get_by_label("Function tools (JSON array)").fill("")
    prompt = page.get_by_label("Message", exact=True)
    prompt.focus()
    page.keyboard.type("sent from the keyboard")
    page.keyboard.press("Control+Enter")
    turn = page.locator(".turn.assistant").nth(1)
    expect(turn).to_have_attribute("data-state", "done")
    expect(turn.locator(".text")).to_have_text("sent from the keyboard")
