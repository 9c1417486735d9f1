"""The inspector's export: every record of a period with its timeline, signatures, deadlines
and evidence files, readable without the bot.

`export_period` writes into a folder:
- `records.jsonl`: one JSON object per record (for machines): its columns, the names behind each
  `*_by_id` (who signed, verified, decided), its child rows (checks, lines, findings, holds, …),
  its timeline, deadlines and files;
- `records.xlsx`: the same for people, a sheet per kind of record and sheets for the timeline,
  the deadlines and the files (user text written as text cells);
- `files/ab/abcdef…`: each evidence file under its SHA-256, as the file store keeps it;
- `forms/`: each record's forms as PDF (退貨單-RT-2026-00001.pdf, …), as the procedures name
  them, in the language of the `forms` context it is given;
- `export.json`: the period, when it was written, the counts and any file not in the store;
- `MANIFEST.sha256`: the SHA-256 of every other file, in `sha256sum -c` format.

A record belongs to the period by the time it was opened (received, reported, raised, …).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import FromClause, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.forms import FormRef, forms_of_record
from procedures.kernel.timeline import SUBJECT_TYPES
from storage.files import FileStore, key_of
from storage.models import Base, Deadline, Photo, TimelineEvent, User

from .cells import active_sheet, append_row
from .form_documents import form_document
from .registry import DocumentContext

# The column that places a record in a period: the first of these the record has.
OPENED_AT = (
    "received_at",
    "created_at",
    "reported_at",
    "raised_at",
    "recorded_at",
    "scored_at",
    "visited_at",
    "opened_at",
    "due_at",
)
# Rows of their own that are not the record's children but its bookkeeping, exported apart.
NOT_CHILDREN = {"photos", "timeline_events", "deadlines", "outbox"}
CHUNK = 500
MANIFEST = "MANIFEST.sha256"


@dataclass
class ExportSummary:
    records: dict[str, int] = field(default_factory=dict)
    files: int = 0
    missing_files: list[dict[str, Any]] = field(default_factory=list)


def record_kinds() -> list[tuple[str, type[Any], str]]:
    """(subject type, model, the column opening it) of every kind of record with a timeline."""
    kinds = []
    for model, subject_type in SUBJECT_TYPES.items():
        columns = model.__table__.columns
        opened = next((name for name in OPENED_AT if name in columns), None)
        if opened is not None:
            kinds.append((subject_type, model, opened))
    return kinds


def _children_of(table: Table) -> list[tuple[Table, str]]:
    """(table, column) of every table whose rows belong to a row of `table`."""
    found = []
    for child in Base.metadata.sorted_tables:
        if child.name in NOT_CHILDREN or child is table:
            continue
        for foreign_key in child.foreign_keys:
            if foreign_key.column.table is table:
                found.append((child, foreign_key.parent.name))
    return found


def _plain(value: Any) -> Any:
    """A value as JSON carries it: times in UTC ISO 8601, decimals as text."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(table: FromClause, row: Any) -> dict[str, Any]:
    return {column.name: _plain(getattr(row, column.key, None)) for column in table.columns}


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for chunk in _chunks(sorted(ids)):
        rows = await session.execute(select(User.id, User.full_name).where(User.id.in_(chunk)))
        names.update({user_id: name or "" for user_id, name in rows})
    return names


async def _by_subject(
    session: AsyncSession, model: type[Any], subject_type: str, ids: list[int]
) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for chunk in _chunks(ids):
        rows = await session.scalars(
            select(model)
            .where(model.subject_type == subject_type, model.subject_id.in_(chunk))
            .order_by(model.id)
        )
        for row in rows:
            grouped.setdefault(row.subject_id, []).append(row)
    return grouped


