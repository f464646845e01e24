"""The meter stage: one usage record per call that reaches it, however the call ends, and
the writer that takes the records to the store without blocking."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path

import pytest

from openscope.backends.scripted import ScriptedBackend
from openscope.core.billing import Price, UsageRecord, billed_input_tokens
from openscope.core.call import Call
from openscope.core.errors import InvalidParameter, request_timed_out
from openscope.core.events import (
    AudioDelta,
    ChoiceEnd,
    Event,
    FinishReason,
    PartDelta,
    PartEnd,
    PartKind,
    PartStart,
    Usage,
    UsageReport,
)
from openscope.core.messages import Message, Role, TextPart
from openscope.core.principal import Principal
from openscope.core.request import GenerateRequest
from openscope.engine.pipeline import Next, compose
from openscope.engine.stages.meter import Meter
from openscope.engine.usage_writer import UsageWriter
from openscope.store import open_store, sqlite_url

PRICES = {"qwen-plus": Price(input=0.8, output=2.0)}
START = 1_767_225_600.0


class Clock:
    """Both clocks: `wall` for the record's date, `mono` for its timings; tests move them."""

    def __init__(self) -> None:
        self.wall = START
        self.mono = 100.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


class Sink:
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def record_nowait(self, record: UsageRecord) -> None:
        self.records.append(record)


def call(model: str = "qwen-plus", request_id: str = "req-1") -> Call:
    request = GenerateRequest(model=model, messages=(Message(Role.USER, (TextPart("hi"),)),))
    return Call(
        Principal("key-1", workspace="ws-a"),
        request,
        stream=True,
        request_id=request_id,
        api="chat",
    )


def meter(sink: Sink, clock: Clock) -> Meter:
    return Meter(sink, prices=PRICES, clock=lambda: clock.wall, monotonic=lambda: clock.mono)


def text_answer(*chunks: str) -> list[Event]:
    return [
        PartStart(0, 0, PartKind.TEXT),
        *(PartDelta(0, 0, c) for c in chunks),
        PartEnd(0, 0),
        ChoiceEnd(0, FinishReason.STOP),
    ]


@pytest.fixture
def clock() -> Clock:
    return Clock()


Script = Sequence[Event | float | BaseException]


def backend(clock: Clock, script: Script, closed: list[bool] | None = None) -> Next:
    """A `next` stand-in: yields the script's events, moves the clock by its floats and
    raises its exception; `closed` learns that its stream was closed."""

    async def run(call: Call) -> AsyncGenerator[Event, None]:
        try:
            for item in script:
                if isinstance(item, float):
                    clock.advance(item)
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            if closed is not None:
                closed.append(True)

    return run


async def drain(stream: AsyncGenerator[Event, None]) -> list[Event]:
    return [event async for event in stream]


async def test_ok_records_the_final_usage_and_the_timings(clock: Clock) -> None:
    final = Usage(input_tokens=1000, output_tokens=3, cached_tokens=400)
    events = [
        UsageReport(Usage(input_tokens=1000)),
        0.25,
        *text_answer("a", " b", " c"),
        0.5,
        UsageReport(final),
    ]
    sink = Sink()
    stage = meter(sink, clock)
    out = await drain(stage(call(), backend(clock, events)))
    assert out == [e for e in events if not isinstance(e, float)]  # passed through as they are
    (record,) = sink.records
    assert (record.request_id, record.workspace, record.key_id, record.model, record.api) == (
        "req-1",
        "ws-a",
        "key-1",
        "qwen-plus",
        "chat",
    )
    assert record.status == "ok"
    assert record.created_at_ms == START * 1000
    assert record.ttft_ms == 250 and record.latency_ms == 750
    assert record.usage == final
    assert record.billed_input_tokens == pytest.approx(billed_input_tokens(final))
    assert record.cost == pytest.approx((600 + 400 * 0.2) * 0.8 / 1e6 + 3 * 2.0 / 1e6)
    assert record.builtin_tools == {}


async def test_a_model_without_a_price_costs_nothing(clock: Clock) -> None:
    sink = Sink()
    events = [*text_answer("x"), UsageReport(Usage(5, 1))]
    await drain(meter(sink, clock)(call(model="qwen-max"), backend(clock, events)))
    assert sink.records[0].cost == 0.0 and sink.records[0].billed_input_tokens == 5


async def test_a_stream_without_content_has_no_ttft(clock: Clock) -> None:
    sink = Sink()
    await drain(meter(sink, clock)(call(), backend(clock, [UsageReport(Usage(5, 0))])))
    assert sink.records[0].ttft_ms is None


