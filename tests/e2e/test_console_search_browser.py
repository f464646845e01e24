"""The playground's search cards in a real browser (Debian's chromium driven by Playwright)
against a real `openscope serve` whose web search is the local index over a folder of pages
made here: web search over each API (its card shows the query, when the API tells it, and
the results as links), file search over a vector store made with the openai SDK (its card
shows the file, its score and a passage), and the sources the answer cites under it.

The answering model is the scripted echo backend: it calls the offered tool with the user's
text (a deterministic search) and then says what the tool returned. The browser, the tab
and the playground's steps are the playground test's; only the server differs.
Screenshots go to $OPENSCOPE_SCREENSHOTS."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import SCRIPTED, Server, openai_sdk, serving
from tests.e2e.test_console_browser import (
    APIS,
    CHROMIUM,
    page,  # noqa: F401 - a fixture, used by name
    pick_api,
    ready,
    send,
)

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the Python package playwright is not installed"
)
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]
Page = sync_api.Page
expect = sync_api.expect

BELL_ROCK = "https://example.org/bell-rock"
LIGHTHOUSE = (
    "# The Bell Rock Lighthouse\n\nThe Bell Rock Lighthouse, off the coast of Angus in "
    "Scotland, is the world's oldest surviving sea-washed lighthouse. It was built between "
    "1807 and 1810 by Robert Stevenson.\n"
)
TEA = "# Green tea\n\nGreen tea is made from leaves that have not been oxidised.\n"
SCORE = re.compile(r"^score [01]\.\d\d$")
VARNHOLM = (
    "# The Varnholm lighthouse\n\nThe Varnholm lighthouse stands on the northern cape of "
    "Ostervik island. Its lamp was first lit in 1887 by the keeper Ingrid Solberg.\n"
)


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The scripted echo, with web search over a local index of two pages."""
    workdir = tmp_path_factory.mktemp("console-search")
    pages = workdir / "pages"
    pages.mkdir()
    (pages / "bell-rock.md").write_text(f"---\nurl: {BELL_ROCK}\n---\n{LIGHTHOUSE}")
    (pages / "tea.md").write_text(f"---\nurl: https://example.org/tea\n---\n{TEA}")
    config = f"""
[backends.scripted]
type = "scripted"

[routes]
"{SCRIPTED}" = "scripted"

[tools.web_search]
provider = "local"
source = "{pages}"
"""
    with serving(workdir, config=config, alias=f"qwen-plus={SCRIPTED}") as running:
        yield running


def search_card(turn: sync_api.Locator, name: str) -> sync_api.Locator:
    """The turn's one card of that tool, found by its label, as assistive technology finds it."""
    card = turn.get_by_role("article", name=name)
    expect(card).to_have_count(1)
    return card


def expect_external_link(link: sync_api.Locator, href: str) -> None:
    expect(link).to_have_attribute("href", href)
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")


@pytest.mark.parametrize("api", APIS)
def test_web_search_shows_a_card_with_the_results_as_links(
    page: Page,  # noqa: F811 - the imported fixture
    console_server: Server,
    api: str,
) -> None:
    ready(page, console_server, api=api)
    page.get_by_label("Web search").check()
    turn = send(page, "Bell Rock Lighthouse")
    card = search_card(turn, "Web search")
    expect(card).to_have_attribute("data-type", "web_search_call")
    expect(card.locator(".card-title")).to_have_text("Web search")
    expect(card.locator(".card-status")).to_have_text("completed")
    results = card.get_by_role("list", name="Results")
    # Responses' sources carry only their URL (as Model Studio's); the others a title.
    name = BELL_ROCK if api == "responses" else "The Bell Rock Lighthouse"
    link = results.get_by_role("link", name=name)
    expect_external_link(link, BELL_ROCK)
    expect(results.get_by_role("listitem")).to_have_count(1)  # the tea page does not match
    if api == "chat":
        # Chat names no query; it numbers its results, and the answer's [1] cites this one.
        expect(card.locator(".card-query")).to_have_count(0)
        cited = turn.get_by_role("list", name="Sources cited")
        expect_external_link(cited.get_by_role("link", name="The Bell Rock Lighthouse"), BELL_ROCK)
    else:
        expect(card).to_have_accessible_name("Web search: Bell Rock Lighthouse")
        expect(card.locator(".card-query")).to_have_text("Searched for Bell Rock Lighthouse")
        expect(card.locator(".card-query q")).to_have_text("Bell Rock Lighthouse")
        expect(card.locator(".card-args")).to_be_hidden()  # the query is not shown twice
    # The keyboard reaches the card, then its link.
    page.get_by_label("Message", exact=True).focus()
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
        if card.evaluate("(node) => node === document.activeElement"):
            break
    expect(card).to_be_focused()
    page.keyboard.press("Tab")
    expect(link).to_be_focused()
    expect(turn.locator(".turn-error")).to_be_hidden()


