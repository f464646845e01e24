"""The `file_search` tool over the server's vector stores, and what makes files
searchable: text extraction and chunking."""

from openscope.tools.file_search.chunking import Chunk, chunk_text
from openscope.tools.file_search.extract import ExtractionFailed, extract_text
from openscope.tools.file_search.runner import FileSearchRunner

__all__ = ["Chunk", "ExtractionFailed", "FileSearchRunner", "chunk_text", "extract_text"]
