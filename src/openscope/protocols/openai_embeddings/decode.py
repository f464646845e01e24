"""Embeddings request JSON -> what the service is asked, every check with a message that
names the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from openscope.core.errors import InvalidParameter
from openscope.core.knowledge import EmbeddingUse
from openscope.protocols.http import parse_wire
from openscope.protocols.openai_embeddings.schemas import EmbeddingsRequest

EncodingFormat = Literal["float", "base64"]
_USES: dict[str, EmbeddingUse] = {"query": "query", "document": "passage"}


@dataclass(frozen=True, slots=True)
class EmbeddingsCall:
    model: str
    texts: tuple[str, ...]
    dimensions: int | None
    encoding: EncodingFormat
    use: EmbeddingUse


def parse(body: Any) -> EmbeddingsRequest:
    return parse_wire(
        EmbeddingsRequest,
        body,
        lambda where, problem: f"Invalid parameter '{'.'.join(map(str, where))}': {problem}.",
    )


TOKEN_IDS_REFUSED = (
    "Invalid parameter 'input': token id arrays are not supported here; send the texts "
    "as a string or an array of strings."
)


def texts_of(value: str | list[Any]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not value:
        raise InvalidParameter(
            "Invalid parameter 'input': the array is empty; send at least one text.",
            param="input",
        )
    texts = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, int | list) and not isinstance(item, bool):
            raise InvalidParameter(TOKEN_IDS_REFUSED, param="input")
        else:
            raise InvalidParameter(
                f"Invalid parameter 'input[{index}]': expected a string, got "
                f"{type(item).__name__ if item is not None else 'null'}.",
                param="input",
            )
    return tuple(texts)


def _encoding(value: str | None) -> EncodingFormat:
    if value is None or value == "float":
        return "float"
    if value == "base64":
        return "base64"
    raise InvalidParameter(
        f"Invalid parameter 'encoding_format': must be 'float' or 'base64', got '{value}'.",
        param="encoding_format",
    )


def _use(value: str | None) -> EmbeddingUse:
    if value is None:
        return "passage"  # DashScope's default text_type is "document"
    use = _USES.get(value)
    if use is None:
        raise InvalidParameter(
            f"Invalid parameter 'text_type': must be 'query' or 'document', got '{value}'.",
            param="text_type",
        )
    return use


def decode(body: Any) -> EmbeddingsCall:
    wire = parse(body)
    return EmbeddingsCall(
        model=wire.model,
        texts=texts_of(wire.input),
        dimensions=wire.dimensions,
        encoding=_encoding(wire.encoding_format),
        use=_use(wire.text_type),
    )
