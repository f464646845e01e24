"""Workspaces in the store: a taken id is refused as InvalidParameter however the race
between two creators falls (the check before the insert, or the insert's unique key)."""

from __future__ import annotations

import asyncio

import pytest

from openscope.core.accounts import Workspace
from openscope.core.errors import InvalidParameter
from openscope.store import Store
from openscope.store import keys as key_queries


async def test_a_taken_workspace_id_is_refused(store: Store) -> None:
    await store.create_workspace(Workspace(id="team", name="Team", created_at=1))
    with pytest.raises(InvalidParameter, match="'team' already exists") as refused:
        await store.create_workspace(Workspace(id="team", name="Other", created_at=2))
    assert refused.value.param == "id"


async def test_the_insert_refuses_a_taken_id_the_check_missed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: another creator inserted the id between this one's check and insert."""
    await store.create_workspace(Workspace(id="team", name="Team", created_at=1))

    async def not_there_yet(*args: object, **kwargs: object) -> None:
        return None

    monkeypatch.setattr(key_queries, "get_workspace", not_there_yet)
    with pytest.raises(InvalidParameter, match="'team' already exists") as refused:
        await store.create_workspace(Workspace(id="team", name="Other", created_at=2))
    assert refused.value.param == "id"
    monkeypatch.undo()
    kept = await store.get_workspace("team")
    assert kept is not None and kept.name == "Team"


async def test_simultaneous_creators_of_one_id(store: Store) -> None:
    made = await asyncio.gather(
        *(
            store.create_workspace(Workspace(id="team", name=str(i), created_at=i))
            for i in range(4)
        ),
        return_exceptions=True,
    )
    assert sum(result is None for result in made) == 1
    assert all(isinstance(r, InvalidParameter) for r in made if r is not None)
