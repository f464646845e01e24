"""Files, vector stores and file_search, built from the `[knowledge]` settings over the
store and one of the `[embeddings]` models."""

from __future__ import annotations

from openscope.core.errors import OpenScopeError
from openscope.engine.knowledge import KnowledgeLimits, KnowledgeService, build_knowledge
from openscope.server.embeddings import EmbeddingModels
from openscope.settings import Settings, SettingsError
from openscope.store import Store


def build_knowledge_service(
    settings: Settings, store: Store, embeddings: EmbeddingModels | None
) -> KnowledgeService | None:
    """The knowledge service (None when `[knowledge] enabled = false`), not started: the
    lifespan starts it once the store is migrated. Raises `SettingsError` when the
    embedding model it names is not served."""
    config = settings.knowledge
    if not config.enabled:
        return None
    if embeddings is None:
        raise SettingsError(
            "knowledge: vector stores need an embedding model, and [embeddings] is switched "
            "off (set [knowledge] enabled = false, or turn [embeddings] back on)"
        )
    try:
        embedder = embeddings.embedder(config.embedding_model)
    except OpenScopeError:
        raise SettingsError(
            f"knowledge.embedding_model: {config.embedding_model!r} is not one of the "
            "[embeddings] models or their aliases"
        ) from None
    limits = KnowledgeLimits(
        max_file_bytes=config.max_file_bytes,
        purposes=frozenset(config.purposes),
        file_retention_seconds=config.file_retention_seconds,
        lease_seconds=config.lease_seconds,
        ingest_concurrency=config.ingest_concurrency,
        embed_batch=config.embed_batch,
        max_extracted_chars=config.max_extracted_chars,
        max_chunks_per_file=config.max_chunks_per_file,
    )
    return build_knowledge(store, settings.data_dir, embedder, limits, blob_dir=config.blob_dir)
