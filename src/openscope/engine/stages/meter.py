"""Meter: every call that reaches this stage leaves one record in the usage ledger, however
it ends: "ok" when its stream ends, the error code the client is told when it fails (the
error goes on up), "cancelled" when the client hangs up. The events pass through unchanged.

What is noted on the way: the time to the first content (the first `PartDelta`), the last
`UsageReport` (backends report the input tokens up front and the totals at the end: the
last one wins), the built-in tool calls by tool kind, and the generated deltas, which stand
in for the output tokens when a stream that did not end well never got its final usage
(one delta is at least one token: the estimate is low, never high).

The record is handed to the sink without awaiting (`record_nowait`): a generator being
closed cannot reliably await, and the client should not wait on the ledger's database.
Sit it outside the tool loop: a tool loop calls the model once per turn, and the ledger
wants one record per request, with the loop's summed usage and its built-in calls."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from dataclasses import replace
from typing import Protocol

from openscope.core import ids
from openscope.core.billing import CANCELLED, OK, Price, UsageRecord, usage_record
from openscope.core.call import Call
from openscope.core.errors import MODEL_STUDIO_CODES, ErrorKind, OpenScopeError, error_code
from openscope.core.estimate import estimated_prompt_tokens
from openscope.core.events import (
    AudioDelta,
    Event,
    PartDelta,
    PartKind,
    PartStart,
    Usage,
    UsageReport,
)
from openscope.core.request import GenerateRequest
from openscope.engine.pipeline import Next

log = logging.getLogger("openscope.usage")

UNKNOWN_TOOL = "unknown"
# Deltas that are not the model's output: a built-in tool's result.
NOT_GENERATED = frozenset({PartKind.BUILTIN_RESULT})
SPECIAL = NOT_GENERATED | {PartKind.REASONING}


class UsageSink(Protocol):
    def record_nowait(self, record: UsageRecord) -> None:
        """Take the record to be written; must not block and must not raise."""


class _Tally:
    """What one call's events told so far."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.first_content: float | None = None
        self.deltas = 0
        self.reasoning_deltas = 0
        self.builtin_tools: dict[str, int] = {}
        # The parts whose deltas count differently (reasoning, or not generated at all),
        # by (choice, part): a delta of any other part is one generated delta, with no
        # lookup (this runs for every event of every call).
        self._special: dict[tuple[int, int], PartKind] = {}

    def add(self, event: Event, now: Callable[[], float]) -> None:
        if isinstance(event, PartDelta):
            if self.first_content is None:
                self.first_content = now()
            if self._special:
                kind = self._special.get((event.choice, event.part))
                if kind in NOT_GENERATED:
                    return
                self.reasoning_deltas += kind is PartKind.REASONING
            self.deltas += 1
        elif isinstance(event, PartStart):
            if event.kind in SPECIAL:
                self._special[event.choice, event.part] = event.kind
            elif self._special:
                self._special.pop((event.choice, event.part), None)
            if event.kind is PartKind.BUILTIN_CALL:
                tool = event.tool_name or UNKNOWN_TOOL
                self.builtin_tools[tool] = self.builtin_tools.get(tool, 0) + 1
        elif isinstance(event, UsageReport):
            self.usage = event.usage
        elif isinstance(event, AudioDelta):  # a spoken piece: generated, as a text delta is
            if self.first_content is None:
                self.first_content = now()
            self.deltas += 1

    def settled(self, status: str, request: GenerateRequest) -> Usage:
        """The usage to bill: the last report, and on a stream that did not end well at
        least the deltas seen, and the prompt's estimate if no report came at all (an
        upstream reports its usage only at the end)."""
        usage = self.usage
        if status == OK:
            return usage
        output = max(usage.output_tokens, self.deltas)
        reasoning = min(output, max(usage.reasoning_tokens, self.reasoning_deltas))
        read = usage.input_tokens or (estimated_prompt_tokens(request) if self.deltas else 0)
        return replace(usage, input_tokens=read, output_tokens=output, reasoning_tokens=reasoning)


def to_ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def failure_status(error: Exception) -> str:
    """The status a failed call is recorded with: the error code its client is told."""
    if isinstance(error, OpenScopeError):
        return error_code(error)
    return MODEL_STUDIO_CODES[ErrorKind.INTERNAL]


class Meter:
    def __init__(
        self,
        sink: UsageSink,
        *,
        prices: Mapping[str, Price],
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`prices` by the model name the client asked for; `clock` (seconds since the
        epoch) dates the records, `monotonic` times them."""
        self._sink = sink
        self._prices = prices
        self._clock = clock
        self._monotonic = monotonic

    def __call__(self, call: Call, next: Next) -> AsyncGenerator[Event, None]:
        return self._metered(call, next)

    async def _metered(self, call: Call, next: Next) -> AsyncGenerator[Event, None]:
        created_at = self._clock()
        started = self._monotonic()
        tally = _Tally()
        status = CANCELLED  # unless the stream ends or fails: closed, cancelled, interrupted
        try:
            async with aclosing(next(call)) as events:
                async for event in events:
                    tally.add(event, self._monotonic)
                    yield event
            status = OK
        except Exception as error:
            status = failure_status(error)
            raise
        finally:
            self._leave(call, tally, status, created_at, started)

    def _leave(
        self, call: Call, tally: _Tally, status: str, created_at: float, started: float
    ) -> None:
        """Hand the record to the sink; the ledger failing never fails the call."""
        try:
            self._sink.record_nowait(self._record(call, tally, status, created_at, started))
        except Exception:
            log.exception("could not record the usage of request %s", call.request_id)

    def _record(
        self, call: Call, tally: _Tally, status: str, created_at: float, started: float
    ) -> UsageRecord:
        model = call.request.model
        ttft = None if tally.first_content is None else to_ms(tally.first_content - started)
        return usage_record(
            request_id=call.request_id or ids.request_id(),
            created_at_ms=to_ms(created_at),
            workspace=call.principal.workspace,
            key_id=call.principal.key_id,
            model=model,
            api=call.api,
            status=status,
            usage=tally.settled(status, call.request),
            price=self._prices.get(model),
            builtin_tools=tally.builtin_tools,
            latency_ms=to_ms(self._monotonic() - started),
            ttft_ms=ttft,
        )
