"""Deadlines as rows, and the sweep that reminds before and alerts after them.

Each kind's rule (procedures.kernel.rules, declared by its record type) says who owns it and who
hears of it. A reminder goes to the rule's reminded audience once its share of the window has
passed (75 % unless the rule says otherwise), while at least half of the time between the
reminder and the deadline is left: a reminder found later (a sweep after downtime, a step whose
window is nearly spent) is dropped, as a person could no longer act on it and the overdue alert
follows shortly; so one deadline never gets a reminder after its due time, nor a reminder and an
alert within moments of each other. An overdue alert goes to its alerted audience (the
owner and the owner's head unless the rule says otherwise) when the deadline passes, and again
every day while it stays open. A deadline about one equipment system reaches that system's staff
(whom procedures.equipment.queries names through `answer_for_systems`) in place of its owner.
The sweep is idempotent: each message has a dedupe key, and a sweep after a gap sends only what
is current, not one message per missed minute.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel import roles
from procedures.kernel.actions import CallbackAction
from procedures.kernel.outbox import (
    Notice,
    as_deadline,
    as_text,
    button,
    queue_notices,
    users_with_roles,
)
from procedures.kernel.rules import (
    OWNER,
    OWNER_AND_HEAD,
    DeadlineRule,
    Recipients,
    rule_of,
)
from procedures.kernel.timeline import record_event
from procedures.kernel.working_hours import WorkingHours
from storage.models import Deadline, User

OVERDUE_REPEAT = dt.timedelta(days=1)
REMINDER, OVERDUE = "deadline.reminder", "deadline.overdue"
# a deadline whose notice cannot be made (its record's data refused by a text or a button) is
# passed over for this long, so that it neither stops the sweep nor fills the log every sweep
UNANNOUNCEABLE_RETRY = dt.timedelta(hours=1)

logger = logging.getLogger(__name__)
# the messages the sender folds into one digest when several wait for one chat (bot.digests)
DIGEST_TEXT_KEYS = frozenset({REMINDER, OVERDUE})


class ShowWaiting(CallbackAction, prefix="todo:show"):
    """Shows what waits on the person who presses it, as /todo does."""


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
    remind_at = opened_at + (due - opened_at) * rule.remind_share
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


def reminder_stale_at(deadline: Deadline) -> dt.datetime:
    """When less than half the reminder's lead (from its time to the deadline) is left: after
    that the alert is near, and a reminder would only precede it."""
    return deadline.due_at - (deadline.due_at - deadline.remind_at) / 2


def still_worth_reminding(deadline: Deadline, now: dt.datetime) -> bool:
    """A reminder goes (or is held for working hours) only until it is stale."""
    return now < reminder_stale_at(deadline)


@dataclass(frozen=True)
class Subject:
    """What a deadline's messages call its record: its number, who and what it is about (a
    text parameter: the customer and product, the asset and vendor), and the action that opens
    it, where the record type has one."""

    number: str | None  # None: the deadline's own label (a vendor's score is month by month)
    about: dict[str, Any]
    opens: CallbackAction | None = None
    # what cannot wait for working hours whatever its kind (an urgent repair)
    urgent: bool = False


# How each record type describes its records, by subject type, many at once: registered by
# procedures.deadline_subjects, as the kernel knows no record type.
SubjectFinder = Callable[[AsyncSession, Sequence[int]], Awaitable[dict[int, Subject]]]
_describers: dict[str, SubjectFinder] = {}


def describe_subjects(subject_type: str) -> Callable[[SubjectFinder], SubjectFinder]:
    """Register the finder that describes the records of `subject_type` by id."""

    def register(finder: SubjectFinder) -> SubjectFinder:
        _describers[subject_type] = finder
        return finder

    return register


def described_subject_types() -> frozenset[str]:
    """The subject types some record type describes (each has its group in a digest)."""
    return frozenset(_describers)


async def subjects_of(session: AsyncSession, found: Sequence[Deadline]) -> dict[int, Subject]:
    """Each deadline's subject by deadline id: one query per record type. A record type that
    describes nothing (or a record gone) is named by the deadline's own label."""
    ids_by_type: dict[str, set[int]] = {}
    for deadline in found:
        ids_by_type.setdefault(deadline.subject_type, set()).add(deadline.subject_id)
    described: dict[tuple[str, int], Subject] = {}
    for subject_type, ids in ids_by_type.items():
        finder = _describers.get(subject_type)
        if finder is not None:
            for subject_id, subject in (await finder(session, sorted(ids))).items():
                described[subject_type, subject_id] = subject
    plain = {"$text": "deadline.about.none"}
    return {
        deadline.id: described.get(
            (deadline.subject_type, deadline.subject_id), Subject(deadline.subject_label, plain)
        )
        for deadline in found
    }


