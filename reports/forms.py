"""The procedures' forms as PDF: one document a record, on A4 portrait, as a clerk files it.

A form is data (`Form`): the company and the form's name from the procedure as its title, the
record's number, its fields, its lines (with units, unit prices and amounts where it has them),
its timeline where it has one, and the signature lines with the names and times of those who
signed in the chat. `form_pdf` lays it out with fpdf2 in the bundled CJK font (reports/fonts)
and matplotlib's DejaVu Sans for Latin letters, both embedded as subsets, so the text prints the
same everywhere and can be searched and copied.
PDF rather than a workbook: a form is read and signed on paper, not sorted or summed, and a PDF
prints the same from any viewer with no print set-up to get wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from .charts import FONT_FILE

FONT, CJK_FONT = "latin", "cjk"
LATIN_FONT_FILE = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
TITLE_SIZE = 15.0
TEXT_SIZE = 10.0
SMALL_SIZE = 9.0  # the smallest printed: the footer, the table's headings
MARGIN = 15.0  # millimetres
LINE = 5.6  # a text line's height in millimetres, at TEXT_SIZE
# the headings as the rest: the bundled font has no bold face
PLAIN = FontFace(emphasis=None, fill_color=(235, 235, 235))


@dataclass(frozen=True)
class Table:
    """The record's lines: column headings, rows, relative column widths, and a totals row."""

    headings: Sequence[str]
    rows: Sequence[Sequence[str]]
    widths: Sequence[float]
    totals: Sequence[str] = ()
    right: frozenset[int] = frozenset()  # columns of figures, set flush right


@dataclass(frozen=True)
class Signature:
    """A signature line: the step (who signs), the name and the time of whoever signed it in
    the chat; blank where nobody has yet, to be signed on paper."""

    role: str
    name: str = ""
    at: str = ""


@dataclass(frozen=True)
class Form:
    company: str
    name: str  # the form's name in the procedure, e.g. 退貨單
    heading: str  # the name as the reader's language titles it: 《退貨單》
    number: str  # the record's number
    number_line: str  # the number with its label, in the reader's marks (編號：RT-2026-00001)
    fields: Sequence[tuple[str, str]]
    footer: str  # printed date and page, e.g. 打印日期：2026-11-27　第1頁，共1頁 ({page}, {pages})
    table: Table | None = None
    table_title: str = ""
    timeline: Sequence[tuple[str, str, str]] = ()  # (time, who, what)
    timeline_title: str = ""
    timeline_headings: tuple[str, str, str] = ("", "", "")
    signatures: Sequence[Signature] = ()
    signatures_title: str = ""
    signature_headings: tuple[str, str, str] = ("", "", "")
    notes: Sequence[str] = field(default_factory=tuple)


class _Document(FPDF):
    def __init__(self, footer: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN + 5)
        # Latin letters and figures in matplotlib's DejaVu Sans (the bundled CJK font has
        # none), every other character in the CJK font
        self.add_font(FONT, "", str(LATIN_FONT_FILE))
        self.add_font(CJK_FONT, "", str(FONT_FILE))
        self.set_fallback_fonts([CJK_FONT])
        self.alias_nb_pages("{pages}")

    def footer(self) -> None:
        self.set_y(-MARGIN)
        self.set_font(FONT, size=SMALL_SIZE)
        text = self.footer_text.replace("{page}", str(self.page_no()))
        self.cell(0, LINE, text, align="C")


def _heading(pdf: _Document, text: str) -> None:
    pdf.ln(2)
    pdf.set_font(FONT, size=TEXT_SIZE + 1)
    pdf.cell(0, LINE + 1, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=TEXT_SIZE)


def _fields(pdf: _Document, fields: Sequence[tuple[str, str]]) -> None:
    width = pdf.epw
    with pdf.table(
        col_widths=(30, 70),
        width=width,
        line_height=LINE,
        first_row_as_headings=False,
        text_align=("LEFT", "LEFT"),
    ) as table:
        for label, value in fields:
            row = table.row()
            row.cell(label)
            row.cell(value)


def _table(pdf: _Document, data: Table) -> None:
    aligns = tuple(
        "RIGHT" if index in data.right else "LEFT" for index in range(len(data.headings))
    )
    pdf.set_font(FONT, size=SMALL_SIZE)
    with pdf.table(
        col_widths=tuple(data.widths),
        width=pdf.epw,
        line_height=LINE - 0.6,
        text_align=aligns,
        headings_style=PLAIN,
    ) as table:
        heading = table.row()
        for text in data.headings:
            heading.cell(text)
        for values in data.rows:
            row = table.row()
            for text in values:
                row.cell(text)
        if data.totals:
            row = table.row()
            for text in data.totals:
                row.cell(text)
    pdf.set_font(FONT, size=TEXT_SIZE)


def form_pdf(form: Form) -> bytes:
    """The form on as many A4 pages as it takes (one, for most records)."""
    pdf = _Document(form.footer)
    pdf.add_page()
    pdf.set_font(FONT, size=TEXT_SIZE + 1)
    pdf.cell(0, LINE + 1, form.company, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=TITLE_SIZE)
    pdf.cell(0, LINE + 4, form.heading, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=TEXT_SIZE)
    pdf.cell(
        0,
        LINE,
        form.number_line,
        align="R",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(1)
    _fields(pdf, form.fields)
    if form.table is not None:
        _heading(pdf, form.table_title)
        _table(pdf, form.table)
    if form.timeline:
        _heading(pdf, form.timeline_title)
        _table(
            pdf,
            Table(form.timeline_headings, [list(event) for event in form.timeline], (22, 22, 56)),
        )
    for note in form.notes:
        pdf.ln(1)
        pdf.multi_cell(0, LINE, note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if form.signatures:
        _heading(pdf, form.signatures_title)
        with pdf.table(
            col_widths=(40, 35, 25),
            width=pdf.epw,
            line_height=LINE + 2,  # room to sign by hand where nobody signed in the chat
            headings_style=PLAIN,
        ) as table:
            heading = table.row()
            for text in form.signature_headings:
                heading.cell(text)
            for signature in form.signatures:
                row = table.row()
                row.cell(signature.role)
                row.cell(signature.name)
                row.cell(signature.at)
    return bytes(pdf.output())
