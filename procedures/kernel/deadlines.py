"""Deadlines as rows, and the sweep that reminds before and alerts after them.

Each kind's rule (procedures.kernel.rules, declared by its record type) says who owns it and who
hears of it. A reminder goes to the rule's reminded audience once its share of the window has
passed (75 % unless the rule says otherwise); an overdue alert goes to its alerted audience (the
owner and the owner's head unless the rule says otherwise) when the deadline passes, and again
every day while it stays open. A deadline about one equipment system reaches that system's staff
(whom procedures.equipment.queries names through `answer_for_systems`) in place of its owner.
The sweep is idempotent: each message has a dedupe key, and a sweep after a gap sends only what
is current, not one message per missed minute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel import roles
from procedures.kernel.outbox import Notice, as_deadline, as_text, queue_notices, users_with_roles
from procedures.kernel.rules import (
    OWNER,
    OWNER_AND_HEAD,
    DeadlineRule,
    Recipients,
    rule_of,
)
from procedures.kernel.timeline import record_event
from storage.models import Deadline, User

OVERDUE_REPEAT = dt.timedelta(days=1)


def open_deadline(
    session: AsyncSession,
    *,
    rule: DeadlineRule,
    subject_type: str,
    subject_id: int,
    subject_label: str,
    opened_at: dt.datetime,
    due_at: dt.datetime | None = None,
    responsible_role: str | None = None,
    system: str | None = None,
) -> Deadline:
    """Open a deadline of `rule`'s kind, due after the rule's window unless `due_at` says when
    (a rule whose due time is the procedure's own names it); owned by the rule's owner unless
    `responsible_role` names another (an inspection's system owner)."""
    due = due_at if due_at is not None else rule.due(opened_at)
    if due <= opened_at:
        raise ValueError("a deadline must fall after the moment it opens")
    remind_at = opened_at + (due - opened_at) * rule.remind_at
    deadline = Deadline(
        subject_type=subject_type,
        subject_id=subject_id,
        subject_label=subject_label,
        kind=str(rule.kind),
        responsible_role=responsible_role or rule.owner,
        system=system,
        opened_at=opened_at,
        due_at=due,
        remind_at=remind_at,
        next_check_at=remind_at,
        alert_count=0,
    )
    session.add(deadline)
    return deadline


class ClosedAs(StrEnum):
    MET = "met"
    WAIVED = "waived"


async def _open_deadline_of(
    session: AsyncSession,
    subject_type: str,
    subject_id: int,
    kind: str,
    subject_label: str | None = None,
) -> Deadline | None:
    query = select(Deadline).where(
        Deadline.subject_type == subject_type,
        Deadline.subject_id == subject_id,
        Deadline.kind == kind,
        Deadline.met_at.is_(None),
    )
    if subject_label is not None:
        query = query.where(Deadline.subject_label == subject_label)
    return await session.scalar(query)


def close_deadline(
    deadline: Deadline, now: dt.datetime, closed_as: ClosedAs, *, by: User | None = None
) -> Deadline:
    """Close an open deadline: the sweep stops at once. A met one is late or in time; a waived
    one (the step was decided unnecessary) is neither, and reports count it apart. `by` is the
    person whose act closed it, for their monthly record (None: no one person's)."""
    deadline.met_at, deadline.closed_as = now, closed_as
    deadline.met_by_id = by.id if by is not None else None
    deadline.met_late = now > deadline.due_at if closed_as == ClosedAs.MET else None
    return deadline


async def meet_deadline(
    session: AsyncSession,
    *,
    subject_type: str,
    subject_id: int,
    kind: str,
    now: dt.datetime,
    subject_label: str | None = None,
    by: User | None = None,
) -> Deadline | None:
    """Mark the open deadline of this kind met; a late one stays visible as late. A subject with
    several open deadlines of one kind (a vendor's score, month by month) names it by label."""
    deadline = await _open_deadline_of(session, subject_type, subject_id, kind, subject_label)
    return None if deadline is None else close_deadline(deadline, now, ClosedAs.MET, by=by)


async def waive_deadline(
    session: AsyncSession,
    *,
    subject_type: str,
    subject_id: int,
    kind: str,
    now: dt.datetime,
    by: User | None = None,
) -> Deadline | None:
    """Close the open deadline of this kind as waived: not met, and not late either."""
    deadline = await _open_deadline_of(session, subject_type, subject_id, kind)
    return None if deadline is None else close_deadline(deadline, now, ClosedAs.WAIVED, by=by)


@dataclass(frozen=True)
class SweepResult:
    reminders: int
    overdue_alerts: int
    messages: int
    checked: int = 0  # due deadlines looked at (some need no message yet)

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(
            self.reminders + other.reminders,
            self.overdue_alerts + other.overdue_alerts,
            self.messages + other.messages,
            self.checked + other.checked,
        )


def _params(deadline: Deadline) -> dict[str, object]:
    return {
        "subject": deadline.subject_label,
        "kind": as_text(f"deadline.kind.{deadline.kind}"),
        "due_at": as_deadline(deadline.due_at),
    }


# Who answers for an equipment system, as the equipment rules name them: the kernel knows no
# record type, so the equipment package registers its finder when its rules are loaded.
SystemStaff = Callable[[AsyncSession, str], Awaitable[list[User]]]
_staff_of_system: list[SystemStaff] = []


def answer_for_systems(finder: SystemStaff) -> None:
    """Name who stands for the responsible role of a deadline about one system."""
    _staff_of_system[:] = [finder]


async def system_staff(session: AsyncSession, system: str) -> list[User]:
    if not _staff_of_system:
        raise LookupError("no record type names who answers for equipment systems")
    return await _staff_of_system[0](session, system)


async def sweep_deadlines(
    session: AsyncSession, *, now: dt.datetime, limit: int = 500
) -> SweepResult:
    """Send what is due for every open deadline whose next check has come; caller commits."""
    query = (
        select(Deadline)
        .where(Deadline.met_at.is_(None), Deadline.next_check_at <= now)
        .order_by(Deadline.next_check_at)
        .limit(limit)
        # Two sweepers (bot and a split-off scheduler) never take the same row on PostgreSQL;
        # SQLite serialises writers anyway.
        .with_for_update(skip_locked=True)
    )
    reminders = alerts = checked = 0
    recipients_of: dict[tuple[str | None, ...], list[User]] = {}

    async def recipients(system: str | None, *role_names: str) -> list[User]:
        # One sweep may alert hundreds of deadlines of the same roles: look each set up once.
        key = (system, *role_names)
        if key not in recipients_of:
            if system is None:
                recipients_of[key] = await users_with_roles(session, role_names)
            else:  # the system's staff stand for the responsible role; its head is as ever
                staff = await system_staff(session, system)
                heads = await users_with_roles(session, role_names[1:]) if role_names[1:] else []
                recipients_of[key] = [*staff, *heads]
        return recipients_of[key]

    async def audience_of(deadline: Deadline, overdue: bool) -> list[Recipients]:
        rule = rule_of(deadline.kind)
        if rule is None:  # a kind no record type declares: its owner, and its head when late
            audience = OWNER_AND_HEAD if overdue else OWNER
        else:
            audience = rule.alerted if overdue else rule.reminded
        groups: list[Recipients] = []
        owner = deadline.responsible_role
        head = roles.head_of(owner) if audience.owner_head else None
        if audience.owner:
            groups.append(
                Recipients(await recipients(deadline.system, owner, *filter(None, [head])))
            )
        elif head is not None:
            groups.append(Recipients(await recipients(None, head)))
        if audience.roles:
            groups.append(Recipients(await recipients(None, *audience.roles)))
        if audience.subject is not None:
            groups.extend(await audience.subject(session, deadline, overdue))
        return groups

    # every message of the sweep, queued together at the end (one dedupe lookup, one insert)
    notices: list[Notice] = []

    async def notify(
        deadline: Deadline, overdue: bool, text_key: str, step: str, **extra: object
    ) -> None:
        told: set[int] = set()  # one message a person, even if named in two groups
        for group in await audience_of(deadline, overdue):
            notices.append(
                Notice(
                    users=[user for user in group.users if user.id not in told],
                    text_key=text_key,
                    params={**_params(deadline), **extra},
                    buttons=group.buttons,
                    dedupe_prefix=f"deadline:{deadline.id}:{step}",
                )
            )
            told.update(user.id for user in group.users)

    for deadline in list(await session.scalars(query)):
        checked += 1
        if now < deadline.due_at:
            if deadline.reminded_at is None:
                await notify(deadline, False, "deadline.reminder", "reminder")
                deadline.reminded_at = now
                reminders += 1
            deadline.next_check_at = deadline.due_at
            continue

        ordinal = int((now - deadline.due_at) / OVERDUE_REPEAT)
        if deadline.alert_count <= ordinal:
            await notify(
                deadline,
                True,
                "deadline.overdue",
                f"overdue:{ordinal}",
                days_overdue=ordinal,
            )
            record_event(
                session,
                subject_type=deadline.subject_type,
                subject_id=deadline.subject_id,
                action="deadline_overdue",
                at=now,
                after={
                    "kind": deadline.kind,
                    "due_at": deadline.due_at.isoformat(),
                    "alert": ordinal,
                },
            )
            deadline.alert_count = ordinal + 1
            deadline.alerted_at = now
            alerts += 1
        deadline.next_check_at = deadline.due_at + OVERDUE_REPEAT * (ordinal + 1)
    messages = await queue_notices(session, notices, now=now)
    return SweepResult(
        reminders=reminders, overdue_alerts=alerts, messages=messages, checked=checked
    )
