"""The `file_search` tool and what makes files searchable: text extraction and chunking."""

from openscope.tools.file_search.chunking import Chunk, chunk_text
from openscope.tools.file_search.extract import ExtractionFailed, extract_text

__all__ = ["Chunk", "ExtractionFailed", "chunk_text", "extract_text"]