def span(delta: dt.timedelta) -> dict[str, Any]:
    """A text parameter for how long: minutes under an hour, hours under a day, else days and
    hours, each rounded down (never "0 full days" for an alert that is hours late)."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return as_text("deadline.span.minutes", count=minutes)
    if minutes < 24 * 60:
        return as_text("deadline.span.hours", count=minutes // 60)
    days, hours = divmod(minutes // 60, 24)
    if hours == 0:
        return as_text("deadline.span.days", count=days)
    return as_text("deadline.span.days_hours", days=days, hours=hours)


def _params(
    deadline: Deadline, subject: Subject, now: dt.datetime, overdue: bool
) -> dict[str, Any]:
    rule = rule_of(deadline.kind)
    step = rule.step(deadline) if rule is not None and rule.step is not None else None
    opens = subject.opens or step
    number = subject.number or deadline.subject_label
    if rule is not None and rule.per_party:
        number = deadline.subject_label  # which of the record's parties
    return {
        "subject": deadline.subject_label,
        "number": number,
        "about": subject.about,
        "kind": as_text(f"deadline.kind.{deadline.kind}"),
        "due_at": as_deadline(deadline.due_at),
        # how late, or how long is left
        "span": span(now - deadline.due_at if overdue else deadline.due_at - now),
        # what a digest of several deadlines lists of this one (bot.digests)
        "item": {
            "type": deadline.subject_type,
            "due": deadline.due_at.isoformat(),
            "overdue": overdue,
            "opens": opens.pack() if opens is not None else None,
        },
    }


def _buttons(deadline: Deadline, subject: Subject) -> list[list[dict[str, Any]]]:
    """The step's own button, where its rule names one, and the one that opens the record."""
    rule = rule_of(deadline.kind)
    rows = []
    if rule is not None and rule.step is not None:
        rows.append([button("deadline.button.step", rule.step(deadline))])
    if subject.opens is not None:
        number = subject.number or deadline.subject_label
        rows.append([button("deadline.button.open", subject.opens, number=number)])
    return rows


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


