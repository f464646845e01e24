"""One Responses turn's events as the Responses stream or its JSON body. The closing event
and the body carry the turn as the pipeline kept it (`TurnRecorded`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from openscope.core.errors import OpenScopeError, error_code
from openscope.core.events import Event, TurnRecorded
from openscope.core.fold import GenerateResult
from openscope.core.state import ResponseError, StoredResponse
from openscope.core.turns import Turn, turn_record
from openscope.protocols.http import sse_frame
from openscope.protocols.openai_responses.encode import response_body
from openscope.protocols.openai_responses.stream import ResponseStreamEncoder

log = logging.getLogger("openscope.responses")


def _frames(events: Iterable[dict[str, Any]]) -> list[bytes]:
    return [sse_frame(event, event=event["type"]) for event in events]


class ResponsesCodec:
    def __init__(self, turn: Turn) -> None:
        self._turn = turn
        self._encoder = ResponseStreamEncoder(turn_record(turn, GenerateResult(choices=())))
        self._recorded: StoredResponse | None = None

    def start(self) -> Iterable[bytes]:
        return _frames(self._encoder.start())

    def event(self, event: Event) -> Iterable[bytes]:
        if isinstance(event, TurnRecorded):
            self._recorded = event.record
        return _frames(self._encoder.encode(event))

    def finish(self) -> Iterable[bytes]:
        return _frames(self._encoder.finish(self._kept()))

    def fail(self, error: OpenScopeError) -> Iterable[bytes]:
        # `response.failed` carries the error; the pipeline kept the failed turn first,
        # unless it failed before it could (then the record is this turn with the error).
        record = self._recorded
        if record is None or record.error is None:
            failure = ResponseError(error_code(error), error.message)
            record = turn_record(self._turn, GenerateResult(choices=()), error=failure)
        return _frames(self._encoder.finish(record))

    def body(self, result: GenerateResult) -> Any:
        return response_body(result.recorded or self._kept())

    def _kept(self) -> StoredResponse:
        if self._recorded is None:  # the pipeline always records a turn; say so if not
            log.error("a Responses turn ended without its record")
            return turn_record(self._turn, GenerateResult(choices=()))
        return self._recorded
