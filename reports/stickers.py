"""Printable QR stickers for equipment assets: an A4 PDF, twelve stickers a page.

Each QR code is a deep link `https://t.me/<bot>?start=asset_<code>` that opens the patrol of the
asset when a technician scans it with the phone camera; the code is printed under it, so it can
also be typed, and the asset's name under that. The PDF is written directly (filled squares and
text), which needs no imaging library: the code in a standard font, the name's Chinese
characters in a subset of the bundled CJK font (reports/fonts) embedded in the file, with a
ToUnicode map so the name can be searched and copied out of the PDF.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

import segno
from fontTools import subset
from fontTools.ttLib import TTFont

from .charts import FONT_FILE

PAGE_WIDTH, PAGE_HEIGHT = 595.0, 842.0  # A4 in points
COLUMNS, ROWS = 3, 4
MARGIN = 36.0
QR_SIZE = 120.0
NAME_SIZE = 10.0
HELVETICA_WIDTH = 0.556  # an average Latin character, in ems


def sticker_link(bot_username: str, asset_code: str) -> str:
    return f"https://t.me/{bot_username}?start=asset_{asset_code}"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


@cache
def _cjk_characters() -> frozenset[int]:
    return frozenset(TTFont(str(FONT_FILE), lazy=True).getBestCmap())


class EmbeddedFont:
    """The subset of the CJK font a document uses: its glyph ids and widths."""

    def __init__(self, characters: set[str]) -> None:
        options = subset.Options()
        options.name_IDs = ["*"]
        options.notdef_outline = True
        font = TTFont(str(FONT_FILE))
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(c) for c in characters])
        subsetter.subset(font)
        buffer = io.BytesIO()
        font.save(buffer)
        self.data = buffer.getvalue()
        scale = 1000 / font["head"].unitsPerEm
        cmap = font.getBestCmap()
        # fontTools ships no types: what it gives is Any, so the fields say what they hold
        self.glyphs: dict[str, int] = {
            chr(code): font.getGlyphID(name) for code, name in cmap.items()
        }
        self.widths: dict[int, int] = {
            gid: round(font["hmtx"][font.getGlyphName(gid)][0] * scale)
            for gid in self.glyphs.values()
        }
        head, os2 = font["head"], font["OS/2"]
        self.bbox: list[int] = [
            round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)
        ]
        self.ascent: int = round(os2.sTypoAscender * scale)
        self.descent: int = round(os2.sTypoDescender * scale)

    def encode(self, text: str) -> str:
        return "".join(f"{self.glyphs[c]:04X}" for c in text)

    def width(self, text: str, size: float) -> float:
        return sum(self.widths[self.glyphs[c]] for c in text) * size / 1000

    def objects(self, first: int) -> list[bytes]:
        """The Type0 font (object `first`) and what it refers to, numbered from there on."""
        name = "/AAAAAA+DroidSansFallback"
        widths = " ".join(f"{gid} [{w}]" for gid, w in sorted(self.widths.items()))
        cmap_lines = "\n".join(
            f"<{gid:04X}> <{ord(c):04X}>" for c, gid in sorted(self.glyphs.items())
        )
        to_unicode = (
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
            "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
            f"{len(self.glyphs)} beginbfchar\n{cmap_lines}\nendbfchar\n"
            "endcmap CMapName currentdict /CMap defineresource pop end end"
        ).encode()
        bbox = " ".join(str(v) for v in self.bbox)
        return [
            (
                f"<< /Type /Font /Subtype /Type0 /BaseFont {name} /Encoding /Identity-H "
                f"/DescendantFonts [{first + 1} 0 R] /ToUnicode {first + 4} 0 R >>"
            ).encode(),
            (
                f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont {name} "
                "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
                f"/FontDescriptor {first + 2} 0 R /CIDToGIDMap /Identity /DW 1000 "
                f"/W [{widths}] >>"
            ).encode(),
            (
                f"<< /Type /FontDescriptor /FontName {name} /Flags 4 /FontBBox [{bbox}] "
                f"/ItalicAngle 0 /Ascent {self.ascent} /Descent {self.descent} "
                f"/CapHeight {self.ascent} /StemV 80 /FontFile2 {first + 3} 0 R >>"
            ).encode(),
            _stream(self.data, f"/Length1 {len(self.data)}"),
            _stream(to_unicode),
        ]


def _stream(content: bytes, extra: str = "") -> bytes:
    return (
        b"<< /Length %d %s>>\nstream\n" % (len(content), extra.encode())
        + content
        + (b"\nendstream")
    )


def _runs(text: str, font: EmbeddedFont | None) -> list[tuple[bool, str]]:
    """The text cut into runs of CJK (the embedded font) and Latin (Helvetica) characters."""
    runs: list[tuple[bool, str]] = []
    for character in text:
        cjk = font is not None and character in font.glyphs
        if runs and runs[-1][0] == cjk:
            runs[-1] = (cjk, runs[-1][1] + character)
        else:
            runs.append((cjk, character))
    return runs


def _name_line(name: str, font: EmbeddedFont | None, left: float, y: float, room: float) -> str:
    """The asset's name, cut to the sticker's width."""
    operators: list[str] = []
    x = left
    for cjk, run in _runs(name, font):
        embedded = font if cjk else None  # a CJK run is only made where there is the font
        for character in run:
            width = (
                embedded.width(character, NAME_SIZE)
                if embedded is not None
                else HELVETICA_WIDTH * NAME_SIZE
            )
            if x + width > left + room:
                return "\n".join(operators)
            if embedded is not None:
                shown = f"<{embedded.encode(character)}>"
                operators.append(f"BT /F2 {NAME_SIZE:.0f} Tf {x:.2f} {y:.2f} Td {shown} Tj ET")
            else:
                text = _escape(character).encode("latin-1", "replace").decode("latin-1")
                operators.append(f"BT /F1 {NAME_SIZE:.0f} Tf {x:.2f} {y:.2f} Td ({text}) Tj ET")
            x += width
    return "\n".join(operators)


def _sticker(
    link: str, label: str, name: str, font: EmbeddedFont | None, left: float, top: float
) -> str:
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
            _name_line(name, font, left, text_y - 14, 160.0),
        ]
    )


def stickers_pdf(
    bot_username: str, asset_codes: Sequence[str], names: Sequence[str] | None = None
) -> bytes:
    """The sheet for `asset_codes` (with their `names`), as many A4 pages as needed."""
    names = list(names) if names is not None else [""] * len(asset_codes)
    cjk = {c for name in names for c in name if ord(c) in _cjk_characters() and ord(c) > 0x7F}
    font = EmbeddedFont(cjk) if cjk else None
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
            link = sticker_link(bot_username, code)
            drawings.append(_sticker(link, code, names[start + index], font, left, top))
        pages.append("\n".join(drawings).encode("latin-1", "replace"))

    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    font_id = 3 + 2 * len(pages)
    fonts = f"/F1 {font_id} 0 R" + (f" /F2 {font_id + 1} 0 R" if font else "")
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for page_id, content in zip(page_ids, pages, strict=True):
        page = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH:.0f} {PAGE_HEIGHT:.0f}] "
            f"/Resources << /Font << {fonts} >> >> /Contents {page_id + 1} 0 R >>"
        )
        objects.append(page.encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    if font is not None:
        objects += font.objects(font_id + 1)

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
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
