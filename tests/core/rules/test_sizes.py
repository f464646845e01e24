import json
from typing import Any

import pytest

from openscope.core.catalog import Capabilities, ModelSpec
from openscope.core.errors import InvalidParameter
from openscope.core.messages import Message, Role, TextPart, ToolCallPart
from openscope.core.request import GenerateRequest, SamplingParams, ToolSpec
from openscope.core.rules.sizes import check_sizes, generation_body_limit

HELLO = Message(Role.USER, (TextPart("hello"),))


def request(**fields: Any) -> GenerateRequest:
    return GenerateRequest(model="qwen-plus", messages=(HELLO,), **fields)


def refusal(req: GenerateRequest) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        check_sizes(req)
    return caught.value


def deep_json(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_a_request_within_every_bound() -> None:
    ids = tuple((i,) for i in range(8))
    req = request(
        sampling=SamplingParams(stop=("x" * 256,) * 8, stop_token_ids=ids),
        tools=tuple(ToolSpec(f"f{i}") for i in range(128)),
    )
    check_sizes(req)


@pytest.mark.parametrize(
    ("sampling", "message"),
    [
        (
            SamplingParams(stop=("a",) * 9, stop_token_ids=((1,),) * 8),
            "The number of stop sequences must not exceed 16.",
        ),
        (SamplingParams(stop=("x" * 257,)), "A stop sequence must not exceed 256 characters."),
        (
            SamplingParams(stop_token_ids=(tuple(range(65)),)),
            "A stop sequence must not exceed 64 token ids.",
        ),
        (SamplingParams(stop_token_ids=((5, -1),)), "Stop token ids must be non-negative."),
    ],
)
def test_stop_sequences(sampling: SamplingParams, message: str) -> None:
    error = refusal(request(sampling=sampling))
    assert (error.message, error.param) == (message, "stop")


def test_at_most_64_token_ids_in_a_stop_sequence() -> None:
    check_sizes(request(sampling=SamplingParams(stop_token_ids=(tuple(range(64)),))))


def test_too_many_tools() -> None:
    error = refusal(request(tools=tuple(ToolSpec(f"f{i}") for i in range(129))))
    assert (error.message, error.param) == ("The number of tools must not exceed 128.", "tools")


def test_too_many_messages() -> None:
    check_sizes(GenerateRequest(model="m", messages=(HELLO,) * 4096))
    error = refusal(GenerateRequest(model="m", messages=(HELLO,) * 4097))
    assert (error.message, error.param) == (
        "The number of messages must not exceed 4096.",
        "messages",
    )


def with_arguments(arguments: str) -> GenerateRequest:
    call = Message(Role.ASSISTANT, (ToolCallPart("call_1", "f", arguments),))
    return GenerateRequest(model="m", messages=(HELLO, call, HELLO))


@pytest.mark.parametrize("levels", [65, 1_500])
def test_tool_call_arguments_nested_too_deeply(levels: int) -> None:
    error = refusal(with_arguments(deep_json(levels)))
    assert error.message == "The arguments of a tool call are nested too deeply: at most 64 levels."
    assert error.param == "messages"


@pytest.mark.parametrize(
    "arguments",
    [deep_json(64), json.dumps({"a": {"b": [1, 2]}}), "not json", '{"a": ', ""],
)
def test_tool_call_arguments_within_the_bound_or_not_json(arguments: str) -> None:
    check_sizes(with_arguments(arguments))


def spec(context: int, **capabilities: Any) -> ModelSpec:
    return ModelSpec(
        name="m",
        family="m",
        context_length=context,
        max_output_tokens=1024,
        capabilities=Capabilities(**capabilities),
    )


def test_the_generation_body_bound_follows_the_longest_context() -> None:
    ceiling = 16 * 1024 * 1024
    small, large = spec(8192), spec(32_768)
    assert generation_body_limit([small], ceiling) == 8192 * 64 + 256 * 1024
    assert generation_body_limit([small, large], ceiling) == 32_768 * 64 + 256 * 1024
    assert generation_body_limit([spec(1_000_000)], ceiling) == ceiling  # never past it
    assert generation_body_limit([], ceiling) == ceiling  # nothing to go by


@pytest.mark.parametrize("media", ["vision", "audio"])
def test_a_model_that_reads_media_takes_the_whole_body_bound(media: str) -> None:
    assert generation_body_limit([spec(8192), spec(8192, **{media: True})], 10**7) == 10**7
