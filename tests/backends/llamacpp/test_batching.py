"""The embedded engine with several requests at once, its caches and its limits (real model).

Batching changes floating point: llama.cpp's CPU kernels sum in an order that depends on
the batch and on where a sequence's KV cells sit, so a greedy token can flip where the top
two candidates are nearly tied. The documented tolerance: outputs are equal, or they agree
up to a token where, run alone, the top two log-probabilities were within NEAR_TIE nats and
the other run's token was among the top five. Cross-talk (another request's KV or logits)
breaks that at once.
"""

import asyncio
import contextlib
import time
from collections.abc import Iterator

import pytest

from openscope.backends.llamacpp import LlamaCppBackend
from openscope.core.errors import InternalError, Overloaded
from openscope.core.events import FinishReason
from openscope.core.fold import GenerateResult, afold
from openscope.core.messages import CacheControl, Message, Role, TextPart
from openscope.core.request import GenerateRequest, SamplingParams

NEAR_TIE = 1.0
QUESTIONS = [
    "What is the capital of France?",
    "Write a poem about the sea.",
    "Explain photosynthesis in two sentences.",
    "List three fruits and their colours.",
]
# About 1,100 tokens of varied text: long enough for the explicit and session caches.
BACKGROUND = " ".join(
    f"Note {i}: the {['red', 'green', 'blue', 'amber'][i % 4]} lamp number {i} is in room {i * 7}."
    for i in range(75)
)


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaCppBackend]:
    engine = LlamaCppBackend(ctx_per_seq=2048, explicit_cache_ttl=2.0)
    asyncio.run(engine.start())
    yield engine
    asyncio.run(engine.close())


def ask(text: str, *, system: str | None = None, marked: bool = False, **sampling: object):
    messages = []
    if system is not None:
        cache = CacheControl() if marked else None
        messages.append(Message(Role.SYSTEM, (TextPart(system, cache_control=cache),)))
    messages.append(Message(Role.USER, (TextPart(text),)))
    return GenerateRequest(
        model="smollm2-135m-instruct",
        messages=tuple(messages),
        sampling=SamplingParams(**sampling),  # type: ignore[arg-type]
    )


async def run(backend: LlamaCppBackend, request: GenerateRequest) -> GenerateResult:
    return await afold(backend.generate(request, "m"), logprobs=request.sampling.logprobs)


def assert_same_greedy(alone: GenerateResult, other: GenerateResult) -> None:
    mine = alone.choices[0].logprobs or ()
    theirs = other.choices[0].logprobs or ()
    for i, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if a.token == b.token:
            continue
        gap = a.top[0].logprob - a.top[1].logprob
        assert gap <= NEAR_TIE, f"token {i}: {b.token!r} for {a.token!r}, gap {gap:.2f}"
        assert b.token in [t.token for t in a.top]
        return
    assert alone.choices[0].message.text == other.choices[0].message.text


async def test_concurrent_requests_each_get_their_own_text(backend: LlamaCppBackend) -> None:
    requests = [
        ask(q, temperature=0, max_tokens=40, logprobs=True, top_logprobs=5) for q in QUESTIONS
    ]
    alone = [await run(backend, r) for r in requests]
    together = await asyncio.gather(*(run(backend, r) for r in requests))
    for a, t in zip(alone, together, strict=True):
        assert_same_greedy(a, t)
        assert t.usage.input_tokens == a.usage.input_tokens


async def test_cached_and_uncached_prompts_give_the_same_greedy_output(
    backend: LlamaCppBackend,
) -> None:
    request = ask(
        "Which lamp is in room 70?",
        system=BACKGROUND,
        temperature=0,
        max_tokens=30,
        logprobs=True,
        top_logprobs=5,
    )
    cold = await run(backend, request)
    warm = await run(backend, request)
    assert cold.usage.cached_tokens == 0
    assert warm.usage.cached_tokens == warm.usage.input_tokens - 1  # all but the last token
    assert warm.usage.cache_type is None  # an implicit hit
    assert_same_greedy(cold, warm)
    # a different question after the same background reuses the background
    other = await run(backend, ask("Which lamp is blue?", system=BACKGROUND, max_tokens=5))
    assert 1000 < other.usage.cached_tokens < other.usage.input_tokens


async def test_n_choices_share_the_prompt(backend: LlamaCppBackend) -> None:
    result = await run(backend, ask("Tell a story.", n=3, seed=5, temperature=1.0, max_tokens=20))
    texts = [c.message.text for c in result.choices]
    assert len(set(texts)) == 3
    assert result.usage.output_tokens == 60


