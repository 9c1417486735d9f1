"""The append-only timeline every record change writes to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import TimelineEvent


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


async def events_of(
    session: AsyncSession, subject_type: str, subject_id: int
) -> list[TimelineEvent]:
    rows = await session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.subject_type == subject_type, TimelineEvent.subject_id == subject_id)
        .order_by(TimelineEvent.id)
    )
    return list(rows)
