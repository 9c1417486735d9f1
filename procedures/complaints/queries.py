"""Reading complaints: who may see one, lists, the work queue, deadlines, the quarterly report."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Batch, BatchHold, Complaint, Deadline, User

from .. import roles
from ..actions import ApproveQuarterly
from ..calendar import previous_quarter
from ..errors import NotFound
from ..outbox import button, notify_roles
from .common import ACTIVE_STATUSES, SUBJECT

# Who sees every complaint.
STAFF_VIEWERS = frozenset(
    {
        roles.QUALITY,
        roles.QUALITY_HEAD,
        roles.AFTER_SALES,
        roles.AFTER_SALES_HEAD,
        roles.BUSINESS_HEAD,
        roles.WAREHOUSE,
        roles.COMPANY_LEADER,
        roles.ADMIN,
    }
)
# Who receives the quarterly complaint report, and who may ask for the ledger at any time. The
# business department collects and archives service information (綜合業務部負責用戶服務信息的
# 采集和歸檔管理), so its head reads both.
REPORT_READERS = frozenset({roles.QUALITY_HEAD, roles.QUALITY, roles.BUSINESS_HEAD})
LEDGER_READERS = frozenset(
    {
        roles.QUALITY,
        roles.QUALITY_HEAD,
        roles.AFTER_SALES_HEAD,
        roles.BUSINESS_HEAD,
        roles.COMPANY_LEADER,
        roles.ADMIN,
    }
)


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


async def is_on_hold(session: AsyncSession, product_id: int, batch_id: int | None) -> bool:
    """May this product (of this lot, if known) not be shipped? Not while a complaint's hold
    covers it: a product hold covers every lot, a lot hold its lot (and a lot not named is
    covered by any hold of its product); nor once its lot was found nonconforming."""
    if batch_id is not None:
        batch = await session.get(Batch, batch_id)
        if batch is not None and batch.nonconforming_since is not None:
            return True
    covering = BatchHold.scope == "product"
    if batch_id is None:
        covering = or_(covering, BatchHold.scope == "lot")
    else:
        covering = or_(covering, BatchHold.batch_id == batch_id)
    active = await session.scalar(
        select(func.count())
        .select_from(BatchHold)
        .where(BatchHold.product_id == product_id, BatchHold.lifted_at.is_(None), covering)
    )
    return bool(active)


def may_see(viewer: User, complaint: Complaint) -> bool:
    if viewer.role_names & STAFF_VIEWERS:
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
