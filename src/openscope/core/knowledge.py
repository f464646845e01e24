"""Files, vector stores and search over them: the data and the services the Files and
Vector Stores APIs, the embeddings API and the `file_search` tool share.

A file is bytes a workspace uploaded. A vector store is a workspace's searchable set of
files: each file attached to it is read (text extracted), cut into chunks of tokens
(`ChunkingStrategy`), embedded, and indexed twice, by vector and by keyword; a search
fuses both rankings (`SearchHit.score` is 0-1). Everything belongs to one workspace and
is never seen from another: a foreign id is not found, exactly like a missing one.

The services here are what the protocols and the tools ask of the rest of the server;
the engine implements them over the store and an `Embedder`."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

from openscope.core.principal import Principal
from openscope.core.state import Order

# An attribute value as OpenAI's vector store files take them (and filters compare).
AttributeValue = str | float | bool
Attributes = Mapping[str, AttributeValue]

# OpenAI's limits on a file's attributes (VectorStoreFile.attributes): 16 keys, keys of at
# most 64 characters, string values of at most 512.
MAX_ATTRIBUTES = 16
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_STRING = 512
# OpenAI's search and file_search `max_num_results` range; its default is 10.
MAX_SEARCH_RESULTS = 50
DEFAULT_SEARCH_RESULTS = 10
# What one search may ask, so that a request cannot make the server embed or match
# without end (OpenAI documents no limits here; these are ours): the queries of one
# search and their length, and a filter's nesting, its comparisons and the values of one
# `in` / `nin` list.
MAX_SEARCH_QUERIES = 10
MAX_SEARCH_QUERY_CHARS = 4096
MAX_FILTER_DEPTH = 8
MAX_FILTER_COMPARISONS = 64
MAX_FILTER_LIST_VALUES = 256
# The vector store ids one file_search tool may name. Model Studio takes one knowledge base
# ("当前仅支持传入一个知识库 ID"); OpenAI takes two. We accept OpenAI's limit.
MAX_FILE_SEARCH_STORES = 2


def file_id() -> str:
    return f"file-{secrets.token_hex(12)}"


def vector_store_id() -> str:
    return f"vs_{secrets.token_hex(12)}"


def file_batch_id() -> str:
    return f"vsfb_{secrets.token_hex(12)}"


class FileStatus(StrEnum):
    """A vector store file's (and a batch's) ingestion status."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class IngestError(StrEnum):
    """Why a file could not be made searchable (`last_error.code`)."""

    SERVER_ERROR = "server_error"
    UNSUPPORTED_FILE = "unsupported_file"
    INVALID_FILE = "invalid_file"


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An uploaded file (OpenAI's FileObject). `expires_at`: epoch seconds, or None."""

    id: str
    workspace: str
    filename: str
    purpose: str
    bytes: int
    created_at: int
    expires_at: int | None = None


@dataclass(frozen=True, slots=True)
class ChunkingStrategy:
    """OpenAI's static chunking: chunks of at most `max_chunk_size_tokens` tokens, each
    sharing `chunk_overlap_tokens` with the one before. OpenAI's `auto` is 800 and 400;
    its bounds: max in [100, 4096], overlap at most half of max."""

    max_chunk_size_tokens: int = 800
    chunk_overlap_tokens: int = 400

    def problem(self) -> str | None:
        """What is wrong with these numbers (None: nothing), in OpenAI's terms."""
        if not 100 <= self.max_chunk_size_tokens <= 4096:
            return "max_chunk_size_tokens must be between 100 and 4096"
        if self.chunk_overlap_tokens < 0:
            return "chunk_overlap_tokens must not be negative"
        if self.chunk_overlap_tokens > self.max_chunk_size_tokens // 2:
            return "chunk_overlap_tokens must not exceed half of max_chunk_size_tokens"
        return None


@dataclass(frozen=True, slots=True)
class FileCounts:
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.in_progress + self.completed + self.failed + self.cancelled


@dataclass(frozen=True, slots=True)
class VectorStore:
    """A workspace's searchable set of files. `status`: `in_progress` while any file is
    being ingested, `completed` otherwise, `expired` past `expires_at`.
    `expires_after_days`: OpenAI's `expires_after` (anchor `last_active_at`)."""

    id: str
    workspace: str
    name: str | None
    created_at: int
    last_active_at: int
    status: Literal["in_progress", "completed", "expired"]
    usage_bytes: int
    file_counts: FileCounts
    metadata: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None
    expires_after_days: int | None = None
    expires_at: int | None = None


@dataclass(frozen=True, slots=True)
class VectorStoreFile:
    """A file attached to a vector store (its `id` is the file's id)."""

    id: str
    vector_store_id: str
    created_at: int
    status: FileStatus
    usage_bytes: int
    chunking: ChunkingStrategy
    attributes: Attributes = field(default_factory=dict)
    last_error: tuple[IngestError, str] | None = None


@dataclass(frozen=True, slots=True)
class FileBatch:
    id: str
    vector_store_id: str
    created_at: int
    status: FileStatus
    file_counts: FileCounts


ComparisonOp = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """OpenAI's ComparisonFilter: `attributes[key] <op> value`. A file without the key
    matches only `ne` and `nin`."""

    key: str
    op: ComparisonOp
    value: AttributeValue | tuple[AttributeValue, ...]

    def matches(self, attributes: Attributes) -> bool:
        if self.key not in attributes:
            return self.op in ("ne", "nin")
        have = attributes[self.key]
        want = self.value
        if self.op in ("in", "nin"):
            inside = have in want if isinstance(want, tuple) else have == want
            return inside if self.op == "in" else not inside
        if isinstance(want, tuple):
            return False
        if self.op == "eq":
            return have == want
        if self.op == "ne":
            return have != want
        # ordering compares numbers with numbers and strings with strings, never across
        if isinstance(have, str) != isinstance(want, str):
            return False
        if isinstance(have, str) and isinstance(want, str):
            return _ordered(self.op, have, want)
        if isinstance(have, str) or isinstance(want, str):
            return False
        return _ordered(self.op, float(have), float(want))


def _ordered(op: str, have: str | float, want: str | float) -> bool:
    match op:
        case "gt":
            return have > want  # type: ignore[operator]
        case "gte":
            return have >= want  # type: ignore[operator]
        case "lt":
            return have < want  # type: ignore[operator]
        case _:
            return have <= want  # type: ignore[operator]


@dataclass(frozen=True, slots=True)
class Compound:
    """OpenAI's CompoundFilter: all (`and`) or any (`or`) of `filters`."""

    op: Literal["and", "or"]
    filters: tuple[Filter, ...]

    def matches(self, attributes: Attributes) -> bool:
        results = (f.matches(attributes) for f in self.filters)
        return all(results) if self.op == "and" else any(results)


Filter = Comparison | Compound


def filter_problem(filter_: Filter) -> str | None:
    """What makes `filter_` too large to evaluate (None: nothing): more comparisons than
    MAX_FILTER_COMPARISONS, or an `in` / `nin` list past MAX_FILTER_LIST_VALUES. (Depth is
    for the decoders to bound while they parse: a deep one never gets this far.)"""
    comparisons = 0
    pending: list[Filter] = [filter_]
    while pending:
        current = pending.pop()
        if isinstance(current, Compound):
            pending.extend(current.filters)
            continue
        comparisons += 1
        if isinstance(current.value, tuple) and len(current.value) > MAX_FILTER_LIST_VALUES:
            return f"an in or nin list holds at most {MAX_FILTER_LIST_VALUES} values"
    if comparisons > MAX_FILTER_COMPARISONS:
        return f"a filter holds at most {MAX_FILTER_COMPARISONS} comparisons"
    return None


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One search of vector stores. `queries`: the texts searched (their hits fused);
    `score_threshold`: hits scoring below it are dropped (0 keeps all)."""

    queries: tuple[str, ...]
    max_num_results: int = DEFAULT_SEARCH_RESULTS
    filters: Filter | None = None
    score_threshold: float = 0.0


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One chunk found: from which file, how good (0-1, best first), and its text."""

    file_id: str
    filename: str
    score: float
    text: str
    attributes: Attributes = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Embeddings:
    """Vectors for texts, in order (each L2-normalised), and the tokens read."""

    vectors: tuple[tuple[float, ...], ...]
    tokens: int


EmbeddingUse = Literal["query", "passage"]


class Embedder(Protocol):
    """An embedding model. `model`: the name it answers to; `dimensions`: the length of
    its vectors. Runs off the event loop; raises `OpenScopeError` when it cannot."""

    @property
    def model(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    async def embed(self, texts: Sequence[str], use: EmbeddingUse = "passage") -> Embeddings:
        """Embed `texts`: as search queries or as passages to be found (models trained
        with both, like E5, read each differently; others read both the same)."""
        ...

    async def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Each text's length in the model's tokens (chunking measures with these)."""
        ...


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a list (`has_more`: more follow the last one in this order)."""

    data: tuple[object, ...]
    has_more: bool


class FilesService(Protocol):
    """The Files API, always in the caller's workspace. A missing or foreign id raises
    `NotFound`; a file too large or a purpose refused raises `InvalidParameter`."""

    async def upload(
        self,
        principal: Principal,
        filename: str,
        purpose: str,
        content: bytes,
        expires_after_seconds: int | None = None,
    ) -> StoredFile: ...

    async def list_files(
        self,
        principal: Principal,
        *,
        purpose: str | None,
        limit: int,
        order: Order,
        after: str | None,
    ) -> ListPage: ...

    async def get_file(self, principal: Principal, file_id: str) -> StoredFile: ...

    async def file_content(self, principal: Principal, file_id: str) -> bytes: ...

    async def delete_file(self, principal: Principal, file_id: str) -> None: ...


class VectorStoresService(Protocol):
    """The Vector Stores API, always in the caller's workspace (see `FilesService`)."""

    async def create_store(
        self,
        principal: Principal,
        *,
        name: str | None,
        description: str | None,
        metadata: Mapping[str, str],
        expires_after_days: int | None,
        file_ids: Sequence[str],
        chunking: ChunkingStrategy,
    ) -> VectorStore: ...

    async def get_store(self, principal: Principal, store_id: str) -> VectorStore: ...

    async def update_store(
        self,
        principal: Principal,
        store_id: str,
        *,
        name: str | None = None,
        metadata: Mapping[str, str] | None = None,
        expires_after_days: int | None = None,
        clear_expiry: bool = False,
    ) -> VectorStore: ...

    async def delete_store(self, principal: Principal, store_id: str) -> None: ...

    async def list_stores(
        self,
        principal: Principal,
        *,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
    ) -> ListPage: ...

    async def add_file(
        self,
        principal: Principal,
        store_id: str,
        file_id: str,
        *,
        attributes: Attributes,
        chunking: ChunkingStrategy,
    ) -> VectorStoreFile: ...

    async def get_store_file(
        self, principal: Principal, store_id: str, file_id: str
    ) -> VectorStoreFile: ...

    async def update_store_file(
        self, principal: Principal, store_id: str, file_id: str, attributes: Attributes
    ) -> VectorStoreFile: ...

    async def remove_file(self, principal: Principal, store_id: str, file_id: str) -> None: ...

    async def list_store_files(
        self,
        principal: Principal,
        store_id: str,
        *,
        status: FileStatus | None,
        batch_id: str | None,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
    ) -> ListPage: ...

    async def store_file_chunks(
        self, principal: Principal, store_id: str, file_id: str
    ) -> tuple[str, ...]:
        """The parsed text of a file in a store, chunk by chunk (its `content` route)."""
        ...

    async def create_batch(
        self,
        principal: Principal,
        store_id: str,
        files: Sequence[tuple[str, Attributes]],
        chunking: ChunkingStrategy,
    ) -> FileBatch: ...

    async def get_batch(self, principal: Principal, store_id: str, batch_id: str) -> FileBatch: ...

    async def cancel_batch(
        self, principal: Principal, store_id: str, batch_id: str
    ) -> FileBatch: ...

    async def search(
        self, principal: Principal, store_id: str, query: SearchQuery
    ) -> tuple[SearchHit, ...]: ...


class KnowledgeSearch(Protocol):
    """What the `file_search` tool asks: search these stores of this workspace (the ids
    the request named; a store that is missing or foreign raises `NotFound`)."""

    async def search_stores(
        self, workspace: str, store_ids: Sequence[str], query: SearchQuery
    ) -> tuple[SearchHit, ...]: ...

    async def check_stores(self, workspace: str, store_ids: Sequence[str]) -> None:
        """Raise `NotFound` (param `tools`) naming the first of `store_ids` that this
        workspace cannot search (missing, another workspace's, or expired)."""
        ...
