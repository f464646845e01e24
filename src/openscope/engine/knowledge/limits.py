"""What the knowledge service allows and how its worker runs (the server fills these from
the `[knowledge]` settings)."""

from __future__ import annotations

from dataclasses import dataclass

# The purposes OpenAI's SDK names, and Model Studio's `file-extract` (qwen-long's fileid://).
DEFAULT_PURPOSES = frozenset(
    {"assistants", "batch", "fine-tune", "vision", "user_data", "evals", "file-extract"}
)


@dataclass(frozen=True, slots=True)
class KnowledgeLimits:
    # An upload larger than this is refused.
    max_file_bytes: int = 64 * 1024 * 1024
    # The purposes an upload may name.
    purposes: frozenset[str] = DEFAULT_PURPOSES
    # How long an upload without `expires_after` is kept (None: until deleted).
    file_retention_seconds: int | None = None
    # How long the ingestion worker holds a file before another worker (or replica) may
    # take it over; renewed while the work goes on.
    lease_seconds: int = 120
    # Files ingested at once by this server.
    ingest_concurrency: int = 2
    # Chunks per call to the embedder.
    embed_batch: int = 32
    # Seconds the idle worker waits before looking for files (a replica's new work, or a
    # lease that ran out); new work in this server wakes it at once.
    poll_seconds: float = 2.0
