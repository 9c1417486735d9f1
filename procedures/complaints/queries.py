"""Reading complaints: who may see one, lists, the work queue, deadlines, the quarterly report
and its complaints per month by product."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.actions import (
    AnswerInquiry,
    ApproveQuarterly,
    BeginHandoff,
    BeginOpinion,
    BeginSupplierAnswer,
    BeginVerification,
    ConfirmGoodsLabelled,
    ConfirmOutboundStopped,
    ConfirmSalesStopped,
    FlagAdverseEvent,
    JudgeQualityComplaint,
    LiftHold,
    TakeComplaint,
)
from procedures.complaints.common import ACTIVE_STATUSES, SUBJECT

# the ledger's rows (procedures.complaints.ledger) are read through here, as the rest
from procedures.complaints.ledger import LedgerRow as LedgerRow
from procedures.complaints.ledger import iter_ledger_rows as iter_ledger_rows
from procedures.complaints.ledger import ledger_row as ledger_row
from procedures.complaints.ledger import ledger_rows as ledger_rows
from procedures.complaints.rules import (
    REPORT_READERS,
    STAFF_VIEWERS,
    ComplaintStatus,
)
from procedures.kernel import roles
from procedures.kernel.actions import CallbackAction
from procedures.kernel.calendar import month_bounds, previous_quarter
from procedures.kernel.errors import NotFound
from procedures.kernel.outbox import button, notify_roles
from procedures.kernel.text_input import record_number
from storage.models import (
    Batch,
    Deadline,
    Organisation,
    Product,
    User,
)
from storage.models import BatchHold as BatchHold
from storage.models import BuyerNoticeTask as BuyerNoticeTask
from storage.models import Complaint as Complaint

# a quarter is placed in UTC unless the caller gives the deployment's zone
LEDGER_DEFAULT_ZONE = ZoneInfo("UTC")


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


async def is_on_hold(session: AsyncSession, product_id: int | None, batch_id: int | None) -> bool:
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
    complaint = await session.scalar(
        select(Complaint).where(Complaint.number == record_number(number))
    )
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


def works_on(complaint: Complaint, user_id: int, role_names: Iterable[str]) -> bool:
    """Whether the user records a taken complaint's steps: the one who took it (or was given
    it), or the quality head (as `handling.require_handler` checks when a step is recorded)."""
    return complaint.taken_by_id in (None, user_id) or roles.QUALITY_HEAD in role_names


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
StepButton = (
    TakeComplaint
    | BeginVerification
    | BeginOpinion
    | FlagAdverseEvent
    | LiftHold
    | ConfirmOutboundStopped
    | ConfirmGoodsLabelled
    | ConfirmSalesStopped
    | BeginHandoff
    | BeginSupplierAnswer
    | AnswerInquiry
    | JudgeQualityComplaint
)
STEP_BUTTONS: tuple[type[StepButton], ...] = (
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
    AnswerInquiry,
    JudgeQualityComplaint,
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
        AnswerInquiry: complaint.status == ComplaintStatus.INQUIRY,
        JudgeQualityComplaint: complaint.received_as == "inquiry" and complaint.judged_at is None,
    }
    return frozenset(kind for kind, open_ in still.items() if open_)


@dataclass(frozen=True)
class IntakeNames:
    """What a complaint's draft names, as its summary shows it: the organisation, the product
    and the lot (None for one typed that the master data does not know)."""

    organisation: str
    product: str | None
    lot: str | None


async def intake_names(
    session: AsyncSession, organisation_id: int, product_id: int | None, batch_id: int | None
) -> IntakeNames:
    """The names of the organisation, product and lot a complaint's draft holds by id."""
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("error.not_found")
    product = await session.get(Product, product_id) if product_id else None
    batch = await session.get(Batch, batch_id) if batch_id else None
    return IntakeNames(
        organisation=organisation.name,
        product=product.name if product else None,
        lot=batch.lot_number if batch else None,
    )


async def complaints_with_goods_of(session: AsyncSession, organisation_id: int) -> list[Complaint]:
    """The organisation's complaints, as `complaints_of`, each with its product and lot loaded."""
    own = await complaints_of(session, organisation_id)
    for complaint in own:
        await session.refresh(complaint, ["product", "batch"])
    return own


async def holds_covering(session: AsyncSession, product_id: int, batch_id: int | None) -> list[str]:
    """The numbers of the complaints whose unlifted holds cover these goods (暫停發貨)."""
    rows = await session.scalars(
        select(Complaint.number)
        .join(BatchHold, BatchHold.complaint_id == Complaint.id)
        .where(
            BatchHold.product_id == product_id,
            BatchHold.lifted_at.is_(None),
            _covering(batch_id),
        )
        .order_by(Complaint.number)
    )
    return list(rows)


async def complaints_by_month_and_product(
    session: AsyncSession, months: Iterable[str], timezone: ZoneInfo
) -> Counter[tuple[str, str]]:
    """The complaints received in each month (YYYY-MM, its edges at local midnight) by product,
    as the ledger names the product: (month, product) -> count. An inquiry counts once quality
    judged it a quality complaint, as the quarterly report counts it; one still an inquiry
    does not."""
    product = func.coalesce(Product.name, Complaint.product_text, "")
    counted: Counter[tuple[str, str]] = Counter()
    for month in months:
        start, end = month_bounds(month, timezone)
        rows = await session.execute(
            select(product, func.count())
            .select_from(Complaint)
            .outerjoin(Product, Product.id == Complaint.product_id)
            .where(
                Complaint.received_at >= start,
                Complaint.received_at < end,
                or_(Complaint.received_as != "inquiry", Complaint.judged_at.is_not(None)),
            )
            .group_by(product)
        )
        for name, count in rows.all():
            counted[(month, name)] += count
    return counted
