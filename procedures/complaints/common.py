"""What the complaint modules share: the subject name, statuses, loading and message params."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel.deadlines import open_deadline
from procedures.kernel.errors import NotFound
from procedures.kernel.timeline import SUBJECT_TYPES
from storage.models import Complaint, Deadline

SUBJECT = SUBJECT_TYPES[Complaint]


class ComplaintStatus(StrEnum):
    """A complaint's status; conforming and nonconforming are also the verification results."""

    OPEN = "open"
    INVESTIGATING = "investigating"
    CONFORMING = "conforming"
    NONCONFORMING = "nonconforming"
    CLOSED = "closed"


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
        "quantity": complaint.quantity,
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
    kind: str,
    role: str,
    due: dt.datetime,
    now: dt.datetime,
    label: str | None = None,
) -> Deadline:
    """A deadline on the complaint, opened now, labelled with its number (or `label`)."""
    return open_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        subject_label=label or complaint.number,
        kind=kind,
        responsible_role=role,
        opened_at=now,
        due_at=due,
    )
