"""Anthropic's web search through the whole app: the official SDK, the Messages routes, the
tool loop and the real web search runner over a local index, with a scripted model that
searches when it is offered the tool and then answers from what it read."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import anthropic
import pytest

from openscope.backends.scripted import ScriptedBackend
from openscope.core.events import (
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
)
from openscope.core.messages import Message, Role, ToolResultPart
from openscope.core.request import GenerateRequest, ToolChoiceMode
from tests.conftest import API_KEY, AppFactory

LIGHTHOUSE = (
    "# The Bell Rock Lighthouse\n\nThe Bell Rock Lighthouse, off the coast of Angus, was "
    "built between 1807 and 1810 by Robert Stevenson.\n"
)
TEA = "# Green tea\n\nGreen tea lighthouse leaves are not oxidised.\n"
QUESTION = [{"role": "user", "content": "Who built the Bell Rock Lighthouse?"}]
SEARCH = {"type": "web_search_20250305", "name": "web_search"}


def model(queries: Sequence[str]) -> ScriptedBackend:
    """Searches for each of `queries` in turn while web_search is offered, then answers
    with what the last search result it read says."""

    def script(request: GenerateRequest, choice: int) -> list[Event]:
        results = [m for m in request.messages if m.role is Role.TOOL]
        offered = any(t.name == "web_search" for t in request.tools)
        if offered and len(results) < len(queries):
            arguments = json.dumps({"query": queries[len(results)]})
            return [
                PartStart(0, 0, PartKind.TOOL_CALL, f"call_{len(results)}", "web_search"),
                PartDelta(0, 0, arguments),
                PartEnd(0, 0),
                ChoiceEnd(0, FinishReason.TOOL_CALLS),
            ]
        read = _result_text(results[-1]) if results else ""
        answer = f"I read: {read}" if results else "No search."
        return [
            PartStart(0, 0, PartKind.TEXT),
            PartDelta(0, 0, answer),
            PartEnd(0, 0),
            ChoiceEnd(0, FinishReason.STOP),
        ]

    return ScriptedBackend(script)


def _result_text(message: Message) -> str:
    (part,) = message.parts
    assert isinstance(part, ToolResultPart)
    return part.text


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "lighthouse.md").write_text(
        f"---\nurl: https://example.org/bell-rock\n---\n{LIGHTHOUSE}"
    )
    (folder / "tea.md").write_text(f"---\nurl: https://tea.example.com/green\n---\n{TEA}")
    return folder


def claude(
    scripted_client: AppFactory, backend: ScriptedBackend, corpus: Path
) -> anthropic.Anthropic:
    client = scripted_client(
        backend, tools={"web_search": {"provider": "local", "source": str(corpus)}}
    )
    return anthropic.Anthropic(
        base_url="http://testserver/apps/anthropic",
        api_key=API_KEY,
        http_client=client,
        max_retries=0,
    )


def create(sdk: anthropic.Anthropic, **fields: Any) -> anthropic.types.Message:
    asked: dict[str, Any] = {"messages": QUESTION, "tools": [SEARCH]} | fields
    return sdk.messages.create(model="qwen-plus", max_tokens=200, **asked)


def test_a_search_is_shown_and_its_results_read(scripted_client: AppFactory, corpus: Path) -> None:
    backend = model(["bell rock lighthouse"])
    message = create(claude(scripted_client, backend, corpus))
    call, result, text = message.content
    assert call.type == "server_tool_use"
    assert call.id.startswith("srvtoolu_") and call.name == "web_search"
    assert call.input == {"query": "bell rock lighthouse"}
    assert result.type == "web_search_tool_result" and result.tool_use_id == call.id
    assert isinstance(result.content, list)
    urls = [r.url for r in result.content]
    assert urls[0] == "https://example.org/bell-rock"
    first = result.content[0]
    assert first.title == "The Bell Rock Lighthouse"
    # the local index dates a document by its file: Anthropic's way of writing a date
    assert first.page_age is not None
    assert datetime.strptime(first.page_age, "%B %d, %Y").year >= 2024
    read = base64.b64decode(first.encrypted_content).decode()
    assert "Robert Stevenson" in read
    # what the client is given is what the model read: the answer quotes it
    assert text.type == "text" and "Robert Stevenson" in text.text
    (second, _) = backend.requests[1]
    tool_turn = next(m for m in second.messages if m.role is Role.TOOL)
    assert read in _result_text(tool_turn)
    assert message.stop_reason == "end_turn"
    assert message.usage.server_tool_use is not None
    assert message.usage.server_tool_use.web_search_requests == 1


def test_the_stream_ends_as_the_unstreamed_answer(
    scripted_client: AppFactory, corpus: Path
) -> None:
    sdk = claude(scripted_client, model(["bell rock lighthouse"]), corpus)
    with sdk.messages.stream(
        model="qwen-plus", max_tokens=200, messages=QUESTION, tools=[SEARCH]
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    starts = [e for e in events if e.type == "content_block_start"]
    assert [s.content_block.type for s in starts] == [
        "server_tool_use",
        "web_search_tool_result",
        "text",
    ]
    assert starts[0].content_block.input == {}  # the query follows as input_json_delta
    assert final.content[0].input == {"query": "bell rock lighthouse"}  # type: ignore[union-attr]
    unstreamed = create(claude(scripted_client, model(["bell rock lighthouse"]), corpus))
    strip = lambda m: [  # noqa: E731 - ids differ between the two answers
        {k: v for k, v in b.to_dict().items() if k not in ("id", "tool_use_id")} for b in m.content
    ]
    assert strip(final) == strip(unstreamed)
    assert final.usage.server_tool_use is not None
    assert final.usage.server_tool_use.web_search_requests == 1


def two_at_once(first: str, second: str) -> ScriptedBackend:
    """Calls web_search twice in its first turn, then answers with what it read last."""

    def script(request: GenerateRequest, choice: int) -> list[Event]:
        results = [m for m in request.messages if m.role is Role.TOOL]
        if not results:
            events: list[Event] = []
            for part, query in enumerate((first, second)):
                arguments = json.dumps({"query": query})
                events += [
                    PartStart(0, part, PartKind.TOOL_CALL, f"call_{part}", "web_search"),
                    PartDelta(0, part, arguments),
                    PartEnd(0, part),
                ]
            return [*events, ChoiceEnd(0, FinishReason.TOOL_CALLS)]
        answer = f"I read: {_result_text(results[-1])}"
        return [
            PartStart(0, 0, PartKind.TEXT),
            PartDelta(0, 0, answer),
            PartEnd(0, 0),
            ChoiceEnd(0, FinishReason.STOP),
        ]

    return ScriptedBackend(script)


def test_max_uses_refuses_the_calls_past_it(scripted_client: AppFactory, corpus: Path) -> None:
    backend = two_at_once("bell rock", "green tea")
    message = create(claude(scripted_client, backend, corpus), tools=[SEARCH | {"max_uses": 1}])
    kinds = [b.type for b in message.content]
    # one turn's two calls, then their two results (the loop runs a turn's calls in order)
    assert kinds == ["server_tool_use"] * 2 + ["web_search_tool_result"] * 2 + ["text"]
    results = [b for b in message.content if b.type == "web_search_tool_result"]
    assert isinstance(results[0].content, list)
    refused = results[1].content
    assert refused.type == "web_search_tool_result_error"  # type: ignore[union-attr]
    assert refused.error_code == "max_uses_exceeded"  # type: ignore[union-attr]
    assert message.usage.server_tool_use is not None
    assert message.usage.server_tool_use.web_search_requests == 1
    assert "may be used at most once" in message.content[-1].text  # type: ignore[union-attr]
    # spent, the tool is no longer offered: the model answers with what it has
    answering, _ = backend.requests[-1]
    assert "web_search" not in [tool.name for tool in answering.tools]


def test_domains_filter_the_results(scripted_client: AppFactory, corpus: Path) -> None:
    sdk = claude(scripted_client, model(["lighthouse"]), corpus)
    unfiltered = create(sdk).content[1].content
    assert {r.url for r in unfiltered} == {  # type: ignore[union-attr]
        "https://example.org/bell-rock",
        "https://tea.example.com/green",
    }
    blocked = create(
        claude(scripted_client, model(["lighthouse"]), corpus),
        tools=[SEARCH | {"blocked_domains": ["example.com"]}],
    )
    assert [r.url for r in blocked.content[1].content] == ["https://example.org/bell-rock"]  # type: ignore[union-attr]
    allowed = create(
        claude(scripted_client, model(["lighthouse"]), corpus),
        tools=[SEARCH | {"allowed_domains": ["tea.example.com"]}],
    )
    assert [r.url for r in allowed.content[1].content] == ["https://tea.example.com/green"]  # type: ignore[union-attr]


def test_a_tool_choice_naming_the_tool_forces_the_first_turn(
    scripted_client: AppFactory, corpus: Path
) -> None:
    backend = model(["bell rock"])
    located = SEARCH | {"user_location": {"type": "approximate", "city": "Arbroath"}}
    create(
        claude(scripted_client, backend, corpus),
        tools=[located],
        tool_choice={"type": "tool", "name": "web_search"},
    )
    first, second = (request for request, _ in backend.requests)
    assert first.tool_choice.mode is ToolChoiceMode.NAMED and first.tool_choice.name == "web_search"
    assert second.tool_choice.mode is ToolChoiceMode.AUTO
    (function,) = first.tools
    assert "The user is in Arbroath" in (function.description or "")


def test_the_previous_turn_handed_back_is_accepted(
    scripted_client: AppFactory, corpus: Path
) -> None:
    sdk = claude(scripted_client, model(["bell rock"]), corpus)
    first = create(sdk)
    again = create(
        sdk,
        messages=[
            *QUESTION,
            {"role": "assistant", "content": [b.to_dict() for b in first.content]},
            {"role": "user", "content": "When was it built?"},
        ],
    )
    assert again.content[-1].type == "text"


def test_a_bad_tool_is_the_sdk_s_bad_request(scripted_client: AppFactory, corpus: Path) -> None:
    sdk = claude(scripted_client, model([]), corpus)
    with pytest.raises(anthropic.BadRequestError) as refused:
        create(sdk, tools=[SEARCH | {"max_uses": 0}])
    assert refused.value.body["error"] == {  # type: ignore[index]
        "type": "invalid_request_error",
        "message": "tools.0.web_search_20250305.max_uses: Input should be greater than or "
        "equal to 1",
    }


def test_count_tokens_accepts_the_server_tool(scripted_client: AppFactory, corpus: Path) -> None:
    sdk = claude(scripted_client, model([]), corpus)
    counted = sdk.messages.count_tokens(model="qwen-plus", messages=QUESTION, tools=[SEARCH])
    assert counted.input_tokens > 0
