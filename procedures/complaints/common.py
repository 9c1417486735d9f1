"""What the complaint modules share: the subject name, statuses, loading and message params."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.rules import ComplaintStatus
from procedures.kernel.deadlines import open_deadline
from procedures.kernel.errors import NotFound
from procedures.kernel.quantities import as_quantity
from procedures.kernel.rules import DeadlineRule
from procedures.kernel.timeline import SUBJECT_TYPES
from storage.models import Complaint, Deadline

SUBJECT = SUBJECT_TYPES[Complaint]


ACTIVE_STATUSES = (
    ComplaintStatus.OPEN,
    ComplaintStatus.INVESTIGATING,
    ComplaintStatus.CONFORMING,
    ComplaintStatus.NONCONFORMING,
)


def subject_params(complaint: Complaint) -> dict[str, Any]:
    return {
        "number": complaint.number,
        "product": complaint.product_label,
        "lot": complaint.lot_label,
        "quantity": as_quantity(complaint.quantity, complaint.unit),
        "organisation": complaint.organisation.name,
    }


async def load_complaint(
    session: AsyncSession, complaint_id: int, *, lock: bool = True
) -> Complaint:
    query = select(Complaint).where(Complaint.id == complaint_id)
    if lock:
        query = query.with_for_update()
    complaint = await session.scalar(query)
    if complaint is None:
        raise NotFound("complaint.not_found")
    # relationships used in messages, loaded now (no lazy IO under asyncio)
    await session.refresh(complaint, ["organisation", "product", "batch"])
    return complaint


def open_complaint_deadline(
    session: AsyncSession,
    complaint: Complaint,
    rule: DeadlineRule,
    now: dt.datetime,
    due: dt.datetime | None = None,
    label: str | None = None,
) -> Deadline:
    """A deadline of `rule` on the complaint, opened now (due after the rule's window unless
    `due` says when), labelled with its number (or `label`)."""
    return open_deadline(
        session,
        rule=rule,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        subject_label=label or complaint.number,
        opened_at=now,
        due_at=due,
    )
