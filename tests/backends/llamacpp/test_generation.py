"""The llama.cpp backend on the real embedded model (fast: 135M parameters)."""

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from openscope.backends.llamacpp import LlamaCppBackend
from openscope.core.errors import InvalidParameter
from openscope.core.events import FinishReason, PartDelta
from openscope.core.fold import GenerateResult, afold
from openscope.core.messages import Message, Role, TextPart
from openscope.core.request import (
    GenerateRequest,
    ResponseFormat,
    ResponseFormatType,
    SamplingParams,
)

PROMPT = "Write a short story about a lighthouse keeper."


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaCppBackend]:
    engine = LlamaCppBackend(ctx_per_seq=2048)
    asyncio.run(engine.start())
    yield engine
    asyncio.run(engine.close())


def ask(text: str = PROMPT, **sampling: object) -> GenerateRequest:
    return GenerateRequest(
        model="smollm2-135m-instruct",
        messages=(Message(Role.USER, (TextPart(text),)),),
        sampling=SamplingParams(**sampling),  # type: ignore[arg-type]
    )


async def run(backend: LlamaCppBackend, request: GenerateRequest) -> GenerateResult:
    return await afold(backend.generate(request, "m"), logprobs=request.sampling.logprobs)


async def test_same_seed_same_text_cold_or_cached(backend: LlamaCppBackend) -> None:
    request = ask(seed=7, temperature=1.0, max_tokens=40)
    await run(backend, ask("something else entirely", max_tokens=3))  # unrelated cache state
    first = (await run(backend, request)).choices[0].message.text
    second = (await run(backend, request)).choices[0].message.text  # prompt now cached
    assert first == second
    other = [
        (await run(backend, ask(seed=s, temperature=1.0, max_tokens=40))).choices[0].message.text
        for s in (8, 9)
    ]
    assert any(text != first for text in other)


async def test_max_tokens_gives_length(backend: LlamaCppBackend) -> None:
    result = await run(backend, ask(max_tokens=5, temperature=0))
    assert result.choices[0].finish_reason is FinishReason.LENGTH
    assert result.usage.output_tokens == 5
    assert result.usage.input_tokens > 10