def test_file_search_shows_a_card_with_the_files_found(
    page: Page,  # noqa: F811 - the imported fixture
    console_server: Server,
    tmp_path: Path,
    screenshots: Path,
) -> None:
    client = openai_sdk(console_server)
    notes = tmp_path / "varnholm.md"
    notes.write_text(VARNHOLM)
    store = client.vector_stores.create(name="island notes")
    with notes.open("rb") as file:
        uploaded = client.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=file, poll_interval_ms=100
        )
    assert uploaded.status == "completed"
    ready(page, console_server, api="responses")
    page.get_by_label("File search (Responses)").check()
    page.get_by_label("Vector store ids for file search").fill(store.id)
    question = "When was the Varnholm lamp first lit?"
    turn = send(page, question)
    card = search_card(turn, f"File search: {question}")
    expect(card).to_have_attribute("data-type", "file_search_call")
    expect(card.locator(".card-status")).to_have_text("completed")
    expect(card.locator(".card-query q")).to_have_text(question)
    found = card.get_by_role("list", name="Files found").get_by_role("listitem")
    expect(found).to_have_count(1)
    expect(found.locator(".hit-name")).to_have_text("varnholm.md")
    expect(found.locator(".hit-score")).to_have_text(SCORE)
    expect(found.locator(".hit-text")).to_contain_text("first lit in 1887 by the keeper")
    # The answer cites the file ([file_1]): Responses annotates it, the page lists it.
    cited = turn.get_by_role("list", name="Sources cited").get_by_role("listitem")
    expect(cited).to_have_text(["varnholm.md"])
    # A web search over Chat beside it, its answer citing its result, for the picture.
    page.get_by_label("File search (Responses)").uncheck()
    page.get_by_label("Web search").check()
    pick_api(page, "chat")
    send(page, "Bell Rock Lighthouse")
    # tall enough that the message box, which sticks to the window's bottom, covers no card
    page.set_viewport_size({"width": 1280, "height": 1600})
    page.screenshot(path=screenshots / "playground-search-cards.png", full_page=True)


