"""Documents described in the outbox ({"kind", "params"}) rendered as files in a language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.periods import quarter_bounds
from reports import complaints as complaint_reports

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
    raise UnknownDocument(f"no renderer for document kind {kind!r}")
