"""Asset stickers: one QR code per asset, each a deep link to the asset's patrol."""

from __future__ import annotations

import io
import re

import segno
from pypdf import PdfReader

from reports.stickers import sticker_link, stickers_pdf


def test_each_asset_gets_a_qr_code_of_its_deep_link_and_its_code_printed_under_it() -> None:
    codes = [f"EL-{n:02d}" for n in range(1, 15)]  # 14: two pages of twelve

    pdf = stickers_pdf("after_sales_bot", codes)

    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf.count(b"/Type /Page ") == 2
    labels = re.findall(rb"\((EL-\d\d)\) Tj", pdf)
    assert [label.decode() for label in labels] == codes
    # every dark module of every code is drawn as one filled square
    expected = sum(
        sum(sum(row) for row in segno.make(sticker_link("after_sales_bot", c), error="m").matrix)
        for c in codes
    )
    assert pdf.count(b" re\n") == expected
    assert (
        sticker_link("after_sales_bot", "EL-01") == "https://t.me/after_sales_bot?start=asset_EL-01"
    )


def test_the_xref_table_points_at_every_object() -> None:
    pdf = stickers_pdf("b", ["A-1"])
    xref_at = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    entries = pdf[xref_at:].split(b"\n")[3:]
    offsets = [int(e.split()[0]) for e in entries if e.endswith(b" n ")]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)


def test_the_sticker_prints_the_assets_chinese_name_in_the_embedded_font() -> None:
    pdf = stickers_pdf("after_sales_bot", ["EL-01", "WP-02"], ["1號客梯 (A座)", "生活水泵"])

    reader = PdfReader(io.BytesIO(pdf))
    text = reader.pages[0].extract_text()
    assert "EL-01" in text and "WP-02" in text
    assert "1號客梯" in text and "A座" in text and "生活水泵" in text
    # the font travels inside the file: a reader without CJK fonts shows the same glyphs
    fonts = reader.pages[0]["/Resources"]["/Font"]
    cjk = fonts["/F2"].get_object()["/DescendantFonts"][0].get_object()
    assert "/FontFile2" in cjk["/FontDescriptor"].get_object()
    assert cjk["/BaseFont"].endswith("+DroidSansFallback")
