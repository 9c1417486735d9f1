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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.dimensions import ColumnDimension, DimensionHolder
from openpyxl.worksheet.page import PrintPageSetup
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
    page_setup: PrintPageSetup
    sheet_properties: WorksheetProperties


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
