"""What may go into a workbook cell: user text stays text, never a formula or a bad character.

Whatever a user typed (a description, a name, an imported product) can reach a ledger that an
inspector opens in Excel. A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return
would be read as a formula there, so it is escaped the way OWASP describes for CSV injection: a
leading apostrophe, and the cell typed as a string. Characters that XML (and so XLSX) cannot
carry are dropped, so one bad row never stops a workbook from being written.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any, Protocol

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class TextFunction(Protocol):
    """A text id with its parameters, rendered in the reader's language."""

    def __call__(self, key: str, /, **params: Any) -> str: ...


def as_text_cell(value: str) -> str:
    """A user's string as it is written to a cell: printable, and never a formula."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    # a lone "-" (an empty figure) is no formula and stays as it is
    return "'" + value if len(value) > 1 and value.startswith(FORMULA_TRIGGERS) else value


def append_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    """Append a row; strings are written as text cells (numbers and dates stay what they are)."""
    values = list(values)
    sheet.append([as_text_cell(v) if isinstance(v, str) else v for v in values])
    row = sheet._current_row  # the row append() just wrote
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            sheet.cell(row=row, column=column).data_type = "s"  # a string cell is never evaluated


def workbook_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