async def test_stop_string_is_never_in_the_output(backend: LlamaCppBackend) -> None:
    greedy = (await run(backend, ask(max_tokens=30, temperature=0))).choices[0].message.text
    words = greedy.split()
    stop = words[len(words) // 2]
    result = await run(backend, ask(max_tokens=30, temperature=0, stop=(stop,)))
    choice = result.choices[0]
    assert choice.finish_reason is FinishReason.STOP
    assert choice.stop_sequence == stop
    assert stop not in choice.message.text
    assert greedy.startswith(choice.message.text)


async def test_stop_token_ids(backend: LlamaCppBackend) -> None:
    greedy = await run(backend, ask(max_tokens=12, temperature=0, logprobs=True))
    entries = greedy.choices[0].logprobs or ()
    at = next(
        i for i in range(3, 12) if entries[i].token not in "".join(e.token for e in entries[:i])
    )
    ids = tuple(backend._model.tokenize(bytes(entries[at].bytes), False, False))
    result = await run(backend, ask(max_tokens=12, temperature=0, stop_token_ids=(ids,)))
    assert result.choices[0].finish_reason is FinishReason.STOP
    assert result.choices[0].message.text == "".join(e.token for e in entries[:at])


async def test_logprobs_come_from_the_model(backend: LlamaCppBackend) -> None:
    result = await run(backend, ask(max_tokens=10, temperature=0, logprobs=True, top_logprobs=3))
    choice = result.choices[0]
    entries = choice.logprobs or ()
    assert len(entries) == 10
    assert "".join(e.token for e in entries) == choice.message.text
    for entry in entries:
        assert entry.logprob <= 0
        assert len(entry.top) == 3
        values = [t.logprob for t in entry.top]
        assert values == sorted(values, reverse=True)
        # greedy decoding picks the most likely token
        assert entry.token == entry.top[0].token


async def test_n_independent_choices(backend: LlamaCppBackend) -> None:
    result = await run(backend, ask(n=3, seed=1, temperature=1.0, max_tokens=20))
    assert [c.index for c in result.choices] == [0, 1, 2]
    assert len({c.message.text for c in result.choices}) > 1
    assert result.usage.output_tokens <= 60
    alone = await run(backend, ask(seed=1, temperature=1.0, max_tokens=20))
    assert alone.choices[0].message.text == result.choices[0].message.text


async def test_closing_the_stream_frees_the_engine_at_once(backend: LlamaCppBackend) -> None:
    stream = backend.generate(ask(max_tokens=2000, temperature=1.0), "m")
    async for event in stream:
        if isinstance(event, PartDelta):
            break
    await stream.aclose()
    started = time.monotonic()
    result = await run(backend, ask("Hi", max_tokens=4, temperature=0))
    assert result.usage.output_tokens == 4
    assert time.monotonic() - started < 3.0  # 2000 tokens would take ~20 s


async def test_prompt_longer_than_the_context(backend: LlamaCppBackend) -> None:
    with pytest.raises(InvalidParameter) as caught:
        await run(backend, ask("word " * 3000, max_tokens=4))
    assert caught.value.message == "Range of input length should be [1, 2047]"


async def test_count_tokens_matches_usage(backend: LlamaCppBackend) -> None:
    counted = await backend.count_tokens(ask(), "m")
    result = await run(backend, ask(max_tokens=1))
    assert counted == result.usage.input_tokens


def test_the_gguf_template_is_used(backend: LlamaCppBackend) -> None:
    prompt = backend._template.render(ask("hello").messages)  # type: ignore[union-attr]
    # SmolLM2's own template adds its default system prompt when none is given
    assert prompt.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert prompt.endswith("<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n")


async def test_json_object_mode_gives_a_json_object(backend: LlamaCppBackend) -> None:
    request = replace(
        ask("List three fruits and their colors as JSON.", temperature=1.0, max_tokens=200),
        response_format=ResponseFormat(ResponseFormatType.JSON_OBJECT),
    )
    for seed in (1, 2, 3):
        result = await run(backend, replace(request, sampling=replace(request.sampling, seed=seed)))
        choice = result.choices[0]
        assert choice.finish_reason is FinishReason.STOP, choice.message.text
        assert isinstance(json.loads(choice.message.text), dict)


@pytest.mark.parametrize("token", [10**12, -1, 49152])
async def test_stop_token_ids_out_of_the_vocabulary_are_refused(
    backend: LlamaCppBackend, token: int
) -> None:
    with pytest.raises(InvalidParameter) as caught:
        await run(backend, ask(max_tokens=4, stop_token_ids=((token,),)))
    assert caught.value.param == "stop"
    assert str(token) in caught.value.message


async def test_a_prompt_far_beyond_the_context_is_refused_before_rendering(
    backend: LlamaCppBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object, **kwargs: object) -> list[int]:
        raise AssertionError("the prompt was rendered")

    monkeypatch.setattr(backend, "_render", never)
    huge = ask("x" * 7_000_000, max_tokens=4)
    started = time.monotonic()
    with pytest.raises(InvalidParameter) as caught:
        await run(backend, huge)
    assert caught.value.message == "Range of input length should be [1, 2047]"
    with pytest.raises(InvalidParameter):
        await backend.count_tokens(huge, "m")
    assert time.monotonic() - started < 1.0


async def test_a_partial_answer_is_continued(backend: LlamaCppBackend) -> None:
    prefix = "1, 2, 3, 4,"
    request = replace(
        ask("Count from 1 to 10, separated by commas.", max_tokens=20, temperature=0),
        partial=True,
    )
    request = replace(
        request, messages=(*request.messages, Message(Role.ASSISTANT, (TextPart(prefix),)))
    )
    pieces = backend._vocabulary.pieces  # type: ignore[union-attr]
    prompt = b"".join(pieces[t] for t in backend._prompt_tokens(request)).decode()
    assert prompt.endswith(f"assistant\n{prefix}")  # the turn is left open
    text = (await run(backend, request)).choices[0].message.text
    # only the continuation comes back, not the prefix nor a new turn restarting it
    assert text.lstrip().startswith("5, 6")