async def test_a_failure_is_recorded_with_its_code_and_raised(clock: Clock) -> None:
    events = [UsageReport(Usage(input_tokens=50)), *text_answer("a", "b")[:3], request_timed_out()]
    sink = Sink()
    with pytest.raises(type(request_timed_out())):
        await drain(meter(sink, clock)(call(), backend(clock, events)))
    (record,) = sink.records
    assert record.status == "RequestTimeOut"
    assert (record.input_tokens, record.output_tokens) == (50, 2)  # the deltas seen

    sink = Sink()
    with pytest.raises(InvalidParameter):
        await drain(meter(sink, clock)(call(), backend(clock, [InvalidParameter("no")])))
    assert sink.records[0].status == "invalid_parameter_error"

    sink = Sink()
    with pytest.raises(RuntimeError):
        await drain(meter(sink, clock)(call(), backend(clock, [RuntimeError("bug")])))
    assert sink.records[0].status == "internal_error"


async def test_closing_mid_stream_is_cancelled_and_counts_the_deltas(clock: Clock) -> None:
    events: list[Event | float | BaseException] = [
        UsageReport(Usage(input_tokens=20)),
        PartStart(0, 0, PartKind.REASONING),
        *(PartDelta(0, 0, "think") for _ in range(4)),
        PartEnd(0, 0),
        PartStart(0, 1, PartKind.TEXT),
        *(PartDelta(0, 1, "say") for _ in range(10)),
    ]
    closed: list[bool] = []
    sink = Sink()
    stream = meter(sink, clock)(call(), backend(clock, events, closed))
    seen = 0
    async for event in stream:
        seen += isinstance(event, PartDelta)
        if seen == 7:
            break
    assert not sink.records  # still open
    await stream.aclose()
    assert closed == [True]  # the backend's stream was closed through the stage
    (record,) = sink.records
    assert record.status == "cancelled"
    assert (record.input_tokens, record.output_tokens, record.reasoning_tokens) == (20, 7, 4)


async def test_a_reported_output_above_the_deltas_is_kept(clock: Clock) -> None:
    events = [*text_answer("a", "b")[:3], UsageReport(Usage(10, 9)), *text_answer("c")]
    sink = Sink()
    stream = meter(sink, clock)(call(), backend(clock, events))
    await anext(stream)
    await anext(stream)
    await anext(stream)
    await anext(stream)  # the report
    await stream.aclose()
    assert sink.records[0].output_tokens == 9


async def test_a_cancelled_task_is_recorded_as_cancelled(clock: Clock) -> None:
    async def hangs(c: Call) -> AsyncGenerator[Event, None]:
        yield PartStart(0, 0, PartKind.TEXT)
        yield PartDelta(0, 0, "a")
        await asyncio.Event().wait()
        yield PartEnd(0, 0)  # pragma: no cover

    sink = Sink()
    started = asyncio.Event()

    async def consume() -> None:
        async for event in meter(sink, clock)(call(), hangs):
            if isinstance(event, PartDelta):
                started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (record,) = sink.records
    assert record.status == "cancelled" and record.output_tokens == 1


async def test_builtin_tool_calls_are_counted_by_tool(clock: Clock) -> None:
    def builtin(part: int, tool: str) -> list[Event]:
        return [
            PartStart(0, part, PartKind.BUILTIN_CALL, tool_call_id=f"c{part}", tool_name=tool),
            PartDelta(0, part, '{"query": "x"}'),
            PartEnd(0, part),
            PartStart(0, part + 1, PartKind.BUILTIN_RESULT, tool_call_id=f"c{part}"),
            PartDelta(0, part + 1, '{"results": []}'),  # the tool's output, not the model's
            PartEnd(0, part + 1),
        ]

    events = [
        *builtin(0, "web_search"),
        *builtin(2, "code_interpreter"),
        *builtin(4, "web_search"),
        PartStart(0, 6, PartKind.TEXT),
        PartDelta(0, 6, "done"),
    ]
    sink = Sink()
    await drain(meter(sink, clock)(call(), backend(clock, events)))
    (record,) = sink.records
    assert record.builtin_tools == {"web_search": 2, "code_interpreter": 1}
    assert record.status == "ok"
    # without a final usage, the estimate counts the model's deltas only
    sink = Sink()
    partial = meter(sink, clock)(call(), backend(clock, [*events, PartEnd(0, 6)]))
    async for event in partial:
        if event == events[-1]:
            break
    await partial.aclose()
    assert sink.records[0].output_tokens == 4  # 3 calls' arguments and one text delta


async def test_a_call_without_a_request_id_gets_one(clock: Clock) -> None:
    sink = Sink()
    await drain(meter(sink, clock)(call(request_id=""), backend(clock, [])))
    await drain(meter(sink, clock)(call(request_id=""), backend(clock, [])))
    first, second = (r.request_id for r in sink.records)
    assert first and second and first != second


