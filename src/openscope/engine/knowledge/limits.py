"""What the knowledge service allows and how its worker runs (the server fills these from
the `[knowledge]` settings)."""

from __future__ import annotations

from dataclasses import dataclass

from openscope.tools.file_search.extract import ExtractionLimits

# The most a Word document's parts may unpack to: this many times the largest upload, and
# never more than MAX_UNPACKED_BYTES.
UNPACK_RATIO = 20
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
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
    # Characters of text one file may give, and chunks it may be cut into: past either,
    # the file fails (a hostile upload must not exhaust the server's memory).
    max_extracted_chars: int = 32_000_000
    max_chunks_per_file: int = 10_000
    # What one workspace may keep in uploads: files, and their bytes in all.
    max_files_per_workspace: int = 10_000
    max_bytes_per_workspace: int = 10 * 1024 * 1024 * 1024
    # Claims of one file whose worker neither finished nor gave it back (the server died,
    # perhaps of this file) before it is failed instead of claimed again.
    max_attempts: int = 3
    # Seconds the idle worker waits before looking for files (a replica's new work, or a
    # lease that ran out); new work in this server wakes it at once.
    poll_seconds: float = 2.0

    def extraction(self) -> ExtractionLimits:
        """The bounds of one file's text extraction."""
        return ExtractionLimits(
            max_chars=self.max_extracted_chars,
            max_unpacked_bytes=min(UNPACK_RATIO * self.max_file_bytes, MAX_UNPACKED_BYTES),
        )
