"""P2 4.2.6 with an injected clock: a company fault opens a corrective and a preventive action,
each owned by a person of the responsible department, reminded, alerted with the department's
head and quality, closed only by its owner with what was done, and counted in their record."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.services import Services
from procedures import personal_records
from procedures.kernel import deadlines
from procedures.kernel.errors import InvalidInput, NotAllowed, WrongState
from procedures.returns import corrective, goods, review
from procedures.returns.corrective import Responsibility
from procedures.returns.goods import Inspection
from procedures.returns.rules import ReturnStatus
from storage.models import Deadline, ReturnAction, User
from tests.conftest import SHANGHAI

from .helpers import act, make_user, outbox_rows
from .test_returns import Staff, request, stored

CAUSE = "Cuffs crushed in storage: stacked above the rack's limit."
FIX = "Re-inspect the cuffs on rack B and set the damaged ones apart."
PREVENT = "Mark rack B's stacking limit and check it in the weekly tour."


async def delivered_quality_return(services: Services, staff: Staff) -> int:
    filed = await request(services, 2, reason="quality")
    await act(services, review.sign_return, staff.head, filed.id)
    await act(services, review.approve_return, staff.business, filed.id, timezone=SHANGHAI)
    await staff.to_the_warehouse(filed.id)
    return filed.id


def fault(owner: User, department: str = "warehouse") -> Inspection:
    return Inspection("company_fault", CAUSE, Responsibility(department, owner.id, FIX, PREVENT))


async def actions_of(services: Services, return_id: int) -> dict[str, ReturnAction]:
    async with services.session_factory() as session:
        rows = await session.scalars(
            select(ReturnAction).where(ReturnAction.return_id == return_id)
        )
        return {action.kind: action for action in rows}


async def test_a_company_fault_opens_both_actions_owned_by_the_person_who_is_told_at_once(
    services: Services, samples: None, clock
) -> None:  # type: ignore[no-untyped-def]
    staff = await Staff(services).make()
    quality_head = await make_user(services, "quality_head")
    return_id = await delivered_quality_return(services, staff)

    inspected = await act(
        services, goods.record_inspection, staff.qc, return_id, fault(staff.warehouse)
    )
    assert inspected.status == ReturnStatus.INSPECTED
    actions = await actions_of(services, return_id)
    assert {kind: (a.owner_id, a.department, a.measure) for kind, a in actions.items()} == {
        "corrective": (staff.warehouse.id, "warehouse", FIX),
        "preventive": (staff.warehouse.id, "warehouse", PREVENT),
    }
    due = clock.now() + dt.timedelta(days=30)
    async with services.session_factory() as session:
        opened = list(
            await session.scalars(
                select(Deadline)
                .where(Deadline.kind.in_(["corrective_action", "preventive_action"]))
                .order_by(Deadline.kind)
            )
        )
    assert [(d.kind, d.responsible_role, d.due_at) for d in opened] == [
        ("corrective_action", "warehouse", due),
        ("preventive_action", "warehouse", due),
    ]
    assigned = await outbox_rows(services, text_key="return.action_assigned")
    assert {m.user_id for m in assigned} == {staff.warehouse.id}
    assert sorted(m.params["measure"] for m in assigned) == sorted([FIX, PREVENT])
    assert all(m.buttons[0][0]["data"].startswith("rt:acted:") for m in assigned)
    followed = await outbox_rows(services, text_key="return.corrective_action")
    assert {m.user_id for m in followed} == {staff.qc.id, quality_head.id}


async def test_qc_must_name_an_enrolled_person_of_the_department_and_not_itself(
    services: Services, samples: None
) -> None:
    staff = await Staff(services).make()
    return_id = await delivered_quality_return(services, staff)
    with pytest.raises(InvalidInput):  # the warehouse person is not of the driver's department
        await act(
            services, goods.record_inspection, staff.qc, return_id, fault(staff.warehouse, "driver")
        )
    with pytest.raises(InvalidInput):  # not a department QC may name
        await act(
            services, goods.record_inspection, staff.qc, return_id, fault(staff.warehouse, "admin")
        )
    with pytest.raises(NotAllowed):  # who judged the fault does not also answer for it
        await act(
            services, goods.record_inspection, staff.qc, return_id, fault(staff.qc, "quality")
        )
    blank = Inspection(
        "company_fault", CAUSE, Responsibility("warehouse", staff.warehouse.id, FIX, " ")
    )
    with pytest.raises(InvalidInput):
        await act(services, goods.record_inspection, staff.qc, return_id, blank)
    assert (await stored(services, return_id)).status == ReturnStatus.DELIVERED
    assert await actions_of(services, return_id) == {}
    async with services.session_factory() as session:
        people = await corrective.people_of(session, "warehouse")
    assert [p.id for p in people] == [staff.warehouse.id]


async def test_the_owner_is_reminded_then_alerted_with_their_head_and_quality(
    services: Services, samples: None, clock
) -> None:  # type: ignore[no-untyped-def]
    staff = await Staff(services).make()
    return_id = await delivered_quality_return(services, staff)
    other_warehouse = await make_user(services, "warehouse")
    await act(services, goods.record_inspection, staff.qc, return_id, fault(staff.warehouse))

    async def sweep() -> None:
        async with services.unit_of_work() as uow:
            await deadlines.sweep_deadlines(uow.session, now=uow.clock.now())
            await uow.commit()

    clock.advance(dt.timedelta(days=23))
    await sweep()
    reminders = [
        m
        for m in await outbox_rows(services, text_key="deadline.reminder")
        if m.params["kind"]["$text"]
        in {"deadline.kind.corrective_action", "deadline.kind.preventive_action"}
    ]
    assert {m.user_id for m in reminders} == {staff.warehouse.id}  # not the whole warehouse
    assert len(reminders) == 2 and all(m.buttons for m in reminders)
    clock.advance(dt.timedelta(days=8))
    await sweep()
    alerts = [
        m
        for m in await outbox_rows(services, text_key="deadline.overdue")
        if m.params["kind"]["$text"] == "deadline.kind.corrective_action"
    ]
    assert {m.user_id for m in alerts} == {staff.warehouse.id, staff.business.id, staff.qc.id}
    assert other_warehouse.id not in {m.user_id for m in alerts}


async def test_only_the_owner_closes_an_action_once_with_what_was_done_counted_in_their_record(
    services: Services, samples: None, clock
) -> None:  # type: ignore[no-untyped-def]
    staff = await Staff(services).make()
    return_id = await delivered_quality_return(services, staff)
    other_warehouse = await make_user(services, "warehouse")
    await act(services, goods.record_inspection, staff.qc, return_id, fault(staff.warehouse))
    actions = await actions_of(services, return_id)
    fix = actions["corrective"]

    with pytest.raises(NotAllowed):
        await act(services, corrective.close_corrective_action, other_warehouse, fix.id, "Done.")
    with pytest.raises(InvalidInput):
        await act(services, corrective.close_corrective_action, staff.warehouse, fix.id, "  ")
    clock.advance(dt.timedelta(days=2))
    closed = await act(
        services, corrective.close_corrective_action, staff.warehouse, fix.id, "12 cuffs apart."
    )
    assert (closed.done_note, closed.done_by_id) == ("12 cuffs apart.", staff.warehouse.id)
    with pytest.raises(WrongState):  # a second tap
        await act(services, corrective.close_corrective_action, staff.warehouse, fix.id, "Again.")
    assert (await stored(services, return_id)).corrective_done_at is None  # prevention is open
    told = await outbox_rows(services, text_key="return.action_done_notice")
    assert {m.user_id for m in told} == {staff.qc.id} and told[0].params[
        "note"
    ] == "12 cuffs apart."

    await act(
        services,
        corrective.close_corrective_action,
        staff.warehouse,
        actions["preventive"].id,
        "Limit painted; in the weekly tour.",
    )
    assert (await stored(services, return_id)).corrective_done_at == clock.now()
    start, end = clock.now() - dt.timedelta(days=5), clock.now() + dt.timedelta(days=1)
    async with services.session_factory() as session:
        steps = await personal_records.steps_of_month(
            session, start, end, personal_records.roles_read_by("business_head")
        )
    mine = [s for s in steps if s.kind in {"corrective_action", "preventive_action"}]
    assert [(s.person, s.outcome) for s in mine] == [
        (staff.warehouse.full_name, "on_time"),
        (staff.warehouse.full_name, "on_time"),
    ]
