"""The engine: the pipeline of stages in front of the backends, and what the server asks of
the backends as a whole (models, token counts, metrics, health, start and stop)."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass

from opentelemetry.trace import Tracer

from openscope.backends.base import Backend, EngineMetrics
from openscope.core.billing import Price
from openscope.core.builtin_tools import BuiltinToolKind
from openscope.core.call import Call
from openscope.core.events import Event
from openscope.core.request import GenerateRequest
from openscope.core.service import ServedModel
from openscope.core.tool_runner import BuiltinToolRunner
from openscope.engine.admission import Admissions
from openscope.engine.pipeline import Next, Stage, compose
from openscope.engine.routing import Router
from openscope.engine.stages.admit import Admit
from openscope.engine.stages.backend import RunOnBackend
from openscope.engine.stages.meter import Meter, UsageSink
from openscope.engine.stages.record import DEFAULT_RETENTION, RecordTurn
from openscope.engine.stages.resolve import Resolve
from openscope.engine.stages.tool_loop import (
    DEFAULT_MAX_ROUNDS,
    DEFAULT_TOOL_TIMEOUT,
    DEFAULT_TOTAL_TOOL_TIME,
    ToolLoop,
)
from openscope.store import Store


@dataclass(frozen=True, slots=True)
class ToolLimits:
    """How far the tool loop goes for one request (see `engine.stages.tool_loop`): rounds
    of tool runs, one run's time and all runs' time, in seconds."""

    max_rounds: int = DEFAULT_MAX_ROUNDS
    tool_timeout: float = DEFAULT_TOOL_TIMEOUT
    total_tool_time: float = DEFAULT_TOTAL_TOOL_TIME


def build_pipeline(
    router: Router,
    backends: Mapping[str, Backend],
    store: Store,
    *,
    retention_seconds: int,
    clock: Callable[[], float],
    admit: Admit | None,
    usage: UsageSink | None = None,
    prices: Mapping[str, Price] | None = None,
    tracer: Tracer | None = None,
    tool_loop: ToolLoop | None = None,
    loop_tools: frozenset[BuiltinToolKind] = frozenset(),
) -> Next:
    """The stages, in the one order they run. Each line is one concern. `loop_tools`: the
    built-in tools `tool_loop` runs, which Resolve then lets through."""
    admitting: list[Stage] = [] if admit is None else [admit]
    meter: list[Stage] = [] if usage is None else [Meter(usage, prices=prices or {}, clock=clock)]
    looping: list[Stage] = [] if tool_loop is None else [tool_loop]
    return compose(
        [
            Resolve(router, backends, loop_tools=loop_tools),  # the model, its entry, the rules
            *admitting,  # the caller's models, and rate and concurrency limits
            RecordTurn(store, retention_seconds=retention_seconds, clock=clock),  # Responses
            *meter,  # the usage ledger: one record per request, so outside the tool loop
            *looping,  # built-in tools run between model turns (tools)
        ],
        terminal=RunOnBackend(router, backends, tracer),
    )


class Engine:
    def __init__(
        self,
        router: Router,
        backends: Mapping[str, Backend],
        store: Store,
        *,
        retention_seconds: int = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
        admissions: Admissions | None = None,
        usage: UsageSink | None = None,
        prices: Mapping[str, Price] | None = None,
        tracer: Tracer | None = None,
        tool_runners: Mapping[BuiltinToolKind, BuiltinToolRunner] | None = None,
        tool_limits: ToolLimits | None = None,
    ) -> None:
        """`clock` (seconds since the epoch) dates and expires stored turns; without
        `admissions`, calls are not limited (nor their models checked against the caller's);
        without `usage`, nothing is metered. `tool_runners` run the built-in tools of their
        kind for backends that call functions but do not run those tools themselves (the
        router should be built with the same kinds as `loop_tools`, for the models the
        catalogue lacks); without them, a built-in tool is served only by a backend that
        runs it itself, as before, and refused by name otherwise."""
        self._router = router
        self._backends = dict(backends)
        self._admit = None if admissions is None else Admit(router, admissions)
        runners = dict(tool_runners or {})
        loop_limits = tool_limits or ToolLimits()
        tool_loop = (
            ToolLoop(
                runners,
                router=router,
                backends=self._backends,
                max_rounds=loop_limits.max_rounds,
                tool_timeout=loop_limits.tool_timeout,
                total_tool_time=loop_limits.total_tool_time,
            )
            if runners
            else None
        )
        self._tool_loop = tool_loop
        self._pipeline = build_pipeline(
            router,
            self._backends,
            store,
            retention_seconds=retention_seconds,
            clock=clock,
            admit=self._admit,
            usage=usage,
            prices=prices,
            tracer=tracer,
            tool_loop=tool_loop,
            loop_tools=frozenset(runners),
        )

    def models(self) -> Sequence[ServedModel]:
        return self._router.served()

    def model(self, name: str) -> ServedModel:
        return self._router.resolve(name).served

    def generate(self, call: Call) -> AsyncGenerator[Event, None]:
        return self._pipeline(call)

    async def count_tokens(self, request: GenerateRequest) -> int:
        """The input tokens of `request` as its model's first turn reads them (built-in
        tools run here count as the functions they are offered as)."""
        if self._tool_loop is not None:
            request = self._tool_loop.as_the_model_sees_it(request)
        target = self._router.resolve(request.model)
        return await self._backends[target.route.backend].count_tokens(request, target.route.model)

    def metrics(self) -> dict[str, EngineMetrics]:
        """Each backend's engine snapshot, by backend name; backends without one are left out."""
        snapshots = {name: backend.metrics() for name, backend in self._backends.items()}
        return {name: snapshot for name, snapshot in snapshots.items() if snapshot is not None}

    def unhealthy(self) -> list[str]:
        """The backends that can no longer serve, by name."""
        return [name for name, backend in self._backends.items() if not backend.healthy]

    async def start(self) -> None:
        for backend in self._backends.values():
            await backend.start()

    async def close(self) -> None:
        for backend in self._backends.values():
            await backend.close()
