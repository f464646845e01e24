"""A file's text, for a vector store: plain text and markdown as they are, HTML's main
content (trafilatura drops navigation, footers and the like), PDF's text layer (pypdf) and
Word documents' paragraphs and tables (python-docx).

The kind is read from the extension and checked against the bytes (a `.pdf` that is not a
PDF is an invalid file); a file with an unknown extension is sniffed, and taken as text
when it decodes as text. CPU work: call it in a worker thread.

A hostile upload must not take the server down: a Word document (a zip) whose parts would
unpack past `ExtractionLimits.max_unpacked_bytes` is refused before it is opened, and a
text longer than `max_chars` (a PDF of compressed pages, say) stops the extraction as soon
as it is seen; both fail the file, as invalid_file."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

import docx
import pypdf
import trafilatura

from openscope.core.knowledge import IngestError


class FileKind(StrEnum):
    TEXT = "text"
    HTML = "html"
    PDF = "pdf"
    DOCX = "docx"


# Extensions read as text as they are: prose, markup and source code.
TEXT_EXTENSIONS = frozenset(
    [
        ".txt",
        ".md",
        ".markdown",
        ".rst",
        ".csv",
        ".tsv",
        ".json",
        ".jsonl",
        ".xml",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".log",
        ".tex",
        ".py",
        ".js",
        ".ts",
        ".java",
        ".c",
        ".h",
        ".cpp",
        ".hpp",
        ".cs",
        ".go",
        ".rs",
        ".rb",
        ".php",
        ".sh",
        ".sql",
        ".css",
    ]
)
HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml"})
KIND_OF_EXTENSION = {
    **{ext: FileKind.TEXT for ext in TEXT_EXTENSIONS},
    **{ext: FileKind.HTML for ext in HTML_EXTENSIONS},
    ".pdf": FileKind.PDF,
    ".docx": FileKind.DOCX,
}
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExtractionLimits:
    # Characters of text a file may give (more fails the file).
    max_chars: int = 32_000_000
    # Bytes a Word document's parts may unpack to (more is refused before reading it).
    max_unpacked_bytes: int = 512 * MIB


# Text encodings tried in turn: UTF-8 first, then GB 18030 (Chinese files saved by Windows
# tools), which decodes GBK and GB2312 too.
TEXT_ENCODINGS = ("utf-8", "gb18030")


class ExtractionFailed(Exception):
    """Why a file has no text for a vector store (its `last_error`)."""

    def __init__(self, code: IngestError, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def extract_text(filename: str, content: bytes, limits: ExtractionLimits | None = None) -> str:
    """The file's text; raises ExtractionFailed (unsupported_file for a kind we do not
    read, invalid_file for one we cannot, one without text, or one past `limits`)."""
    limits = limits or ExtractionLimits()
    kind = file_kind(filename, content)
    match kind:
        case FileKind.TEXT:
            text = _decode(content)
        case FileKind.HTML:
            text = _html_text(content)
        case FileKind.PDF:
            text = _pdf_text(content, _TextBudget(filename, limits.max_chars))
        case FileKind.DOCX:
            _check_unpacked_size(filename, content, limits.max_unpacked_bytes)
            text = _docx_text(content, _TextBudget(filename, limits.max_chars))
    _TextBudget(filename, limits.max_chars).take(text)
    text = text.replace("\r\n", "\n").replace("\x00", "").strip()
    if not text:
        raise ExtractionFailed(IngestError.INVALID_FILE, f"{filename} has no text to search")
    return text


def file_kind(filename: str, content: bytes) -> FileKind:
    extension = PurePosixPath(filename).suffix.lower()
    claimed = KIND_OF_EXTENSION.get(extension)
    sniffed = sniff(content)
    if claimed is None:
        if sniffed is None:
            raise ExtractionFailed(
                IngestError.UNSUPPORTED_FILE,
                f"{filename}: files of type '{extension or 'unknown'}' cannot be searched",
            )
        return sniffed
    if claimed in (FileKind.PDF, FileKind.DOCX) and sniffed != claimed:
        raise ExtractionFailed(
            IngestError.INVALID_FILE, f"{filename} is not a valid {claimed.value} file"
        )
    if claimed == FileKind.TEXT and sniffed == FileKind.HTML and extension != ".xml":
        return claimed  # an HTML snippet in a .md or .txt file is still that file's text
    return claimed


def sniff(content: bytes) -> FileKind | None:
    """The kind the bytes show, or None (binary of a kind we do not read)."""
    head = content[:1024]
    if head.startswith(b"%PDF-"):
        return FileKind.PDF
    if head.startswith(b"PK\x03\x04"):
        return FileKind.DOCX if _is_docx(content) else None
    try:
        text = _decode(content[:65536], partial=True)
    except ExtractionFailed:
        return None
    start = text.lstrip("\ufeff \t\r\n")[:256].lower()
    if start.startswith(("<!doctype html", "<html")) or "<html" in start:
        return FileKind.HTML
    return FileKind.TEXT


class _TextBudget:
    """Counts the characters extracted so far; past the limit, the file fails."""

    def __init__(self, filename: str, max_chars: int) -> None:
        self._filename = filename
        self._left = max_chars
        self._max = max_chars

    def take(self, text: str) -> str:
        self._left -= len(text)
        if self._left < 0:
            raise ExtractionFailed(
                IngestError.INVALID_FILE,
                f"{self._filename} holds more than {self._max} characters of text, the most "
                "a file may have",
            )
        return text


def _check_unpacked_size(filename: str, content: bytes, limit: int) -> None:
    """Refuse a zip whose parts claim to unpack past `limit` bytes, before any is read
    (python-docx would inflate and parse them whole: a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ExtractionFailed(
            IngestError.INVALID_FILE, f"{filename} is not a valid docx file"
        ) from None
    if unpacked > limit:
        raise ExtractionFailed(
            IngestError.INVALID_FILE,
            f"{filename} unpacks to {unpacked} bytes; at most {limit} are read",
        )


def _is_docx(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _decode(content: bytes, *, partial: bool = False) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16", errors="ignore" if partial else "strict")
        except UnicodeDecodeError:
            raise ExtractionFailed(IngestError.INVALID_FILE, "the UTF-16 text is broken") from None
    if b"\x00" in content:
        raise ExtractionFailed(IngestError.UNSUPPORTED_FILE, "binary content is not text")
    for encoding in TEXT_ENCODINGS:
        try:
            return content.decode("utf-8-sig" if encoding == "utf-8" else encoding)
        except UnicodeDecodeError as error:
            # a sample cut inside a character still counts as text
            if partial and encoding == "utf-8" and error.start >= len(content) - 3:
                return content[: error.start].decode("utf-8-sig")
    raise ExtractionFailed(IngestError.INVALID_FILE, "the text is neither UTF-8 nor GB 18030")


def _html_text(content: bytes) -> str:
    tree = trafilatura.load_html(content)
    if tree is None:
        raise ExtractionFailed(IngestError.INVALID_FILE, "the HTML cannot be parsed")
    text = trafilatura.extract(
        tree,
        output_format="markdown",
        include_formatting=True,
        include_tables=True,
        include_links=False,
        include_images=False,
        include_comments=False,
    )
    if not text:
        # no main content found (a page that is all list or table): its whole text
        text = trafilatura.html2txt(content) or ""
    return text


def _pdf_text(content: bytes, budget: _TextBudget) -> str:
    try:
        reader = pypdf.PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            raise ExtractionFailed(IngestError.INVALID_FILE, "the PDF is encrypted")
        pages = [budget.take(page.extract_text() or "") for page in reader.pages]
    except ExtractionFailed:
        raise
    except Exception as error:  # pypdf raises many kinds on a broken file
        raise ExtractionFailed(
            IngestError.INVALID_FILE, f"the PDF cannot be read: {error}"
        ) from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise ExtractionFailed(
            IngestError.INVALID_FILE, "the PDF has no text layer (a scan needs OCR first)"
        )
    return text


def _docx_text(content: bytes, budget: _TextBudget) -> str:
    try:
        document = docx.Document(io.BytesIO(content))
    except Exception as error:  # python-docx raises KeyError, ValueError, lxml errors...
        raise ExtractionFailed(
            IngestError.INVALID_FILE, f"the Word document cannot be read: {error}"
        ) from None
    blocks = [budget.take(p.text) for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            if any(cells):
                blocks.append(budget.take(" | ".join(cells)))
    return "\n\n".join(blocks)
