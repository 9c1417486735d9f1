"""P3 point 14: each system's equipment staff (各系統設備管理人員) are named through their
invitation, and that system's defects, inspections and deadline reminders reach them; a system
nobody is named for falls back to the equipment manager."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import select

from bot.services import Services
from core.services import load_policies
from procedures.equipment import inspections
from procedures.kernel import deadlines
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import InvalidInput, NotAllowed, WrongState
from storage.models import Inspection, User, UserSystem
from tests.conftest import SHANGHAI

from .helpers import make_user, outbox_rows
from .test_invitations import identity, invite, redeem
from .test_patrols import draft_for, patrol


async def named(services: Services, role: str, system: str, telegram_id: int) -> User:
    code = await invite(services, role, system)
    return (await redeem(services, code, identity(telegram_id))).user


async def test_an_invitation_names_the_system_and_a_second_one_adds_another(
    services: Services,
) -> None:
    engineer = await named(services, "equipment_engineer", "Water_Supply", 7_100_001)
    await redeem(
        services, await invite(services, "equipment_engineer", "hvac"), identity(7_100_001)
    )
    with pytest.raises(WrongState, match="already_has_role"):
        await redeem(
            services, await invite(services, "equipment_engineer", "hvac"), identity(7_100_001)
        )
    with pytest.raises(InvalidInput, match="unknown_system"):
        await invite(services, "equipment_engineer", "boilers")
    async with services.session_factory() as session:
        rows = await session.scalars(
            select(UserSystem.system).where(UserSystem.user_id == engineer.id)
        )
        assert sorted(rows) == ["hvac", "water_supply"]


async def test_a_systems_defects_inspections_and_reminders_reach_its_staff_or_the_manager(
    services: Services, samples: None, clock: ManualClock
) -> None:
    manager = await make_user(services, "equipment_manager")
    supervisor = await make_user(services, "equipment_supervisor")
    technician = await make_user(services, "technician")
    water = await named(services, "equipment_engineer", "water_supply", 7_100_002)
    lifts = await named(services, "equipment_engineer", "elevator", 7_100_003)

    # a water-supply defect: the vendor's staff and the manager as ever, and the water engineer
    defect = (
        await patrol(
            services, technician, await draft_for(services, "WP-01", abnormal="WS-NOISE", photos=1)
        )
    ).defect
    to_staff = await outbox_rows(services, text_key="defect.reported_staff")
    assert [row.user_id for row in to_staff] == [water.id]
    assert to_staff[0].params["number"] == defect.number
    (to_manager,) = await outbox_rows(services, text_key="defect.reported_manager")
    assert to_manager.user_id == manager.id

    clock.set(dt.datetime(2026, 12, 1, 7, tzinfo=SHANGHAI))
    every_month = load_policies({"INSPECTION_MONTHS": "elevator:1,water_supply:1,hvac:1"})
    async with replace(services, policies=every_month).unit_of_work() as uow:
        await inspections.schedule_inspections(uow, timezone=SHANGHAI)
        await uow.commit()
    by_asset: dict[str, set[int]] = {}
    for row in await outbox_rows(services, text_key="inspection.scheduled"):
        by_asset.setdefault(row.params["asset"].split()[0], set()).add(row.user_id)
    # elevators: the supervisor (seed) and the engineer named for them; water: its engineer
    # only; air conditioning, fire protection and power (every system is inspected unless the
    # setting says otherwise), with nobody named: the equipment manager
    assert by_asset == {
        "EL-01": {supervisor.id, lifts.id},
        "EL-02": {supervisor.id, lifts.id},
        "WP-01": {water.id},
        "HV-01": {manager.id},
        "FP-01": {manager.id},
        "PW-01": {manager.id},
    }

    clock.set(dt.datetime(2026, 12, 25, 7, tzinfo=SHANGHAI))  # past 75 % of the month
    async with services.unit_of_work() as uow:
        await deadlines.sweep_deadlines(uow.session, now=uow.clock.now())
        await uow.commit()
    reminded = {
        (row.params["subject"].split()[0], row.user_id)
        for row in await outbox_rows(services, text_key="deadline.reminder")
    }
    assert {user for asset, user in reminded if asset == "WP-01"} == {water.id}
    assert {user for asset, user in reminded if asset == "HV-01"} == {manager.id}

    clock.set(dt.datetime(2027, 1, 1, 7, tzinfo=SHANGHAI))  # overdue: the staff and the head
    async with services.unit_of_work() as uow:
        await deadlines.sweep_deadlines(uow.session, now=uow.clock.now())
        await uow.commit()
    overdue = {
        (row.params["subject"].split()[0], row.user_id)
        for row in await outbox_rows(services, text_key="deadline.overdue")
    }
    assert {user for asset, user in overdue if asset == "WP-01"} == {water.id, manager.id}

    # the elevators' engineer may not record the water pumps' inspection; its own engineer may
    async with services.session_factory() as session:
        pump = await session.scalar(select(Inspection).where(Inspection.asset.has(code="WP-01")))
        with pytest.raises(NotAllowed, match="not_your_system"):
            await inspections.inspection_for_recording(
                session, await session.get(User, lifts.id), pump.id
            )
        found = await inspections.inspection_for_recording(
            session, await session.get(User, water.id), pump.id
        )
        assert found.asset.code == "WP-01"
