"""A backend whose model runs on another server that speaks the OpenAI Chat Completions API:
vLLM, SGLang, llama-server, Ollama, Model Studio itself, or anything compatible. The request
goes out in the upstream's dialect, always streamed; the stream comes back as core events,
normalised. Closing the event iterator (a client that left) drops the upstream connection at
once, which stops the upstream's generation."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Any

import orjson

from openscope.backends.base import BackendFeatures, EngineMetrics
from openscope.backends.openai_upstream.dialect import DIALECTS, Dialect
from openscope.backends.openai_upstream.errors import UNAVAILABLE, upstream_error
from openscope.backends.openai_upstream.options import UpstreamOptions
from openscope.backends.openai_upstream.request_body import (
    MODEL_STUDIO_TOOLS,
    PARTIAL_DIALECTS,
    chat_body,
    wire_messages,
)
from openscope.backends.openai_upstream.stream import ChunkReader
from openscope.backends.openai_upstream.transport import (
    AiohttpTransport,
    Timeouts,
    Transport,
    TransportError,
)
from openscope.core.errors import InvalidParameter, Overloaded
from openscope.core.events import Event
from openscope.core.request import GenerateRequest

log = logging.getLogger("openscope.upstream")

DATA = b"data:"


class UpstreamBackend:
    def __init__(self, options: UpstreamOptions, *, transport: Transport | None = None) -> None:
        self._options = options
        self._dialect: Dialect = DIALECTS[options.dialect]
        self._url = options.url
        self._transport = transport or AiohttpTransport(
            max_connections=options.max_connections,
            timeouts=Timeouts(
                connect=options.connect_timeout,
                first_byte=options.first_byte_timeout,
                between_chunks=options.read_timeout,
            ),
        )
        key = options.api_key.get_secret_value() if options.api_key else None
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}

    @classmethod
    def from_options(cls, options: UpstreamOptions) -> UpstreamBackend:
        return cls(options)

    def features(self, model: str) -> BackendFeatures:
        options, dialect = self._options, self._dialect
        return BackendFeatures(
            tools=options.tools,
            thinking=options.thinking,
            json_object=True,
            json_schema=options.json_schema,
            logprobs=options.logprobs,
            multiple_choices=dialect.multiple_choices,
            vision=options.vision,
            builtin_tools=MODEL_STUDIO_TOOLS if dialect.model_studio else frozenset(),
            prefix_cache=True,
            # Only Model Studio honours cache_control markers and the session cache; the
            # engines cache prefixes on their own, with no marker or time to live.
            explicit_cache=dialect.model_studio,
        )

    def context_length(self, model: str) -> int | None:
        return self._options.context_length

    @property
    def healthy(self) -> bool:
        return True  # no engine of its own: an unreachable upstream fails its requests

    def metrics(self) -> EngineMetrics | None:
        return None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self._transport.close()

    async def generate(self, request: GenerateRequest, model: str) -> AsyncGenerator[Event, None]:
        if request.partial and self._dialect.name not in PARTIAL_DIALECTS:
            raise InvalidParameter(
                f"The parameter partial is not supported yet by the {self._dialect.name} "
                "upstream on this server.",
                param="messages",
            )
        url = f"{self._url}/chat/completions"
        body = chat_body(request, model, self._dialect)
        reader = ChunkReader(self._dialect)
        try:
            async with self._transport.post(url, body, self._headers) as response:
                if response.status >= 400:
                    raise upstream_error(
                        response.status, response.headers, await response.body(), url=url
                    )
                async for line in response.lines:
                    if not line.startswith(DATA):
                        continue  # comments, event names, keep-alives
                    data = line[len(DATA) :].strip()
                    if data == b"[DONE]":
                        break
                    chunk = _chunk(data)
                    if "error" in chunk and not chunk.get("choices"):
                        log.warning("upstream %s failed mid-stream: %s", url, chunk["error"])
                        raise Overloaded(UNAVAILABLE)
                    for event in reader.feed(chunk):
                        yield event
        except TransportError as error:
            log.warning("upstream %s: %s", url, error)
            raise Overloaded(UNAVAILABLE) from None
        if not reader.complete:
            # The stream stopped without ending every choice: a cut, not an answer.
            log.warning("upstream %s stream ended before the answer did", url)
            raise Overloaded(UNAVAILABLE)
        for event in reader.finish():
            yield event

    async def count_tokens(self, request: GenerateRequest, model: str) -> int:
        root = self._url.removesuffix("/v1")
        messages = wire_messages(request.messages, self._dialect)
        match self._dialect.tokenize:
            case "messages":
                answer = await self._post_json(
                    f"{root}/tokenize", {"model": model, "messages": messages}
                )
                return int(answer["count"])
            case "template":
                prompt = await self._post_json(f"{root}/apply-template", {"messages": messages})
                tokens = await self._post_json(f"{root}/tokenize", {"content": prompt["prompt"]})
                return len(tokens["tokens"])
            case None:
                raise InvalidParameter(
                    f"Counting tokens is not supported yet by the {self._dialect.name} "
                    "upstream on this server."
                )

    async def _post_json(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self._transport.post(url, body, self._headers) as response:
                raw = await response.body()
                if response.status >= 400:
                    raise upstream_error(response.status, response.headers, raw, url=url)
        except TransportError as error:
            log.warning("upstream %s: %s", url, error)
            raise Overloaded(UNAVAILABLE) from None
        answer: dict[str, Any] = orjson.loads(raw)
        return answer


def _chunk(data: bytes) -> dict[str, Any]:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        log.warning("upstream sent a chunk that is not JSON: %r", data[:200])
        raise Overloaded(UNAVAILABLE) from None
    if not isinstance(chunk, dict):
        raise Overloaded(UNAVAILABLE)
    return chunk
