"""Small documents of each kind, made in the test run (no binary fixtures in the tree)."""

from __future__ import annotations

import io

import docx


def pdf_with_text(*lines: str) -> bytes:
    """A one-page PDF whose text layer holds `lines` (Helvetica, ASCII)."""
    stream = (
        "BT /F1 12 Tf 72 720 Td 14 TL "
        + " ".join(f"({line.replace('(', '[').replace(')', ']')}) '" for line in lines)
        + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        " /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def docx_with(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


ARTICLE_HTML = """<!DOCTYPE html>
<html><head><title>Kestrel Outfitters - Return policy</title></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/shop">Shop</a></li>
<li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li></ul></nav>
<main><article>
<h1>Return policy</h1>
<p>Kestrel Outfitters accepts returns of unworn hiking boots within 45 days of delivery.
Boots must come back in their original box with the quartz-grey tag still attached.</p>
<p>Refunds reach the original payment card within five working days after the warehouse in
Tarnwick inspects the parcel. Shipping costs of a return are paid by the customer unless
the boots arrived damaged.</p>
</article></main>
<footer><p>Copyright 2026 Kestrel Outfitters. All rights reserved. Privacy. Cookies.</p>
<p>Subscribe to our newsletter for weekly deals.</p></footer>
</body></html>
"""
