"""P1 records as files: the complaint ledger (顧客質量投訴臺帳) and the quarterly complaint
report (顧客投訴查詢商品質量記錄表), as XLSX workbooks.

Column titles and sheet names come from the caller's `label` function (the message catalogue
in the reader's language), so this module holds no user-facing text.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import Complaint, Deadline

from .cells import append_row, workbook_bytes

Label = Callable[[str], str]

LEDGER_COLUMNS = (
    "number",
    "received_at",
    "organisation",
    "locality",
    "product",
    "lot",
    "quantity",
    "shipment_on_file",
    "channel",
    "complainant",
    "description",
    "status",
    "verified_at",
    "result",
    "on_site",
    "visit_waived",
    "verification_on_time",
    "disposition_at",
    "disposition",
    "opinion_on_time",
    "corrective_action",
    "adverse_event",
    "supplier_answer_at",
    "handoff_at",
    "handoff_outcome",
    "closed_at",
    "handling_on_time",
)


@dataclass(frozen=True)
class LedgerRow:
    number: str
    received_at: dt.datetime
    organisation: str
    locality: str
    product: str
    lot: str
    shipment_on_file: bool
    quantity: int
    channel: str
    complainant: str
    description: str
    status: str
    verified_at: dt.datetime | None
    result: str | None
    on_site: bool | None
    visit_waived: bool
    verification_on_time: bool | None
    disposition_at: dt.datetime | None
    disposition: str | None
    opinion_on_time: bool | None
    corrective_action: str | None
    adverse_event: bool
    supplier_answer_at: dt.datetime | None
    handoff_at: dt.datetime | None
    handoff_outcome: str | None
    closed_at: dt.datetime | None
    # 外埠: handling completed within 7 days; None for a local buyer or while open
    handling_on_time: bool | None


def _on_time(deadline: Deadline | None) -> bool | None:
    """Met in time or late; None while open, and for a waived one, which was neither."""
    if deadline is None or deadline.met_at is None or deadline.closed_as == "waived":
        return None
    return not deadline.met_late


def _waived(deadline: Deadline | None) -> bool:
    return deadline is not None and deadline.closed_as == "waived"


async def ledger_rows(
    session: AsyncSession, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> list[LedgerRow]:
    """One row per complaint received in [start, end), oldest first."""
    query = (
        select(Complaint)
        .options(
            selectinload(Complaint.organisation),
            selectinload(Complaint.product),
            selectinload(Complaint.batch),
        )
        .order_by(Complaint.received_at, Complaint.id)
    )
    if start is not None:
        query = query.where(Complaint.received_at >= start)
    if end is not None:
        query = query.where(Complaint.received_at < end)
    found = list(await session.scalars(query))
    deadlines: dict[tuple[int, str], Deadline] = {}
    if found:
        for deadline in await session.scalars(
            select(Deadline).where(
                Deadline.subject_type == "complaint", Deadline.subject_id.in_([c.id for c in found])
            )
        ):
            deadlines[(deadline.subject_id, deadline.kind)] = deadline
    return [
        LedgerRow(
            number=c.number,
            received_at=c.received_at,
            organisation=c.organisation.name,
            locality=c.locality,
            product=c.product_label,
            lot=c.lot_label,
            shipment_on_file=c.shipment_on_file,
            quantity=c.quantity,
            channel=c.channel,
            complainant=" ".join(filter(None, [c.complainant_name, c.complainant_contact])),
            description=c.description,
            status=c.status,
            verified_at=c.verified_at,
            result=c.verification_result,
            on_site=c.on_site,
            visit_waived=_waived(deadlines.get((c.id, "on_site_verification"))),
            verification_on_time=_on_time(deadlines.get((c.id, "on_site_verification"))),
            disposition_at=c.disposition_at,
            disposition=c.disposition,
            opinion_on_time=_on_time(deadlines.get((c.id, "disposition_opinion"))),
            corrective_action=c.corrective_action,
            adverse_event=c.adverse_event_at is not None,
            supplier_answer_at=c.supplier_answer_at,
            handoff_at=c.handoff_at,
            handoff_outcome=c.handoff_outcome,
            closed_at=c.closed_at,
            handling_on_time=_on_time(deadlines.get((c.id, "handling_complete"))),
        )
        for c in found
    ]


def _cell(value: object, label: Label, column: str, timezone: ZoneInfo) -> object:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(timezone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return label("report.yes" if value else "report.no")
    if column in ("status", "result"):
        return label(f"complaint.status.{value}")
    if column == "channel":
        return label(f"complaint.channel.{value}")
    if column == "locality":
        return label(f"report.locality.{value}")
    if column == "handoff_outcome":
        return label(f"complaint.handoff_outcome.{value}")
    return value


def _write_rows(sheet, rows: list[LedgerRow], label: Label, timezone: ZoneInfo) -> None:  # type: ignore[no-untyped-def]
    append_row(sheet, [label(f"report.column.{c}") for c in LEDGER_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        append_row(sheet, [_cell(getattr(row, c), label, c, timezone) for c in LEDGER_COLUMNS])
    sheet.freeze_panes = "A2"


def _save(workbook: Workbook) -> bytes:
    return workbook_bytes(workbook)


def ledger_workbook(rows: list[LedgerRow], label: Label, timezone: ZoneInfo) -> bytes:
    """顧客質量投訴臺帳: every complaint, one row each."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = label("report.sheet.ledger")[:31]
    _write_rows(sheet, rows, label, timezone)
    return workbook_bytes(workbook)