async def test_explicit_cache_is_written_then_read_then_expires(backend: LlamaCppBackend) -> None:
    system = "Explicit. " + BACKGROUND
    first = await run(
        backend, ask("Which lamp is amber?", system=system, marked=True, max_tokens=3)
    )
    assert first.usage.cache_type == "ephemeral"
    assert first.usage.cached_tokens == 0
    created = first.usage.cache_creation_tokens
    assert 1024 <= created < first.usage.input_tokens
    second = await run(backend, ask("Which lamp is red?", system=system, marked=True, max_tokens=3))
    assert second.usage.cached_tokens == created  # hit at the marker
    assert second.usage.cache_creation_tokens == 0
    await asyncio.sleep(2.5)  # the test backend's explicit life is 2 s
    third = await run(backend, ask("Which lamp is red?", system=system, marked=True, max_tokens=3))
    assert third.usage.cached_tokens == 0
    assert third.usage.cache_creation_tokens == created


async def test_short_marked_prefix_creates_nothing(backend: LlamaCppBackend) -> None:
    result = await run(backend, ask("Hi", system="Be brief.", marked=True, max_tokens=3))
    assert result.usage.cache_type == "ephemeral"
    assert result.usage.cache_creation_tokens == 0 == result.usage.cached_tokens


async def test_session_cache_ttl(backend: LlamaCppBackend) -> None:
    from dataclasses import replace

    turn = replace(
        ask("Which lamp is green?", system="Session. " + BACKGROUND, max_tokens=5),
        session_cache=True,
    )
    first = await run(backend, turn)
    assert first.usage.cache_creation_tokens >= 1024 and first.usage.cached_tokens == 0
    answer = Message(Role.ASSISTANT, (TextPart(first.choices[0].message.text),))
    follow = replace(
        turn, messages=(*turn.messages, answer, Message(Role.USER, (TextPart("And red?"),)))
    )
    second = await run(backend, follow)
    assert second.usage.cached_tokens == first.usage.cache_creation_tokens
    await asyncio.sleep(2.5)
    third = await run(backend, follow)
    assert third.usage.cached_tokens == 0
    assert third.usage.cache_creation_tokens > 0


async def test_metrics_count_the_work(backend: LlamaCppBackend) -> None:
    before = backend.metrics()
    assert before is not None
    await run(backend, ask("Count to three.", max_tokens=6, temperature=0))
    after = backend.metrics()
    assert after is not None
    assert after.generated_tokens_total > before.generated_tokens_total
    assert after.prompt_tokens_total > before.prompt_tokens_total
    assert after.running_sequences == 0 and after.queue_depth == 0
    assert after.parallel_sequences == 8 and after.kv_capacity_tokens == 32768


@pytest.fixture(scope="module")
def narrow() -> Iterator[LlamaCppBackend]:
    """One sequence, no waiting line, a short timeout."""
    engine = LlamaCppBackend(
        parallel=1,
        n_batch=64,
        ctx_per_seq=4096,
        kv_tokens=4096,
        cache_tokens=1024,
        max_waiting=0,
        request_timeout=6.0,
    )
    asyncio.run(engine.start())
    yield engine
    asyncio.run(engine.close())


