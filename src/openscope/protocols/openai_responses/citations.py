"""`file_citation` annotations: where an answer cites a file search result.

The file search tool numbers its results and asks the model to cite result N with the
marker `[file_N]` (`core.builtin_tools.FILE_CITATION`); each result's file is in the
`file_search_call` item's output (`results`, numbered from its `first_index`). A marker
of a result the response's items hold becomes OpenAI's annotation
`{"type": "file_citation", "file_id", "filename", "index"}` on the message's text,
`index` being where the marker starts in the text (in characters): the point the cited
passage ends. The marker stays in the text (as Model Studio's `[ref_N]` do), so a client
that reads no annotations still sees the citation; one a response's results do not hold
(a number the model made up) is not annotated."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from openscope.core.builtin_tools import FILE_CITATION, BuiltinToolKind, file_citation_marker
from openscope.core.messages import BuiltinResultPart

# The longest marker the pattern takes; a marker still being streamed is at most one
# character shorter, so scanning again from there finds it once it is whole.
LONGEST_MARKER = len(file_citation_marker(99999))


@dataclass(frozen=True, slots=True)
class CitedFile:
    file_id: str
    filename: str


def cited_files(result: BuiltinResultPart) -> dict[int, CitedFile]:
    """The files of a completed file search's results, by the number they are cited by."""
    if result.tool is not BuiltinToolKind.FILE_SEARCH or result.status != "completed":
        return {}
    try:
        output = json.loads(result.output)
    except ValueError:
        return {}
    if not isinstance(output, dict):
        return {}
    first = output.get("first_index")
    found = output.get("results")
    if not isinstance(first, int) or not isinstance(found, list):
        return {}  # not the tool loop's (an item a client sent back): no numbers known
    files: dict[int, CitedFile] = {}
    for n, entry in enumerate(found):
        if isinstance(entry, dict):
            file_id, filename = entry.get("file_id"), entry.get("filename")
            if isinstance(file_id, str) and isinstance(filename, str):
                files[first + n] = CitedFile(file_id, filename)
    return files


def all_cited_files(results: Iterable[BuiltinResultPart]) -> dict[int, CitedFile]:
    files: dict[int, CitedFile] = {}
    for result in results:
        files.update(cited_files(result))
    return files


def annotation(cited: CitedFile, index: int) -> dict[str, Any]:
    return {
        "type": "file_citation",
        "file_id": cited.file_id,
        "filename": cited.filename,
        "index": index,
    }


def file_citations(text: str, files: Mapping[int, CitedFile]) -> list[dict[str, Any]]:
    """The annotations of every marker in `text` that names one of `files`."""
    return CitationScanner(files).feed(text)


class CitationScanner:
    """Finds the markers of a text as it streams, each once, reading each delta once: it
    holds back only the text's end that may begin a marker not yet whole."""

    def __init__(self, files: Mapping[int, CitedFile]) -> None:
        self._files = files
        self._held = ""  # the end of the text read so far that may begin a marker
        self._held_at = 0  # where `_held` begins in the text

    def feed(self, delta: str) -> list[dict[str, Any]]:
        """The annotations of the markers the text completes with `delta`."""
        if not self._files:
            return []
        text = self._held + delta
        found: list[dict[str, Any]] = []
        resume = 0
        for match in FILE_CITATION.finditer(text):
            cited = self._files.get(int(match.group(1)))
            if cited is not None:
                found.append(annotation(cited, self._held_at + match.start()))
            resume = match.end()
        keep = max(resume, len(text) - LONGEST_MARKER + 1)
        self._held = text[keep:]
        self._held_at += keep
        return found
