"""A backend whose model runs on another server that speaks the OpenAI Chat Completions API:
vLLM, SGLang, llama-server, Ollama, Model Studio itself, or anything compatible. The request
goes out in the upstream's dialect, always streamed; the stream comes back as core events,
normalised. Closing the event iterator (a client that left) drops the upstream connection at
once, which stops the upstream's generation.

Each replica speaks its own dialect (one model may be served by vLLM on some machines and
SGLang on others): a request is checked against every dialect in use, since failover may
take it to any replica, and sent to each in that replica's dialect."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import orjson
from pydantic import SecretStr

from openscope.backends.base import BackendFeatures, EngineMetrics
from openscope.backends.openai_upstream.answers import UpstreamRefused, read_chunks, read_whole
from openscope.backends.openai_upstream.dialect import DIALECTS, Dialect
from openscope.backends.openai_upstream.engine_load import reported_load
from openscope.backends.openai_upstream.errors import upstream_error
from openscope.backends.openai_upstream.images import (
    check_image_urls,
    fetch_images,
    with_inline_images,
)
from openscope.backends.openai_upstream.options import UpstreamOptions
from openscope.backends.openai_upstream.replicas import Replica, ReplicaPool
from openscope.backends.openai_upstream.request_body import (
    MODEL_STUDIO_TOOLS,
    chat_body,
)
from openscope.backends.openai_upstream.route_checks import check_dialect
from openscope.backends.openai_upstream.stream import ChunkReader, UpstreamAborted
from openscope.backends.openai_upstream.transport import (
    AiohttpTransport,
    Timeouts,
    Transport,
    TransportError,
)
from openscope.core.errors import (
    UNAVAILABLE_MESSAGE,
    InvalidParameter,
    OpenScopeError,
    Overloaded,
)
from openscope.core.events import Event
from openscope.core.media import FetchedImage, ImageFetcher
from openscope.core.request import GenerateRequest
from openscope.parsing.pipeline import OutputParser

log = logging.getLogger("openscope.upstream")


class UpstreamBackend:
    def __init__(
        self,
        options: UpstreamOptions,
        *,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
        images: ImageFetcher | None = None,
    ) -> None:
        """`images`: the server's image fetcher, for replicas whose engine reads only
        inline images (without one, an image URL sent to such a replica is refused)."""
        self._options = options
        self._images = images
        self._clock = clock
        self._transport = transport or AiohttpTransport(
            max_connections=options.max_connections,
            timeouts=Timeouts(
                connect=options.connect_timeout,
                first_byte=options.first_byte_timeout,
                between_chunks=options.read_timeout,
            ),
        )
        self._pool = ReplicaPool(
            [
                Replica(
                    url=d.url,
                    headers=_auth(d.api_key),
                    weight=d.weight,
                    priority=d.priority,
                    max_concurrent=d.max_concurrent,
                    dialect=DIALECTS[d.dialect or options.dialect],
                )
                for d in options.replicas()
            ],
            failures_to_open=options.failures_to_open,
            cooldown=options.cooldown_seconds,
            clock=clock,
        )
        # every dialect in use, each once, in the order of the replicas
        self._dialects: tuple[Dialect, ...] = tuple(
            {r.dialect.name: r.dialect for r in self._pool.replicas}.values()
        )
        self._attempts = min(options.retries + 1, len(self._pool.replicas))
        self._watchers: list[asyncio.Task[None]] = []
        self._unreported: set[str] = set()  # replicas logged as reporting no load
        self._no_usage: set[str] = set()  # replicas logged as answering without usage

    def _check(self, request: GenerateRequest) -> None:
        """Refuse, naming the core field (each API words it), what this route cannot
        forward: nothing is dropped on the way."""
        check_image_urls(request)
        for dialect in self._dialects:
            check_dialect(request, dialect)

    def _raw_text_parser(self, request: GenerateRequest) -> Callable[[], OutputParser] | None:
        options = self._options
        if options.raw_tool_format is None:
            return None
        tool_format = options.raw_tool_format if request.tools else None
        thinks = bool(request.thinking.enabled) and options.thinking

        def parser() -> OutputParser:
            # only the tools it was sent: a call to another is the model's text, not a call
            tools = request.callable_tools
            return OutputParser(reasoning=thinks, tool_format=tool_format, tools=tools)

        return parser

    @property
    def replicas(self) -> list[Replica]:
        return self._pool.replicas

    @classmethod
    def from_options(
        cls, options: UpstreamOptions, *, images: ImageFetcher | None = None
    ) -> UpstreamBackend:
        return cls(options, images=images)

    def _inline(self, dialect: Dialect) -> bool:
        return dialect.image_urls == "inline" or self._options.fetch_images

    async def _bodies(self, request: GenerateRequest, model: str) -> dict[str, dict[str, Any]]:
        """The body for each dialect in use, built before any is sent: one that cannot
        carry the request refuses it now, not on failover. Images are fetched once, for
        every dialect that needs them inline."""
        fetched: dict[str, FetchedImage] = {}
        inline = [d for d in self._dialects if self._inline(d)]
        if inline:
            names = ", ".join(d.name for d in inline)
            fetched = await fetch_images(request, self._images, upstream=names)
        can_think = self._options.thinking
        bodies: dict[str, dict[str, Any]] = {}
        for dialect in self._dialects:
            sent = request
            if self._inline(dialect):
                readable = dialect.inline_image_types
                sent = with_inline_images(
                    request, fetched, readable=readable, upstream=dialect.name
                )
            bodies[dialect.name] = chat_body(sent, model, dialect, can_think=can_think)
        return bodies

    def features(self, model: str) -> BackendFeatures:
        """What every replica can do: any of them may serve a request."""
        options, dialects = self._options, self._dialects
        model_studio = all(d.model_studio for d in dialects)
        return BackendFeatures(
            tools=options.tools,
            thinking=options.thinking,
            json_object=True,
            json_schema=options.json_schema,
            # Raw text parsed here has no token boundaries left to hang logprobs on.
            logprobs=options.logprobs and options.raw_tool_format is None,
            multiple_choices=all(d.multiple_choices for d in dialects),
            vision=options.vision,
            audio_input=options.audio_input and all(d.input_audio for d in dialects),
            audio_output=options.audio_output and all(d.audio_output for d in dialects),
            builtin_tools=MODEL_STUDIO_TOOLS if model_studio else frozenset(),
            # Only Model Studio honours cache_control markers and the session cache; the
            # engines cache prefixes on their own, with no marker or time to live.
            explicit_cache=model_studio,
        )

    def context_length(self, model: str) -> int | None:
        return self._options.context_length

    @property
    def healthy(self) -> bool:
        return True  # no engine of its own: an unreachable upstream fails its requests

    def metrics(self) -> EngineMetrics | None:
        return None

    async def start(self) -> None:
        options, replicas = self._options, self._pool.replicas
        health = options.health_interval_seconds
        if health and any(r.dialect.health_path is not None for r in replicas):
            self._watch(self.check_health, health, "health checks")
        load = options.load_interval_seconds
        if load and any(r.dialect.load_gauges for r in replicas):
            self._watch(self.poll_load, load, "load polls")

    async def close(self) -> None:
        for task in self._watchers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._watchers.clear()
        await self._transport.close()

    async def check_health(self, until_next: float) -> None:
        """One round of health checks, every replica at once."""

        async def check(replica: Replica, path: str) -> None:
            url = replica.root + path
            try:
                status, _ = await self._transport.get(url, replica.headers)
                healthy = 200 <= status < 300
            except TransportError:
                healthy = False
            if not healthy:
                log.warning("upstream %s failed its health check", url)
            self._pool.checked(replica, healthy, until_next=until_next)

        await asyncio.gather(
            *(
                check(r, r.dialect.health_path)
                for r in self._pool.replicas
                if r.dialect.health_path is not None
            )
        )

    async def poll_load(self, until_next: float = 0.0) -> None:
        """One round of asking every replica's engine how many requests it holds. One that
        cannot say (no metrics page, say llama-server without --metrics; an unreadable one;
        no answer) counts as holding only openscope's requests: never an error."""

        async def poll(replica: Replica) -> None:
            dialect = replica.dialect
            url = replica.root + dialect.metrics_path
            try:
                status, page = await self._transport.get(url, replica.headers)
            except TransportError:
                status, page = 0, b""
            held = reported_load(page, dialect.load_gauges) if status == 200 else None
            self._pool.reported(replica, held)
            if held is None and url not in self._unreported:
                self._unreported.add(url)
                log.info("upstream %s reports no load (HTTP %d): counting ours only", url, status)
            elif held is not None and url in self._unreported:
                self._unreported.discard(url)
                log.info("upstream %s reports its load again", url)

        await asyncio.gather(*(poll(r) for r in self._pool.replicas if r.dialect.load_gauges))

    def _watch(self, round_: Callable[[float], Awaitable[None]], every: float, what: str) -> None:
        async def loop() -> None:
            while True:
                try:
                    await round_(every)
                except Exception:
                    log.exception("upstream %s failed", what)
                await asyncio.sleep(every)

        self._watchers.append(asyncio.create_task(loop()))

    async def generate(self, request: GenerateRequest, model: str) -> AsyncGenerator[Event, None]:
        self._check(request)
        bodies = await self._bodies(request, model)
        failure: OpenScopeError = Overloaded(UNAVAILABLE_MESSAGE, retry_after=1.0)
        # the same key whichever dialects are mixed: a conversation keeps to its replica
        key = affinity_key(bodies[self._dialects[0].name])
        order = self._pool.order(key)[: self._attempts]
        for attempt, replica in enumerate(order):
            last = attempt + 1 == len(order)
            body = bodies[replica.dialect.name]
            url = f"{replica.url}/chat/completions"
            sent = False  # whether an event reached the caller: past that, no second try
            replica.outstanding += 1
            try:
                async with self._transport.post(url, body, replica.headers) as response:
                    if response.status >= 400:
                        error = upstream_error(
                            response.status, response.headers, await response.body(), url=url
                        )
                        if response.status not in RETRYABLE or _final(error):
                            raise error  # the request's own fault: no other replica helps
                        self._pool.failed(replica)
                        if last:
                            raise error
                        failure = error
                        await _pause(error)
                        continue
                    reader = ChunkReader(replica.dialect, self._raw_text_parser(request))
                    answer = read_chunks if body["stream"] else read_whole
                    async for chunk in answer(response.lines):
                        for event in reader.feed(chunk):
                            sent = True
                            yield event
                if not reader.complete:
                    # The stream stopped without ending every choice: a cut, not an answer.
                    log.warning("upstream %s stream ended before the answer did", url)
                    raise TransportError("the stream ended before the answer did")
                self._pool.succeeded(replica)
                if reader.usage is None and replica.url not in self._no_usage:
                    self._no_usage.add(replica.url)
                    log.warning(
                        "upstream %s answered without usage: its tokens count as none "
                        "(a dialect whose answers carry usage would count them)",
                        replica.url,
                    )
                for event in reader.finish():
                    yield event
                return
            except UpstreamRefused as refused:
                # an error the upstream reported inside its 200 stream, about the request
                if sent:
                    raise Overloaded(UNAVAILABLE_MESSAGE) from None
                raise InvalidParameter(refused.message) from None
            except (TransportError, UpstreamAborted) as error:
                log.warning("upstream %s: %s", url, error)
                self._pool.failed(replica)
                if sent or last:
                    raise Overloaded(UNAVAILABLE_MESSAGE) from None
            finally:
                replica.outstanding -= 1
        raise failure

    async def count_tokens(self, request: GenerateRequest, model: str) -> int:
        counters = [r for r in self._pool.replicas if r.dialect.tokenize is not None]
        if not counters:
            names = ", ".join(d.name for d in self._dialects)
            raise InvalidParameter(
                f"Counting tokens is not supported yet by the {names} upstream on this server."
            )
        # any replica that can count counts the same; one resting after failures last
        now = self._clock()
        replica = min(counters, key=lambda r: r.open_until > now)
        dialect, root = replica.dialect, replica.root
        # What generate would send, checked and with images inline as generate would send
        # them (an engine is never handed a URL here that it would not be in generate),
        # less the sampling: the tools count too.
        self._check(request)
        body = (await self._bodies(request, model))[dialect.name]
        kept = ("messages", "tools", "chat_template_kwargs")
        chat: dict[str, Any] = {k: body[k] for k in kept if k in body}
        try:
            if dialect.tokenize == "messages":
                answer = await self._post_json(replica, "/tokenize", {"model": model, **chat})
                return int(answer["count"])
            prompt = await self._post_json(replica, "/apply-template", chat)
            tokens = await self._post_json(replica, "/tokenize", {"content": prompt["prompt"]})
            return len(tokens["tokens"])
        except (KeyError, TypeError, ValueError):
            log.warning("upstream %s answered a token count in an unknown shape", root)
            raise Overloaded(UNAVAILABLE_MESSAGE) from None

    async def _post_json(self, replica: Replica, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to one of the engine's own endpoints (beside /v1) and read its JSON."""
        url = replica.root + path
        try:
            async with self._transport.post(url, body, replica.headers) as response:
                raw = await response.body()
                if response.status >= 400:
                    raise upstream_error(response.status, response.headers, raw, url=url)
        except TransportError as error:
            log.warning("upstream %s: %s", url, error)
            raise Overloaded(UNAVAILABLE_MESSAGE) from None
        answer: dict[str, Any] = orjson.loads(raw)
        return answer


# Answers worth asking another replica for, when no byte has reached the client yet.
RETRYABLE = frozenset({429, 500, 502, 503, 504})
MAX_PAUSE = 1.0  # the longest Retry-After honoured by waiting before the next replica


def _final(error: OpenScopeError) -> bool:
    """A 429 that waiting will not cure (Model Studio's quota): no other replica is asked."""
    return error.code == "insufficient_quota"


def _auth(key: SecretStr | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}


def affinity_key(body: dict[str, Any]) -> bytes:
    """What makes requests share a prefix cache: the tools and the first two messages (the
    system prompt and the first turn, which every later turn of a conversation repeats)."""
    return orjson.dumps({"tools": body.get("tools"), "head": body["messages"][:2]})


async def _pause(error: OpenScopeError) -> None:
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None and retry_after <= MAX_PAUSE:
        await asyncio.sleep(retry_after)
