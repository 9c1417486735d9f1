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
from . import form_documents  # registers the forms' renderer
from . import returns as return_reports
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
    "form_documents",
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


async def _form(
    session: AsyncSession, form: str, record_id: int, context: DocumentContext
) -> RenderedDocument:
    """A record's form, the PDF /form and the export give too (退貨單-RT-2026-00001.pdf)."""
    return await form_documents.form_document(session, {"form": form, "id": record_id}, context)


@document("rectification_notice")
async def rectification_notice(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    """不合格項整改單, the written notice the vendor receives."""
    rectification = await _rectification(session, params)
    return await _form(session, "rectification_notice", rectification.id, context)


@document("evaluation_form")
async def evaluation_form(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    """分承包方服務質量檢查評價表, for the manager's review and the office's approval."""
    rectification = await _rectification(session, params)
    return await _form(session, "evaluation", rectification.id, context)


@document("vendor_score")
async def vendor_score(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    """合格維保單位考核評分表 of one vendor and month."""
    return await _form(session, "vendor_score", int(params["id"]), context)


@document("return_slip")
async def return_slip(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    """退貨單, the customer's copy."""
    return await _form(session, "return_slip", int(params["id"]), context)


@document("transport_order")
async def transport_order(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    """退貨運輸單, the driver collects against it."""
    request = await return_request(session, int(params["id"]))
    if request is None or request.order_issued_at is None:
        raise UnknownDocument(f"return {params['id']} has no transport order")
    return await _form(session, "transport_order", request.id, context)


@document("return_booking_in")
async def return_booking_in(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    """退貨入庫單, with the signatures the goods were booked in against."""
    request = await return_request(session, int(params["id"]))
    if request is None or request.booked_in_at is None:
        raise UnknownDocument(f"return {params['id']} is not booked in")
    return await _form(session, "booking_in", request.id, context)


@document("return_statistics")
async def return_statistics(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    period = str(params["period"])
    statistics = await monthly_statistics(session, period, context.timezone)
    title = context.printed(context.text("document.return_stats.title", period=period))
    content = return_reports.statistics_workbook(statistics, context.label, title, context.company)
    name = context.file_name("file_name.return_statistics", "xlsx", period=period)
    return RenderedDocument(name, content)


@document("personal_record")
async def personal_record(
    session: AsyncSession, params: Mapping[str, Any], context: DocumentContext
) -> RenderedDocument:
    period, head = str(params["period"]), str(params["head"])
    start, end = month_bounds(period, context.timezone)
    steps = await steps_of_month(session, start, end, roles_read_by(head))
    title = context.headed(
        context.printed(context.text("record.title", period=period, head={"$text": f"role.{head}"}))
    )
    content = consumer_reports.personal_record_workbook(
        steps, title, context.label, context.timezone
    )
    name = context.file_name(
        "file_name.personal_record", "xlsx", head={"$text": f"role.{head}"}, period=period
    )
    return RenderedDocument(name, content)