async def export_period(
    session_factory: Callable[[], AsyncSession],
    store: FileStore,
    start: dt.datetime,
    end: dt.datetime,
    out: Path,
    *,
    timezone: ZoneInfo,
    now: dt.datetime,
    forms: DocumentContext | None = None,
) -> ExportSummary:
    """Write the records opened in [start, end) with everything kept on them into `out`, and
    (given the reader's `forms` context) each record's forms.

    A batch for the command line, not the bot's event loop: it writes files as it goes."""
    out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
    summary = ExportSummary()
    workbook = Workbook()
    workbook.remove(active_sheet(workbook))
    timeline_sheet = workbook.create_sheet("timeline")
    deadline_sheet = workbook.create_sheet("deadlines")
    file_sheet = workbook.create_sheet("files")
    append_row(timeline_sheet, ["record", "number", "at", "actor", "action", "before", "after"])
    append_row(
        deadline_sheet,
        ["record", "number", "kind", "responsible", "opened_at", "due_at", "met_at", "closed_as"],
    )
    append_row(
        file_sheet,
        [
            "record",
            "number",
            "stage",
            "kind",
            "sha256",
            "size",
            "type",
            "sent_by",
            "sent_at",
            "stored_at",
            "path",
            "telegram_file_id",
        ],
    )

    def local(value: str | None) -> Any:
        if not value:
            return value
        return dt.datetime.fromisoformat(value).astimezone(timezone).replace(tzinfo=None)

    with (out / "records.jsonl").open("w", encoding="utf-8") as lines:
        async with session_factory() as session:
            for subject_type, model, opened in record_kinds():
                table = model.__table__
                records = list(
                    await session.scalars(
                        select(model)
                        .where(getattr(model, opened) >= start, getattr(model, opened) < end)
                        .order_by(model.id)
                    )
                )
                summary.records[subject_type] = len(records)
                if not records:
                    continue
                ids = [r.id for r in records]
                children: dict[int, dict[str, list[dict[str, Any]]]] = {}
                for child, column in _children_of(table):
                    for chunk in _chunks(ids):
                        for row in await session.execute(
                            select(child)
                            .where(child.c[column].in_(chunk))
                            .order_by(*child.primary_key)
                        ):
                            mapping = {k: _plain(v) for k, v in row._mapping.items()}
                            parent = mapping[column]
                            children.setdefault(parent, {}).setdefault(child.name, []).append(
                                mapping
                            )
                events = await _by_subject(session, TimelineEvent, subject_type, ids)
                deadlines = await _by_subject(session, Deadline, subject_type, ids)
                files = await _by_subject(session, Photo, subject_type, ids)
                people: set[int] = set()
                for record in records:
                    people |= {
                        getattr(record, c.key)
                        for c in table.columns
                        if c.name.endswith("_by_id") and getattr(record, c.key)
                    }
                for group in events.values():
                    people |= {e.actor_id for e in group if e.actor_id}
                for group in files.values():
                    people |= {p.added_by_id for p in group}
                names = await _names(session, people)

                sheet = workbook.create_sheet(subject_type)
                columns = [c.name for c in table.columns]
                append_row(sheet, columns)
                for record in records:
                    fields = _row(table, record)
                    number = fields.get("number") or f"{subject_type}-{record.id}"
                    append_row(
                        sheet,
                        [
                            local(v) if isinstance(getattr(record, c.key), dt.datetime) else v
                            for c, v in zip(table.columns, fields.values(), strict=True)
                        ],
                    )
                    entry = {
                        "record_type": subject_type,
                        "id": record.id,
                        "number": number,
                        "fields": fields,
                        "signed_by": {
                            name.removesuffix("_id"): names.get(value, "")
                            for name, value in fields.items()
                            if name.endswith("_by_id") and value
                        },
                        "children": children.get(record.id, {}),
                        "timeline": [],
                        "deadlines": [],
                        "files": [],
                    }
                    for event in events.get(record.id, []):
                        plain = _row(TimelineEvent.__table__, event)
                        plain["actor"] = names.get(event.actor_id or 0, "")
                        entry["timeline"].append(plain)
                        append_row(
                            timeline_sheet,
                            [
                                subject_type,
                                number,
                                local(plain["at"]),
                                plain["actor"],
                                event.action,
                                json.dumps(event.before, ensure_ascii=False)
                                if event.before
                                else "",
                                json.dumps(event.after, ensure_ascii=False) if event.after else "",
                            ],
                        )
                    for deadline in deadlines.get(record.id, []):
                        plain = _row(Deadline.__table__, deadline)
                        entry["deadlines"].append(plain)
                        append_row(
                            deadline_sheet,
                            [
                                subject_type,
                                number,
                                deadline.kind,
                                deadline.responsible_role,
                                local(plain["opened_at"]),
                                local(plain["due_at"]),
                                local(plain["met_at"]),
                                deadline.closed_as or "",
                            ],
                        )
                    for photo in files.get(record.id, []):
                        plain = _row(Photo.__table__, photo)
                        plain["sent_by"] = names.get(photo.added_by_id, "")
                        path = None
                        if photo.sha256 is not None and store.has(photo.sha256):
                            path = f"files/{key_of(photo.sha256)}"
                            target = out / path
                            if not target.exists():
                                target.parent.mkdir(parents=True, exist_ok=True)
                                target.write_bytes(store.get(photo.sha256))
                                summary.files += 1
                        else:
                            summary.missing_files.append(
                                {
                                    "record": number,
                                    "photo_id": photo.id,
                                    "telegram_file_id": photo.telegram_file_id,
                                    "error": photo.download_error
                                    or (
                                        "not downloaded yet"
                                        if photo.sha256 is None
                                        else "not in the file store"
                                    ),
                                }
                            )
                        plain["path"] = path
                        entry["files"].append(plain)
                        append_row(
                            file_sheet,
                            [
                                subject_type,
                                number,
                                photo.stage,
                                photo.kind or "photo",
                                photo.sha256 or "",
                                photo.size,
                                photo.mime_type or "",
                                plain["sent_by"],
                                local(plain["added_at"]),
                                local(plain["stored_at"]),
                                path or "MISSING",
                                photo.telegram_file_id,
                            ],
                        )
                    if forms is not None:
                        entry["forms"] = await _write_forms(
                            session, out, forms, forms_of_record(subject_type, record)
                        )
                    lines.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
    workbook.save(out / "records.xlsx")
    (out / "export.json").write_text(
        json.dumps(
            {
                "from": _plain(start),
                "to": _plain(end),
                "written_at": _plain(now),
                "records": summary.records,
                "files": summary.files,
                "missing_files": summary.missing_files,
            },
            ensure_ascii=False,
            indent=2,
            sort_keys=True,
        ),
        encoding="utf-8",
    )
    write_manifest(out)
    return summary


async def _write_forms(
    session: AsyncSession, out: Path, context: DocumentContext, refs: list[FormRef]
) -> list[str]:
    """The record's forms under forms/, by their names; the paths written."""
    written = []
    for ref in refs:
        document = await form_document(session, ref.attachment["params"], context)
        path = out / "forms" / document.file_name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(document.content)
        written.append(path.relative_to(out).as_posix())
    return written


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(out: Path) -> None:
    """The SHA-256 of every file of the export but the manifest, as `sha256sum -c` reads it."""
    paths = sorted(p for p in out.rglob("*") if p.is_file() and p.name != MANIFEST)
    lines = [f"{sha256_file(p)}  {p.relative_to(out).as_posix()}" for p in paths]
    (out / MANIFEST).write_text("\n".join(lines) + "\n", encoding="utf-8")


def check_manifest(out: Path) -> list[str]:
    """The paths whose content no longer matches the manifest (or that are gone)."""
    wrong = []
    for line in (out / MANIFEST).read_text(encoding="utf-8").splitlines():
        digest, _, path = line.partition("  ")
        target = out / path
        if not target.is_file() or sha256_file(target) != digest:
            wrong.append(path)
    return wrong
