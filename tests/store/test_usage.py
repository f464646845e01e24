"""The usage ledger on SQLite (always) and PostgreSQL (when OPENSCOPE_TEST_DATABASE_URL is
set): append-only events, their hourly rollup, retention and the bucketed queries."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable

import pytest
from sqlalchemy import text

from openscope.core.billing import Price, UsagePage, UsageRecord, UsageTotals, usage_record
from openscope.core.events import Usage
from openscope.store import Store, open_store, usage
from tests.store.postgres import NEEDS_POSTGRESQL, PG_URL, reset_postgres

HOUR = 3600
DAY = 86400
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, on a day boundary
PRICE = Price(input=2.0, output=6.0)


async def count(store: Store, table: str) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


def rec(
    request_id: str,
    at: float,
    *,
    workspace: str = "ws-a",
    key_id: str = "key-1",
    model: str = "qwen-plus",
    api: str = "chat",
    status: str = "ok",
    input_tokens: int = 100,
    output_tokens: int = 10,
    reasoning_tokens: int = 0,
    cached_tokens: int = 0,
    cache_creation_tokens: int = 0,
    cache_type: str | None = None,
    builtin_tools: dict[str, int] | None = None,
) -> UsageRecord:
    """A record of a request made at `at` (seconds since the epoch)."""
    usage = Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=cached_tokens,
        cache_creation_tokens=cache_creation_tokens,
        reasoning_tokens=reasoning_tokens,
        cache_type=cache_type,
    )
    return usage_record(
        request_id=request_id,
        created_at_ms=round(at * 1000),
        workspace=workspace,
        key_id=key_id,
        model=model,
        api=api,
        status=status,
        usage=usage,
        price=PRICE,
        builtin_tools=builtin_tools,
        latency_ms=1234,
        ttft_ms=56,
    )


def summed(records: Iterable[UsageRecord]) -> dict[str, object]:
    """What a query should report for these records, as a dict of the totals."""
    records = list(records)
    return {
        "requests": len(records),
        "errors": sum(r.status != "ok" for r in records),
        "input_tokens": sum(r.input_tokens for r in records),
        "output_tokens": sum(r.output_tokens for r in records),
        "reasoning_tokens": sum(r.reasoning_tokens for r in records),
        "cached_tokens": sum(r.cached_tokens for r in records),
        "cache_creation_tokens": sum(r.cache_creation_tokens for r in records),
        "billed_input_tokens": pytest.approx(sum(r.billed_input_tokens for r in records)),
        "cost": pytest.approx(sum(r.cost for r in records)),
    }


def totals(result: UsageTotals) -> dict[str, object]:
    return {name: getattr(result, name) for name in summed([])}


Row = tuple[int, str | None, str | None, dict[str, object]]


def rows(page: UsagePage) -> list[Row]:
    """A page's results as (bucket start, status, model, totals)."""
    return [(b.start, r.status, r.model, totals(r)) for b in page.buckets for r in b.results]


def approximately(expected: list[Row]) -> list[Row]:
    return [(start, status, model, pytest.approx(sums)) for start, status, model, sums in expected]


async def grand_total(store: Store, start: int = T0, days: int = 3) -> UsageTotals:
    """Everything in `days` days from `start`, in one result."""
    page = await store.usage_buckets(start=start, end=start + days * DAY, width="1d", limit=days)
    results = [r for bucket in page.buckets for r in bucket.results]
    assert len(results) <= days
    return UsageTotals(
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        input_tokens=sum(r.input_tokens for r in results),
        output_tokens=sum(r.output_tokens for r in results),
        reasoning_tokens=sum(r.reasoning_tokens for r in results),
        cached_tokens=sum(r.cached_tokens for r in results),
        cache_creation_tokens=sum(r.cache_creation_tokens for r in results),
        billed_input_tokens=sum(r.billed_input_tokens for r in results),
        cost=sum(r.cost for r in results),
    )


