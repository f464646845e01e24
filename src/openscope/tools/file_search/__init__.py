"""File search: the `file_search` tool over the server's vector stores."""

from openscope.tools.file_search.runner import FileSearchRunner

__all__ = ["FileSearchRunner"]
