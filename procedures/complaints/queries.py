"""Reading complaints: who may see one, lists, the work queue, deadlines, the quarterly report."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.actions import (
    ApproveQuarterly,
    BeginHandoff,
    BeginOpinion,
    BeginSupplierAnswer,
    BeginVerification,
    ConfirmGoodsLabelled,
    ConfirmOutboundStopped,
    ConfirmSalesStopped,
    FlagAdverseEvent,
    LiftHold,
    TakeComplaint,
)
from procedures.complaints.common import ACTIVE_STATUSES, SUBJECT
from procedures.complaints.rules import REPORT_READERS, STAFF_VIEWERS, ComplaintStatus
from procedures.kernel import roles
from procedures.kernel.actions import CallbackAction
from procedures.kernel.calendar import previous_quarter
from procedures.kernel.errors import NotFound
from procedures.kernel.outbox import button, notify_roles
from storage.models import Batch, BatchHold, Complaint, Deadline, User


async def queue_quarterly_report(
    session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo
) -> int:
    """Send the quality department last quarter's complaint report (once per quarter)."""
    year, quarter = previous_quarter(now, timezone)
    attachment = {"kind": "complaint_quarterly", "params": {"year": year, "quarter": quarter}}
    params = {"year": year, "quarter": quarter}
    # the quality head's copy first (a reader with both roles gets it), with the button that
    # asks for the conclusion (審核)
    queued = await notify_roles(
        session,
        [roles.QUALITY_HEAD],
        "report.quarterly_ready",
        params,
        now=now,
        attachment=attachment,
        buttons=[[button("report.button.approve", ApproveQuarterly(year=year, quarter=quarter))]],
        dedupe_prefix=f"report:complaints:{year}-Q{quarter}",
    )
    queued += await notify_roles(
        session,
        sorted(REPORT_READERS),
        "report.quarterly_ready",
        params,
        now=now,
        attachment=attachment,
        dedupe_prefix=f"report:complaints:{year}-Q{quarter}",
    )
    return len(queued)


def _covering(batch_id: int | None) -> ColumnElement[bool]:
    """Which holds cover goods of a product (of this lot, if known): a product hold every lot, a
    lot hold its lot (and a lot not named is covered by any hold of its product)."""
    covering = BatchHold.scope == "product"
    if batch_id is None:
        return or_(covering, BatchHold.scope == "lot")
    return or_(covering, BatchHold.batch_id == batch_id)


async def is_on_hold(session: AsyncSession, product_id: int, batch_id: int | None) -> bool:
    """May this product (of this lot, if known) not be shipped? Not while a complaint's hold
    covers it, nor once its lot was found nonconforming."""
    if batch_id is not None:
        batch = await session.get(Batch, batch_id)
        if batch is not None and batch.nonconforming_since is not None:
            return True
    active = await session.scalar(
        select(func.count())
        .select_from(BatchHold)
        .where(
            BatchHold.product_id == product_id,
            BatchHold.lifted_at.is_(None),
            _covering(batch_id),
        )
    )
    return bool(active)


async def other_holds_on(session: AsyncSession, hold: BatchHold, batch_id: int | None) -> list[str]:
    """The numbers of the other complaints whose unlifted holds still cover these goods."""
    rows = await session.scalars(
        select(Complaint.number)
        .join(BatchHold, BatchHold.complaint_id == Complaint.id)
        .where(
            BatchHold.product_id == hold.product_id,
            BatchHold.lifted_at.is_(None),
            BatchHold.id != hold.id,
            _covering(batch_id),
        )
        .order_by(Complaint.number)
    )
    return list(rows)


def is_staff(viewer: User) -> bool:
    """Whether the viewer reads complaints as the department does (else as their buyer)."""
    return bool(viewer.role_names & STAFF_VIEWERS)


def may_see(viewer: User, complaint: Complaint) -> bool:
    if is_staff(viewer):
        return True
    return (
        roles.CUSTOMER in viewer.role_names and viewer.organisation_id == complaint.organisation_id
    )


