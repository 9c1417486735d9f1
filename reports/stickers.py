"""Printable QR stickers for equipment assets: an A4 PDF, twelve stickers a page.

Each QR code is a deep link `https://t.me/<bot>?start=asset_<code>` that opens the patrol of the
asset when a technician scans it with the phone camera; the code is printed under it, so it can
also be typed. The PDF is written directly (filled squares and one standard font), which needs
no imaging library.
"""

from __future__ import annotations

from collections.abc import Sequence

import segno

PAGE_WIDTH, PAGE_HEIGHT = 595.0, 842.0  # A4 in points
COLUMNS, ROWS = 3, 4
MARGIN = 36.0
QR_SIZE = 120.0


def sticker_link(bot_username: str, asset_code: str) -> str:
    return f"https://t.me/{bot_username}?start=asset_{asset_code}"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _sticker(link: str, label: str, left: float, top: float) -> str:
    """PDF drawing operators for one sticker whose top-left corner is at (left, top)."""
    matrix = segno.make(link, error="m").matrix
    module = QR_SIZE / len(matrix)
    squares = [
        f"{left + x * module:.2f} {top - (y + 1) * module:.2f} {module:.2f} {module:.2f} re"
        for y, row in enumerate(matrix)
        for x, dark in enumerate(row)
        if dark
    ]
    text_y = top - QR_SIZE - 16
    return "\n".join(
        [
            "0 0 0 rg",
            *squares,
            "f",
            f"BT /F1 12 Tf {left:.2f} {text_y:.2f} Td ({_escape(label)}) Tj ET",
        ]
    )


def stickers_pdf(bot_username: str, asset_codes: Sequence[str]) -> bytes:
    """The sheet for `asset_codes`, as many A4 pages as needed."""
    per_page = COLUMNS * ROWS
    cell_width = (PAGE_WIDTH - 2 * MARGIN) / COLUMNS
    cell_height = (PAGE_HEIGHT - 2 * MARGIN) / ROWS
    pages = []
    for start in range(0, max(len(asset_codes), 1), per_page):
        drawings = []
        for index, code in enumerate(asset_codes[start : start + per_page]):
            column, row = index % COLUMNS, index // COLUMNS
            left = MARGIN + column * cell_width + (cell_width - QR_SIZE) / 2
            top = PAGE_HEIGHT - MARGIN - row * cell_height - 10
            drawings.append(_sticker(sticker_link(bot_username, code), code, left, top))
        pages.append("\n".join(drawings).encode("latin-1", "replace"))

    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    font_id = 3 + 2 * len(pages)
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for page_id, content in zip(page_ids, pages, strict=True):
        page = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH:.0f} {PAGE_HEIGHT:.0f}] "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {page_id + 1} 0 R >>"
        )
        objects.append(page.encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")

    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
