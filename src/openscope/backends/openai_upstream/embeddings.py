"""`UpstreamEmbedder`: an `Embedder` that asks an OpenAI-compatible server's `/embeddings`
(vLLM, SGLang, llama-server, text-embeddings-inference, Model Studio itself).

OpenAI's embeddings API has no way to say whether a text is a query or a passage, so the
upstream reads both the same. It has no way to count tokens either: `count_tokens` is an
estimate (below); the tokens an `embed` reports are the upstream's own count when it gives
one (`usage.prompt_tokens`)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import orjson

from openscope.backends.openai_upstream.errors import upstream_error
from openscope.backends.openai_upstream.transport import (
    AiohttpTransport,
    Timeouts,
    Transport,
    TransportError,
)
from openscope.core.errors import (
    INTERNAL_ERROR_MESSAGE,
    UNAVAILABLE_MESSAGE,
    InternalError,
    Overloaded,
)
from openscope.core.knowledge import Embeddings, EmbeddingUse

log = logging.getLogger("openscope.upstream")


def estimated_tokens(text: str) -> int:
    """A text's tokens without the upstream's tokenizer: a quarter of its ASCII characters
    (English and code run at about four a token in the BPE vocabularies these models
    use) plus one for every other character (CJK and most other scripts run at one or two
    characters a token, so this errs high there, which keeps chunks under a limit).
    Within about a third of the true count for English prose; never zero for a text
    that is not empty."""
    if not text:
        return 0
    ascii_chars = sum(1 for c in text if c < "\x80")
    return max(1, math.ceil(ascii_chars / 4) + (len(text) - ascii_chars))


class UpstreamEmbedder:
    """`model` is the name the upstream knows the model by, `name` the one clients use
    (default: the same). `dimensions`: the length of the upstream's vectors; with
    `send_dimensions` it is also sent as the request's `dimensions` (for a model that
    gives several lengths, like Model Studio's text-embedding-v4). A vector of another
    length is an upstream fault, never passed on. `max_batch_rows`: the most texts one
    request carries (Model Studio takes 10); more are sent in several, one after another."""

    def __init__(
        self,
        url: str,
        model: str,
        dimensions: int,
        *,
        name: str | None = None,
        api_key: str | None = None,
        send_dimensions: bool = False,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_connections: int = 16,
        max_batch_rows: int = 10,
        transport: Transport | None = None,
    ) -> None:
        self._url = url.rstrip("/") + "/embeddings"
        self._upstream_model = model
        self._name = name or model
        self._dimensions = dimensions
        self._send_dimensions = send_dimensions
        if max_batch_rows < 1:
            raise ValueError("max_batch_rows must be at least 1")
        self._max_batch_rows = max_batch_rows
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._transport = transport or AiohttpTransport(
            max_connections=max_connections,
            timeouts=Timeouts(connect=connect_timeout, first_byte=timeout, between_chunks=timeout),
        )

    @property
    def model(self) -> str:
        return self._name

    @property
    def dimensions(self) -> int:
        return self._dimensions

    async def embed(self, texts: Sequence[str], use: EmbeddingUse = "passage") -> Embeddings:
        vectors: list[tuple[float, ...]] = []
        tokens = 0
        for start in range(0, len(texts), self._max_batch_rows):
            batch = await self._request(texts[start : start + self._max_batch_rows])
            vectors.extend(batch.vectors)
            tokens += batch.tokens
        return Embeddings(vectors=tuple(vectors), tokens=tokens)

    async def _request(self, texts: Sequence[str]) -> Embeddings:
        body: dict[str, Any] = {
            "model": self._upstream_model,
            "input": list(texts),
            "encoding_format": "float",
        }
        if self._send_dimensions:
            body["dimensions"] = self._dimensions
        try:
            async with self._transport.post(self._url, body, self._headers) as response:
                raw = await response.body()
                if response.status != 200:
                    raise upstream_error(response.status, response.headers, raw, url=self._url)
        except TransportError as error:
            log.warning("upstream %s: %s", self._url, error)
            raise Overloaded(UNAVAILABLE_MESSAGE) from None
        vectors, tokens = self._parse(raw, len(texts))
        if tokens is None:
            tokens = sum(estimated_tokens(t) for t in texts)
        return Embeddings(vectors=vectors, tokens=tokens)

    async def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [estimated_tokens(t) for t in texts]

    async def close(self) -> None:
        await self._transport.close()

    def _parse(self, raw: bytes, rows: int) -> tuple[tuple[tuple[float, ...], ...], int | None]:
        """The vectors in input order and the upstream's token count; an answer of the
        wrong shape is logged for the operator and answered as an internal error."""
        try:
            answer = orjson.loads(raw)
            data = sorted(answer["data"], key=lambda item: int(item["index"]))
            vectors = tuple(tuple(float(x) for x in item["embedding"]) for item in data)
            usage = answer.get("usage") or {}
            tokens = usage.get("prompt_tokens", usage.get("total_tokens"))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            log.error("upstream %s answered embeddings that cannot be read: %.300r", self._url, raw)
            raise InternalError(INTERNAL_ERROR_MESSAGE) from None
        if len(vectors) != rows or any(len(v) != self._dimensions for v in vectors):
            lengths = sorted({len(v) for v in vectors})
            log.error(
                "upstream %s answered %d vectors of lengths %s for %d texts; expected length %d",
                self._url,
                len(vectors),
                lengths,
                rows,
                self._dimensions,
            )
            raise InternalError(INTERNAL_ERROR_MESSAGE)
        return vectors, int(tokens) if isinstance(tokens, int | float) else None
