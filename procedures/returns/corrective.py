"""A company fault's corrective and preventive actions (糾正措施, 預防措施; P2 4.2.6).

QC, finding a quality return to be the company's fault, names the responsible department and a
person of it (責任部門及責任人) and what is to be corrected and prevented. Each action is a record
owned by that person: told at once with a button to record what was done, reminded before the
deadline, alerted with the department's head after it (the deadline engine, rules.py). The
owner closes each with what was done; quality, which named them, is told. The owner is an
enrolled person, not a typed name: only a person with a chat can be told, reminded, close the
action and be counted in the monthly personal record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel.errors import InvalidInput, NotAllowed, NotFound, WrongState
from procedures.kernel.outbox import (
    as_deadline,
    as_text,
    button,
    notify_roles,
    notify_users,
    users_with_roles,
)
from procedures.kernel.text_input import MAX_TEXT, check_text
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.returns.actions import RecordActionDone
from procedures.returns.common import open_step, step_done, subject_params
from procedures.returns.rules import (
    ACTION_DEADLINES,
    ACTION_FOLLOWERS,
    RESPONSIBLE_DEPARTMENTS,
    ActionKind,
    ReturnDeadline,
)
from storage.models import ReturnAction, ReturnRequest, User

# each action's name, and the question when its measure is left blank
ACTION_NAMES = {
    ActionKind.CORRECTIVE: "return.action.corrective",
    ActionKind.PREVENTIVE: "return.action.preventive",
}
EMPTY_MEASURE = {
    ActionKind.CORRECTIVE: "return.empty_corrective",
    ActionKind.PREVENTIVE: "return.empty_preventive",
}


def action_name(action: ReturnAction) -> dict[str, str]:
    """The action's kind, as the reader's language names it."""
    return as_text(ACTION_NAMES[ActionKind(action.kind)])


@dataclass(frozen=True)
class Responsibility:
    """What QC decides on a company fault: the department, its person, and the two measures."""

    department: str
    owner_id: int
    corrective: str
    preventive: str


def check_department(department: str) -> str:
    """A department QC may find responsible (by the role its people hold)."""
    if department not in RESPONSIBLE_DEPARTMENTS:
        raise InvalidInput("return.bad_department")
    return department


async def people_of(session: AsyncSession, department: str) -> list[User]:
    """The enrolled, active people of the department, by name."""
    people = await users_with_roles(session, [check_department(department)])
    return sorted(people, key=lambda user: (user.full_name, user.id))


async def check_owner(
    session: AsyncSession, inspector: User, department: str, owner_id: int
) -> User:
    """The person who will own the actions: active, of the department, and not the inspector
    who found the fault (one person, one seat: who judges the fault does not answer for it)."""
    owner = await session.get(User, owner_id)
    if owner is None or not owner.active or department not in owner.role_names:
        raise InvalidInput("return.bad_owner", department=as_text(f"role.{department}"))
    if owner.id == inspector.id:
        raise NotAllowed("return.owner_is_inspector")
    return owner


def check_measure(text: str, kind: ActionKind) -> str:
    """What is to be done, as QC writes it."""
    return check_text(text, empty=EMPTY_MEASURE[kind], limit=MAX_TEXT)


async def open_actions(
    session: AsyncSession,
    request: ReturnRequest,
    inspector: User,
    responsibility: Responsibility,
    cause: str,
    now: dt.datetime,
    within: dt.timedelta,
) -> list[ReturnAction]:
    """Open the corrective and the preventive action, each with its deadline owned by the
    department; the owner is told of each at once, quality of both."""
    department = check_department(responsibility.department)
    owner = await check_owner(session, inspector, department, responsibility.owner_id)
    measures = {
        ActionKind.CORRECTIVE: check_measure(responsibility.corrective, ActionKind.CORRECTIVE),
        ActionKind.PREVENTIVE: check_measure(responsibility.preventive, ActionKind.PREVENTIVE),
    }
    due = now + within
    actions = []
    for kind, measure in measures.items():
        action = ReturnAction(
            kind=kind,
            department=department,
            owner_id=owner.id,
            measure=measure,
            opened_at=now,
            opened_by_id=inspector.id,
            due_at=due,
        )
        request.actions.append(action)
        actions.append(action)
        open_step(
            session, request, ACTION_DEADLINES[kind], now, due=due, responsible_role=department
        )
    await session.flush()  # the actions' ids, for their buttons
    request.responsible_department = department
    request.responsible_person = owner.full_name
    record_change(
        session,
        request,
        "corrective_action_opened",
        now,
        actor=inspector,
        after={
            "department": department,
            "person": owner.full_name,
            "corrective": measures[ActionKind.CORRECTIVE],
            "preventive": measures[ActionKind.PREVENTIVE],
        },
    )
    params = {
        **subject_params(request),
        "cause": cause,
        "department": as_text(f"role.{department}"),
        "person": owner.full_name,
        "due_at": as_deadline(due),
    }
    for action in actions:
        await notify_users(
            session,
            [owner],
            "return.action_assigned",
            {
                **params,
                "action": action_name(action),
                "measure": action.measure,
            },
            now=now,
            buttons=[[button("return.button.action_done", RecordActionDone(action_id=action.id))]],
            dedupe_prefix=f"return:{request.id}:action:{action.kind}",
        )
    await notify_roles(
        session,
        ACTION_FOLLOWERS,
        "return.corrective_action",
        {
            **params,
            "corrective": measures[ActionKind.CORRECTIVE],
            "preventive": measures[ActionKind.PREVENTIVE],
        },
        now=now,
        dedupe_prefix=f"return:{request.id}:corrective",
    )
    return actions


async def action_for_owner(
    session: AsyncSession, actor: User, action_id: int, *, lock: bool = False
) -> ReturnAction:
    """The action, if `actor` owns it and it is still open (asked on the press and at commit)."""
    query = select(ReturnAction).where(ReturnAction.id == action_id)
    if lock:
        query = query.with_for_update()
    action = await session.scalar(query)
    if action is None:
        raise NotFound("return.no_action")
    if action.owner_id != actor.id:
        raise NotAllowed("return.not_action_owner", person=action.owner.full_name)
    if action.done_at is not None:
        raise WrongState(
            "return.action_already_done",
            number=action.number,
            action=action_name(action),
        )
    return action


def action_details(action: ReturnAction) -> dict[str, object]:
    """What the owner's question and confirmation name besides the return's number."""
    return {"action": action_name(action), "measure": action.measure}


async def close_corrective_action(
    uow: UnitOfWork, actor: User, action_id: int, text: str
) -> ReturnAction:
    """The owner closes a corrective or preventive action with what was done: its deadline is
    met by them (their monthly record counts it) and quality is told. The return's corrective
    step is done when both are."""
    session, now = uow.session, uow.clock.now()
    action = await action_for_owner(session, actor, action_id, lock=True)
    note = check_text(text, empty="return.empty_action_note", limit=MAX_TEXT)
    action.done_at, action.done_by_id, action.done_note = now, actor.id, note
    request = action.request
    rule = ACTION_DEADLINES[ActionKind(action.kind)]
    await step_done(session, request, ReturnDeadline(rule.kind), now, actor)
    record_change(
        session,
        request,
        "corrective_action_done",
        now,
        actor=actor,
        after={"kind": str(rule.kind), "note": note},
    )
    still_open = await session.scalar(
        select(func.count())
        .select_from(ReturnAction)
        .where(ReturnAction.return_id == request.id, ReturnAction.done_at.is_(None))
    )
    if not still_open:
        request.corrective_done_at, request.corrective_done_by_id = now, actor.id
    await notify_roles(
        session,
        ACTION_FOLLOWERS,
        "return.action_done_notice",
        {
            **subject_params(request),
            **action_details(action),
            "person": actor.full_name,
            "note": note,
        },
        now=now,
        dedupe_prefix=f"return:{request.id}:action-done:{action.kind}",
    )
    await uow.commit()
    return action