async def test_a_failing_sink_never_fails_the_call(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def record_nowait(self, record: UsageRecord) -> None:
            raise RuntimeError("full of bees")

    stage = Meter(Broken(), prices=PRICES)
    with caplog.at_level(logging.ERROR, logger="openscope.usage"):
        out = await drain(stage(call(), backend(clock, text_answer("a"))))
    assert len(out) == 4
    assert "could not record the usage of request req-1" in caplog.text


# The writer


class BatchStore:
    def __init__(self, fail: int = 0) -> None:
        self.batches: list[list[str]] = []
        self.fail = fail  # how many writes fail first

    async def record_usage_batch(self, records: Sequence[UsageRecord]) -> int:
        await asyncio.sleep(0)
        if self.fail:
            self.fail -= 1
            raise ConnectionError("database away")
        self.batches.append([r.request_id for r in records])
        return len(records)


def records(n: int, prefix: str = "r") -> list[UsageRecord]:
    return [
        UsageRecord(f"{prefix}{i}", 0, "ws", "key", "qwen-plus", "chat", "ok") for i in range(n)
    ]


async def test_the_writer_batches_what_is_queued_and_flushes_on_close() -> None:
    store = BatchStore()
    writer = UsageWriter(store, batch_size=3)
    for record in records(7):
        writer.record_nowait(record)  # synchronous: nothing is written yet
    assert store.batches == [] and writer.pending == 7
    await writer.flush()
    assert store.batches == [["r0", "r1", "r2"], ["r3", "r4", "r5"], ["r6"]]
    for record in records(2, "s"):
        writer.record_nowait(record)
    await writer.close()
    assert store.batches[-1] == ["s0", "s1"]
    assert (writer.written, writer.dropped, writer.pending) == (9, 0, 0)


async def test_the_writer_retries_a_failed_batch(caplog: pytest.LogCaptureFixture) -> None:
    store = BatchStore(fail=2)
    writer = UsageWriter(store, retry_delay=0.01)
    with caplog.at_level(logging.ERROR, logger="openscope.usage"):
        for record in records(3):
            writer.record_nowait(record)
        await writer.flush()
    assert store.batches == [["r0", "r1", "r2"]]
    assert caplog.text.count("writing 3 records failed") == 2
    await writer.close()


async def test_the_writer_drops_loudly_when_full_or_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = BatchStore()
    writer = UsageWriter(store, max_pending=2)
    with caplog.at_level(logging.WARNING, logger="openscope.usage"):
        for record in records(3):
            writer.record_nowait(record)
        assert writer.dropped == 1
        assert "dropped the record of request r2, the queue is full" in caplog.text
        assert "(1 dropped so far)" in caplog.text
        await writer.close()
        writer.record_nowait(records(1, "late")[0])
    assert store.batches == [["r0", "r1"]]
    assert writer.dropped == 2 and "late0, the writer is closed" in caplog.text


async def test_close_gives_up_on_a_database_that_never_comes_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = UsageWriter(BatchStore(fail=10**6), retry_delay=0.01, close_timeout=0.1)
    for record in records(2):
        writer.record_nowait(record)
    with caplog.at_level(logging.ERROR, logger="openscope.usage"):
        await writer.close()
    assert writer.dropped == 2 and "2 records unwritten" in caplog.text


async def test_meter_writer_and_store_end_to_end(tmp_path: Path, clock: Clock) -> None:
    """The scripted backend through the meter into a real store: the usage is queryable
    as soon as the writer has flushed."""
    store = await open_store(sqlite_url(tmp_path))
    writer = UsageWriter(store)
    backend = ScriptedBackend()
    pipeline = compose(
        [Meter(writer, prices=PRICES, clock=lambda: clock.wall)],
        terminal=lambda c: backend.generate(c.request, "smollm2"),
    )
    try:
        for i in range(5):
            await drain(pipeline(call(request_id=f"e2e-{i}")))
        await writer.flush()
        page = await store.usage_buckets(start=int(START), end=int(START) + 3600, width="1h")
        (result,) = page.buckets[0].results
        assert result.requests == 5 and result.output_tokens == 5  # "hi": one delta each
        assert result.input_tokens == 5 * 2
    finally:
        await writer.close()
        await store.close()


async def test_a_spoken_stream_cut_short_counts_its_audio_pieces(clock: Clock) -> None:
    events: list[Event | float | BaseException] = [
        UsageReport(Usage(input_tokens=20, input_audio_tokens=8)),
        *(AudioDelta(0, data="AAAA", transcript="hi") for _ in range(6)),
    ]
    sink = Sink()
    stream = meter(sink, clock)(call(), backend(clock, events))
    seen = 0
    async for event in stream:
        seen += isinstance(event, AudioDelta)
        if seen == 5:
            break
    await stream.aclose()
    (record,) = sink.records
    assert record.status == "cancelled"
    assert (record.input_tokens, record.output_tokens) == (20, 5)
    assert record.ttft_ms is not None