# Streams the server here does not send, in each API's published shape: Anthropic's
# citations and a failed search, Responses' url_citation, and a result whose URL is no web
# page. Fed through the page's own decoders and rendered as the page renders a turn.
ANTHROPIC_EVENTS: list[dict[str, Any]] = [
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {
            "type": "server_tool_use",
            "id": "srvtoolu_1",
            "name": "web_search",
            "input": {},
        },
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "input_json_delta", "partial_json": '{"query": "tides"}'},
    },
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_1",
            "content": [
                {
                    "type": "web_search_result",
                    "title": "Tide tables",
                    "url": "https://tides.example/t",
                    "page_age": "May 1, 2025",
                },
                {"type": "web_search_result", "title": "Not a page", "url": "javascript:alert(1)"},
            ],
        },
    },
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {
            "type": "server_tool_use",
            "id": "srvtoolu_2",
            "name": "web_search",
            "input": {"query": "more tides"},
        },
    },
    {
        "type": "content_block_start",
        "index": 3,
        "content_block": {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_2",
            "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"},
        },
    },
    {"type": "content_block_start", "index": 4, "content_block": {"type": "text", "text": ""}},
    {
        "type": "content_block_delta",
        "index": 4,
        "delta": {"type": "text_delta", "text": "High tide is at noon."},
    },
    {
        "type": "content_block_delta",
        "index": 4,
        "delta": {
            "type": "citations_delta",
            "citation": {
                "type": "web_search_result_location",
                "url": "https://tides.example/t",
                "title": "Tide tables",
                "cited_text": "High water at 12:00.",
            },
        },
    },
]
RESPONSES_EVENTS: list[dict[str, Any]] = [
    {"type": "response.output_text.delta", "delta": "Noon."},
    {
        "type": "response.output_text.annotation.added",
        "annotation": {
            "type": "url_citation",
            "url": "https://tides.example/t",
            "title": "Tide tables",
            "start_index": 0,
            "end_index": 5,
        },
    },
    {
        "type": "response.output_text.annotation.added",
        "annotation": {
            "type": "url_citation",
            "url": "https://tides.example/t",
            "title": "Tide tables",
            "start_index": 0,
            "end_index": 5,
        },
    },
]
RENDER = """async ([module, events]) => {
  const protocol = await import(`/console/${module}.js`);
  const { apply, assistantTurn } = await import("/console/conversation.js");
  const { assistantItem } = await import("/console/render.js");
  const turn = assistantTurn(module);
  turn.model = "m";
  turn.state = "done";
  const decoder = protocol.decoder();
  for (const event of events) {
    const record = { event: event.type, data: JSON.stringify(event) };
    for (const update of decoder.feed(record)) apply(turn, update);
  }
  const view = assistantItem(turn, null);
  view.element.id = `rendered-${module}`;
  document.getElementById("transcript").append(view.element);
}"""


def test_anthropic_and_responses_citations_and_a_failed_search_render(
    page: Page,  # noqa: F811 - the imported fixture
) -> None:
    page.evaluate(RENDER, ["anthropic", ANTHROPIC_EVENTS])
    turn = page.locator("#rendered-anthropic")
    found = search_card(turn, "Web search: tides")
    expect_external_link(found.get_by_role("link", name="Tide tables"), "https://tides.example/t")
    expect(found.locator(".hit-site")).to_have_text(["tides.example · May 1, 2025"])
    # A URL that is no web page is shown, never made a link.
    expect(found.get_by_role("link")).to_have_count(1)
    expect(found.get_by_role("listitem").nth(1)).to_have_text("Not a page")
    failed = search_card(turn, "Web search: more tides")
    expect(failed.locator(".card-status")).to_have_text("failed")
    expect(failed.locator(".card-error")).to_have_text("The search failed: max_uses_exceeded")
    cited = turn.get_by_role("list", name="Sources cited")
    expect_external_link(cited.get_by_role("link", name="Tide tables"), "https://tides.example/t")
    expect(cited.locator(".hit-text")).to_have_text("High water at 12:00.")

    page.evaluate(RENDER, ["responses", RESPONSES_EVENTS])
    cited = page.locator("#rendered-responses").get_by_role("list", name="Sources cited")
    expect(cited.get_by_role("listitem")).to_have_count(1)  # cited twice, listed once
    expect_external_link(cited.get_by_role("link", name="Tide tables"), "https://tides.example/t")


def test_chat_asks_for_the_search_sources_and_citations(
    page: Page,  # noqa: F811 - the imported fixture
    console_server: Server,
) -> None:
    ready(page, console_server, api="chat")
    page.get_by_label("Web search").check()
    page.get_by_label("Message", exact=True).fill("anything")
    page.get_by_role("button", name="Show code").click()
    curl = page.locator("#code-curl").inner_text()
    body = json.loads(curl[curl.index("-d '") + 4 : curl.rindex("'")])
    assert body["enable_search"] is True
    assert body["search_options"] == {"enable_source": True, "enable_citation": True}
    assert "extra_body" in page.locator("#code-sdk").inner_text()
