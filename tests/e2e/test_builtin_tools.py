"""Built-in web search run by openscope itself, on the embedded model: a local index over a
small corpus, the tool loop forcing the model's search, the results in its context, and
the wire items each API shows (Responses: a `web_search_call` with its sources; chat in
compatible mode: only the answer, as Model Studio's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ALIAS, CONFIG, MODEL, Server, openai_sdk, serving

LIGHTHOUSE = (
    "# The Bell Rock Lighthouse\n\nThe Bell Rock Lighthouse, off the coast of Angus in "
    "Scotland, is the world's oldest surviving sea-washed lighthouse. It was built between "
    "1807 and 1810 by Robert Stevenson.\n"
)
TEA = "# Green tea\n\nGreen tea is made from leaves that have not been oxidised.\n"


@pytest.fixture(scope="module")
def searching(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("builtin-tools")
    corpus = workdir / "corpus"
    corpus.mkdir()
    (corpus / "lighthouse.md").write_text(
        f"---\nurl: https://example.org/bell-rock\n---\n{LIGHTHOUSE}"
    )
    (corpus / "tea.md").write_text(f"---\nurl: https://example.org/tea\n---\n{TEA}")
    config = CONFIG + f'\n[tools.web_search]\nprovider = "local"\nsource = "{corpus}"\n'
    with serving(workdir, config=config, alias=f"{ALIAS}={MODEL}") as server:
        yield server


def test_responses_web_search_call_carries_the_sources(searching: Server) -> None:
    client = openai_sdk(searching)
    response = client.responses.create(
        model=ALIAS,
        input="Who built the Bell Rock Lighthouse?",
        tools=[{"type": "web_search"}],
        tool_choice="required",
        max_output_tokens=160,
        temperature=0,  # greedy: the same query every run
    )
    kinds = [item.type for item in response.output]
    assert kinds[0] == "web_search_call", kinds
    assert kinds[-1] == "message"
    call = response.output[0].model_dump()
    assert call["status"] == "completed"
    assert call["action"]["type"] == "search"
    # What the small model's query finds varies with the prefix cache's state (see the
    # enable_source test); that it searched, and what a source looks like, does not.
    urls = [source["url"] for source in call["action"]["sources"]]
    assert set(urls) <= {"https://example.org/bell-rock", "https://example.org/tea"}
    # Two model turns: the second read the first's prompt plus the results.
    assert response.usage is not None and response.usage.input_tokens > 300
    assert response.usage.model_dump()["x_tools"] == {"web_search": {"count": 1}}
    stored = client.responses.retrieve(response.id)
    assert stored.output[0].model_dump() == call


def test_responses_stream_adds_then_completes_the_call(searching: Server) -> None:
    client = openai_sdk(searching)
    with client.responses.stream(
        model=ALIAS,
        input="Who built the Bell Rock Lighthouse?",
        tools=[{"type": "web_search"}],
        tool_choice="required",
        max_output_tokens=160,
        temperature=0,
    ) as stream:
        events = list(stream)
    # the small model may talk until the limit: completed or incomplete, either way the end
    (final,) = [
        e.response for e in events if e.type in ("response.completed", "response.incomplete")
    ]
    added = [e for e in events if e.type == "response.output_item.added"]
    done = [e for e in events if e.type == "response.output_item.done"]
    assert added[0].item.type == "web_search_call"
    assert done[0].item.type == "web_search_call" and done[0].item.status == "completed"
    assert done[0].item.model_dump() == final.output[0].model_dump()
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def test_chat_forced_search_answers_with_the_results_in_context(searching: Server) -> None:
    client = openai_sdk(searching)
    completion = client.chat.completions.create(
        model=ALIAS,
        messages=[{"role": "user", "content": "Who built the Bell Rock Lighthouse?"}],
        max_tokens=160,
        extra_body={"enable_search": True, "search_options": {"forced_search": True}},
    )
    message = completion.choices[0].message
    assert message.tool_calls is None  # the search is the server's, not the client's
    # The model's first turn was its forced search; the second read the results.
    assert completion.usage is not None and completion.usage.prompt_tokens > 300
    # compatible mode, as Model Studio's: no search_info unless enable_source asks
    assert "search_info" not in completion.model_dump()


def test_a_route_without_the_tool_still_refuses_it(tmp_path: Path) -> None:
    with serving(tmp_path) as server:  # no [tools] table: nothing runs web search
        client = openai_sdk(server)
        with pytest.raises(Exception) as refused:
            client.responses.create(
                model=ALIAS, input="hi", tools=[{"type": "web_search"}], max_output_tokens=16
            )
    assert "web_search" in str(refused.value)


def test_chat_enable_source_adds_the_search_results(searching: Server) -> None:
    client = openai_sdk(searching)
    completion = client.chat.completions.create(
        model=ALIAS,
        messages=[{"role": "user", "content": "Who built the Bell Rock Lighthouse?"}],
        max_tokens=160,
        temperature=0,
        extra_body={
            "enable_search": True,
            "search_options": {"forced_search": True, "enable_source": True},
        },
    )
    # What the small model's forced query finds varies with the prefix cache's state (a
    # cached prefix shifts the logits a little, and greedy decoding follows): so the
    # results are checked for what they are, not for being there; the unit tests
    # (tests/protocols/test_builtin_tool_encoding.py) check that they are always given.
    found = completion.model_dump().get("search_info", {"search_results": []})["search_results"]
    assert {r["url"] for r in found} <= {"https://example.org/bell-rock", "https://example.org/tea"}
    assert all({"index", "title", "url", "site_name", "icon"} <= set(r) for r in found)
    assert completion.usage is not None and completion.usage.prompt_tokens > 300  # it searched
