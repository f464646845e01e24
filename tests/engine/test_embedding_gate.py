"""The embeddings gate: an embeddings request counted in the platform's limits (reserved at
its counted tokens, settled to what the model reports, however the call ends) and metered
(one ledger record per admitted request, however it ends)."""

from __future__ import annotations

import asyncio

import pytest

from openscope.core.billing import Price, UsageRecord
from openscope.core.catalog import ModelSpec
from openscope.core.embedding_service import EmbeddingsRun
from openscope.core.errors import Overloaded, RateLimited, error_code
from openscope.core.knowledge import Embeddings
from openscope.core.principal import Principal
from openscope.core.quota import Admission, Demand, LimitKind, LimitScope, RateLimits
from openscope.engine.admission import Admissions, LimitedCall
from openscope.engine.embedding_gate import EmbeddingGate
from openscope.ratelimit import InProcessLimiter

MODEL = "text-embedding-v4"


class Spy(InProcessLimiter):
    def __init__(self) -> None:
        super().__init__()
        self.demands: list[Demand] = []
        self.settled: list[int] = []

    async def admit(self, scopes: tuple[LimitScope, ...], demand: Demand) -> Admission:
        self.demands.append(demand)
        return await super().admit(scopes, demand)

    async def settle(self, ticket: object, tokens_used: int) -> None:
        self.settled.append(tokens_used)
        await super().settle(ticket, tokens_used)


def no_account_limits(model: str, spec: ModelSpec | None) -> RateLimits:
    assert spec is None  # an embedding model has no catalogue entry
    return RateLimits()


def caller(**limits: int) -> Principal:
    return Principal("key-a", key_limits={MODEL: RateLimits(**limits)})  # type: ignore[arg-type]


def run(principal: Principal, tokens: int = 5) -> EmbeddingsRun:
    return EmbeddingsRun(principal, MODEL, tokens, request_id="req-1")


async def reporting(tokens: int) -> Embeddings:
    return Embeddings(vectors=((1.0, 0.0),), tokens=tokens)


Heard = list[tuple[LimitedCall, LimitKind]]


def gate_over(spy: Spy, refusals: Heard | None = None) -> EmbeddingGate:
    def heard(call: LimitedCall, reason: LimitKind) -> None:
        if refusals is not None:
            refusals.append((call, reason))

    return EmbeddingGate(Admissions(spy, no_account_limits, on_refusal=heard))


async def test_a_request_no_limit_applies_to_asks_no_limiter() -> None:
    spy = Spy()
    answer = await gate_over(spy)(run(Principal("key-a")), lambda: reporting(5))
    assert answer.embeddings.tokens == 5
    assert (answer.requests, answer.tokens) == (None, None)
    assert spy.demands == []


async def test_the_counted_tokens_are_reserved_and_settled_to_the_reported() -> None:
    spy = Spy()
    answer = await gate_over(spy)(run(caller(tpm=100), tokens=5), lambda: reporting(4))
    assert spy.demands == [Demand(tokens=5)]
    assert spy.settled == [4]
    assert answer.tokens is not None and answer.tokens.remaining == 95  # as admitted


async def test_a_failed_embedding_is_settled_at_its_count_and_the_error_goes_on() -> None:
    spy = Spy()

    async def failing() -> Embeddings:
        raise Overloaded("busy")

    with pytest.raises(Overloaded):
        await gate_over(spy)(run(caller(tpm=100), tokens=5), failing)
    assert spy.settled == [5]


async def test_a_cancelled_embedding_is_settled_and_frees_its_slot() -> None:
    spy = Spy()
    gate = gate_over(spy)
    started = asyncio.Event()

    async def stuck() -> Embeddings:
        started.set()
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    task = asyncio.ensure_future(gate(run(caller(max_concurrent=1), tokens=5), stuck))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert spy.settled == [5]
    answer = await gate(run(caller(max_concurrent=1)), lambda: reporting(5))  # slot free
    assert answer.embeddings.tokens == 5


async def test_a_refusal_is_model_studios_429_and_is_heard() -> None:
    spy = Spy()
    refusals: Heard = []
    gate = gate_over(spy, refusals)
    await gate(run(caller(rpm=1)), lambda: reporting(5))
    embedded: list[int] = []

    async def embed() -> Embeddings:
        embedded.append(1)
        return await reporting(5)

    with pytest.raises(RateLimited) as refused:
        await gate(run(caller(rpm=1)), embed)
    assert refused.value.code == "limit_requests"
    assert embedded == []  # the model never saw it
    ((call, reason),) = refusals
    assert (call.model, call.api, call.request_id, reason) == (
        MODEL,
        "embeddings",
        "req-1",
        LimitKind.REQUESTS,
    )


class Ledger:
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def record_nowait(self, record: UsageRecord) -> None:
        self.records.append(record)


def metered(ledger: Ledger, spy: Spy | None = None) -> EmbeddingGate:
    admissions = None if spy is None else Admissions(spy, no_account_limits)
    ticks = iter((100.0, 100.25))  # the start and the end of the one call
    return EmbeddingGate(
        admissions,
        ledger,
        prices={MODEL: Price(input=0.5, output=0.0)},
        clock=lambda: 1_767_225_600.0,
        monotonic=lambda: next(ticks),
    )


async def test_an_answered_request_is_one_record_of_its_reported_tokens() -> None:
    ledger = Ledger()
    await metered(ledger)(run(Principal("key-a", workspace="team"), tokens=5), lambda: reporting(4))
    (record,) = ledger.records
    assert (record.request_id, record.workspace, record.key_id, record.model, record.api) == (
        "req-1",
        "team",
        "key-a",
        MODEL,
        "embeddings",
    )
    assert (record.status, record.input_tokens, record.output_tokens) == ("ok", 4, 0)
    assert (record.created_at_ms, record.latency_ms, record.ttft_ms) == (
        1_767_225_600_000,
        250,
        None,
    )
    assert record.cost == pytest.approx(4 * 0.5 / 1e6)


async def test_a_failed_request_is_recorded_with_its_error_code_and_no_tokens() -> None:
    ledger = Ledger()

    async def failing() -> Embeddings:
        raise Overloaded("busy")

    with pytest.raises(Overloaded):
        await metered(ledger, Spy())(run(caller(tpm=100)), failing)
    (record,) = ledger.records
    assert (record.status, record.input_tokens) == (error_code(Overloaded("busy")), 0)


async def test_a_cancelled_request_is_recorded_as_cancelled() -> None:
    ledger = Ledger()
    started = asyncio.Event()

    async def stuck() -> Embeddings:
        started.set()
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    task = asyncio.ensure_future(metered(ledger)(run(Principal("key-a")), stuck))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (record,) = ledger.records
    assert (record.status, record.input_tokens) == ("cancelled", 0)


async def test_a_refused_request_leaves_no_record_of_its_own() -> None:
    # The refusal's record is the refusal hook's (as for generation), not a second one.
    ledger = Ledger()
    spy = Spy()
    gate = EmbeddingGate(Admissions(spy, no_account_limits), ledger)
    await gate(run(caller(rpm=1)), lambda: reporting(5))
    with pytest.raises(RateLimited):
        await gate(run(caller(rpm=1)), lambda: reporting(5))
    assert [record.status for record in ledger.records] == ["ok"]