def random_records(n: int, *, seed: int = 7, prefix: str = "r") -> list[UsageRecord]:
    rng = random.Random(seed)
    records = []
    for i in range(n):
        explicit = rng.random() < 0.3
        input_tokens = rng.randint(10, 5000)
        cached = rng.randint(0, input_tokens // 2)
        records.append(
            rec(
                f"{prefix}{i}",
                T0 + rng.uniform(0, 2 * DAY),
                workspace=rng.choice(["ws-a", "ws-b"]),
                key_id=rng.choice(["key-1", "key-2", "key-3"]),
                model=rng.choice(["qwen-plus", "qwen-max"]),
                api=rng.choice(["chat", "responses", "anthropic"]),
                status=rng.choice(["ok", "ok", "ok", "cancelled", "internal_error"]),
                input_tokens=input_tokens,
                output_tokens=rng.randint(0, 800),
                reasoning_tokens=rng.randint(0, 50),
                cached_tokens=cached,
                cache_creation_tokens=rng.randint(0, input_tokens - cached) if explicit else 0,
                cache_type="ephemeral" if explicit else None,
            )
        )
    return records


async def test_record_and_read_back(store: Store) -> None:
    record = rec(
        "req", T0 + 10, cached_tokens=40, cache_type="ephemeral", builtin_tools={"web_search": 2}
    )
    assert await store.record_usage(record)
    assert await store.usage_records(["req"]) == [record]


async def test_a_duplicate_request_id_is_ignored(store: Store) -> None:
    first = rec("dup", T0 + 10)
    assert await store.record_usage(first)
    assert not await store.record_usage(rec("dup", T0 + 20, input_tokens=999))
    batch = [rec("dup", T0 + 30), rec("new", T0 + 40), rec("new", T0 + 50)]
    assert await store.record_usage_batch(batch) == 1
    assert await count(store, "usage_events") == 2
    assert await store.usage_records(["dup"]) == [first]
    assert await store.record_usage_batch([]) == 0


async def test_rollup_sums_equal_the_event_sums(store: Store) -> None:
    records = random_records(300)
    assert await store.record_usage_batch(records) == 300
    assert await store.roll_up() == 300
    assert totals(await grand_total(store)) == summed(records)
    # the hourly rows themselves add up to the events
    async with store.engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT sum(requests), sum(input_tokens) FROM usage_hourly"))
        ).one()
    assert (int(row[0]), int(row[1])) == (300, sum(r.input_tokens for r in records))
    # and per hour, group by group
    page = await store.usage_buckets(
        start=T0, end=T0 + 2 * DAY, width="1h", group_by=["model", "workspace"], limit=48
    )
    for bucket in page.buckets:
        for result in bucket.results:
            expected = [
                r
                for r in records
                if bucket.start * 1000 <= r.created_at_ms < bucket.end * 1000
                and r.model == result.model
                and r.workspace == result.workspace
            ]
            assert totals(result) == summed(expected)


async def test_rolling_up_twice_does_not_double_count(store: Store) -> None:
    first, second = random_records(50, seed=1, prefix="a"), random_records(70, seed=2, prefix="b")
    await store.record_usage_batch(first)
    assert await store.roll_up() == 50
    assert await store.roll_up() == 0
    await store.record_usage_batch(second)
    assert await store.roll_up() == 70
    assert await store.roll_up() == 0
    assert totals(await grand_total(store)) == summed(first + second)


async def test_rollup_in_small_steps_gives_the_same_rows(store: Store) -> None:
    records = random_records(40)
    await store.record_usage_batch(records)
    steps = []
    while taken := await store.roll_up(max_events=7):
        steps.append(taken)
    assert steps == [7, 7, 7, 7, 7, 5]
    assert totals(await grand_total(store)) == summed(records)


