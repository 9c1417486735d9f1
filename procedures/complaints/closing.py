"""When a complaint's handling is complete (處理完畢), and closing it then.

Conforming: the disposition opinion is given and the hold is lifted. Nonconforming: the opinion
is given, the warehouse confirmed the stop of outbound and the label, the business head the stop
of sales, every buyer without a chat contact was told another way, and the goods were handed
over to the nonconforming-goods procedure. The supplier's answer is chased by a deadline of its
own and does not keep the complaint open.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.common import SUBJECT
from procedures.complaints.rules import LIFECYCLE, ComplaintDeadline, ComplaintStatus
from procedures.kernel.deadlines import meet_deadline
from procedures.kernel.timeline import record_change
from storage.models import BatchHold, BuyerNoticeTask, Complaint


async def steps_left(session: AsyncSession, complaint: Complaint) -> list[str]:
    """The steps of the complaint's handling still to be done, by name."""
    left = []
    if complaint.verification_result is None:
        left.append("verification")
    if complaint.disposition is None:
        left.append("disposition")
    hold = await session.scalar(select(BatchHold).where(BatchHold.complaint_id == complaint.id))
    if complaint.verification_result == ComplaintStatus.CONFORMING:
        if hold is not None and hold.lifted_at is None:
            left.append("hold_lift")
    elif complaint.verification_result == ComplaintStatus.NONCONFORMING:
        if hold is not None:
            for step in ("outbound_stopped", "labelled", "sales_stopped"):
                if getattr(hold, f"{step}_at") is None:
                    left.append(step)
        untold = await session.scalar(
            select(func.count())
            .select_from(BuyerNoticeTask)
            .where(BuyerNoticeTask.complaint_id == complaint.id, BuyerNoticeTask.told_at.is_(None))
        )
        if untold:
            left.append("buyer_notices")
        if complaint.handoff_at is None:
            left.append("handoff")
    return left


async def close_if_done(session: AsyncSession, complaint: Complaint, now: dt.datetime) -> None:
    """Close the complaint once nothing is left; the handling deadline (外埠) is then met."""
    if complaint.status == ComplaintStatus.CLOSED or await steps_left(session, complaint):
        return
    before = complaint.status
    LIFECYCLE.move(complaint, ComplaintStatus.CLOSED)
    complaint.closed_at = now
    record_change(
        session,
        complaint,
        "closed",
        now,
        before={"status": before},
        after={"status": ComplaintStatus.CLOSED},
    )
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        kind=ComplaintDeadline.HANDLING_COMPLETE,
        now=now,
    )
