"""The overview's lists: a record type's records, open ones by default, filtered and paged,
newest first, each with its next open deadline (how late it is) and who holds it.

A page reads twenty records and their deadlines, and counts the matches once: the lists stay
fast with a hundred thousand records on file (indexes of migration 0023_overview_indexes)."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel.calendar import QUARTER_YEARS
from procedures.kernel.errors import InvalidInput
from procedures.kernel.queries import Deadline
from procedures.kernel.text_input import cut_text
from procedures.people.users import names_of
from procedures.search import Query
from storage.models import Complaint

from .kinds import RecordKind, like

PAGE_SIZE = 20
MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
SHOWN = 60  # characters of a name or a description in a title


@dataclass(frozen=True)
class ListFilters:
    """What a list is narrowed to; a filter its record type does not have is ignored."""

    status: str | None = None  # None: the open ones; "all": every one; else that status
    late: bool = False  # only those with an open deadline already past
    customer: str | None = None
    product: str | None = None
    vendor: str | None = None
    asset: str | None = None
    month: str | None = None  # YYYY-MM, on the local calendar
    query: Query | None = None  # /find's words (each in one of the fields) and days


@dataclass(frozen=True)
class Listed:
    """One record on a list, with what its line shows (texts are the caller's)."""

    type: str
    key: str
    number: str
    title: list[Any]  # parts: plain strings, or {"$text": id} for the caller to translate
    status: str
    received_at: dt.datetime
    deadline: Deadline | None  # the open one due first
    holder: str | None  # the person holding the record, where one does


@dataclass(frozen=True)
class ListPage:
    total: int
    page: int
    pages: int
    items: list[Listed]


def month_span(month: str, timezone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """YYYY-MM on the local calendar as [start, end) in UTC; InvalidInput if it is none, or of
    a year no period may name (as /find refuses 9999 and 0001)."""
    written = MONTH.fullmatch(month)
    try:
        if written is None or int(written[1]) not in QUARTER_YEARS:
            raise ValueError(month)
        year, number = int(written[1]), int(written[2])
        start = dt.date(year, number, 1)
        end = dt.date(year + (number == 12), number % 12 + 1, 1)
    except ValueError:
        raise InvalidInput("find.bad_date", date=month) from None

    def utc(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), timezone).astimezone(dt.UTC)

    return utc(start), utc(end)


def _conditions(
    kind: RecordKind, filters: ListFilters, now: dt.datetime, timezone: ZoneInfo
) -> tuple[list[ColumnElement[bool]], bool]:
    """The list's conditions, and whether they read the joined rows (a text filter) or only
    the record's own columns."""
    status_column = kind.model.status
    conditions: list[ColumnElement[bool]] = []
    if filters.status is None:
        conditions.append(status_column.in_(kind.open_statuses))
    elif filters.status != "all":
        conditions.append(status_column == filters.status)
    if filters.late:
        # driven by the open deadlines already past (a partial index), not by every record
        conditions.append(
            kind.model.id.in_(
                select(Deadline.subject_id).where(
                    Deadline.subject_type == kind.type,
                    Deadline.met_at.is_(None),
                    Deadline.due_at < now,
                )
            )
        )
    if filters.month and "month" in kind.filters:
        start, end = month_span(filters.month, timezone)
        conditions += [kind.received >= start, kind.received < end]
    joined = False
    for name in ("customer", "product", "vendor", "asset"):
        typed = getattr(filters, name)
        if typed and name in kind.searches:
            conditions += [kind.searches[name](like(word)) for word in typed.split()]
            joined = True
    if filters.query is not None and "q" in kind.searches:
        conditions += [kind.searches["q"](like(word)) for word in filters.query.words]
        joined = joined or bool(filters.query.words)
        if filters.query.since is not None:
            conditions.append(kind.received >= filters.query.since)
        if filters.query.until is not None:
            conditions.append(kind.received < filters.query.until)
    return conditions, joined


async def list_records(
    session: AsyncSession,
    kind: RecordKind,
    filters: ListFilters,
    page: int,
    *,
    now: dt.datetime,
    timezone: ZoneInfo,
) -> ListPage:
    """Page `page` (from 1) of the records of `kind` that match, newest first. Who may list
    `kind` is the caller's to check (kind.readers)."""
    conditions, joined = _conditions(kind, filters, now, timezone)
    # the matches' ids alone (joined only when a text filter reads the joined rows), counted,
    # then the page's twenty read with what their titles need
    matching = (
        kind.statement().with_only_columns(kind.model.id, maintain_column_froms=True)
        if joined
        else select(kind.model.id)
    ).where(*conditions)
    total = await session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    page = min(max(page, 1), pages)
    newest_first = (kind.received.desc(), kind.model.id.desc())
    ids = list(
        await session.scalars(
            matching.order_by(*newest_first).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        )
    )
    rows = (
        list(
            await session.execute(
                kind.statement().where(kind.model.id.in_(ids)).order_by(*newest_first)
            )
        )
        if ids
        else []
    )
    records = [row[0] for row in rows]
    first_due = await next_deadlines(session, kind.type, [record.id for record in records])
    holders = await names_of(session, (_holder_id(record) for record in records))
    items = [
        Listed(
            type=kind.type,
            key=record_key(record),
            number=record_key(record),
            title=title_of(kind.type, tuple(row)),
            status=record.status,
            received_at=getattr(record, kind.received.key),
            deadline=first_due.get(record.id),
            holder=holders.get(_holder_id(record) or 0),
        )
        for record, row in zip(records, rows, strict=True)
    ]
    return ListPage(total=total, page=page, pages=pages, items=items)


async def next_deadlines(
    session: AsyncSession, subject_type: str, subject_ids: list[int]
) -> dict[int, Deadline]:
    """Each record's open deadline due first."""
    if not subject_ids:
        return {}
    found: dict[int, Deadline] = {}
    for deadline in await session.scalars(
        select(Deadline)
        .where(
            Deadline.subject_type == subject_type,
            Deadline.subject_id.in_(subject_ids),
            Deadline.met_at.is_(None),
        )
        .order_by(Deadline.due_at, Deadline.id)
    ):
        found.setdefault(deadline.subject_id, deadline)
    return found


def _holder_id(record: Any) -> int | None:
    # a complaint is held by the quality inspector who took it; the other types' steps are
    # their roles', named by the deadline's responsible role
    if isinstance(record, Complaint):
        return record.taken_by_id
    return None


def record_key(record: Any) -> str:
    """What names a record in the overview's addresses: its number; an assessment its half
    year (2026-H2); a rectification without a written notice yet its row (#12)."""
    if hasattr(record, "half"):
        return f"{record.year}-H{record.half}"
    return record.number or f"#{record.id}"


def _first_line(text: str | None) -> str:
    return cut_text(text.splitlines()[0], SHOWN) if text else ""


def title_of(subject_type: str, row: tuple[Any, ...]) -> list[Any]:
    """The parts of a record's title: who (customer, consumer, asset, vendor) and what (a
    complaint's or a defect's description's first line, so a list tells its records apart)."""
    record = row[0]
    parts: list[Any]
    if subject_type == "complaint":
        _, organisation, product, batch = row
        parts = [
            organisation.name,
            product.name if product else record.product_text,
            batch.lot_number if batch else record.lot_text,
            _first_line(record.description),
        ]
    elif subject_type == "return":
        parts = [row[1].name, {"$text": f"return.reason.{record.reason}"}]
    elif subject_type == "consumer_complaint":
        product = row[1]
        parts = [
            record.consumer_name,
            product.name if product else record.product_text,
            _first_line(record.description),
        ]
    elif subject_type == "defect":
        _, asset, _vendor = row
        parts = [f"{asset.code} {asset.name}", _first_line(record.description)]
    elif subject_type == "rectification":
        parts = [row[1].name, _first_line(record.description)]
    else:  # an assessment: its half year
        parts = [str(record.year), {"$text": f"deadline.half.{record.half}"}]
    return [part if isinstance(part, dict) else cut_text(part, SHOWN) for part in parts if part]
