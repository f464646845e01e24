"""The key directory reads a stored key once per cache window, however many calls find
its entry expired at once: they wait for the one read."""

from __future__ import annotations

import asyncio

import pytest

from openscope.core.accounts import ApiKey, Scope, Workspace
from openscope.server.keys import KeyDirectory


class CountingStore:
    """A store that knows one key, answers after a pause and counts the lookups."""

    def __init__(self, *, fail: bool = False) -> None:
        self.lookups = 0
        self.fail = fail

    async def key_by_digest(self, digest: str) -> tuple[ApiKey, Workspace]:
        self.lookups += 1
        await asyncio.sleep(0.01)
        if self.fail:
            raise OSError("the database is away")
        key = ApiKey(
            id="key-1",
            name="k",
            workspace="default",
            redacted="sk-a...z",
            created_at=1,
            scopes=frozenset({Scope.INFERENCE}),
        )
        return key, Workspace("default", "default", 1)


def directory_over(store: CountingStore, now: list[float]) -> KeyDirectory:
    return KeyDirectory(store, b"pepper", cache_seconds=1.0, clock=lambda: now[0])  # type: ignore[arg-type]


async def test_calls_that_find_the_entry_expired_share_one_lookup() -> None:
    now = [0.0]
    store = CountingStore()
    directory = directory_over(store, now)
    first = await asyncio.gather(*(directory.principal("sk-x") for _ in range(8)))
    assert store.lookups == 1
    now[0] += 5  # past the cache window
    again = await asyncio.gather(*(directory.principal("sk-x") for _ in range(8)))
    assert store.lookups == 2
    assert {p.key_id for p in first + again if p is not None} == {"key-1"}


async def test_a_failed_lookup_fails_its_waiters_and_the_next_call_looks_again() -> None:
    store = CountingStore(fail=True)
    directory = directory_over(store, [0.0])
    answers = await asyncio.gather(
        *(directory.principal("sk-x") for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(answer, OSError) for answer in answers)
    assert store.lookups == 1
    store.fail = False
    assert (await directory.principal("sk-x")) is not None
    assert store.lookups == 2


@pytest.mark.parametrize("cancelled", [0, 1])
async def test_a_caller_that_leaves_does_not_cancel_the_others_lookup(cancelled: int) -> None:
    store = CountingStore()
    directory = directory_over(store, [0.0])
    calls = [asyncio.ensure_future(directory.principal("sk-x")) for _ in range(2)]
    await asyncio.sleep(0)
    calls[cancelled].cancel()
    kept = calls[1 - cancelled]
    assert (await kept) is not None
    assert store.lookups == 1
