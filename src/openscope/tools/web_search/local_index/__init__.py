"""The local search index: SQLite FTS5 over a folder of documents or a JSONL corpus, for
air-gapped installs and tests. `build_index` makes or refreshes it; `LocalIndexProvider`
searches it."""

from openscope.tools.web_search.local_index.build import BuildReport, build_index
from openscope.tools.web_search.local_index.provider import LocalIndexProvider

__all__ = ["BuildReport", "LocalIndexProvider", "build_index"]
