"""One person, one seat: the steps a procedure gives to different departments (the three
signatures before booking in, filing and approving, verifying a repair and reporting it) are
never taken by the same person, whatever roles that person holds."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel.errors import NotAllowed
from procedures.kernel.outbox import as_text
from storage.models import TimelineEvent

# A step already taken on a record and who took it (None: nobody yet, or the system).
Seat = tuple[str, int | None]


def require_other_person(
    number: str, step: str, actor_id: int, taken: Iterable[Seat], apart_from: Iterable[str]
) -> None:
    """Refuse `step` on record `number` to the person who already took one of the steps
    `apart_from` on it; the refusal names that step. Seats of `step` itself do not count (the
    same department may sign its own seat twice over, as a head countersigning)."""
    apart = frozenset(apart_from) - {step}
    for other_step, by in taken:
        if by == actor_id and other_step in apart:
            raise NotAllowed(
                "separation.same_person",
                number=number,
                step=as_text(f"separation.seat.{step}"),
                other=as_text(f"separation.step.{other_step}"),
            )


async def last_actor(
    session: AsyncSession, subject_type: str, subject_id: int, action: str
) -> int | None:
    """Who last took `action` on a record, by its timeline: for a step with no column of its
    own (a vendor's repair)."""
    return await session.scalar(
        select(TimelineEvent.actor_id)
        .where(
            TimelineEvent.subject_type == subject_type,
            TimelineEvent.subject_id == subject_id,
            TimelineEvent.action == action,
        )
        .order_by(TimelineEvent.id.desc())
        .limit(1)
    )
