"""Finding records by what staff remember of them (/find): a number, a lot, a product's code or
name, a customer's code or name, an asset, or the days they were received in.

Each kind of record is searched only for the roles that see every record of that kind when
they open one (/ticket, /return, /defect): a customer or a vendor, who see only their own,
does not search. Every word typed must be found in one of a record's fields, as a part of it,
without case; the wildcards of SQL LIKE (`%`, `_`) are matched as the characters they are.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from procedures.complaints.rules import STAFF_VIEWERS as COMPLAINT_VIEWERS
from procedures.equipment.rules import DEFECT_OVERSEERS
from procedures.kernel.actions import CallbackAction, Matches
from procedures.kernel.calendar import QUARTER_YEARS
from procedures.kernel.errors import InvalidInput
from procedures.kernel.text_input import clean_text, cut_text, is_blank
from procedures.returns.common import status_key
from procedures.returns.rules import STAFF_VIEWERS as RETURN_VIEWERS
from storage.models import (
    Batch,
    Complaint,
    Defect,
    EquipmentAsset,
    Organisation,
    Product,
    ReturnLine,
    ReturnRequest,
    Vendor,
)

MAX_QUERY = 100  # characters: a search is a few words, not a paragraph
MAX_WORDS = 5
MAX_RESULTS = 10
SHOWN = 60  # characters of a name or a description on a result's line

# 2026-11-01, 2026-11 (the month), or a range of either: 2026-11-01..2026-11-30
_DAY = r"\d{4}-\d{1,2}(?:-\d{1,2})?"
_DATES = re.compile(rf"({_DAY})(?:\.\.({_DAY}))?")


@dataclass(frozen=True)
class Query:
    text: str  # as typed, cleaned
    words: tuple[str, ...]
    since: dt.datetime | None = None  # UTC, inclusive
    until: dt.datetime | None = None  # UTC, exclusive


@dataclass(frozen=True)
class Found:
    """One record found, with what its line in the list shows."""

    number: str
    at: dt.datetime
    status_key: str  # a text id
    who: str  # the customer, or the asset
    what: str  # product and lot, or what is wrong

    def __post_init__(self) -> None:
        object.__setattr__(self, "who", cut_text(self.who, SHOWN))
        object.__setattr__(self, "what", cut_text(self.what, SHOWN))


@dataclass(frozen=True)
class Results:
    found: list[Found]  # newest first, at most MAX_RESULTS
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.found)


def _day_span(text: str, timezone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """A day or a month on the local calendar as [start, end) in UTC."""
    parts = [int(p) for p in text.split("-")]
    if parts[0] not in QUARTER_YEARS:  # the years any period may name: no 9999 nor 0001
        raise InvalidInput("find.bad_date", date=text)
    try:
        if len(parts) == 2:
            start = dt.date(parts[0], parts[1], 1)
            end = dt.date(parts[0] + (parts[1] == 12), parts[1] % 12 + 1, 1)
        else:
            start = dt.date(*parts)
            end = start + dt.timedelta(days=1)
    except (ValueError, OverflowError):
        raise InvalidInput("find.bad_date", date=text) from None

    def utc(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), timezone).astimezone(dt.UTC)

    return utc(start), utc(end)


def parse_query(text: str, timezone: ZoneInfo) -> Query:
    """The words and the date range typed; refused (InvalidInput) when empty, too long, of too
    many words, with a date that is none, or with a range that ends before it starts."""
    cleaned = clean_text(text).strip()
    if is_blank(cleaned):
        raise InvalidInput("find.usage")
    if len(cleaned) > MAX_QUERY:
        raise InvalidInput("error.text_too_long", limit=MAX_QUERY)
    words: list[str] = []
    since = until = None
    for word in cleaned.split():
        dates = _DATES.fullmatch(word)
        if dates is None:
            words.append(word)
            continue
        if since is not None:
            raise InvalidInput("find.usage")  # one range at a time
        since, end = _day_span(dates.group(1), timezone)
        if dates.group(2):
            last_start, end = _day_span(dates.group(2), timezone)
            if last_start < since:
                raise InvalidInput("find.bad_range", first=dates.group(1), last=dates.group(2))
        until = end
    if len(words) > MAX_WORDS:
        raise InvalidInput("find.too_many_words", limit=MAX_WORDS)
    return Query(" ".join(cleaned.split()), tuple(words), since, until)


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _in(column: Any, pattern: str) -> ColumnElement[bool]:
    return column.ilike(pattern, escape="\\")  # type: ignore[no-any-return]


def _filters(
    query: Query,
    at: Any,
    columns: list[Any],
    more: Callable[[str], list[ColumnElement[bool]]] = lambda pattern: [],
) -> list[Any]:
    """Each word in one of the columns (or `more`'s conditions), and `at` within the days."""
    words = [
        or_(*(_in(column, _like(word)) for column in columns), *more(_like(word)))
        for word in query.words
    ]
    return words + _dated(at, query)


def _dated(column: Any, query: Query) -> list[Any]:
    bounds = []
    if query.since is not None:
        bounds.append(column >= query.since)
    if query.until is not None:
        bounds.append(column < query.until)
    return bounds


async def _page(
    session: AsyncSession, statement: Select[Any], at: Any, key: Any, limit: int
) -> tuple[list[Any], int]:
    """The newest `limit` rows (by `at`, then the record's id) and how many match in all."""
    counted = statement.with_only_columns(key, maintain_column_froms=True).subquery()
    total = await session.scalar(select(func.count()).select_from(counted))
    rows = await session.execute(statement.order_by(at.desc(), key.desc()).limit(limit))
    return list(rows), total or 0


async def _complaints(session: AsyncSession, query: Query, limit: int) -> tuple[list[Found], int]:
    statement = (
        select(Complaint, Organisation, Product, Batch)
        .join(Organisation, Complaint.organisation_id == Organisation.id)
        .outerjoin(Product, Complaint.product_id == Product.id)
        .outerjoin(Batch, Complaint.batch_id == Batch.id)
        .where(
            *_filters(
                query,
                Complaint.received_at,
                [
                    Complaint.number,
                    Batch.lot_number,
                    Complaint.lot_text,
                    Product.code,
                    Product.name,
                    Complaint.product_text,
                    Organisation.code,
                    Organisation.name,
                ],
            )
        )
    )
    rows, total = await _page(session, statement, Complaint.received_at, Complaint.id, limit)
    found = [
        Found(
            number=complaint.number,
            at=complaint.received_at,
            status_key=f"complaint.status.{complaint.status}",
            who=f"{organisation.code} {organisation.name}",
            what=" ".join(
                filter(
                    None,
                    [
                        product.name if product else complaint.product_text,
                        batch.lot_number if batch else complaint.lot_text,
                    ],
                )
            ),
        )
        for complaint, organisation, product, batch in rows
    ]
    return found, total


async def _returns(session: AsyncSession, query: Query, limit: int) -> tuple[list[Found], int]:
    line_product, line_batch = aliased(Product), aliased(Batch)

    def in_lines(pattern: str) -> list[ColumnElement[bool]]:
        return [
            select(ReturnLine.id)
            .join(line_product, ReturnLine.product_id == line_product.id)
            .outerjoin(line_batch, ReturnLine.batch_id == line_batch.id)
            .where(
                ReturnLine.return_id == ReturnRequest.id,
                or_(
                    _in(line_product.code, pattern),
                    _in(line_product.name, pattern),
                    _in(line_batch.lot_number, pattern),
                ),
            )
            .exists()
        ]

    statement = (
        select(ReturnRequest, Organisation)
        .join(Organisation, ReturnRequest.organisation_id == Organisation.id)
        .where(
            *_filters(
                query,
                ReturnRequest.created_at,
                [ReturnRequest.number, Organisation.code, Organisation.name],
                in_lines,
            )
        )
    )
    rows, total = await _page(session, statement, ReturnRequest.created_at, ReturnRequest.id, limit)
    found = [
        Found(
            number=request.number,
            at=request.created_at,
            status_key=status_key(request),
            who=f"{organisation.code} {organisation.name}",
            what="、".join(
                " ".join(filter(None, [line.product.name, line.batch and line.batch.lot_number]))
                for line in request.lines
            ),
        )
        for request, organisation in rows
    ]
    return found, total


async def _defects(session: AsyncSession, query: Query, limit: int) -> tuple[list[Found], int]:
    statement = (
        select(Defect, EquipmentAsset)
        .join(EquipmentAsset, Defect.asset_id == EquipmentAsset.id)
        .outerjoin(Vendor, Defect.vendor_id == Vendor.id)
        .where(
            *_filters(
                query,
                Defect.reported_at,
                [
                    Defect.number,
                    EquipmentAsset.code,
                    EquipmentAsset.name,
                    EquipmentAsset.location,
                    Vendor.code,
                    Vendor.name,
                ],
            )
        )
    )
    rows, total = await _page(session, statement, Defect.reported_at, Defect.id, limit)
    found = [
        Found(
            number=defect.number,
            at=defect.reported_at,
            status_key=f"defect.status.{defect.status}",
            who=f"{asset.code} {asset.name}",
            what=defect.description.splitlines()[0] if defect.description else "",
        )
        for defect, asset in rows
    ]
    return found, total


@dataclass(frozen=True)
class Kind:
    """A kind of record /find searches: its number's prefix, who searches it, how."""

    prefix: str
    viewers: frozenset[str]
    search: Callable[[AsyncSession, Query, int], Awaitable[tuple[list[Found], int]]]


KINDS: tuple[Kind, ...] = (
    Kind("QC", COMPLAINT_VIEWERS, _complaints),
    Kind("RT", RETURN_VIEWERS, _returns),
    Kind("DF", DEFECT_OVERSEERS, _defects),
)
# who may use /find: whoever searches at least one kind
SEARCHERS = frozenset().union(*(kind.viewers for kind in KINDS))


def kind_of(number: str) -> Kind | None:
    prefix = number.split("-", 1)[0].upper()
    return next((kind for kind in KINDS if kind.prefix == prefix), None)


def may_open(role_names: frozenset[str], number: str) -> bool:
    """Whether a /find result numbered `number` opens for these roles."""
    kind = kind_of(number)
    return kind is not None and bool(role_names & kind.viewers)


async def find_records(session: AsyncSession, role_names: frozenset[str], query: Query) -> Results:
    """The records of the kinds these roles search that match the query, newest first."""
    found: list[Found] = []
    total = 0
    for kind in KINDS:
        if role_names & kind.viewers:
            some, count = await kind.search(session, query, MAX_RESULTS)
            found += some
            total += count
    found.sort(key=lambda f: (f.at, f.number), reverse=True)
    return Results(found[:MAX_RESULTS], total)


# --- search ----------------------------------------------------------------------------------


class OpenFound(CallbackAction, prefix="find:open"):
    """Opens a record /find listed, as /ticket, /return or /defect shows it to the user."""

    number: Annotated[str, Matches(r"(?:QC|RT|DF)-\d{4}-\d{5,6}")]
