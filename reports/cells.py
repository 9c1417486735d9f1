"""What may go into a workbook cell: user text stays text, never a formula or a bad character.

Whatever a user typed (a description, a name, an imported product) can reach a ledger that an
inspector opens in Excel. The record keeps exactly what was typed: a string is written as a
string cell (`t="s"` in the file, which no spreadsheet evaluates), and one that begins with `=`,
`+`, `-`, `@`, a tab or a carriage return is also given Excel's quote-prefix style, so editing it
there keeps it text instead of turning it into a formula. No apostrophe is added to the value.
Characters that XML (and so XLSX) cannot carry are dropped, so one bad row never stops a
workbook from being written.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from copy import copy
from typing import Any, Literal, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.dimensions import ColumnDimension, DimensionHolder, RowDimension
from openpyxl.worksheet.header_footer import HeaderFooter, HeaderFooterItem
from openpyxl.worksheet.page import PageMargins, PrintPageSetup
from openpyxl.worksheet.properties import PageSetupProperties, WorksheetProperties
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class TextFunction(Protocol):
    """A text id with its parameters, rendered in the reader's language."""

    def __call__(self, key: str, /, **params: Any) -> str: ...


def printable(value: str) -> str:
    """A user's string without the characters an XLSX file cannot carry; nothing else changes."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def looks_like_formula(value: str) -> bool:
    # a lone "-" (an empty figure) is no formula
    return len(value) > 1 and value.startswith(FORMULA_TRIGGERS)


def text_cell(sheet: Worksheet | WriteOnlyWorksheet, value: str, font: Font | None = None) -> Cell:
    """A string as a cell typed as a string, which is never evaluated, kept as it was typed;
    one that looks like a formula is marked as text with the quote-prefix style. append() gives
    the cell its row and column."""
    value = printable(value)
    cell = WriteOnlyCell(sheet, value=value)
    # openpyxl types a string beginning with "=" as a formula: the type is set back to string
    cell.data_type = "s"
    if font is not None:
        cell.font = font
    if looks_like_formula(value):
        cell.quotePrefix = True
    return cell


def append_row(sheet: Worksheet | WriteOnlyWorksheet, values: Iterable[Any]) -> None:
    """Append a row; strings are written as text cells (numbers and dates stay what they are)."""
    sheet.append([text_cell(sheet, v) if isinstance(v, str) else v for v in values])


def active_sheet(workbook: Workbook) -> Worksheet:
    """The worksheet a new workbook opens on. openpyxl types `Workbook.active` as possibly no
    sheet or a chartsheet; a workbook made with `Workbook()` always has this one worksheet."""
    sheet = workbook.active
    if not isinstance(sheet, Worksheet):
        raise TypeError(f"the workbook's active sheet is not a worksheet: {sheet!r}")
    return sheet


class SheetLayout(Protocol):
    """What a worksheet's layout is set through: column widths, page setup, print options."""

    column_dimensions: DimensionHolder[str, ColumnDimension]
    row_dimensions: DimensionHolder[int, RowDimension]
    page_setup: PrintPageSetup
    sheet_properties: WorksheetProperties
    page_margins: PageMargins
    HeaderFooter: HeaderFooter


def layout(sheet: Worksheet | WriteOnlyWorksheet) -> SheetLayout:
    """A worksheet's layout, of a write-only one too."""
    if isinstance(sheet, Worksheet):
        return sheet
    # types-openpyxl declares none of these on WriteOnlyWorksheet, yet openpyxl gives it every
    # one: its __init__ runs Worksheet._setup, which sets them
    return sheet  # type: ignore[return-value]


def fit_to_page_width(sheet: Worksheet | WriteOnlyWorksheet) -> None:
    """Printed landscape, one page wide and as many pages long as it takes."""
    setup = layout(sheet)
    setup.page_setup.orientation = "landscape"
    setup.page_setup.fitToWidth = 1
    setup.page_setup.fitToHeight = 0
    properties = setup.sheet_properties.pageSetUpPr
    if properties is None:  # a new sheet has them; openpyxl types them as optional
        properties = setup.sheet_properties.pageSetUpPr = PageSetupProperties()
    properties.fitToPage = True


A4 = "9"  # openpyxl's paper size code
# narrow margins leave the columns more of the page, so the fit to its width shrinks them less
MARGINS = PageMargins(left=0.3, right=0.3, top=0.4, bottom=0.5, header=0.2, footer=0.2)
PAGE_FOOTER = "report.page_footer"  # 第&P頁，共&N頁: Excel's codes for the page and the count
DEFAULT_FONT_SIZE = 11.0  # openpyxl's default cell font
DEFAULT_WIDTH = 13.0  # a column's width when none is set
LINE_HEIGHT = 15.0  # a line of the default font, CJK characters included
FOOTER_SIZE = 12
SMALLEST_PRINTED = 8.0  # in points, after the fit to the page's width
PRINTABLE_WIDTH = {"landscape": 842.0 - 0.6 * 72, "portrait": 595.0 - 0.6 * 72}  # in points