async def complaint_for_viewer(session: AsyncSession, viewer: User, number: str) -> Complaint:
    complaint = await session.scalar(select(Complaint).where(Complaint.number == number.upper()))
    # Someone who may not see it is told the same as for a number that does not exist.
    if complaint is None or not may_see(viewer, complaint):
        raise NotFound("complaint.not_found")
    await session.refresh(complaint, ["organisation", "product", "batch"])
    return complaint


async def complaints_of(session: AsyncSession, organisation_id: int) -> list[Complaint]:
    rows = await session.scalars(
        select(Complaint)
        .where(Complaint.organisation_id == organisation_id)
        .order_by(Complaint.id.desc())
        .limit(30)
    )
    return list(rows)


async def work_queue(session: AsyncSession) -> list[Complaint]:
    """Complaints with something still to do for quality: not taken, unverified or no opinion."""
    rows = await session.scalars(
        select(Complaint)
        .where(
            Complaint.status.in_(ACTIVE_STATUSES),
            or_(Complaint.verification_result.is_(None), Complaint.disposition.is_(None)),
        )
        .order_by(Complaint.received_at)
    )
    complaints = list(rows)
    for complaint in complaints:
        await session.refresh(complaint, ["organisation", "product", "batch"])
    return complaints


async def hold_of(session: AsyncSession, complaint_id: int) -> BatchHold | None:
    return await session.scalar(select(BatchHold).where(BatchHold.complaint_id == complaint_id))


async def deadlines_of(session: AsyncSession, complaint_id: int) -> list[Deadline]:
    rows = await session.scalars(
        select(Deadline)
        .where(Deadline.subject_type == SUBJECT, Deadline.subject_id == complaint_id)
        .order_by(Deadline.id)
    )
    return list(rows)


def work_buttons(complaint: Complaint) -> list[list[dict[str, Any]]]:
    """Quality's buttons for the steps of a taken complaint still to do."""
    first = []
    if complaint.verification_result is None:
        first.append(button("complaint.button.verify", BeginVerification(complaint.id)))
    if complaint.disposition is None:
        first.append(button("complaint.button.opinion", BeginOpinion(complaint.id)))
    rows = [first] if first else []
    if complaint.adverse_event_at is None:
        rows.append([button("complaint.button.adverse_event", FlagAdverseEvent(complaint.id))])
    return rows


# the kinds of button a complaint's messages carry, each for one step of the complaint
STEP_BUTTONS: tuple[type[CallbackAction], ...] = (
    TakeComplaint,
    BeginVerification,
    BeginOpinion,
    FlagAdverseEvent,
    LiftHold,
    ConfirmOutboundStopped,
    ConfirmGoodsLabelled,
    ConfirmSalesStopped,
    BeginHandoff,
    BeginSupplierAnswer,
)


async def steps_still_open(
    session: AsyncSession, complaint: Complaint
) -> frozenset[type[CallbackAction]]:
    """The kinds of the complaint's buttons that still have something to do: a button of any
    other kind about this complaint has been used (or no longer applies) and can go."""
    hold = await hold_of(session, complaint.id)
    nonconforming = complaint.verification_result == ComplaintStatus.NONCONFORMING
    still = {
        TakeComplaint: complaint.taken_by_id is None,
        BeginVerification: complaint.verification_result is None,
        BeginOpinion: complaint.disposition is None,
        FlagAdverseEvent: complaint.adverse_event_at is None,
        LiftHold: complaint.verification_result == ComplaintStatus.CONFORMING
        and hold is not None
        and hold.lifted_at is None,
        ConfirmOutboundStopped: nonconforming and hold is not None and not hold.outbound_stopped_at,
        ConfirmGoodsLabelled: nonconforming and hold is not None and not hold.labelled_at,
        ConfirmSalesStopped: nonconforming and hold is not None and not hold.sales_stopped_at,
        BeginHandoff: nonconforming and complaint.handoff_at is None,
        BeginSupplierAnswer: nonconforming and complaint.supplier_answer is None,
    }
    return frozenset(kind for kind, open_ in still.items() if open_)