async def wait_idle(backend: LlamaCppBackend, seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        metrics = backend.metrics()
        assert metrics is not None
        if metrics.running_sequences == 0:
            return
        assert time.monotonic() < deadline, "the sequence was not freed"
        await asyncio.sleep(0.01)


async def test_a_full_queue_answers_overloaded_and_recovers(narrow: LlamaCppBackend) -> None:
    running = narrow.generate(ask("Tell a long story.", max_tokens=3000, temperature=1.0), "m")
    await anext(running)  # admitted and generating
    with pytest.raises(Overloaded) as caught:
        await anext(narrow.generate(ask("Hi", max_tokens=2), "m"))
    assert caught.value.retry_after == 1.0
    await running.aclose()
    result = await run(narrow, ask("Hi", max_tokens=2, temperature=0))
    assert result.usage.output_tokens == 2
    metrics = narrow.metrics()
    assert metrics is not None and metrics.rejected_total >= 1


async def test_a_disconnect_frees_the_sequence_within_a_step(narrow: LlamaCppBackend) -> None:
    running = narrow.generate(ask("Tell a long story.", max_tokens=3000, temperature=1.0), "m")
    await anext(running)
    await anext(running)
    await running.aclose()  # the client hung up
    await wait_idle(narrow)
    started = time.monotonic()
    result = await run(narrow, ask("Hi", max_tokens=2, temperature=0))
    assert result.choices[0].finish_reason is FinishReason.LENGTH
    assert time.monotonic() - started < 3.0  # nothing was still holding the only sequence


async def test_a_request_past_its_timeout_fails(narrow: LlamaCppBackend) -> None:
    # about 2,200 prompt tokens in batches of 64: longer than the narrow backend's 6 s
    request = ask("Which lamp is red?", system=BACKGROUND + " " + BACKGROUND, max_tokens=10)
    with pytest.raises(InternalError) as caught:
        await run(narrow, request)
    assert caught.value.code == "RequestTimeOut"
    await wait_idle(narrow)


async def test_a_long_prefill_does_not_stall_running_streams(backend: LlamaCppBackend) -> None:
    """The long prompt goes in 256-token chunks, each step also decoding the running stream."""
    from openscope.core.events import PartDelta

    runner = backend.generate(ask("Tell a long story.", max_tokens=400, temperature=0), "m")
    arrivals: list[float] = []
    streaming = asyncio.Event()

    async def read_runner() -> None:
        async for event in runner:
            if isinstance(event, PartDelta):
                arrivals.append(time.monotonic())
                streaming.set()

    reading = asyncio.create_task(read_runner())
    await streaming.wait()
    long_prompt = ask("Which lamp is red?", system="Stall. " + BACKGROUND, max_tokens=1)
    admitted = first_token_at = None
    async for event in backend.generate(long_prompt, "m"):
        admitted = admitted or time.monotonic()  # its first event comes at admission
        if isinstance(event, PartDelta) and first_token_at is None:
            first_token_at = time.monotonic()
    assert admitted is not None and first_token_at is not None
    during = [t for t in arrivals if admitted < t < first_token_at]
    reading.cancel()  # the runner's consumer goes away
    with contextlib.suppress(asyncio.CancelledError):
        await reading
    await runner.aclose()
    # About 1,150 prompt tokens: five steps of at most 256 prompt tokens, each also giving
    # the runner a token (whole-batch chunks of 511 would make it three).
    assert len(during) >= 5, (len(during), first_token_at - admitted)


async def test_a_marker_on_a_tool_caches_the_tool_definitions(backend: LlamaCppBackend) -> None:
    from dataclasses import replace

    from openscope.core.request import ToolSpec

    lamps = ToolSpec(
        name="find_lamp",
        description="Tool. " + BACKGROUND,
        parameters={"type": "object", "properties": {"colour": {"type": "string"}}},
        cache_control=CacheControl(),
    )
    first = await run(backend, replace(ask("Find the red lamp.", max_tokens=3), tools=(lamps,)))
    created = first.usage.cache_creation_tokens
    assert first.usage.cache_type == "ephemeral" and created >= 1024
    second = await run(backend, replace(ask("Find the blue lamp.", max_tokens=3), tools=(lamps,)))
    assert second.usage.cached_tokens == created


async def test_a_marked_tool_result_is_cached_for_the_life_it_asks(
    backend: LlamaCppBackend,
) -> None:
    """An agent loop marks its last tool result; with ttl 1 h the entry outlives the test
    backend's 2 s explicit life."""
    from openscope.core.messages import ToolCallPart, ToolResultPart
    from openscope.core.request import ToolSpec

    hour = CacheControl(ttl_seconds=3600)
    call = ToolCallPart("call_1", "read_notes", "{}")
    notes = ToolResultPart(call.id, (TextPart("Result. " + BACKGROUND),), cache_control=hour)
    request = GenerateRequest(
        model="smollm2-135m-instruct",
        messages=(
            Message(Role.USER, (TextPart("Read the notes, then say which lamp is red."),)),
            Message(Role.ASSISTANT, (call,)),
            Message(Role.TOOL, (notes,)),
        ),
        tools=(ToolSpec("read_notes", "The notes", {"type": "object", "properties": {}}),),
        sampling=SamplingParams(max_tokens=3),
    )
    first = await run(backend, request)
    created = first.usage.cache_creation_tokens
    assert first.usage.cache_type == "ephemeral" and created >= 1024
    await asyncio.sleep(2.5)  # past the backend's own explicit life
    second = await run(backend, request)
    assert second.usage.cached_tokens == created
    assert second.usage.cache_creation_tokens == 0