def print_on_a4(
    sheet: Worksheet | WriteOnlyWorksheet,
    footer: str,
    *,
    repeat_rows: int = 0,
    widths: Sequence[float] | None = None,
    orientation: Literal["landscape", "portrait"] = "landscape",
) -> None:
    """A4 with narrow margins, the page number and count in the footer (`footer`, in the
    reader's language), the first `repeat_rows` rows (the title and the column headings)
    printed again at the top of every page. With the printed columns' `widths`, at the scale
    that fits them to the page's width (a fixed scale prints the same in Excel and LibreOffice,
    whose fit-to-width shrinks further); without, fitted to one page wide."""
    fit_to_page_width(sheet)
    setup = layout(sheet)
    setup.page_setup.orientation = orientation
    setup.page_setup.paperSize = A4
    setup.page_margins = copy(MARGINS)
    footers = setup.HeaderFooter
    footers.oddFooter = footers.oddFooter or HeaderFooterItem()
    # the footer is scaled with the sheet: at 12 pt it prints at 8 pt or more
    footers.oddFooter.center.text = footer
    footers.oddFooter.center.size = FOOTER_SIZE
    if repeat_rows:
        sheet.print_title_rows = f"1:{repeat_rows}"
    if widths is not None:
        setup.page_setup.fitToWidth = setup.page_setup.fitToHeight = None
        properties = setup.sheet_properties.pageSetUpPr
        if properties is not None:
            properties.fitToPage = False
        setup.page_setup.scale = print_scale(widths, orientation)


def print_scale(
    widths: Iterable[float], orientation: Literal["landscape", "portrait"] = "landscape"
) -> int:
    """The percentage that fits columns this wide to the page's width, with a little room for
    a spreadsheet that measures its columns a little wider."""
    total = sum(column_points(w) for w in widths)
    return min(100, int(PRINTABLE_WIDTH[orientation] / total * 100) - 1)


def row_height(texts: Iterable[tuple[str, float]]) -> float | None:
    """The height (in points) of a row whose wrapped cells hold these texts in columns this
    wide: as many lines as its longest text takes. None: one line, the default height."""
    lines = 1
    for text, width in texts:
        room = max(column_points(width) - 4, 1)
        lines = max(
            lines,
            sum(max(1, math.ceil(text_points(part) / room)) for part in text.split("\n")),
        )
    return None if lines == 1 else lines * LINE_HEIGHT + 2


def text_points(text: str) -> float:
    """A text's width in the default font: a CJK (wide) character is as wide as the font is
    high and a little room, a Latin one about half (an average, not a measure)."""
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in "WF")
    return (wide * 1.2 + (len(text) - wide) * 0.6) * DEFAULT_FONT_SIZE


def display_width(text: str) -> int:
    """Columns a string takes in a spreadsheet: a CJK (wide) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def print_workbook(workbook: Workbook, footer: str, repeat_rows: int = 1) -> None:
    """Every sheet of a small workbook (a statistics table, a summary) printed on A4 landscape
    at the scale that fits its columns, its first `repeat_rows` rows (its title or headings) on
    every page. A sheet too wide to print at 8 pt prints its first columns, as many as fit (the
    columns a reader needs first); the rest stay in the workbook."""
    for sheet in workbook.worksheets:
        widths = [
            sheet.column_dimensions[get_column_letter(i)].width or DEFAULT_WIDTH
            for i in range(1, sheet.max_column + 1)
        ]
        while len(widths) > 1 and printed_font_size(print_scale(widths)) < SMALLEST_PRINTED:
            widths.pop()
        print_on_a4(sheet, footer, repeat_rows=repeat_rows, widths=widths)
        if len(widths) < sheet.max_column:
            print_columns(sheet, len(widths), sheet.max_row)


def print_columns(sheet: Worksheet | WriteOnlyWorksheet, columns: int, rows: int) -> None:
    """Only the first `columns` columns are printed (the rest stay in the workbook): called once
    the sheet's `rows` are known."""
    sheet.print_area = f"A1:{get_column_letter(columns)}{max(rows, 1)}"


def column_points(width: float) -> float:
    """A column's printed width in points at 100 %, as LibreOffice prints it (measured: 22
    columns 5 wide fill a landscape page, 11 of 10, 5 of 20, and a ledger's columns a little
    wider still); Excel prints them narrower (7 pixels a digit and 5 of padding, 5.25 points a
    unit), so a scale that fits them for LibreOffice fits them for Excel too."""
    return width * 7.2 + 2


def printed_font_size(scale: int | None) -> float:
    """The size the default font prints at, at this scale (a percentage)."""
    return DEFAULT_FONT_SIZE * (scale or 100) / 100


def workbook_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@contextmanager
def discarded_on_error(workbook: Workbook) -> Iterator[None]:
    """A write-only workbook given up half-way (its rows failed, or its rendering was
    cancelled at its time limit) closes its sheets' temporary files at once: left to the
    garbage collector, each would write its closing tags into a file already closed."""
    try:
        yield
    except BaseException:
        for sheet in workbook.worksheets:
            with suppress(Exception):
                sheet.close()
        raise
