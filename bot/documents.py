"""Documents described in the outbox ({"kind", "params"}) rendered as files in a language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from procedures.calendar import half_year_periods, quarter_bounds
from reports import complaints as complaint_reports
from reports import vendors as vendor_reports
from storage.models import Rectification, User, VendorScore

from .services import Services


@dataclass(frozen=True)
class RenderedDocument:
    file_name: str
    content: bytes


class UnknownDocument(Exception):
    """An outbox row names a document kind nobody renders: a bug, parked with this reason."""


async def render_document(
    services: Services, session: AsyncSession, attachment: dict[str, Any], language: str
) -> RenderedDocument:
    kind, params = attachment.get("kind"), attachment.get("params", {})
    timezone = services.settings.timezone

    def label(key: str) -> str:
        return services.texts.get(language, key)

    if kind == "complaint_quarterly":
        year, quarter = int(params["year"]), int(params["quarter"])
        start, end = quarter_bounds(year, quarter, timezone)
        rows = await complaint_reports.ledger_rows(session, start, end)
        title = services.texts.get(language, "report.quarterly_title", year=year, quarter=quarter)
        content = complaint_reports.quarterly_workbook(rows, label, timezone, title)
        return RenderedDocument(f"complaints-{year}-Q{quarter}.xlsx", content)
    if kind == "complaint_ledger":
        rows = await complaint_reports.ledger_rows(session)
        day = services.clock.now().astimezone(timezone).date().isoformat()
        return RenderedDocument(
            f"complaint-ledger-{day}.xlsx", complaint_reports.ledger_workbook(rows, label, timezone)
        )
    if kind in ("rectification_notice", "evaluation_form"):
        rectification = await session.get(Rectification, int(params["id"]))
        if rectification is None:
            raise UnknownDocument(f"rectification {params['id']} does not exist")
        await session.refresh(rectification, ["vendor"])
        if kind == "rectification_notice":
            content = vendor_reports.rectification_notice(rectification, label, timezone)
            return RenderedDocument(f"{rectification.number}.xlsx", content)
        engineer = await session.get(User, rectification.evaluated_by_id or 0)
        content = vendor_reports.evaluation_form(
            rectification, engineer.full_name if engineer else "", label, timezone
        )
        return RenderedDocument(
            f"{rectification.number or rectification.id}-evaluation.xlsx", content
        )
    if kind == "vendor_score":
        score = await session.get(VendorScore, int(params["id"]))
        if score is None:
            raise UnknownDocument(f"vendor score {params['id']} does not exist")
        await session.refresh(score, ["vendor"])
        manager = await session.get(User, score.scored_by_id)
        content = vendor_reports.score_sheet(
            score, manager.full_name if manager else "", label, timezone
        )
        return RenderedDocument(f"vendor-score-{score.vendor.code}-{score.period}.xlsx", content)
    if kind == "vendor_assessment":
        year, half = int(params["year"]), int(params["half"])
        periods = half_year_periods(year, half)
        scores = list(
            await session.scalars(
                select(VendorScore)
                .where(VendorScore.period.in_(periods))
                .options(selectinload(VendorScore.vendor))
            )
        )
        title = services.texts.get(language, "document.assessment.title", year=year, half=half)
        content = vendor_reports.assessment(scores, periods, title, label)
        return RenderedDocument(f"vendor-assessment-{year}-H{half}.xlsx", content)
    raise UnknownDocument(f"no renderer for document kind {kind!r}")
