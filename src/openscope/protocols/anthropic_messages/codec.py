"""One message's events as Anthropic Messages stream events or its JSON body."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openscope.core import ids
from openscope.core.errors import OpenScopeError
from openscope.core.events import Event
from openscope.core.fold import GenerateResult
from openscope.protocols.anthropic_messages.encode import EventEncoder, error_body, message_body
from openscope.protocols.http import sse_frame
from openscope.protocols.runner import KeepAlive

# Anthropic sends ping events to keep idle connections (and proxies) from timing out.
PING_INTERVAL = 10.0


def pings(interval: float = PING_INTERVAL) -> KeepAlive:
    return KeepAlive(interval, sse_frame({"type": "ping"}, event="ping"))


class MessagesCodec:
    def __init__(self, *, model: str, request_id: str) -> None:
        self._id = ids.message_id()
        self._model = model
        self._request_id = request_id
        self._encoder = EventEncoder(message_id=self._id, model=model)

    def start(self) -> Iterable[bytes]:
        return ()

    def event(self, event: Event) -> Iterable[bytes]:
        return [sse_frame(data, event=name) for name, data in self._encoder.encode(event)]

    def finish(self) -> Iterable[bytes]:
        return [sse_frame(data, event=name) for name, data in self._encoder.finish()]

    def fail(self, error: OpenScopeError) -> Iterable[bytes]:
        # As Anthropic's API does: an `error` event ends a stream cut after its first byte.
        return [sse_frame(error_body(error, self._request_id), event="error")]

    def body(self, result: GenerateResult) -> Any:
        return message_body(result, message_id=self._id, model=self._model)
