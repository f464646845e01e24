"""Responses turns through the engine's pipeline (the record stage) and the stored state
they leave, over the scripted backend and a SQLite store."""

from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

import pytest

from openscope.backends.scripted import ScriptedBackend
from openscope.core.catalog import default_catalog
from openscope.core.errors import InvalidParameter, NotFound, Overloaded
from openscope.core.events import Event, PartDelta, TurnRecorded
from openscope.core.messages import Message, Role, TextPart
from openscope.core.principal import Principal
from openscope.core.request import GenerateRequest
from openscope.core.state import Item, StoredResponse, TurnSettings
from openscope.core.turns import Turn
from openscope.engine import Engine, Route, Router
from openscope.engine.responses import Responses
from openscope.store import Store, open_store, sqlite_url
from tests.engine.helpers import CALLER, started


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(sqlite_url(tmp_path))
    yield opened
    await opened.close()


class Service:
    """The engine that runs turns and the service that reads what they left."""

    def __init__(self, store: Store, clock: Clock, backend: ScriptedBackend) -> None:
        router = Router(default_catalog(), {"m": Route("b", "m")}, {}, created=1)
        self.engine = Engine(router, {"b": backend}, store, retention_seconds=100, clock=clock)
        self.state = Responses(store, clock=clock)

    async def run_turn(self, turn: Turn, *, stream: bool) -> AsyncGenerator[Event, None]:
        return await started(self.engine, turn.request, stream=stream, turn=turn)

    async def get_response(self, response_id: str) -> StoredResponse:
        return await self.state.get_response(CALLER, response_id)

    async def purge_expired(self) -> int:
        return await self.state.purge_expired()


def responses(store: Store, clock: Clock, backend: ScriptedBackend) -> Service:
    return Service(store, clock, backend)


def turn(text: str, response_id: str, **fields: object) -> Turn:
    message = Message(Role.USER, (TextPart(text),))
    return Turn(
        response_id=response_id,
        created_at=1,
        request=GenerateRequest(model="m", messages=(message,)),
        input_items=(Item(f"msg_{response_id}", message),),
        settings=fields.pop("settings", TurnSettings()),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


async def run(service: Service, t: Turn) -> None:
    stream = await service.run_turn(t, stream=False)
    [event async for event in stream]


async def test_chained_history_and_expiry(store: Store) -> None:
    clock, backend = Clock(), ScriptedBackend()
    service = responses(store, clock, backend)
    await run(service, turn("one", "resp_1", settings=TurnSettings(instructions="first only")))
    await run(service, turn("two", "resp_2", previous_response_id="resp_1"))
    sent = backend.requests[-1][0].messages
    assert [m.role for m in sent] == [Role.USER, Role.ASSISTANT, Role.USER]
    assert [m.text for m in sent] == ["one", "one", "two"]  # no instructions carried over
    clock.now += 101
    with pytest.raises(InvalidParameter, match="Not found previous_response_id: resp_2"):
        await service.run_turn(turn("three", "resp_3", previous_response_id="resp_2"), stream=False)


async def test_store_false_keeps_nothing(store: Store) -> None:
    service = responses(store, Clock(), ScriptedBackend())
    await run(service, turn("one", "resp_1", settings=TurnSettings(store=False)))
    with pytest.raises(NotFound):
        await service.get_response("resp_1")


async def test_a_client_that_leaves_mid_stream_leaves_nothing(store: Store) -> None:
    service = responses(store, Clock(), ScriptedBackend())
    stream = await service.run_turn(turn("one two three", "resp_1"), stream=True)
    await anext(stream)
    await stream.aclose()
    with pytest.raises(NotFound):
        await service.get_response("resp_1")


async def test_purge_deletes_expired_responses(store: Store) -> None:
    clock = Clock()
    service = responses(store, clock, ScriptedBackend())
    await run(service, turn("one", "resp_1"))
    assert await service.purge_expired() == 0
    clock.now += 101
    assert await service.purge_expired() == 1
    clock.now -= 101  # even at the old time the row is gone: deleted, not hidden
    with pytest.raises(NotFound):
        await service.get_response("resp_1")


async def test_another_workspace_cannot_chain_on_or_read_a_stored_turn(store: Store) -> None:
    service = responses(store, Clock(), ScriptedBackend())
    await run(service, turn("one", "resp_1"))
    stranger = Principal("key-other", workspace="team-b")
    chained = turn("two", "resp_2", previous_response_id="resp_1")
    with pytest.raises(InvalidParameter, match="Not found previous_response_id: resp_1"):
        await started(service.engine, chained.request, stream=False, caller=stranger, turn=chained)
    with pytest.raises(NotFound):
        await service.state.get_response(stranger, "resp_1")
    assert (await service.get_response("resp_1")).workspace == CALLER.workspace


async def test_a_turn_is_stored_in_its_caller_s_workspace(store: Store) -> None:
    service = responses(store, Clock(), ScriptedBackend())
    team = Principal("key-team", workspace="team-b")
    t = turn("one", "resp_1")
    events = await started(service.engine, t.request, stream=False, caller=team, turn=t)
    recorded = [e async for e in events if isinstance(e, TurnRecorded)]
    assert [r.record.workspace for r in recorded] == ["team-b"]
    assert (await service.state.get_response(team, "resp_1")).id == "resp_1"
    with pytest.raises(NotFound):
        await service.get_response("resp_1")  # the default workspace does not see it


async def test_a_turn_that_fails_midway_is_not_appended_to_its_conversation(store: Store) -> None:
    class FailsMidway(ScriptedBackend):
        async def generate(self, request, model):  # type: ignore[no-untyped-def,override]
            async for event in super().generate(request, model):
                yield event
                if isinstance(event, PartDelta):
                    raise Overloaded("The model is overloaded.")

    service = responses(store, Clock(), FailsMidway())
    conversation_id = (await service.state.create_conversation(CALLER, {}, ())).id
    settings = TurnSettings(store=False)
    t = turn("one two", "resp_1", settings=settings, conversation_id=conversation_id)
    events = await service.run_turn(t, stream=True)
    seen: list[Event] = []
    with pytest.raises(Overloaded):
        async for event in events:
            seen.append(event)
    (recorded,) = [e for e in seen if isinstance(e, TurnRecorded)]
    assert recorded.record.error is not None
    assert await store.conversation_items(CALLER.workspace, conversation_id) == ()
