"""Vector Stores API bodies and query parameters -> core values, with OpenAI's bounds and
refusals naming the parameter (`param`) as the client wrote it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from openscope.core.errors import InvalidParameter
from openscope.core.knowledge import (
    MAX_ATTRIBUTE_KEY,
    MAX_ATTRIBUTE_STRING,
    MAX_ATTRIBUTES,
    MAX_SEARCH_QUERIES,
    MAX_SEARCH_QUERY_CHARS,
    MAX_SEARCH_RESULTS,
    AttributeValue,
    ChunkingStrategy,
    FileStatus,
    SearchQuery,
)
from openscope.core.metadata import checked_metadata
from openscope.core.state import Order
from openscope.protocols.http import clean_location
from openscope.protocols.openai_files.filters import parse_filter
from openscope.protocols.openai_files.schemas import (
    AttributeWire,
    BatchCreate,
    ChunkingWire,
    SearchRequest,
    StoreExpiryWire,
)

W = TypeVar("W", bound=BaseModel)

# OpenAI's `expires_after.days` range for a vector store.
MIN_EXPIRY_DAYS = 1
MAX_EXPIRY_DAYS = 365
# OpenAI's largest file batch ("The maximum batch size is 2000 files"); the same bound
# holds for the `file_ids` a vector store is created with.
MAX_BATCH_FILES = 2000
RANKERS = ("auto", "default-2024-11-15")


def path(where: Sequence[Any]) -> str:
    """A location as OpenAI writes it: `files[0].chunking_strategy`."""
    return "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(where)
    )


def parse(model: type[W], body: Any) -> W:
    if not isinstance(body, dict):
        raise InvalidParameter("The request body must be a JSON object.")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = path(clean_location(first["loc"]))
        if first["type"] == "extra_forbidden":
            raise InvalidParameter(
                f"Unrecognized request argument supplied: {where}", param=where
            ) from None
        if first["type"] == "missing":
            raise InvalidParameter(f"Missing required parameter: '{where}'.", param=where) from None
        raise InvalidParameter(f"Invalid '{where}': {first['msg']}.", param=where) from None


def order(value: str) -> Order:
    try:
        return Order(value)
    except ValueError:
        raise InvalidParameter(
            f"Invalid 'order': expected one of asc, desc, got '{value}'.", param="order"
        ) from None


def status_filter(value: str | None) -> FileStatus | None:
    if value is None:
        return None
    try:
        return FileStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in FileStatus)
        raise InvalidParameter(
            f"Invalid 'filter': expected one of {allowed}, got '{value}'.", param="filter"
        ) from None


def chunking(wire: ChunkingWire | None, where: str = "chunking_strategy") -> ChunkingStrategy:
    if wire is None or wire.type == "auto":
        if wire is not None and wire.static is not None:
            raise InvalidParameter(
                f"Invalid '{where}.static': only a static strategy has static settings.",
                param=f"{where}.static",
            )
        return ChunkingStrategy()
    if wire.type != "static":
        raise InvalidParameter(
            f"Invalid '{where}.type': expected one of auto, static, got '{wire.type}'.",
            param=f"{where}.type",
        )
    if wire.static is None:
        raise InvalidParameter(
            f"Missing required parameter: '{where}.static'.", param=f"{where}.static"
        )
    strategy = ChunkingStrategy(
        max_chunk_size_tokens=wire.static.max_chunk_size_tokens,
        chunk_overlap_tokens=wire.static.chunk_overlap_tokens,
    )
    problem = strategy.problem()
    if problem is not None:
        raise InvalidParameter(f"Invalid '{where}.static': {problem}.", param=f"{where}.static")
    return strategy


def attributes(
    value: Mapping[str, AttributeWire] | None, where: str = "attributes"
) -> dict[str, AttributeValue]:
    pairs = dict(value or {})
    if len(pairs) > MAX_ATTRIBUTES:
        raise InvalidParameter(
            f"Invalid '{where}': expected at most {MAX_ATTRIBUTES} properties, got {len(pairs)}.",
            param=where,
        )
    for key, item in pairs.items():
        if len(key) > MAX_ATTRIBUTE_KEY:
            raise InvalidParameter(
                f"Invalid '{where}': key too long. Expected a key with maximum length "
                f"{MAX_ATTRIBUTE_KEY}, but got a key with length {len(key)} instead.",
                param=where,
            )
        if isinstance(item, str) and len(item) > MAX_ATTRIBUTE_STRING:
            raise InvalidParameter(
                f"Invalid '{where}.{key}': string too long. Expected a string with maximum "
                f"length {MAX_ATTRIBUTE_STRING}, but got a string with length {len(item)} "
                "instead.",
                param=f"{where}.{key}",
            )
    return pairs


def metadata(value: Mapping[str, str] | None) -> dict[str, str]:
    """The `metadata` of the body, within OpenAI's bounds (core.metadata)."""
    return checked_metadata(value)


def expiry_days(wire: StoreExpiryWire | None) -> int | None:
    if wire is None:
        return None
    if wire.anchor != "last_active_at":
        raise InvalidParameter(
            f"Invalid 'expires_after.anchor': expected 'last_active_at', got '{wire.anchor}'.",
            param="expires_after.anchor",
        )
    if not MIN_EXPIRY_DAYS <= wire.days <= MAX_EXPIRY_DAYS:
        raise InvalidParameter(
            f"Invalid 'expires_after.days': must be between {MIN_EXPIRY_DAYS} and "
            f"{MAX_EXPIRY_DAYS}, got {wire.days}.",
            param="expires_after.days",
        )
    return wire.days


