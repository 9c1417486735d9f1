"""The document registry: each outbox attachment kind ({"kind", "params"}) and the renderer that
turns it into a file in the reader's language. A new document is one `@renderer` function here.

The front end hands in what a renderer needs (time zone, `now`, the reader's texts) as a
`DocumentContext`, so this package never imports bot/.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from procedures.kernel.calendar import half_year_periods, month_bounds, quarter_bounds
from procedures.people.users import names_of
from procedures.personal_records import roles_read_by, steps_of_month
from procedures.returns import monthly_statistics
from storage.models import (
    Assessment,
    Rectification,
    ReportApproval,
    ReturnRequest,
    User,
    Vendor,
    VendorScore,
)

from . import complaints as complaint_reports
from . import consumer_complaints as consumer_reports
from . import returns as return_reports
from . import vendors as vendor_reports


class TextFunction(Protocol):
    def __call__(self, key: str, /, **params: Any) -> str: ...


@dataclass(frozen=True)
class DocumentContext:
    """The reader's side of a rendering: the configured zone, the time, the reader's texts."""

    timezone: ZoneInfo
    now: dt.datetime
    text: TextFunction  # a text id with parameters, in the reader's language
    company: str = ""  # COMPANY_NAME, for the title rows
    pass_mark: int = 60  # VENDOR_PASS_MARK

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


async def quarterly_approval(
    session: AsyncSession, year: int, quarter: int
) -> complaint_reports.Approval | None:
    """The quality head's conclusion on the quarter's report, if it was approved."""
    record = await session.scalar(
        select(ReportApproval).where(
            ReportApproval.kind == "complaint_quarterly",
            ReportApproval.period == f"{year}-Q{quarter}",
        )
    )
    if record is None:
        return None
    return complaint_reports.Approval(
        record.conclusion, await _name_of(session, record.approved_by_id), record.approved_at
    )


def _printed(context: DocumentContext) -> dt.date:
    return context.now.astimezone(context.timezone).date()


async def quarterly_report(
    session: AsyncSession, year: int, quarter: int, context: DocumentContext
) -> tuple[RenderedDocument, complaint_reports.QuarterFigures]:
    """The quarter's report (a draft until the quality head approved it) and its figures."""
    start, end = quarter_bounds(year, quarter, context.timezone)
    approval = await quarterly_approval(session, year, quarter)
    title = complaint_reports.title_row(
        context.label,
        context.company,
        context.text("report.quarterly_title", year=year, quarter=quarter),
        f"{year}-Q{quarter}",
        _printed(context),
    )
    buffer = io.BytesIO()
    figures = await complaint_reports.write_quarterly(
        complaint_reports.iter_ledger_rows(session, start, end),
        buffer,
        context.label,
        context.timezone,
        title,
        approval,
    )
    suffix = "" if approval else "-draft"
    name = f"complaints-{year}-Q{quarter}{suffix}.xlsx"
    return RenderedDocument(name, buffer.getvalue()), figures


@renderer("complaint_quarterly")
async def complaint_quarterly(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    year, quarter = int(params["year"]), int(params["quarter"])
    return (await quarterly_report(session, year, quarter, context))[0]


@renderer("complaint_ledger")
async def complaint_ledger(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    """The ledger of one month (params "month": YYYY-MM), or of every complaint."""
    month = params.get("month")
    start, end = month_bounds(month, context.timezone) if month else (None, None)
    day = _printed(context).isoformat()
    title = complaint_reports.title_row(
        context.label,
        context.company,
        context.label("report.sheet.ledger"),
        month or context.label("report.all_periods"),
        _printed(context),
    )
    buffer = io.BytesIO()
    await complaint_reports.write_ledger(
        complaint_reports.iter_ledger_rows(session, start, end),
        buffer,
        context.label,
        context.timezone,
        title,
    )
    name = f"complaint-ledger-{month}.xlsx" if month else f"complaint-ledger-{day}.xlsx"
    return RenderedDocument(name, buffer.getvalue())


async def vendor_names(session: AsyncSession, vendor_ids: list[int]) -> dict[int, str]:
    if not vendor_ids:
        return {}
    rows = await session.execute(select(Vendor.id, Vendor.name).where(Vendor.id.in_(vendor_ids)))
    return dict(rows.all())


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
    content = vendor_reports.score_sheet(
        score, manager, context.label, context.timezone, context.pass_mark
    )
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
        scores,
        periods,
        title,
        context.label,
        record=record,
        names=names,
        timezone=context.timezone,
        pass_mark=context.pass_mark,
    )
    return RenderedDocument(f"vendor-assessment-{year}-H{half}.xlsx", content)


@renderer("return_slip")
async def return_slip(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    request = await session.get(ReturnRequest, int(params["id"]))
    if request is None:
        raise UnknownDocument(f"return {params['id']} does not exist")
    content = return_reports.return_slip(request, context.label, context.timezone)
    return RenderedDocument(f"{request.number}-slip.xlsx", content)


@renderer("return_statistics")
async def return_statistics(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    period = str(params["period"])
    statistics = await monthly_statistics(session, period, context.timezone)
    title = context.text("document.return_stats.title", period=period)
    content = return_reports.statistics_workbook(statistics, context.label, title)
    return RenderedDocument(f"returns-{period}.xlsx", content)


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