async def test_events_not_rolled_up_show_in_queries_at_once(store: Store) -> None:
    early = [rec("e1", T0 + 60), rec("e2", T0 + 120, status="cancelled")]
    await store.record_usage_batch(early)
    assert totals(await grand_total(store)) == summed(early)  # before any rollup
    await store.roll_up()
    late = [rec("e3", T0 + 90, output_tokens=77), rec("e4", T0 + DAY + 5)]  # e3: same hour
    await store.record_usage_batch(late)
    assert totals(await grand_total(store)) == summed(early + late)  # half rolled up
    await store.roll_up()
    assert totals(await grand_total(store)) == summed(early + late)
    # e3 was added to e1's row (same hour, same status); e2, cancelled, has its own
    assert await count(store, "usage_hourly") == 3


async def test_the_rollup_keeps_requests_per_status(store: Store) -> None:
    records = [
        rec("s1", T0 + 10),
        rec("s2", T0 + 20, status="Throttling.RateQuota", input_tokens=0, output_tokens=0),
        rec("s3", T0 + 30, status="Throttling.RateQuota", input_tokens=0, output_tokens=0),
        rec("s4", T0 + 40, status="cancelled", output_tokens=3),
        rec("s5", T0 + 50, status="InvalidParameter", key_id="key-2"),
        rec("s6", T0 + 60),
    ]
    await store.record_usage_batch(records)
    await store.roll_up()
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT key_id, status, requests, output_tokens FROM usage_hourly")
        )
        hourly = sorted(tuple(row) for row in rows)
    assert hourly == [
        ("key-1", "Throttling.RateQuota", 2, 0),
        ("key-1", "cancelled", 1, 3),
        ("key-1", "ok", 2, 20),
        ("key-2", "InvalidParameter", 1, 10),
    ]
    page = await store.usage_buckets(start=T0, end=T0 + DAY, group_by=["status", "key_id"])
    (bucket,) = page.buckets
    assert [(r.key_id, r.status, r.requests, r.errors) for r in bucket.results] == [
        ("key-1", "Throttling.RateQuota", 2, 2),
        ("key-1", "cancelled", 1, 1),
        ("key-1", "ok", 2, 0),
        ("key-2", "InvalidParameter", 1, 1),
    ]
    for result in bucket.results:
        mine = [r for r in records if (r.key_id, r.status) == (result.key_id, result.status)]
        assert totals(result) == summed(mine)
    (only,) = (await store.usage_buckets(start=T0, end=T0 + DAY)).buckets[0].results
    assert only.status is None and (only.requests, only.errors) == (6, 4)


async def test_queries_by_status_agree_before_during_and_after_the_rollup(store: Store) -> None:
    records = random_records(120, seed=11)
    await store.record_usage_batch(records)
    query = {
        "start": T0,
        "end": T0 + 2 * DAY,
        "width": "1h",
        "group_by": ["status", "model"],
        "limit": 48,
    }
    before = await store.usage_buckets(**query)  # type: ignore[arg-type]
    await store.roll_up(max_events=50)  # part rolled up, part still events
    during = await store.usage_buckets(**query)  # type: ignore[arg-type]
    await store.roll_up()
    after = await store.usage_buckets(**query)  # type: ignore[arg-type]
    # the same buckets and groups with the same sums (the float sums up to their rounding)
    assert rows(before) == rows(during) == approximately(rows(after))
    assert (before.has_more, before.next_start) == (after.has_more, after.next_start)
    statuses = {r.status for b in after.buckets for r in b.results}
    assert statuses == {"ok", "cancelled", "internal_error"}
    for bucket in after.buckets:
        for result in bucket.results:
            expected = [
                r
                for r in records
                if bucket.start * 1000 <= r.created_at_ms < bucket.end * 1000
                and (r.status, r.model) == (result.status, result.model)
            ]
            assert totals(result) == summed(expected)


