"""Each person's monthly record (seed part 2, 獎罰辦法): the facts the rewards and penalties are
judged on, by people. For each person, the steps they were responsible for in the month across
P1, P2 and P3 (the deadline rows: who closed each, in time or late), and the steps still not
done when the month ended; sent to each department's head on the 1st.

A step is the department's whose role the deadline names (HEAD_OF); the person is the one whose
act closed it (`Deadline.met_by_id`). A step no one person closes (a complaint's handling, a
vendor's repair that the technician accepts) or one still open stays under the role alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel import roles
from procedures.kernel.calendar import previous_month
from procedures.kernel.outbox import as_text, notify_users, users_with_roles
from procedures.kernel.rules import Outcome, outcome
from procedures.people.users import names_of
from storage.models import Deadline

# 5.3: the after-sales staff's service is judged monthly by the business department (經營部),
# so the business head reads their record beside the after-sales head.
ALSO_READ_BY: dict[str, frozenset[str]] = {roles.BUSINESS_HEAD: frozenset({roles.AFTER_SALES})}
HEADS = tuple(sorted(set(roles.HEAD_OF.values())))
OUTCOMES = ("on_time", "late", "waived", "not_done")


def roles_read_by(head: str) -> frozenset[str]:
    """The roles whose steps the head of a department reads: those they head (HEAD_OF), and
    those the seed has them judge besides."""
    headed = {role for role, its_head in roles.HEAD_OF.items() if its_head == head}
    return frozenset(headed | ALSO_READ_BY.get(head, frozenset()))


@dataclass(frozen=True)
class Step:
    """One deadline in a month's record: who closed it (if one person did) and how."""

    person: str  # "" when no one person closed it
    responsible_role: str
    subject: str
    kind: str
    due_at: dt.datetime
    closed_at: dt.datetime | None
    outcome: str  # on_time | late | waived | not_done


def _outcome(deadline: Deadline, end: dt.datetime) -> str:
    found = outcome(deadline, as_of=end)
    return "not_done" if found == Outcome.OPEN else found.value  # still open when the month ended


async def steps_of_month(
    session: AsyncSession, start: dt.datetime, end: dt.datetime, responsible_roles: frozenset[str]
) -> list[Step]:
    """The steps of these roles closed in [start, end), and those due before `end` still open
    at `end`; by person, then due time."""
    closed_in_month = and_(Deadline.met_at >= start, Deadline.met_at < end)
    open_at_end = and_(
        Deadline.due_at < end, or_(Deadline.met_at.is_(None), Deadline.met_at >= end)
    )
    deadlines = list(
        await session.scalars(
            select(Deadline)
            .where(
                Deadline.responsible_role.in_(sorted(responsible_roles)),
                or_(closed_in_month, open_at_end),
            )
            .order_by(Deadline.due_at, Deadline.id)
        )
    )
    names = await names_of(session, (d.met_by_id for d in deadlines))
    steps = [
        Step(
            person=names.get(d.met_by_id, "") if d.met_by_id is not None else "",
            responsible_role=d.responsible_role,
            subject=d.subject_label,
            kind=d.kind,
            due_at=d.due_at,
            closed_at=d.met_at if d.met_at is not None and d.met_at < end else None,
            outcome=_outcome(d, end),
        )
        for d in deadlines
    ]
    # a person's steps together; the steps no one person closed last
    return sorted(steps, key=lambda s: (s.person == "", s.person, s.due_at))


async def queue_personal_records(
    session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo
) -> int:
    """On the 1st: last month's record of their department's people to each head, once."""
    period = previous_month(now, timezone)
    queued = 0
    for head in HEADS:
        heads = await users_with_roles(session, [head])
        queued += len(
            await notify_users(
                session,
                heads,
                "record.ready",
                {"period": period, "head": as_text(f"role.{head}")},
                now=now,
                attachment={"kind": "personal_record", "params": {"period": period, "head": head}},
                dedupe_prefix=f"report:personal-record:{period}:{head}",
            )
        )
    return queued
