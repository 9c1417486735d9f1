"""Importing master data rows: each checked, looked up, inserted or updated; a bad row never
stops the rest."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel.errors import InvalidInput
from procedures.kernel.timeline import record_event
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.masterdata.kinds import SPECS, column_named, columns_of, kind_options
from procedures.masterdata.table import (
    ImportRejected,
    ImportResult,
    MasterRecord,
    RowError,
    _BadValue,
    _KindSpec,
    _Reference,
)
from storage.models import (
    Batch,
)


def _fold(value: Any) -> Any:
    """Codes and lots are compared without case: `c001` is `C001`."""
    return value.lower() if isinstance(value, str) else value


async def _lookup(session: AsyncSession, ref: _Reference) -> dict[str, Any]:
    rows = await session.execute(select(ref.model.code, ref.model.id).filter_by(**ref.where))
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
                subject_id=record.id,
                action="imported",
                actor_id=actor_id,
                at=now,
                after=_jsonable(values),
            )
            created += 1
            continue
        assert isinstance(existing, MasterRecord)  # a record of spec.model
        before = {k: getattr(existing, k) for k in values if getattr(existing, k) != values[k]}
        if not before:
            unchanged += 1
            continue
        for k in before:
            setattr(existing, k, values[k])
        record_event(
            session,
            subject_type=subject_type,
            subject_id=existing.id,
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
