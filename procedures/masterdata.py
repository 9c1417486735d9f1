"""Importing master data (organisations, products, batches, shipments, vendors, assets, the
vendors' contracts, checklists).

A file is checked whole before anything is written: one bad row rejects the file, and every bad
row is reported with its line number and reason. Rows are matched on their natural key (code,
lot, reference), compared without case, so importing the same file twice changes nothing the
second time and `c001` is the organisation `C001`. A file over MAX_FILE_BYTES or MAX_ROWS is
refused as soon as the limit is seen, without reading the rest.
"""

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
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Base,
    Batch,
    ChecklistItem,
    Contract,
    EquipmentAsset,
    Organisation,
    Product,
    Shipment,
    Vendor,
)

from .errors import InvalidInput
from .text_input import clean_text
from .timeline import record_event
from .unit_of_work import UnitOfWork

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
EQUIPMENT_SYSTEMS = ("elevator", "water_supply", "hvac", "fire_protection", "power", "lighting")
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


def _period_in_order(values: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if starts is not None and ends is not None and ends < starts:
        return [("ends_on", "import.ends_before_start", {})]
    return []


SPECS: dict[str, _KindSpec] = {
    "organisations": _KindSpec(
        model=Organisation,
        natural_key=("code",),
        fields={
            "code": _text(max_length=32),
            "name": _text(),
            "kind": _choice(("customer", "supplier")),
            "locality": _choice(("local", "out_of_town"), required=False),
            "exchange_ratio_limit": _decimal(False, Decimal(0), Decimal(1)),
            "exchange_window_days": _integer(False, positive=True),
            "contact_name": _text(False, 100),
            "contact_phone": _text(False, 50),
        },
    ),
    "vendors": _KindSpec(
        model=Vendor,
        natural_key=("code",),
        fields={
            "code": _text(max_length=32),
            "name": _text(),
            "contact_name": _text(False, 100),
            "contact_phone": _text(False, 50),
        },
    ),
    "products": _KindSpec(
        model=Product,
        natural_key=("code",),
        fields={
            "code": _text(max_length=32),
            "name": _text(),
            "unit": _text(False, 16),
            "specification": _text(False, 200),
            "manufacturer": _text(False, 200),
            "registration_number": _text(False, 100),
            "gtin": _gtin,
        },
        references=(
            _Reference("supplier_code", Organisation, "supplier_id", False, {"kind": "supplier"}),
        ),
        unique=("gtin",),
    ),
    "batches": _KindSpec(
        model=Batch,
        natural_key=("product_id", "lot_number"),
        fields={"lot_number": _text(max_length=64), "expiry_date": _date(required=False)},
        references=(_Reference("product_code", Product, "product_id"),),
    ),
    "shipments": _KindSpec(
        model=Shipment,
        natural_key=("reference",),
        fields={
            "reference": _text(max_length=64),
            "quantity": _integer(positive=True),
            "amount": _decimal(low=Decimal(0)),
            "shipped_on": _date(),
        },
        references=(
            _Reference(
                "customer_code", Organisation, "organisation_id", True, {"kind": "customer"}
            ),
            _Reference("product_code", Product, "_product_id"),
        ),
    ),
    "assets": _KindSpec(
        model=EquipmentAsset,
        natural_key=("code",),
        fields={
            "code": _text(max_length=32),
            "name": _text(),
            "system": _choice(EQUIPMENT_SYSTEMS),
            "location": _text(False),
        },
        references=(_Reference("vendor_code", Vendor, "vendor_id", False),),
    ),
    # a contract with no asset covers every asset of its vendor
    "contracts": _KindSpec(
        model=Contract,
        natural_key=("number",),
        fields={
            "number": _text(max_length=64),
            "kind": _choice(("maintenance", "purchase")),
            "starts_on": _date(),
            "ends_on": _date(),
            "response_hours": _integer(False, positive=True),
            "repair_hours": _integer(False, positive=True),
            "visits_per_month": _integer(False, positive=True),
        },
        references=(
            _Reference("vendor_code", Vendor, "vendor_id"),
            _Reference("asset_code", EquipmentAsset, "asset_id", False),
        ),
        check=_period_in_order,
    ),
    "checklist_items": _KindSpec(
        model=ChecklistItem,
        natural_key=("system", "code"),
        fields={
            "system": _choice(EQUIPMENT_SYSTEMS),
            "code": _text(max_length=32),
            "label": _text(),
            "kind": _choice(("check", "reading")),
            "unit": _text(False, 16),
            "low": _decimal(False),
            "high": _decimal(False),
            "position": _integer(False),
        },
    ),
}


def kind_named(kind: str) -> dict[str, Any]:
    """A kind as the user reads it: its name in their language (a text parameter)."""
    return {"$text": f"import.kind.{kind}"}


def kind_options() -> list[dict[str, Any]]:
    """The kinds a caption may name: each caption as typed, with its name in the user's language."""
    return [
        {"$text": "import.kind_option", "params": {"kind": kind, "name": kind_named(kind)}}
        for kind in KINDS
    ]


def column_named(column: str) -> dict[str, Any]:
    """A column as the user reads it: its name in their language and its header in the file."""
    return {
        "$text": "import.column_named",
        "params": {"name": {"$text": f"import.column.{column}"}, "header": column},
    }


def columns_of(kind: str) -> list[str]:
    spec = SPECS[kind]
    columns = list(spec.fields) + [ref.column for ref in spec.references]
    if kind == "shipments":
        columns.append("lot_number")
    return columns


def _fold(value: Any) -> Any:
    """Codes and lots are compared without case: `c001` is `C001`."""
    return value.lower() if isinstance(value, str) else value


async def _lookup(session: AsyncSession, ref: _Reference) -> dict[str, Any]:
    rows = await session.execute(select(ref.model.code, ref.model.id).filter_by(**ref.where))  # type: ignore[attr-defined]
    return {_fold(code): record_id for code, record_id in rows.all()}


async def import_rows(
    uow: UnitOfWork, kind: str, rows: list[tuple[int, dict[str, str]]], *, actor_id: int | None
) -> ImportResult:
    """Validate every row, then create or update records; all or nothing."""
    if kind not in SPECS:
        raise InvalidInput("import.unknown_kind", kind=kind, kinds=kind_options())
    spec = SPECS[kind]
    session = uow.session
    if not rows:
        raise InvalidInput("import.empty_file")
    missing = [c for c in columns_of(kind) if c not in rows[0][1] and _is_required(spec, c)]
    if missing:
        raise InvalidInput("import.missing_columns", columns=[column_named(c) for c in missing])

    lookups = {ref.column: await _lookup(session, ref) for ref in spec.references}
    batches: dict[tuple[int, str], int] = {}
    if kind == "shipments":
        rows_of_batches = await session.execute(
            select(Batch.product_id, Batch.lot_number, Batch.id)
        )
        batches = {
            (product_id, _fold(lot)): batch_id for product_id, lot, batch_id in rows_of_batches
        }
    errors: list[RowError] = []
    parsed: list[tuple[int, dict[str, Any]]] = []
    seen_keys: dict[tuple[Any, ...], int] = {}
    for line, raw in rows:
        values, row_errors = _parse_row(spec, raw, lookups, batches)
        errors.extend(
            RowError(line, key, {"column": col, **params}) for col, key, params in row_errors
        )
        if row_errors:
            continue
        key = tuple(_fold(values[k]) for k in spec.natural_key)
        if key in seen_keys:
            errors.append(RowError(line, "import.duplicate_row", {"first_line": seen_keys[key]}))
            continue
        seen_keys[key] = line
        parsed.append((line, values))
    errors += await _taken_values(session, spec, parsed)
    if errors:
        raise ImportRejected(errors)

    now = uow.clock.now()
    created = updated = unchanged = 0
    subject_type = kind.removesuffix("s")
    for _line, values in parsed:
        existing = await session.scalar(
            select(spec.model).where(
                *(
                    func.lower(getattr(spec.model, k)) == values[k].lower()
                    if isinstance(values[k], str)
                    else getattr(spec.model, k) == values[k]
                    for k in spec.natural_key
                )
            )
        )
        if existing is None:
            record = spec.model(**values)
            session.add(record)
            await session.flush()
            record_event(
                session,
                subject_type=subject_type,
                subject_id=record.id,  # type: ignore[attr-defined]
                action="imported",
                actor_id=actor_id,
                at=now,
                after=_jsonable(values),
            )
            created += 1
            continue
        before = {k: getattr(existing, k) for k in values if getattr(existing, k) != values[k]}
        if not before:
            unchanged += 1
            continue
        for k in before:
            setattr(existing, k, values[k])
        record_event(
            session,
            subject_type=subject_type,
            subject_id=existing.id,  # type: ignore[attr-defined]
            action="updated",
            actor_id=actor_id,
            at=now,
            before=_jsonable(before),
            after=_jsonable({k: values[k] for k in before}),
        )
        updated += 1
    await uow.commit()
    return ImportResult(kind=kind, created=created, updated=updated, unchanged=unchanged)


async def _taken_values(
    session: AsyncSession, spec: _KindSpec, parsed: list[tuple[int, dict[str, Any]]]
) -> list[RowError]:
    """A unique column's value given twice in the file, or held by another record."""
    errors = []
    for column in spec.unique:
        stored = await session.execute(
            select(getattr(spec.model, column), *(getattr(spec.model, k) for k in spec.natural_key))
        )
        holders = {value: tuple(_fold(v) for v in key) for value, *key in stored if value}
        first: dict[Any, int] = {}
        for line, values in parsed:
            value = values.get(column)
            if value is None:
                continue
            key = tuple(_fold(values[k]) for k in spec.natural_key)
            if value in first:
                errors.append(
                    RowError(
                        line,
                        "import.duplicate_value",
                        {"column": column, "first_line": first[value]},
                    )
                )
            elif holders.get(value, key) != key:
                errors.append(
                    RowError(line, "import.value_taken", {"column": column, "value": value})
                )
            first.setdefault(value, line)
    return errors


def _is_required(spec: _KindSpec, column: str) -> bool:
    for ref in spec.references:
        if ref.column == column:
            return ref.required
    parser = spec.fields.get(column)
    if parser is None:
        return True
    try:
        parser("")
    except _BadValue:
        return True
    return False


def _parse_row(
    spec: _KindSpec,
    raw: dict[str, str],
    lookups: dict[str, dict[str, Any]],
    batches: dict[tuple[int, str], int],
) -> tuple[dict[str, Any], list[tuple[str, str, dict[str, Any]]]]:
    values: dict[str, Any] = {}
    errors: list[tuple[str, str, dict[str, Any]]] = []
    for column, parse in spec.fields.items():
        if column not in raw:
            continue  # a column the file lacks leaves the record as it is
        try:
            values[column] = parse(raw.get(column, ""))
        except _BadValue as bad:
            errors.append((column, bad.text_key, bad.params))
    for ref in spec.references:
        if ref.column not in raw:
            continue
        code = raw[ref.column]
        if not code:
            if ref.required:
                errors.append((ref.column, "import.required", {}))
            else:
                values[ref.attribute] = None
            continue
        if _fold(code) not in lookups[ref.column]:
            errors.append((ref.column, "import.unknown_reference", {"code": code}))
            continue
        values[ref.attribute] = lookups[ref.column][_fold(code)]
    if "_product_id" in values:
        # A shipment names its batch by product and lot, as a delivery note does.
        lot = raw.get("lot_number", "")
        batch_id = batches.get((values.pop("_product_id"), _fold(lot)))
        if batch_id is None:
            errors.append(("lot_number", "import.unknown_batch", {"lot": lot}))
        values["batch_id"] = batch_id
    if spec.check is not None and not errors:
        errors += spec.check(values)
    return values, errors


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if isinstance(value, Decimal):
            out[key] = str(value)
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out
