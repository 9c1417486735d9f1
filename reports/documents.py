"""The document registry: each outbox attachment kind ({"kind", "params"}) and the renderer that
turns it into a file in the reader's language. A new document is one `@renderer` function here.

The front end hands in what a renderer needs (time zone, `now`, the reader's texts) as a
`DocumentContext`, so this package never imports bot/.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from procedures.calendar import half_year_periods, month_bounds, quarter_bounds
from procedures.people import names_of
from procedures.personal_records import roles_read_by, steps_of_month
from storage.models import Assessment, Rectification, User, VendorScore

from . import complaints as complaint_reports
from . import consumer_complaints as consumer_reports
from . import vendors as vendor_reports


class TextFunction(Protocol):
    def __call__(self, key: str, /, **params: Any) -> str: ...


@dataclass(frozen=True)
class DocumentContext:
    """The reader's side of a rendering: the configured zone, the time, the reader's texts."""

    timezone: ZoneInfo
    now: dt.datetime
    text: TextFunction  # a text id with parameters, in the reader's language

    def label(self, key: str) -> str:
        return self.text(key)


@dataclass(frozen=True)
class RenderedDocument:
    file_name: str
    content: bytes


class UnknownDocument(Exception):
    """An outbox row names a document kind nobody renders, or a record that does not exist: a bug,
    parked with this reason."""


Renderer = Callable[[AsyncSession, Mapping[str, Any], DocumentContext], Awaitable[RenderedDocument]]
RENDERERS: dict[str, Renderer] = {}


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    """Registers the decorated function as the renderer of attachments of this kind."""

    def register(function: Renderer) -> Renderer:
        if kind in RENDERERS:
            raise ValueError(f"document kind {kind!r} has two renderers")
        RENDERERS[kind] = function
        return function

    return register


async def render(
    session: AsyncSession, attachment: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    kind = attachment.get("kind")
    function = RENDERERS.get(kind) if isinstance(kind, str) else None
    if function is None:
        raise UnknownDocument(f"no renderer for document kind {kind!r}")
    return await function(session, attachment.get("params", {}), context)


@renderer("complaint_quarterly")
async def complaint_quarterly(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    year, quarter = int(params["year"]), int(params["quarter"])
    start, end = quarter_bounds(year, quarter, context.timezone)
    rows = await complaint_reports.ledger_rows(session, start, end)
    title = context.text("report.quarterly_title", year=year, quarter=quarter)
    content = complaint_reports.quarterly_workbook(rows, context.label, context.timezone, title)
    return RenderedDocument(f"complaints-{year}-Q{quarter}.xlsx", content)


@renderer("complaint_ledger")
async def complaint_ledger(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    rows = await complaint_reports.ledger_rows(session)
    day = context.now.astimezone(context.timezone).date().isoformat()
    content = complaint_reports.ledger_workbook(rows, context.label, context.timezone)
    return RenderedDocument(f"complaint-ledger-{day}.xlsx", content)


async def _name_of(session: AsyncSession, user_id: int | None) -> str:
    user = await session.get(User, user_id) if user_id else None
    return user.full_name if user else ""


async def _rectification(session: AsyncSession, params: Mapping[str, Any]) -> Rectification:
    rectification = await session.get(Rectification, int(params["id"]))
    if rectification is None:
        raise UnknownDocument(f"rectification {params['id']} does not exist")
    await session.refresh(rectification, ["vendor"])
    return rectification


@renderer("rectification_notice")
async def rectification_notice(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    rectification = await _rectification(session, params)
    content = vendor_reports.rectification_notice(rectification, context.label, context.timezone)
    return RenderedDocument(f"{rectification.number}.xlsx", content)


@renderer("evaluation_form")
async def evaluation_form(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    rectification = await _rectification(session, params)
    engineer = await _name_of(session, rectification.evaluated_by_id)
    content = vendor_reports.evaluation_form(
        rectification, engineer, context.label, context.timezone
    )
    return RenderedDocument(f"{rectification.number or rectification.id}-evaluation.xlsx", content)


@renderer("vendor_score")
async def vendor_score(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    score = await session.get(VendorScore, int(params["id"]))
    if score is None:
        raise UnknownDocument(f"vendor score {params['id']} does not exist")
    await session.refresh(score, ["vendor"])
    manager = await _name_of(session, score.scored_by_id)
    content = vendor_reports.score_sheet(score, manager, context.label, context.timezone)
    return RenderedDocument(f"vendor-score-{score.vendor.code}-{score.period}.xlsx", content)


@renderer("vendor_assessment")
async def vendor_assessment(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    year, half = int(params["year"]), int(params["half"])
    periods = half_year_periods(year, half)
    scores = list(
        await session.scalars(
            select(VendorScore)
            .where(VendorScore.period.in_(periods))
            .options(selectinload(VendorScore.vendor))
        )
    )
    record = await session.scalar(
        select(Assessment).where(Assessment.year == year, Assessment.half == half)
    )
    names = {}
    if record is not None:
        people = [record.signed_by_id, *(f.added_by_id for f in record.findings)]
        names = await names_of(session, people)
    title = context.text("document.assessment.title", year=year, half=half)
    content = vendor_reports.assessment(
        scores, periods, title, context.label, record=record, names=names, timezone=context.timezone
    )
    return RenderedDocument(f"vendor-assessment-{year}-H{half}.xlsx", content)


@renderer("consumer_complaint_monthly")
async def consumer_complaint_monthly(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    period = str(params["period"])
    start, end = month_bounds(period, context.timezone)
    complaints, first_answers = await consumer_reports.complaints_of_month(session, start, end)
    title = context.text("report.monthly.title", period=period)
    content = consumer_reports.summary_workbook(
        complaints, first_answers, title, context.label, context.timezone
    )
    return RenderedDocument(f"consumer-complaints-{period}.xlsx", content)


@renderer("personal_record")
async def personal_record(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    period, head = str(params["period"]), str(params["head"])
    start, end = month_bounds(period, context.timezone)
    steps = await steps_of_month(session, start, end, roles_read_by(head))
    title = context.text("record.title", period=period, head={"$text": f"role.{head}"})
    content = consumer_reports.personal_record_workbook(
        steps, title, context.label, context.timezone
    )
    return RenderedDocument(f"personal-record-{head}-{period}.xlsx", content)