async def test_grouping_and_filters(store: Store) -> None:
    records = [
        rec("g1", T0 + 10, workspace="ws-a", key_id="key-1", model="qwen-plus", api="chat"),
        rec("g2", T0 + 20, workspace="ws-a", key_id="key-2", model="qwen-max", api="chat"),
        rec("g3", T0 + 30, workspace="ws-b", key_id="key-3", model="qwen-plus", api="responses"),
        rec("g4", T0 + 40, workspace="ws-b", key_id="key-3", model="qwen-plus", api="chat"),
    ]
    await store.record_usage_batch(records[:2])
    await store.roll_up()
    await store.record_usage_batch(records[2:])  # half in the rollup, half not

    async def one_bucket(**query: object) -> tuple[UsageTotals, ...]:
        page = await store.usage_buckets(start=T0, end=T0 + DAY, width="1d", **query)  # type: ignore[arg-type]
        assert len(page.buckets) == 1
        return page.buckets[0].results

    by_workspace = await one_bucket(group_by=["workspace"])
    assert [(r.workspace, r.key_id, r.requests) for r in by_workspace] == [
        ("ws-a", None, 2),
        ("ws-b", None, 2),
    ]
    by_model_api = await one_bucket(group_by=["api", "model"])
    assert [(r.model, r.api, r.requests) for r in by_model_api] == [
        ("qwen-max", "chat", 1),
        ("qwen-plus", "chat", 2),
        ("qwen-plus", "responses", 1),
    ]
    (only,) = await one_bucket(models=["qwen-plus"], workspaces=["ws-b"])
    assert totals(only) == summed(records[2:])
    assert only.workspace is None  # filtered, not grouped
    by_key = await one_bucket(key_ids=["key-1", "key-3"], group_by=["key_id"])
    assert [(r.key_id, r.requests) for r in by_key] == [("key-1", 1), ("key-3", 2)]
    assert await one_bucket(models=["qwen-turbo"]) == ()
    assert await one_bucket(models=[]) == ()
    with pytest.raises(ValueError, match="group by"):
        await one_bucket(group_by=["project_id"])


async def test_day_buckets_sum_the_utc_days(store: Store) -> None:
    day1 = [rec("d1", T0 + 5), rec("d2", T0 + DAY - 1)]
    day3 = [rec("d3", T0 + 2 * DAY + HOUR)]
    await store.record_usage_batch(day1 + day3)
    await store.roll_up()
    page = await store.usage_buckets(start=T0 + 7 * HOUR, end=T0 + 3 * DAY, width="1d")
    assert [(b.start, b.end) for b in page.buckets] == [
        (T0, T0 + DAY),
        (T0 + DAY, T0 + 2 * DAY),
        (T0 + 2 * DAY, T0 + 3 * DAY),
    ]
    assert [len(b.results) for b in page.buckets] == [1, 0, 1]
    assert totals(page.buckets[0].results[0]) == summed(day1)
    assert totals(page.buckets[2].results[0]) == summed(day3)
    assert not page.has_more and page.next_start is None
    hours = await store.usage_buckets(start=T0, end=T0 + DAY, width="1h", limit=24)
    assert len(hours.buckets) == 24
    assert [b.results[0].requests for b in hours.buckets if b.results] == [1, 1]
    assert hours.buckets[23].start == T0 + 23 * HOUR


async def test_the_limit_pages_the_buckets(store: Store) -> None:
    await store.record_usage_batch([rec("p1", T0 + 1), rec("p2", T0 + 3 * DAY + 1)])
    page = await store.usage_buckets(start=T0, end=T0 + 5 * DAY, width="1d", limit=2)
    assert len(page.buckets) == 2 and page.has_more and page.next_start == T0 + 2 * DAY
    rest = await store.usage_buckets(start=page.next_start, end=T0 + 5 * DAY, width="1d", limit=3)
    assert [len(b.results) for b in rest.buckets] == [0, 1, 0] and not rest.has_more
    # without an end: has_more says whether anything was used past the page
    open_ended = await store.usage_buckets(start=T0, width="1d", limit=2)
    assert open_ended.has_more and open_ended.next_start == T0 + 2 * DAY
    await store.roll_up()
    assert (await store.usage_buckets(start=T0, width="1d", limit=2)).has_more
    assert not (await store.usage_buckets(start=T0, width="1d", limit=4)).has_more
    default = await store.usage_buckets(start=T0, end=T0 + 10 * DAY)
    assert len(default.buckets) == 7 and default.has_more  # OpenAI's default for 1d


