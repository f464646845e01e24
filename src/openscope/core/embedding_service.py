"""The embeddings API as the protocols ask it of the server: which model names it answers
to, and vectors for a request's texts. Also the rules Model Studio applies to every
embeddings request (rows per request, tokens per row, the dimensions a model can give),
worded as it words them, with wire-neutral parameter names (`input`, `dimensions`); and
the gate the platform's limits and ledger stand in between a checked request and its
model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from openscope.core.errors import InvalidParameter
from openscope.core.knowledge import Embeddings, EmbeddingUse
from openscope.core.principal import Principal
from openscope.core.quota import Allowance

# Model Studio's limits on text-embedding-v3 and -v4: at most 10 rows (texts) a request,
# each of at most 8,192 tokens (its "Max rows" and "Max tokens per row").
MAX_ROWS = 10
MAX_TOKENS_PER_ROW = 8192
# The code Model Studio's embedding models refuse a request with (its type too): the
# protocol words these refusals as Model Studio does, where other refusals keep the API's.
REFUSAL_CODE = "InvalidParameter"


@dataclass(frozen=True, slots=True)
class Embedded:
    """The answer to an embeddings request: its vectors, and what the tightest rate limit
    it was counted in has left (None: no limit applies), for the `x-ratelimit-*` headers."""

    embeddings: Embeddings
    requests: Allowance | None = None
    tokens: Allowance | None = None


@dataclass(frozen=True, slots=True)
class EmbeddingsRun:
    """An embeddings request that passed every check, about to be embedded: who asks, the
    model as the client named it, the tokens of its texts as the model counts them, and
    the request id the client is told."""

    principal: Principal
    model: str
    tokens: int
    request_id: str = ""


class EmbeddingsGate(Protocol):
    """What stands between a checked request and its model (the platform's rate limits
    and usage ledger): calls `embed` at most once, and raises `RateLimited` instead when a
    limit has no room for the request."""

    def __call__(
        self, run: EmbeddingsRun, embed: Callable[[], Awaitable[Embeddings]]
    ) -> Awaitable[Embedded]: ...


class EmbeddingsService(Protocol):
    """What the embeddings route calls. `embed` raises `ModelNotFound` for a name it does
    not serve, `PermissionDenied` for one the caller's key may not use, and
    `InvalidParameter` for texts or dimensions the model cannot take, and `RateLimited`
    when a rate limit has no room for the request."""

    def served_models(self) -> tuple[str, ...]:
        """Every model name `embed` answers to (aliases included)."""
        ...

    async def embed(
        self,
        principal: Principal,
        model: str,
        texts: Sequence[str],
        *,
        dimensions: int | None = None,
        use: EmbeddingUse = "passage",
        request_id: str = "",
    ) -> Embedded:
        """`texts` embedded by `model`, each vector `dimensions` long (None: the model's
        own length). `use`: how a model trained with both reads the texts; `request_id`:
        the id the client is told (the usage ledger's key)."""
        ...


def too_many_rows(limit: int) -> InvalidParameter:
    # Model Studio's own words (compatible mode, text-embedding-v3/v4, 11 rows or more).
    return InvalidParameter(
        "Value error, batch size is invalid, it should not be larger than "
        f"{limit}.: input.contents",
        param="input",
        code=REFUSAL_CODE,
    )


def row_too_long(limit: int, row: int, tokens: int) -> InvalidParameter:
    """A row over the model's tokens (or an empty one): Model Studio's "Range of input
    length" wording, with which row and how long, so the client can find it."""
    return InvalidParameter(
        f"Range of input length should be [1, {limit}], but input[{row}] has {tokens} tokens.",
        param="input",
        code=REFUSAL_CODE,
    )


def dimensions_refused(model: str, asked: int, allowed: Sequence[int]) -> InvalidParameter:
    """A `dimensions` the model cannot give: never padded or cut to fit."""
    values = ", ".join(str(d) for d in allowed)
    return InvalidParameter(
        f"Value error, dimensions {asked} is not supported by {model}; "
        f"supported values: {values}.: parameters.dimension",
        param="dimensions",
        code=REFUSAL_CODE,
    )


def check_rows(texts: Sequence[str], max_rows: int) -> None:
    if len(texts) > max_rows:
        raise too_many_rows(max_rows)


def check_row_tokens(counts: Sequence[int], max_tokens: int) -> None:
    for row, tokens in enumerate(counts):
        if not 1 <= tokens <= max_tokens:
            raise row_too_long(max_tokens, row, tokens)