def file_ids(ids: Sequence[str], where: str = "file_ids") -> list[str]:
    if len(ids) > MAX_BATCH_FILES:
        raise InvalidParameter(
            f"Invalid '{where}': expected at most {MAX_BATCH_FILES} files, got {len(ids)}.",
            param=where,
        )
    for i, file_id in enumerate(ids):
        if not file_id:
            raise InvalidParameter(
                f"Invalid '{where}[{i}]': expected a file id.", param=f"{where}[{i}]"
            )
    if len(set(ids)) != len(ids):
        raise InvalidParameter(f"Invalid '{where}': a file is named twice.", param=where)
    return list(ids)


def batch_files(
    wire: BatchCreate,
) -> tuple[list[tuple[str, dict[str, AttributeValue]]], ChunkingStrategy]:
    """The files of a batch with their attributes, and the one chunking strategy they
    share (the core chunks a batch one way, so per-file strategies must agree)."""
    if wire.file_ids is not None and wire.files is not None:
        raise InvalidParameter(
            "Mutually exclusive parameters: give either 'file_ids' or 'files', not both.",
            param="files",
        )
    if wire.file_ids is not None:
        if not wire.file_ids:
            raise InvalidParameter(
                "Invalid 'file_ids': expected at least one file.", param="file_ids"
            )
        ids = file_ids(wire.file_ids)
        shared = attributes(wire.attributes)
        return [(i, dict(shared)) for i in ids], chunking(wire.chunking_strategy)
    if wire.files is None or not wire.files:
        raise InvalidParameter("Missing required parameter: 'file_ids'.", param="file_ids")
    # OpenAI ignores the batch's own attributes and chunking beside `files`; refused here,
    # so that nothing sent is silently dropped.
    for field, given in (
        ("attributes", wire.attributes),
        ("chunking_strategy", wire.chunking_strategy),
    ):
        if given is not None:
            raise InvalidParameter(
                f"Invalid '{field}': with 'files', give {field} per file.", param=field
            )
    file_ids([f.file_id for f in wire.files], "files")
    strategies = [
        chunking(f.chunking_strategy, f"files[{i}].chunking_strategy")
        for i, f in enumerate(wire.files)
    ]
    for i, strategy in enumerate(strategies):
        if strategy != strategies[0]:
            raise InvalidParameter(
                f"Invalid 'files[{i}].chunking_strategy': every file of one batch must be "
                "chunked the same way here; send differently chunked files in separate "
                "batches.",
                param=f"files[{i}].chunking_strategy",
            )
    files = [
        (f.file_id, attributes(f.attributes, f"files[{i}].attributes"))
        for i, f in enumerate(wire.files)
    ]
    return files, strategies[0]


def search_query(wire: SearchRequest) -> SearchQuery:
    queries = (wire.query,) if isinstance(wire.query, str) else tuple(wire.query)
    if not queries:
        raise InvalidParameter("Invalid 'query': expected at least one query.", param="query")
    if len(queries) > MAX_SEARCH_QUERIES:
        raise InvalidParameter(
            f"Invalid 'query': at most {MAX_SEARCH_QUERIES} queries at once, got {len(queries)}.",
            param="query",
        )
    for i, text in enumerate(queries):
        where = "query" if isinstance(wire.query, str) else f"query[{i}]"
        if not text.strip():
            raise InvalidParameter(f"Invalid '{where}': the query is empty.", param=where)
        if len(text) > MAX_SEARCH_QUERY_CHARS:
            raise InvalidParameter(
                f"Invalid '{where}': string too long. Expected a string with maximum length "
                f"{MAX_SEARCH_QUERY_CHARS}, but got a string with length {len(text)} instead.",
                param=where,
            )
    if wire.rewrite_query:
        raise InvalidParameter(
            "Invalid 'rewrite_query': this server searches the query as given and cannot "
            "rewrite it; send false or leave it out.",
            param="rewrite_query",
        )
    limit = wire.max_num_results
    if limit is not None and not 1 <= limit <= MAX_SEARCH_RESULTS:
        raise InvalidParameter(
            f"Invalid 'max_num_results': must be between 1 and {MAX_SEARCH_RESULTS}, got {limit}.",
            param="max_num_results",
        )
    threshold = 0.0
    options = wire.ranking_options
    if options is not None:
        if options.ranker is not None and options.ranker not in RANKERS:
            raise InvalidParameter(
                f"Invalid 'ranking_options.ranker': this server ranks with {RANKERS[0]} "
                f"(also named {RANKERS[1]}), got '{options.ranker}'.",
                param="ranking_options.ranker",
            )
        if options.score_threshold is not None:
            if not 0.0 <= options.score_threshold <= 1.0:
                raise InvalidParameter(
                    "Invalid 'ranking_options.score_threshold': must be between 0 and 1, got "
                    f"{options.score_threshold}.",
                    param="ranking_options.score_threshold",
                )
            threshold = options.score_threshold
    filters = parse_filter(wire.filters) if wire.filters is not None else None
    if limit is None:
        return SearchQuery(queries, filters=filters, score_threshold=threshold)
    return SearchQuery(queries, max_num_results=limit, filters=filters, score_threshold=threshold)
