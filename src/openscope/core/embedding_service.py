"""The embeddings API as the protocols ask it of the server: which model names it answers
to, and vectors for a request's texts. Also the rules Model Studio applies to every
embeddings request (rows per request, tokens per row, the dimensions a model can give),
worded as it words them, with wire-neutral parameter names (`input`, `dimensions`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from openscope.core.errors import InvalidParameter
from openscope.core.knowledge import Embeddings, EmbeddingUse
from openscope.core.principal import Principal

# Model Studio's limits on text-embedding-v3 and -v4: at most 10 rows (texts) a request,
# each of at most 8,192 tokens (its "Max rows" and "Max tokens per row").
MAX_ROWS = 10
MAX_TOKENS_PER_ROW = 8192
# The code Model Studio's embedding models refuse a request with (its type too): the
# protocol words these refusals as Model Studio does, where other refusals keep the API's.
REFUSAL_CODE = "InvalidParameter"


class EmbeddingsService(Protocol):
    """What the embeddings route calls. `embed` raises `ModelNotFound` for a name it does
    not serve, `PermissionDenied` for one the caller's key may not use, and
    `InvalidParameter` for texts or dimensions the model cannot take."""

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
    ) -> Embeddings:
        """`texts` embedded by `model`, each vector `dimensions` long (None: the model's
        own length). `use`: how a model trained with both reads the texts."""
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
