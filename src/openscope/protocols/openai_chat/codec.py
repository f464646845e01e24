"""One chat completion's events as Chat Completions stream chunks or its JSON body."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from openscope.core import ids
from openscope.core.errors import OpenScopeError
from openscope.core.events import Event
from openscope.core.fold import GenerateResult
from openscope.protocols.http import sse_frame
from openscope.protocols.openai_chat.encode import ChunkEncoder, completion_body, error_body

DONE_FRAME = b"data: [DONE]\n\n"


class ChatCodec:
    def __init__(
        self,
        *,
        model: str,
        include_usage: bool,
        logprobs: bool,
        request_id: str,
        search_sources: bool = False,
    ) -> None:
        self._search_sources = search_sources
        self._id = ids.chat_completion_id()
        self._created = int(time.time())
        self._model = model
        self._request_id = request_id
        self._encoder = ChunkEncoder(
            completion_id=self._id,
            created=self._created,
            model=model,
            include_usage=include_usage,
            logprobs=logprobs,
            search_sources=search_sources,
        )

    def start(self) -> Iterable[bytes]:
        return ()

    def event(self, event: Event) -> Iterable[bytes]:
        return [sse_frame(chunk) for chunk in self._encoder.encode(event)]

    def finish(self) -> Iterable[bytes]:
        return [*(sse_frame(chunk) for chunk in self._encoder.finish()), DONE_FRAME]

    def fail(self, error: OpenScopeError) -> Iterable[bytes]:
        # The status is long sent: one error frame ends the stream, instead of `[DONE]`.
        return [sse_frame(error_body(error, self._request_id))]

    def body(self, result: GenerateResult) -> Any:
        return completion_body(
            result,
            completion_id=self._id,
            created=self._created,
            model=self._model,
            search_sources=self._search_sources,
        )
