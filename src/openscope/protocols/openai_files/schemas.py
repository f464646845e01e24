"""Wire models of the Vector Stores API's JSON bodies (the Files API's upload is a form,
read in `upload`). OpenAI refuses arguments it does not know, and so do these; types are
checked here, ranges and rules in `decode` and `filters`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

# An attribute value as sent: ints stay ints (pydantic would otherwise make 3 into 3.0).
AttributeWire = str | bool | int | float


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StaticChunkingWire(WireModel):
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int


class ChunkingWire(WireModel):
    """`{"type": "auto"}` or `{"type": "static", "static": {...}}`."""

    type: str
    static: StaticChunkingWire | None = None


class StoreExpiryWire(WireModel):
    anchor: str
    days: int


class StoreCreate(WireModel):
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None
    expires_after: StoreExpiryWire | None = None
    file_ids: list[str] | None = None
    chunking_strategy: ChunkingWire | None = None


class StoreUpdate(WireModel):
    """Which fields were sent matters: `expires_after: null` removes the expiry."""

    name: str | None = None
    metadata: dict[str, str] | None = None
    expires_after: StoreExpiryWire | None = None


class StoreFileCreate(WireModel):
    file_id: str
    attributes: dict[str, AttributeWire] | None = None
    chunking_strategy: ChunkingWire | None = None


class StoreFileUpdate(WireModel):
    attributes: dict[str, AttributeWire] | None


class BatchFileWire(WireModel):
    file_id: str
    attributes: dict[str, AttributeWire] | None = None
    chunking_strategy: ChunkingWire | None = None


class BatchCreate(WireModel):
    """`file_ids` (with the batch's `attributes` and `chunking_strategy`) or `files`."""

    file_ids: list[str] | None = None
    files: list[BatchFileWire] | None = None
    attributes: dict[str, AttributeWire] | None = None
    chunking_strategy: ChunkingWire | None = None


class RankingOptionsWire(WireModel):
    ranker: str | None = None
    score_threshold: float | None = None


class SearchRequest(WireModel):
    query: str | list[str]
    filters: dict[str, Any] | None = None
    max_num_results: int | None = None
    ranking_options: RankingOptionsWire | None = None
    rewrite_query: bool | None = None
