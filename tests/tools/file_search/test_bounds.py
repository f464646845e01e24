"""A hostile upload must not take the server down: zip bombs, texts past the character
limit and texts cutting into too many chunks fail the file with the reason."""

from __future__ import annotations

import io
import zipfile

import pytest

from openscope.core.knowledge import ChunkingStrategy, IngestError
from openscope.tools.file_search.chunking import chunk_text
from openscope.tools.file_search.extract import ExtractionFailed, ExtractionLimits, extract_text
from tests.engine.knowledge.fake_embedder import FakeEmbedder
from tests.tools.file_search.documents import docx_with, pdf_with_text

LIMITS = ExtractionLimits(max_chars=10_000, max_unpacked_bytes=1_000_000)


def refused(filename: str, content: bytes, limits: ExtractionLimits = LIMITS) -> str:
    with pytest.raises(ExtractionFailed) as failed:
        extract_text(filename, content, limits)
    assert failed.value.code == IngestError.INVALID_FILE
    return failed.value.message


def with_part(document: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO(document)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


def test_a_docx_unpacking_past_the_limit_is_refused_before_it_is_read() -> None:
    bomb = with_part(docx_with(["Orbital K7"]), "word/media/zeros.bin", bytes(2_000_000))
    assert len(bomb) < 100_000  # small on the wire, 2 MB unpacked
    assert "unpacks to" in refused("bomb.docx", bomb)
    # the same document within the limit is read
    roomy = ExtractionLimits(max_chars=10_000, max_unpacked_bytes=4_000_000)
    assert extract_text("bomb.docx", bomb, roomy) == "Orbital K7"


def test_text_past_the_character_limit_fails_each_kind() -> None:
    long_line = "word " * 3_000  # 15,000 characters
    for filename, content in (
        ("notes.txt", long_line.encode()),
        ("page.html", f"<html><body><article><p>{long_line}</p></article></body></html>".encode()),
        ("manual.pdf", pdf_with_text(*(["Orbital K7 drill " * 6] * 150))),
        ("policy.docx", docx_with([long_line])),
    ):
        assert "more than 10000 characters" in refused(filename, content), filename
    assert extract_text("short.txt", b"word " * 100, LIMITS).startswith("word")


async def test_a_text_cutting_into_too_many_chunks_fails_before_it_is_counted() -> None:
    embedder = FakeEmbedder()
    text = " ".join(f"word{i}" for i in range(2_000))
    with pytest.raises(ExtractionFailed) as failed:
        await chunk_text(text, ChunkingStrategy(100, 0), embedder.count_tokens, max_chunks=10)
    assert failed.value.code == IngestError.INVALID_FILE
    assert "more than 10 chunks" in failed.value.message
    chunks = await chunk_text(text, ChunkingStrategy(100, 0), embedder.count_tokens, max_chunks=20)
    assert len(chunks) == 20