class Audiences:
    """Who hears of a deadline, as its rule says, for one sweep or one person's list: each set
    of role holders looked up once (a sweep may alert hundreds of deadlines of the same roles)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._holders: dict[tuple[str | None, ...], list[User]] = {}

    async def _recipients(self, system: str | None, *role_names: str) -> list[User]:
        key = (system, *role_names)
        if key not in self._holders:
            if system is None:
                self._holders[key] = await users_with_roles(self.session, role_names)
            else:  # the system's staff stand for the responsible role; its head is as ever
                staff = await system_staff(self.session, system)
                heads = (
                    await users_with_roles(self.session, role_names[1:]) if role_names[1:] else []
                )
                self._holders[key] = [*staff, *heads]
        return self._holders[key]

    async def of(self, deadline: Deadline, overdue: bool) -> list[Recipients]:
        """The reminded audience (`overdue` False) or the alerted one, in groups with their
        buttons."""
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
                Recipients(await self._recipients(deadline.system, owner, *filter(None, [head])))
            )
        elif head is not None:
            groups.append(Recipients(await self._recipients(None, head)))
        if audience.roles:
            groups.append(Recipients(await self._recipients(None, *audience.roles)))
        if audience.subject is not None:
            groups.extend(await audience.subject(self.session, deadline, overdue))
        return groups


async def sweep_deadlines(
    session: AsyncSession,
    *,
    now: dt.datetime,
    limit: int = 500,
    gather: bool = False,
    hours: WorkingHours | None = None,
) -> SweepResult:
    """Send what is due for every open deadline whose next check has come; caller commits.
    With `gather`, the messages wait for the end of the whole sweep (outbox.release_held),
    so that each person gets one digest of it. With `hours`, a routine reminder waits for each
    recipient's working hours; an urgent one (its rule's, or its record's: an urgent repair)
    and every overdue alert go at once."""
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
    audiences = Audiences(session)

    # every message of the sweep, queued together at the end (one dedupe lookup, one insert)
    notices: list[Notice] = []

    async def notify(
        deadline: Deadline, overdue: bool, text_key: str, step: str, **extra: object
    ) -> None:
        told: set[int] = set()  # one message a person, even if named in two groups
        subject = subjects[deadline.id]
        params = {**_params(deadline, subject, now, overdue), **extra}
        own = _buttons(deadline, subject)
        rule = rule_of(deadline.kind)
        urgent = subject.urgent or (rule is not None and rule.urgent)
        for group in await audiences.of(deadline, overdue):
            notices.append(
                Notice(
                    users=[user for user in group.users if user.id not in told],
                    text_key=text_key,
                    params=params,
                    buttons=[*(group.buttons or []), *own] or None,
                    dedupe_prefix=f"deadline:{deadline.id}:{step}",
                    routine=not overdue and not urgent,
                    stale_at=reminder_stale_at(deadline),
                )
            )
            told.update(user.id for user in group.users)

    found = list(await session.scalars(query))
    subjects = await subjects_of(session, found)
    for deadline in found:
        checked += 1
        queued = len(notices)
        try:
            if now < deadline.due_at:
                if deadline.reminded_at is None and still_worth_reminding(deadline, now):
                    await notify(deadline, False, REMINDER, "reminder")
                    deadline.reminded_at = now
                    reminders += 1
                deadline.next_check_at = deadline.due_at
                continue
            ordinal = int((now - deadline.due_at) / OVERDUE_REPEAT)
            if deadline.alert_count <= ordinal:
                await notify(
                    deadline,
                    True,
                    OVERDUE,
                    f"overdue:{ordinal}",
                    days_overdue=ordinal,
                )
        except SQLAlchemyError:
            raise  # the transaction failed: the whole sweep is rolled back and tried again
        except Exception:
            # one bad row never stops the rows behind it
            del notices[queued:]
            logger.exception(
                "deadline %s (%s %s) could not be announced; passed over for %s",
                deadline.id,
                deadline.subject_type,
                deadline.subject_label,
                UNANNOUNCEABLE_RETRY,
            )
            deadline.next_check_at = now + UNANNOUNCEABLE_RETRY
            continue
        if deadline.alert_count <= ordinal:
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
    messages = await queue_notices(session, notices, now=now, gather=gather, hours=hours)
    return SweepResult(
        reminders=reminders, overdue_alerts=alerts, messages=messages, checked=checked
    )


@dataclass(frozen=True)
class Waiting:
    """An open deadline that waits on someone, as their list shows it."""

    deadline: Deadline
    subject: Subject
    overdue: bool
    opens: CallbackAction | None


# the open deadlines one person's list looks at, the soonest due first
WAITING_LIMIT = 2000


async def waiting_on(
    session: AsyncSession, user_id: int, user_roles: frozenset[str], *, now: dt.datetime
) -> list[Waiting]:
    """The open deadlines whose reminder (or, once past due, alert) reaches this person, as the
    rules give each one's audience, most overdue first, then soonest due."""
    heads_of = {role for role, head in roles.HEAD_OF.items() if head in user_roles}
    # kinds whose audience names roles of its own or people tied to the record
    other_kinds = [
        kind
        for kind, rule in DeadlineRule.registry.items()
        for audience in (rule.reminded, rule.alerted)
        if audience.subject is not None or set(audience.roles) & user_roles
    ]
    query = (
        select(Deadline)
        .where(
            Deadline.met_at.is_(None),
            or_(
                Deadline.responsible_role.in_(user_roles | heads_of),
                Deadline.kind.in_(sorted(set(other_kinds))),
            ),
        )
        .order_by(Deadline.due_at)
        .limit(WAITING_LIMIT)
    )
    found = list(await session.scalars(query))
    subjects = await subjects_of(session, found)
    audiences = Audiences(session)
    waiting = []
    for deadline in found:
        overdue = now >= deadline.due_at
        groups = await audiences.of(deadline, overdue)
        if not any(user.id == user_id for group in groups for user in group.users):
            continue
        rule = rule_of(deadline.kind)
        step = rule.step(deadline) if rule is not None and rule.step is not None else None
        subject = subjects[deadline.id]
        waiting.append(Waiting(deadline, subject, overdue, subject.opens or step))
    waiting.sort(key=lambda w: (not w.overdue, w.deadline.due_at))
    return waiting
