"""Anthropic's web search tool (`web_search_20250305`) served by openscope on the embedded
model, through the official anthropic SDK: a local index over a small corpus, a tool choice
forcing the search, and the blocks and usage an Anthropic client reads."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from tests.e2e.conftest import ALIAS, CONFIG, MODEL, anthropic_sdk, serving

pytestmark = pytest.mark.e2e

LIGHTHOUSE = (
    "# The Bell Rock Lighthouse\n\nThe Bell Rock Lighthouse, off the coast of Angus in "
    "Scotland, is the world's oldest surviving sea-washed lighthouse. It was built between "
    "1807 and 1810 by Robert Stevenson.\n"
)
TEA = "# Green tea\n\nGreen tea is made from leaves that have not been oxidised.\n"
URLS = {"https://example.org/bell-rock", "https://example.org/tea"}
ASK: dict[str, Any] = {
    "model": ALIAS,
    "max_tokens": 160,
    "messages": [{"role": "user", "content": "Who built the Bell Rock Lighthouse?"}],
    "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}],
    "tool_choice": {"type": "tool", "name": "web_search"},
    # greedy: the same query every run (this SDK takes temperature only as an extra)
    "extra_body": {"temperature": 0},
}


@pytest.fixture(scope="module")
def claude(tmp_path_factory: pytest.TempPathFactory) -> Iterator[anthropic.Anthropic]:
    workdir = tmp_path_factory.mktemp("anthropic-web-search")
    corpus = workdir / "corpus"
    corpus.mkdir()
    (corpus / "lighthouse.md").write_text(
        f"---\nurl: https://example.org/bell-rock\n---\n{LIGHTHOUSE}"
    )
    (corpus / "tea.md").write_text(f"---\nurl: https://example.org/tea\n---\n{TEA}")
    config = CONFIG + f'\n[tools.web_search]\nprovider = "local"\nsource = "{corpus}"\n'
    with serving(workdir, config=config, alias=f"{ALIAS}={MODEL}") as server:
        yield anthropic_sdk(server)


def assert_searched(content: list[Any]) -> None:
    """The answer opens with the forced search: its call, then its result, paired."""
    call, result = content[0], content[1]
    assert call.type == "server_tool_use"
    assert call.id.startswith("srvtoolu_") and call.name == "web_search"
    assert isinstance(call.input, dict) and isinstance(call.input.get("query"), str)
    assert result.type == "web_search_tool_result" and result.tool_use_id == call.id
    # What the small model's query finds varies; what a result looks like does not.
    assert isinstance(result.content, list)
    for found in result.content:
        assert found.type == "web_search_result" and found.url in URLS
        assert found.title
        assert base64.b64decode(found.encrypted_content).decode()  # what the model read
    calls = [b for b in content if b.type == "server_tool_use"]
    results = [b for b in content if b.type == "web_search_tool_result"]
    assert [r.tool_use_id for r in results] == [c.id for c in calls]
    assert len(calls) <= 3  # max_uses 2, and a refused third at most per round


def searches_run(content: list[Any]) -> int:
    return sum(
        1 for b in content if b.type == "web_search_tool_result" and isinstance(b.content, list)
    )


def test_create_searches_and_counts_the_searches(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(**ASK)
    assert_searched(message.content)
    assert message.stop_reason in ("end_turn", "max_tokens")
    usage = message.usage
    assert usage.server_tool_use is not None
    assert usage.server_tool_use.web_search_requests == searches_run(message.content) >= 1
    # Two model turns at least: the second read the first's prompt plus the results.
    assert usage.input_tokens > 300


def test_stream_accumulates_the_same_blocks(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(**ASK) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    starts = [e for e in events if e.type == "content_block_start"]
    assert starts[0].content_block.type == "server_tool_use"
    assert starts[0].content_block.input == {}  # the query streams as input_json_delta
    assert starts[1].content_block.type == "web_search_tool_result"
    assert_searched(final.content)
    assert final.usage.server_tool_use is not None
    assert final.usage.server_tool_use.web_search_requests == searches_run(final.content)
    # the query the SDK accumulated is the deltas streamed for the call's block
    streamed = "".join(
        e.delta.partial_json  # type: ignore[union-attr]
        for e in events
        if e.type == "content_block_delta" and e.index == 0
    )
    assert json.loads(streamed) == final.content[0].input  # type: ignore[union-attr]
    # the result came whole in its block's start, as the SDK keeps it
    assert starts[1].content_block.to_dict() == final.content[1].to_dict()


def test_a_bad_tool_is_refused_as_anthropic_refuses_it(claude: anthropic.Anthropic) -> None:
    tool = {"type": "web_search_20250305", "name": "web_search"}
    tool |= {"allowed_domains": ["example.org"], "blocked_domains": ["example.com"]}
    with pytest.raises(anthropic.BadRequestError) as refused:
        claude.messages.create(**(ASK | {"tools": [tool]}))
    assert "allowed_domains and blocked_domains cannot be used together" in str(refused.value)