async def test_purge_deletes_rolled_up_events_and_old_hours(store: Store) -> None:
    old = [rec("o1", T0 + 10), rec("o2", T0 + 20)]
    await store.record_usage_batch(old)
    cutoff_ms = (T0 + DAY) * 1000
    assert await store.purge_usage(cutoff_ms) == 0  # nothing rolled up yet: nothing goes
    await store.roll_up()
    await store.record_usage_batch([rec("n1", T0 + DAY + 10)])
    await store.roll_up()
    kept = [rec("o3", T0 + 30)]  # recorded late for an old hour, not rolled up: kept
    await store.record_usage_batch(kept)
    # o1, o2 and their hour go; n1 (the rollup's mark) and o3 stay
    assert await store.purge_usage(cutoff_ms) == 3
    assert [r.request_id for r in await store.usage_records(["o1", "o2", "o3", "n1"])] == [
        "n1",
        "o3",
    ]
    assert await count(store, "usage_hourly") == 1
    assert totals(await grand_total(store)) == summed([*kept, rec("n1", T0 + DAY + 10)])


async def test_seqs_stay_above_the_mark_after_purging_everything(store: Store) -> None:
    # SQLite reuses the highest rowid once its row is gone: purging keeps the mark's event
    await store.record_usage_batch([rec("x1", T0), rec("x2", T0 + 1)])
    await store.roll_up()
    await store.purge_usage((T0 + 30 * DAY) * 1000)
    await store.record_usage_batch([rec("x3", T0 + 40 * DAY)])
    assert await store.roll_up() == 1
    total = await grand_total(store, start=T0 + 40 * DAY, days=1)
    assert total.requests == 1


async def test_concurrent_writers_and_rollups_count_each_event_once(url: str) -> None:
    """Two stores (replicas) insert and roll up at once; every event lands in the hourly
    rows exactly once."""
    replicas = [await open_store(url), await open_store(url)]
    try:
        records = random_records(400, seed=3)
        batches = [records[i : i + 10] for i in range(0, len(records), 10)]

        async def write(replica: Store, mine: list[list[UsageRecord]]) -> None:
            for batch in mine:
                await replica.record_usage_batch(batch)

        async def roll(replica: Store, done: asyncio.Event) -> None:
            while not done.is_set():
                await replica.roll_up(max_events=25)
                await asyncio.sleep(0)

        done = asyncio.Event()
        rollers = [asyncio.create_task(roll(r, done)) for r in replicas]
        await asyncio.gather(write(replicas[0], batches[::2]), write(replicas[1], batches[1::2]))
        done.set()
        await asyncio.gather(*rollers)
        while await replicas[0].roll_up():
            pass
        async with replicas[0].engine.connect() as conn:
            rolled = (await conn.execute(text("SELECT sum(requests) FROM usage_hourly"))).scalar()
        assert int(rolled or 0) == 400
        assert totals(await grand_total(replicas[1])) == summed(records)
    finally:
        for replica in replicas:
            await replica.close()


@pytest.mark.skipif(not PG_URL, reason=NEEDS_POSTGRESQL)
async def test_an_insert_that_commits_late_with_a_lower_seq_is_not_skipped() -> None:
    """PostgreSQL takes seqs at INSERT and commits in any order: the rollup waits for the
    inserts in flight, so seq N committing after N+1 still gets rolled up."""
    assert PG_URL
    await reset_postgres(PG_URL)
    store = await open_store(PG_URL)
    try:
        async with store.engine.connect() as slow:
            await slow.begin()
            await usage.hold_rollup_off(slow)
            await usage.insert_events(slow, [rec("slow", T0 + 1)])  # seq N, not committed
            assert await store.record_usage(rec("fast", T0 + 2))  # seq N+1, committed
            rollup = asyncio.create_task(store.roll_up())
            await asyncio.sleep(0.3)
            assert not rollup.done()  # waiting for the slow insert
            await slow.commit()
        assert await rollup == 2
        assert (await grand_total(store)).requests == 2
        assert await store.roll_up() == 0
    finally:
        await store.close()
