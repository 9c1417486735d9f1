"""The append-only timeline every record change writes to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Assessment,
    Complaint,
    ConsumerComplaint,
    Defect,
    Inspection,
    MaintenanceVisit,
    Patrol,
    Rectification,
    ReturnRequest,
    TimelineEvent,
    User,
    Vendor,
    VendorScore,
)

# The subject type under which each kind of record keeps its timeline (and its deadlines and
# photos): stored on every row, so these names never change.
SUBJECT_TYPES: dict[type[Any], str] = {
    Complaint: "complaint",
    ReturnRequest: "return",
    ConsumerComplaint: "consumer_complaint",
    Patrol: "patrol",
    Defect: "defect",
    Inspection: "inspection",
    Rectification: "rectification",
    VendorScore: "vendor_score",
    MaintenanceVisit: "maintenance_visit",
    Assessment: "assessment",
    # vendors: their master data imports, a monthly score's deadline until the score exists,
    # and what the equipment manager escalates about them
    Vendor: "vendor",
}


def record_event(
    session: AsyncSession,
    *,
    subject_type: str,
    subject_id: int,
    action: str,
    at: dt.datetime,
    actor_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> TimelineEvent:
    event = TimelineEvent(
        subject_type=subject_type,
        subject_id=subject_id,
        action=action,
        actor_id=actor_id,
        at=at,
        before=before,
        after=after,
    )
    session.add(event)
    return event


def record_change(
    session: AsyncSession,
    record: Any,
    action: str,
    now: dt.datetime,
    *,
    actor: User | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Append `action` to the timeline of a procedure's record (a complaint, return, defect...)."""
    return record_event(
        session,
        subject_type=SUBJECT_TYPES[type(record)],
        subject_id=record.id,
        action=action,
        at=now,
        actor_id=actor.id if actor is not None else None,
        before=before,
        after=after,
    )


async def times_recorded(session: AsyncSession, record: Any, action: str) -> int:
    """How often `action` is on the record's timeline, counting one recorded in this unit of
    work: the round of a step that can repeat, for a dedupe key that is not a time."""
    count = await session.scalar(
        select(func.count())
        .select_from(TimelineEvent)
        .where(
            TimelineEvent.subject_type == SUBJECT_TYPES[type(record)],
            TimelineEvent.subject_id == record.id,
            TimelineEvent.action == action,
        )
    )
    return int(count or 0)


async def events_of(
    session: AsyncSession, subject_type: str, subject_id: int
) -> list[TimelineEvent]:
    rows = await session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.subject_type == subject_type, TimelineEvent.subject_id == subject_id)
        .order_by(TimelineEvent.id)
    )
    return list(rows)
