"""The complaint ledger's rows (顧客質量投訴臺帳): one row a complaint, read page by page for
the ledger, the quarterly report and the printed record."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from procedures.complaints.rules import (
    QUARTERLY_REPORT,
    ComplaintDeadline,
)
from procedures.kernel.rules import Outcome, met_in_time
from procedures.kernel.rules import outcome as outcome_of_deadline
from storage.models import BatchHold as BatchHold
from storage.models import BuyerNoticeTask as BuyerNoticeTask
from storage.models import Complaint as Complaint
from storage.models import (
    Deadline,
    Product,
    ReportApproval,
    ReturnRequest,
    TimelineEvent,
    User,
)

# a quarter is placed in UTC unless the caller gives the deployment's zone
LEDGER_DEFAULT_ZONE = ZoneInfo("UTC")


# --- the ledger's rows (顧客質量投訴臺帳), for the ledger and the quarterly report -------------

PAGE = 1000  # complaints read per query
# what the timeline keeps that explains a deadline missed or started late (an inquiry judged a
# quality complaint: its clocks start then, not at its receipt): shown in the ledger's remarks
REMARK_ACTIONS = ("waiting_on_buyer", "reopened", "judged_quality_complaint")


@dataclass(frozen=True)
class LedgerRow:
    serial: int
    number: str
    received_at: dt.datetime
    organisation: str
    locality: str
    buyer_contact: str
    product: str
    specification: str
    manufacturer: str
    supplier: str
    registration_number: str
    lot: str
    expiry_date: dt.date | None
    shipment_on_file: bool
    quantity: int
    channel: str
    # complaint | inquiry (查詢, 情況反映): an inquiry not judged a quality complaint is no
    # complaint of the ledger's, but is reported in the quarter's record
    received_as: str
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
    return_number: str | None
    handoff_at: dt.datetime | None
    handoff_outcome: str | None
    # 回訪: the latest reply to the buyer on the record (its text id) and when it went
    follow_up: tuple[str, dt.datetime] | None
    closed_at: dt.datetime | None
    # 外埠: handling completed within 7 days; None for a local buyer or while open
    handling_on_time: bool | None
    handled_by: str  # 經辦: the quality inspector who took the complaint
    # 審核: the quality head who reviewed it, never the handler again: who gave the opinion in
    # the handler's place, else who approved the quarter's report; blank while nobody has
    reviewed_by: str
    # 備註: what waited on the buyer and why the complaint was reopened, (action, reason, when)
    remarks: tuple[tuple[str, str, dt.datetime], ...] = ()
    # for the quarterly analysis, not columns of the ledger
    deadlines: dict[str, str] = field(default_factory=dict)  # kind -> on_time|late|waived|open
    hold: str | None = None  # held | lifted


def _waived(deadline: Deadline | None) -> bool:
    return deadline is not None and outcome_of_deadline(deadline) == Outcome.WAIVED


def _quarter(moment: dt.datetime, timezone: ZoneInfo) -> str:
    local = moment.astimezone(timezone)
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def _reviewer(complaint: Complaint, approvers: dict[str, int], timezone: ZoneInfo) -> int | None:
    """Who reviewed the complaint's handling (審核): the quality head who gave the opinion when
    the handler did not (only the handler or the quality head may give it), else the quality
    head who approved the report of the quarter it was received in; never the handler."""
    for candidate in (
        complaint.disposition_by_id,
        approvers.get(_quarter(complaint.received_at, timezone)),
    ):
        if candidate is not None and candidate != complaint.taken_by_id:
            return candidate
    return None


async def _page_details(
    session: AsyncSession, found: list[Complaint], timezone: ZoneInfo
) -> dict[str, Any]:
    """What one page of complaints needs from other tables, each read in one query."""
    ids = [c.id for c in found]
    deadlines: dict[tuple[int, str], Deadline] = {}
    outcomes: dict[int, dict[str, str]] = {}
    for deadline in await session.scalars(
        select(Deadline)
        .where(Deadline.subject_type == "complaint", Deadline.subject_id.in_(ids))
        .order_by(Deadline.id)  # a reopened complaint's new disposition deadline wins
    ):
        deadlines[(deadline.subject_id, deadline.kind)] = deadline
        outcomes.setdefault(deadline.subject_id, {})[deadline.kind] = outcome_of_deadline(
            deadline
        ).value
    returns: dict[int, str] = {}
    for complaint_id, number in await session.execute(
        select(ReturnRequest.complaint_id, ReturnRequest.number)
        .where(ReturnRequest.complaint_id.in_(ids))
        .order_by(ReturnRequest.id)
    ):
        if complaint_id is not None:  # the `in_` above: never None
            returns.setdefault(complaint_id, number)
    replies: dict[int, tuple[str, dt.datetime]] = {}
    for subject_id, after, at in await session.execute(
        select(TimelineEvent.subject_id, TimelineEvent.after, TimelineEvent.at)
        .where(
            TimelineEvent.subject_type == "complaint",
            TimelineEvent.subject_id.in_(ids),
            TimelineEvent.action == "reply_to_complainant",
        )
        .order_by(TimelineEvent.id)
    ):
        replies[subject_id] = ((after or {}).get("text_key", ""), at)  # the latest wins
    remarks: dict[int, list[tuple[str, str, dt.datetime]]] = {}
    for subject_id, action, after, at in await session.execute(
        select(
            TimelineEvent.subject_id, TimelineEvent.action, TimelineEvent.after, TimelineEvent.at
        )
        .where(
            TimelineEvent.subject_type == "complaint",
            TimelineEvent.subject_id.in_(ids),
            TimelineEvent.action.in_(REMARK_ACTIONS),
        )
        .order_by(TimelineEvent.id)
    ):
        remarks.setdefault(subject_id, []).append((action, (after or {}).get("reason", ""), at))
    holds = {
        complaint_id: "lifted" if lifted_at else "held"
        for complaint_id, lifted_at in await session.execute(
            select(BatchHold.complaint_id, BatchHold.lifted_at).where(
                BatchHold.complaint_id.in_(ids)
            )
        )
    }
    quarters = {_quarter(c.received_at, timezone) for c in found}
    approvers: dict[str, int] = dict(
        (
            await session.execute(
                select(ReportApproval.period, ReportApproval.approved_by_id).where(
                    ReportApproval.kind == QUARTERLY_REPORT, ReportApproval.period.in_(quarters)
                )
            )
        ).all()
    )
    reviewers = {c.id: _reviewer(c, approvers, timezone) for c in found}
    people = {c.taken_by_id for c in found} | set(reviewers.values())
    people.discard(None)
    names = dict(
        (await session.execute(select(User.id, User.full_name).where(User.id.in_(people)))).all()
        if people
        else []
    )
    return {
        "deadlines": deadlines,
        "outcomes": outcomes,
        "returns": returns,
        "replies": replies,
        "remarks": remarks,
        "holds": holds,
        "names": names,
        "reviewers": reviewers,
    }


def _received_as(complaint: Complaint) -> str:
    """complaint; inquiry while it is one; judged, once quality found it a quality complaint."""
    if complaint.received_as != "inquiry":
        return "complaint"
    return "judged" if complaint.judged_at is not None else "inquiry"


def _row(serial: int, c: Complaint, details: dict[str, Any]) -> LedgerRow:
    deadlines = details["deadlines"]
    visit = deadlines.get((c.id, ComplaintDeadline.ON_SITE_VERIFICATION))
    product = c.product
    organisation = c.organisation
    return LedgerRow(
        serial=serial,
        number=c.number,
        received_at=c.received_at,
        organisation=organisation.name,
        locality=c.locality,
        buyer_contact=" ".join(
            filter(None, [organisation.contact_name, organisation.contact_phone])
        ),
        product=c.product_label,
        specification=(product.specification or "") if product else "",
        manufacturer=(product.manufacturer or "") if product else "",
        supplier=product.supplier.name if product and product.supplier else "",
        registration_number=(product.registration_number or "") if product else "",
        lot=c.lot_label,
        expiry_date=c.batch.expiry_date if c.batch is not None else None,
        shipment_on_file=c.shipment_on_file,
        quantity=c.quantity,
        channel=c.channel,
        received_as=_received_as(c),
        complainant=" ".join(filter(None, [c.complainant_name, c.complainant_contact])),
        description=c.description,
        status=c.status,
        verified_at=c.verified_at,
        result=c.verification_result,
        on_site=c.on_site,
        visit_waived=_waived(visit),
        verification_on_time=met_in_time(visit),
        disposition_at=c.disposition_at,
        disposition=c.disposition,
        opinion_on_time=met_in_time(deadlines.get((c.id, ComplaintDeadline.DISPOSITION_OPINION))),
        corrective_action=c.corrective_action,
        adverse_event=c.adverse_event_at is not None,
        supplier_answer_at=c.supplier_answer_at,
        return_number=details["returns"].get(c.id),
        handoff_at=c.handoff_at,
        handoff_outcome=c.handoff_outcome,
        follow_up=details["replies"].get(c.id),
        closed_at=c.closed_at,
        handling_on_time=met_in_time(deadlines.get((c.id, ComplaintDeadline.HANDLING_COMPLETE))),
        handled_by=details["names"].get(c.taken_by_id, ""),
        reviewed_by=details["names"].get(details["reviewers"][c.id], ""),
        remarks=tuple(details["remarks"].get(c.id, ())),
        deadlines=details["outcomes"].get(c.id, {}),
        hold=details["holds"].get(c.id),
    )


async def iter_ledger_rows(
    session: AsyncSession,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    *,
    timezone: ZoneInfo = LEDGER_DEFAULT_ZONE,
    page: int = PAGE,
) -> AsyncIterator[LedgerRow]:
    """One row per complaint received in [start, end), oldest first, read `page` at a time (by
    keyset on received_at and id), each page forgotten by the session once it is written.
    `timezone` places a complaint in its quarter, whose approved report names its reviewer."""
    serial = 0
    after: tuple[dt.datetime, int] | None = None
    while True:
        query = (
            select(Complaint)
            .options(
                selectinload(Complaint.organisation),
                selectinload(Complaint.product).selectinload(Product.supplier),
                selectinload(Complaint.batch),
            )
            .order_by(Complaint.received_at, Complaint.id)
            .limit(page)
        )
        if start is not None:
            query = query.where(Complaint.received_at >= start)
        if end is not None:
            query = query.where(Complaint.received_at < end)
        if after is not None:
            # as a row value the index on (received_at, id) seeks to the page's first row; the
            # same test spelled with OR was a filter, and each page scanned every row before it
            query = query.where(tuple_(Complaint.received_at, Complaint.id) > tuple_(*after))
        found = list(await session.scalars(query))
        if not found:
            return
        details = await _page_details(session, found, timezone)
        for complaint in found:
            serial += 1
            yield _row(serial, complaint, details)
        after = (found[-1].received_at, found[-1].id)
        session.expunge_all()
        if len(found) < page:
            return


async def ledger_row(
    session: AsyncSession, complaint_id: int, *, timezone: ZoneInfo = LEDGER_DEFAULT_ZONE
) -> LedgerRow | None:
    """One complaint's row, as its record form (顧客質量投訴及處理記錄) prints it."""
    complaint = await session.scalar(
        select(Complaint)
        .where(Complaint.id == complaint_id)
        .options(
            selectinload(Complaint.organisation),
            selectinload(Complaint.product).selectinload(Product.supplier),
            selectinload(Complaint.batch),
        )
    )
    if complaint is None:
        return None
    return _row(0, complaint, await _page_details(session, [complaint], timezone))


async def ledger_rows(
    session: AsyncSession,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    *,
    timezone: ZoneInfo = LEDGER_DEFAULT_ZONE,
) -> list[LedgerRow]:
    """Every row at once, for a short period or a test."""
    return [row async for row in iter_ledger_rows(session, start, end, timezone=timezone)]
