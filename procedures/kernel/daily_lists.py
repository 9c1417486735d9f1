"""The first message of a working day, for those who ask for it: the list of what waits on them
(/todo), once a day.

The outbox's dedupe key names the person and the local day, so the list is a record of its day
as a periodic duty is of its period: a scheduler that was down at the start of the day sends it
when it runs later that working day, and none sends it twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from procedures.kernel.deadlines import Waiting, waiting_on
from procedures.kernel.outbox import as_text, notify_users
from procedures.kernel.working_hours import WorkingHours
from storage.models import OutboxMessage, User

DAILY_LIST = "deadline.todo.daily"


def item_of(waiting: Waiting) -> dict[str, Any]:
    """What the list shows of one deadline (bot.digests renders it at delivery)."""
    deadline = waiting.deadline
    return {
        "type": deadline.subject_type,
        "number": waiting.subject.number or deadline.subject_label,
        "about": waiting.subject.about,
        "kind": as_text(f"deadline.kind.{deadline.kind}"),
        "due": deadline.due_at.isoformat(),
        "overdue": waiting.overdue,
        "opens": waiting.opens.pack() if waiting.opens is not None else None,
    }


def _prefix(day: dt.date) -> str:
    return f"todo-daily:{day.isoformat()}"


async def queue_daily_lists(session: AsyncSession, *, now: dt.datetime, hours: WorkingHours) -> int:
    """Queue today's list for each person who asked for it and whose working hours have begun
    (on a working day), unless it went today already or nothing waits on them."""
    day = now.astimezone(hours.timezone).date()
    people = list(
        await session.scalars(
            select(User)
            .where(User.daily_list.is_(True), User.active.is_(True))
            .options(selectinload(User.roles))
            .order_by(User.id)
        )
    )
    keys = {f"{_prefix(day)}:u{user.id}" for user in people}
    sent = (
        set(
            await session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))
            )
        )
        if keys
        else set()
    )
    queued = 0
    for user in people:
        if f"{_prefix(day)}:u{user.id}" in sent:
            continue
        if hours.for_person(user.working_hours).next_open(now) != now:
            continue  # not a working day, or their hours have not begun (or are over)
        roles = frozenset(role.role for role in user.roles)
        waiting = await waiting_on(session, user.id, roles, now=now)
        if not waiting:
            continue
        await notify_users(
            session,
            [user],
            DAILY_LIST,
            {"items": [item_of(w) for w in waiting]},
            now=now,
            dedupe_prefix=_prefix(day),
        )
        queued += 1
    return queued
