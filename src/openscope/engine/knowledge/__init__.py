"""The knowledge service (files, vector stores, search) and its ingestion worker."""

from openscope.engine.knowledge.build import build_knowledge, open_knowledge
from openscope.engine.knowledge.ingest import IngestionWorker
from openscope.engine.knowledge.limits import DEFAULT_PURPOSES, KnowledgeLimits
from openscope.engine.knowledge.service import KnowledgeService

__all__ = [
    "DEFAULT_PURPOSES",
    "IngestionWorker",
    "KnowledgeLimits",
    "KnowledgeService",
    "build_knowledge",
    "open_knowledge",
]
