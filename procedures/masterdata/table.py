"""Reading a master-data file (CSV or XLSX) within its limits, and the checks of each cell's
value."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

from biip import ParseError
from biip.gtin import Gtin

from procedures.kernel.errors import InvalidInput
from procedures.kernel.text_input import clean_text
from storage.models import (
    Base,
)

# Import order that satisfies the references between kinds.
KINDS = (
    "organisations",
    "vendors",
    "products",
    "batches",
    "shipments",
    "assets",
    "contracts",
    "checklist_items",
)
MAX_ROWS = 50_000
MAX_FILE_BYTES = 10 * 1024 * 1024
# a CSV field longer than this is a broken file, not a product name
MAX_FIELD_CHARS = 10_000


@dataclass(frozen=True)
class RowError:
    line: int
    text_key: str
    params: dict[str, Any] = field(default_factory=dict)


class ImportRejected(InvalidInput):
    """The file was not imported; `errors` says which lines were wrong and why."""

    text_key = "import.rejected"

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(count=len(errors))
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    kind: str
    created: int
    updated: int
    unchanged: int


class _BadValue(Exception):
    def __init__(self, text_key: str, **params: Any) -> None:
        super().__init__(text_key)
        self.text_key = text_key
        self.params = params


# --- reading files -------------------------------------------------------------------------


def read_table(filename: str, content: bytes) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV or XLSX file as (line number, {header: text}); blank rows skipped.

    Blocking work (a big workbook takes seconds): the bot calls it in a worker thread."""
    if len(content) > MAX_FILE_BYTES:
        raise InvalidInput("import.too_large", limit=MAX_FILE_BYTES // (1024 * 1024))
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".csv":
        raw_rows = _csv_rows(content)
    elif suffix == ".xlsx":
        raw_rows = _xlsx_rows(content)
    else:
        raise InvalidInput("import.unsupported_file", filename=filename)
    headers = None
    rows = []
    for line, raw in enumerate(raw_rows, start=1):
        if headers is None:
            headers = [h.strip().lower() for h in raw]
            continue
        values = {h: (raw[i].strip() if i < len(raw) else "") for i, h in enumerate(headers) if h}
        values = {h: clean_text(v) for h, v in values.items()}
        if any(values.values()):
            rows.append((line, values))
            if len(rows) > MAX_ROWS:
                raise InvalidInput("import.too_many_rows", limit=MAX_ROWS)
    if headers is None:
        raise InvalidInput("import.empty_file")
    return rows


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput("import.not_utf8") from error
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "field larger than field limit" in str(error):  # the csv module's own limit
                raise InvalidInput(
                    "import.field_too_long", line=reader.line_num, limit=MAX_FIELD_CHARS
                ) from error
            raise InvalidInput("import.bad_csv", line=reader.line_num) from error
        if any(len(field) > MAX_FIELD_CHARS for field in row):
            raise InvalidInput("import.field_too_long", line=reader.line_num, limit=MAX_FIELD_CHARS)
        yield row


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook  # only XLSX imports pay for loading it

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidInput("import.bad_xlsx") from error
    try:
        # read_only streams the sheet: a huge file is refused at MAX_ROWS, not read whole
        for raw in workbook.worksheets[0].iter_rows(values_only=True):
            yield [_cell_text(value) for value in raw]
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- field parsers -------------------------------------------------------------------------


def _text(required: bool = True, max_length: int = 200) -> Callable[[str], str | None]:
    def parse(raw: str) -> str | None:
        if not raw:
            if required:
                raise _BadValue("import.required")
            return None
        if len(raw) > max_length:
            raise _BadValue("import.too_long", limit=max_length)
        return raw

    return parse


def _choice(options: Iterable[str], required: bool = True) -> Callable[[str], str | None]:
    allowed = tuple(options)

    def parse(raw: str) -> str | None:
        if not raw and not required:
            return None
        if raw not in allowed:
            raise _BadValue("import.not_one_of", options=list(allowed))
        return raw

    return parse


def _integer(required: bool = True, positive: bool = False) -> Callable[[str], int | None]:
    def parse(raw: str) -> int | None:
        if not raw:
            if required:
                raise _BadValue("import.required")
            return None
        try:
            value = int(raw)
        except ValueError as error:
            raise _BadValue("import.not_integer") from error
        if positive and value <= 0:
            raise _BadValue("import.not_positive")
        return value

    return parse


def _decimal(required: bool = True, low: Decimal | None = None, high: Decimal | None = None):
    def parse(raw: str) -> Decimal | None:
        if not raw:
            if required:
                raise _BadValue("import.required")
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation as error:
            raise _BadValue("import.not_number") from error
        if (
            not value.is_finite()
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            raise _BadValue("import.out_of_range", low=str(low), high=str(high))
        return value

    return parse


def _date(required: bool = True) -> Callable[[str], dt.date | None]:
    def parse(raw: str) -> dt.date | None:
        if not raw:
            if required:
                raise _BadValue("import.required")
            return None
        try:
            return dt.date.fromisoformat(raw.replace("/", "-"))
        except ValueError as error:
            raise _BadValue("import.not_date") from error

    return parse


def _gtin(raw: str) -> str | None:
    """A GTIN-8, -12, -13 or -14 with a right check digit, kept as the GTIN-14 a label's (01)
    holds."""
    if not raw:
        return None
    try:
        return Gtin.parse(raw).as_gtin_14()
    except ParseError as error:
        raise _BadValue("import.not_gtin") from error


# --- kinds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
    """A column holding another record's code, stored as that record's id."""

    column: str
    model: type[Base]
    attribute: str
    required: bool = True
    where: dict[str, Any] = field(default_factory=dict)


# (column, text key, params) of what is wrong with a row's values taken together
RowCheck = Callable[[dict[str, Any]], list[tuple[str, str, dict[str, Any]]]]


@dataclass(frozen=True)
class _KindSpec:
    model: type[Base]
    natural_key: tuple[str, ...]
    fields: dict[str, Callable[[str], Any]]
    references: tuple[_Reference, ...] = ()
    check: RowCheck | None = None
    # columns besides the natural key that no two records share (a product's GTIN)
    unique: tuple[str, ...] = ()
