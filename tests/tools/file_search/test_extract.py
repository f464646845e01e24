from __future__ import annotations

import pytest

from openscope.core.knowledge import IngestError
from openscope.tools.file_search.extract import ExtractionFailed, FileKind, extract_text, file_kind
from tests.tools.file_search.documents import ARTICLE_HTML, docx_with, pdf_with_text


def failure(filename: str, content: bytes) -> ExtractionFailed:
    with pytest.raises(ExtractionFailed) as caught:
        extract_text(filename, content)
    return caught.value


def test_text_and_markdown_are_taken_as_they_are() -> None:
    assert extract_text("notes.txt", b"  first line\r\nsecond line\n") == "first line\nsecond line"
    markdown = "# Title\n\n- item *one*\n"
    assert extract_text("README.md", markdown.encode()) == markdown.strip()


def test_text_in_utf8_with_bom_utf16_and_gb18030() -> None:
    chinese = "阿里云百炼 X1 手机的屏幕是 6.7 英寸。"
    assert extract_text("a.txt", b"\xef\xbb\xbf" + chinese.encode()) == chinese
    assert extract_text("b.txt", chinese.encode("utf-16")) == chinese
    assert extract_text("c.txt", chinese.encode("gb18030")) == chinese


def test_html_keeps_the_article_and_drops_the_boilerplate() -> None:
    text = extract_text("policy.html", ARTICLE_HTML.encode())
    assert "unworn hiking boots within 45 days" in text
    assert "Tarnwick" in text
    assert "newsletter" not in text
    assert "About us" not in text


def test_pdf_text_layer() -> None:
    content = pdf_with_text(
        "The Orbital K7 drill has a 2.5 Ah battery.", "Charge it for 40 minutes."
    )
    text = extract_text("manual.pdf", content)
    assert "Orbital K7 drill has a 2.5 Ah battery" in text
    assert "Charge it for 40 minutes" in text


def test_docx_paragraphs_and_tables() -> None:
    content = docx_with(
        ["Travel policy 2025", "Economy class for flights under six hours."],
        [["Grade", "Hotel cap"], ["G7", "180 EUR"]],
    )
    text = extract_text("policy.docx", content)
    assert "Economy class for flights under six hours." in text
    assert "G7 | 180 EUR" in text


def test_unknown_extensions_are_sniffed() -> None:
    assert extract_text("data.unknownext", b"plain words here") == "plain words here"
    assert file_kind("download", pdf_with_text("hello")) == FileKind.PDF
    assert file_kind("page", ARTICLE_HTML.encode()) == FileKind.HTML
    assert file_kind("report", docx_with(["x"])) == FileKind.DOCX
    assert "Orbital" in extract_text("noext", pdf_with_text("Orbital"))


def test_binary_of_an_unknown_kind_is_unsupported() -> None:
    assert (
        failure("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").code
        == IngestError.UNSUPPORTED_FILE
    )
    assert failure("blob.bin", bytes(range(256))).code == IngestError.UNSUPPORTED_FILE


def test_a_file_that_is_not_what_its_extension_says_is_invalid() -> None:
    assert failure("fake.pdf", b"just some text").code == IngestError.INVALID_FILE
    assert failure("fake.docx", b"PK\x03\x04 not really a zip").code == IngestError.INVALID_FILE
    broken = pdf_with_text("hello")[:60]
    assert failure("broken.pdf", broken).code == IngestError.INVALID_FILE


def test_text_that_is_no_known_encoding_is_invalid() -> None:
    assert failure("odd.txt", b"\xfe\xff\x81\x30\xff\xff\xfe").code == IngestError.INVALID_FILE
    assert (
        failure("latin.txt", "caf\xe9 cr\xe8me \xff".encode("latin-1")).code
        == IngestError.INVALID_FILE
    )


def test_a_file_without_text_is_invalid() -> None:
    assert failure("empty.txt", b"   \n\t ").code == IngestError.INVALID_FILE
    assert failure("blank.pdf", pdf_with_text()).code == IngestError.INVALID_FILE