def quarterly_workbook(
    rows: list[LedgerRow], label: Label, timezone: ZoneInfo, title: str
) -> bytes:
    """顧客投訴查詢商品質量記錄表: the quarter's figures, then its complaints."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = label("report.sheet.summary")[:31]
    append_row(summary, [title])
    summary["A1"].font = Font(bold=True)
    results = Counter(r.result or "pending" for r in rows)
    verified = [r for r in rows if r.verification_on_time is not None]
    opinions = [r for r in rows if r.opinion_on_time is not None]
    handled = [r for r in rows if r.handling_on_time is not None]
    figures = [
        ("report.figure.total", len(rows)),
        ("report.figure.local", sum(r.locality == "local" for r in rows)),
        ("report.figure.out_of_town", sum(r.locality == "out_of_town" for r in rows)),
        ("report.figure.locality_unknown", sum(r.locality == "unknown" for r in rows)),
        ("report.figure.conforming", results["conforming"]),
        ("report.figure.nonconforming", results["nonconforming"]),
        ("report.figure.pending", results["pending"]),
        (
            "report.figure.verification_on_time",
            f"{sum(r.verification_on_time for r in verified)}/{len(verified)}",
        ),
        ("report.figure.visits_waived", sum(r.visit_waived for r in rows)),
        (
            "report.figure.handling_on_time",
            f"{sum(r.handling_on_time for r in handled)}/{len(handled)}",
        ),
        ("report.figure.not_on_file", sum(not r.shipment_on_file for r in rows)),
        (
            "report.figure.opinion_on_time",
            f"{sum(r.opinion_on_time for r in opinions)}/{len(opinions)}",
        ),
        ("report.figure.adverse_events", sum(r.adverse_event for r in rows)),
        ("report.figure.units", sum(r.quantity for r in rows)),
    ]
    for key, value in figures:
        append_row(summary, [label(key), value])
    append_row(summary, [])
    append_row(
        summary,
        [
            label("report.column.product"),
            label("report.figure.total"),
            label("report.figure.nonconforming"),
        ],
    )
    by_product = Counter(r.product for r in rows)
    nonconforming = Counter(r.product for r in rows if r.result == "nonconforming")
    for product, count in sorted(by_product.items()):
        append_row(summary, [product, count, nonconforming[product]])
    summary.column_dimensions["A"].width = 36
    _write_rows(workbook.create_sheet(label("report.sheet.complaints")[:31]), rows, label, timezone)
    return workbook_bytes(workbook)
