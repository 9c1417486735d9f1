"""The documents an outbox row or a command attaches ({"kind", "params"}), rendered into a file
in the reader's language: `render` finds the kind's renderer in the one registry
(`reports.registry`). The documents of one record (a rectification notice, a score sheet, a
return slip, …) and the monthly documents sent only through the outbox are registered here with
`@document`; the reports asked for by period register theirs beside them in the registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel.calendar import month_bounds
from procedures.people.users import names_of
from procedures.personal_records import roles_read_by, steps_of_month
from procedures.returns import monthly_statistics
from procedures.returns.queries import return_request
from procedures.vendors import queries as vendor_queries

from . import consumer_complaints as consumer_reports
from . import returns as return_reports
from . import vendors as vendor_reports
from .registry import (
    RENDERERS,
    DocumentContext,
    RenderedDocument,
    UnknownDocument,
    document,
    quarterly_report,
)

__all__ = [
    "RENDERERS",
    "DocumentContext",
    "RenderedDocument",
    "UnknownDocument",
    "quarterly_report",
    "render",
]


async def render(
    session: AsyncSession, attachment: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    kind = attachment.get("kind")
    function = RENDERERS.get(kind) if isinstance(kind, str) else None
    if function is None:
        raise UnknownDocument(f"no renderer for document kind {kind!r}")
    return await function(session, attachment.get("params", {}), context)


async def _name_of(session: AsyncSession, user_id: int | None) -> str:
    return (await names_of(session, [user_id])).get(user_id, "") if user_id else ""


async def _rectification(
    session: AsyncSession, params: Mapping[str, Any]
) -> vendor_queries.Rectification:
    rectification = await vendor_queries.rectification(session, int(params["id"]))
    if rectification is None:
        raise UnknownDocument(f"rectification {params['id']} does not exist")
    return rectification


@document("rectification_notice")
async def rectification_notice(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    rectification = await _rectification(session, params)
    content = vendor_reports.rectification_notice(rectification, context.label, context.timezone)
    return RenderedDocument(
        context.label("file_name.rectification_notice", number=rectification.number), content
    )


@document("evaluation_form")
async def evaluation_form(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    rectification = await _rectification(session, params)
    engineer = await _name_of(session, rectification.evaluated_by_id)
    content = vendor_reports.evaluation_form(
        rectification, engineer, context.label, context.timezone
    )
    return RenderedDocument(
        context.label(
            "file_name.evaluation_form", number=rectification.number or str(rectification.id)
        ),
        content,
    )


@document("vendor_score")
async def vendor_score(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    score = await vendor_queries.vendor_score(session, int(params["id"]))
    if score is None:
        raise UnknownDocument(f"vendor score {params['id']} does not exist")
    manager = await _name_of(session, score.scored_by_id)
    content = vendor_reports.score_sheet(
        score, manager, context.label, context.timezone, context.pass_mark
    )
    return RenderedDocument(
        context.label("file_name.vendor_score", vendor=score.vendor.code, period=score.period),
        content,
    )


@document("return_slip")
async def return_slip(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    request = await return_request(session, int(params["id"]))
    if request is None:
        raise UnknownDocument(f"return {params['id']} does not exist")
    content = return_reports.return_slip(request, context.label, context.timezone)
    return RenderedDocument(context.label("file_name.return_slip", number=request.number), content)


@document("transport_order")
async def transport_order(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    request = await return_request(session, int(params["id"]))
    if request is None or request.order_issued_at is None:
        raise UnknownDocument(f"return {params['id']} has no transport order")
    issued_by = await _name_of(session, request.order_issued_by_id)
    content = return_reports.transport_order(request, issued_by, context.label, context.timezone)
    return RenderedDocument(
        context.label("file_name.transport_order", number=request.number), content
    )


@document("return_booking_in")
async def return_booking_in(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    request = await return_request(session, int(params["id"]))
    if request is None or request.booked_in_at is None:
        raise UnknownDocument(f"return {params['id']} is not booked in")
    names = await names_of(
        session, [request.booked_in_by_id, *(s.signed_by_id for s in request.signatures)]
    )
    content = return_reports.booking_in_slip(request, names, context.label, context.timezone)
    return RenderedDocument(
        context.label("file_name.return_booking_in", number=request.number), content
    )


@document("return_statistics")
async def return_statistics(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    period = str(params["period"])
    statistics = await monthly_statistics(session, period, context.timezone)
    title = context.printed(context.text("document.return_stats.title", period=period))
    content = return_reports.statistics_workbook(statistics, context.label, title)
    return RenderedDocument(context.label("file_name.return_statistics", period=period), content)


@document("personal_record")
async def personal_record(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    period, head = str(params["period"]), str(params["head"])
    start, end = month_bounds(period, context.timezone)
    steps = await steps_of_month(session, start, end, roles_read_by(head))
    title = context.printed(
        context.text("record.title", period=period, head={"$text": f"role.{head}"})
    )
    content = consumer_reports.personal_record_workbook(
        steps, title, context.label, context.timezone
    )
    return RenderedDocument(f"personal-record-{head}-{period}.xlsx", content)
