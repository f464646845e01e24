"""What the engine tests share: a caller, and the old "wait for the first event" contract
the protocols' route runner now keeps."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from openscope.core.call import Call
from openscope.core.events import Event
from openscope.core.principal import Principal
from openscope.core.request import GenerateRequest
from openscope.core.turns import Turn
from openscope.engine import Engine
from openscope.store import Store, create_engine

CALLER = Principal("key-test")


def unused_store() -> Store:
    """A store for engines whose tests run no Responses turn: never connected to."""
    return Store(create_engine("sqlite+aiosqlite://"))


async def started(
    engine: Engine,
    request: GenerateRequest,
    *,
    stream: bool,
    caller: Principal = CALLER,
    turn: Turn | None = None,
) -> AsyncGenerator[Event, None]:
    """The call's events once the first has come (what can be refused is raised here);
    closing the result closes the pipeline."""
    events = engine.generate(Call(caller, request, stream=stream, turn=turn))
    first = await anext(events)

    async def replay() -> AsyncGenerator[Event, None]:
        try:
            yield first
            async for event in events:
                yield event
        finally:
            await events.aclose()

    return replay()
