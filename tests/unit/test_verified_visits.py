"""P3's maintenance visits verified by the system's staff and chased against the contract's
visits a month; a defect's repair window from the vendor's contract; periodic inspections of
every system; the vendor documents' signature lines as the seed names them."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import select

from bot.services import Services
from core.config import ConfigError
from core.services import load_policies
from procedures.equipment import inspections, maintenance, patrols
from procedures.equipment.queries import contract_figures
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import NotAllowed, WrongState
from storage.models import (
    Deadline,
    EquipmentAsset,
    Inspection,
    MaintenanceVisit,
    Vendor,
)
from tests.conftest import SHANGHAI

from .helpers import act, make_user, outbox_rows
from .test_patrols import draft_for, vendor_user


async def declare(services: Services, vendor: object, code: str) -> maintenance.VisitOutcome:
    return await act(services, maintenance.record_visit, vendor, code, "monthly service", SHANGHAI)


async def chase(services: Services) -> int:
    async with services.unit_of_work() as uow:
        queued = await maintenance.chase_visit_shortfalls(
            uow.session, now=uow.clock.now(), timezone=SHANGHAI
        )
        await uow.commit()
    return queued


async def figures(services: Services, vendor_code: str, period: str) -> dict:
    async with services.session_factory() as session:
        vendor_id = await session.scalar(select(Vendor.id).where(Vendor.code == vendor_code))
        return await contract_figures(session, vendor_id, period, SHANGHAI, [])


async def test_a_declared_visit_asks_the_systems_staff_and_counts_only_once_confirmed(
    services: Services, samples: None, clock: ManualClock
) -> None:
    technician = await make_user(services, "technician")
    supervisor = await make_user(services, "equipment_supervisor")  # answers for the elevators
    manager = await make_user(services, "equipment_manager")
    engineer = await make_user(services, "equipment_engineer")  # named for no system
    vendor = await vendor_user(services, "V001")
    pumps_vendor = await vendor_user(services, "V002")

    declared = await declare(services, vendor, "EL-01")
    assert (declared.confirmed, declared.promised) == (0, 2)
    asks = await outbox_rows(services, text_key="visit.verify")
    # the technicians and the elevators' staff; the manager only stands in for a system nobody
    # answers for, and no vendor verifies
    assert {row.user_id for row in asks} == {technician.id, supervisor.id}
    visit_id = declared.visit.id
    assert asks[0].buttons == [
        [
            {"text_key": "visit.button.confirm", "params": {}, "data": f"mv:ok:{visit_id}"},
            {"text_key": "visit.button.dispute", "params": {}, "data": f"mv:no:{visit_id}"},
        ]
    ]
    assert asks[0].params["vendor"] == "迅達電梯維保有限公司"

    with pytest.raises(NotAllowed, match="own_visit"):
        await act(services, maintenance.verify_visit, vendor, visit_id, confirm=True)
    with pytest.raises(NotAllowed, match="not_your_system"):
        await act(services, maintenance.verify_visit, pumps_vendor, visit_id, confirm=True)
    with pytest.raises(NotAllowed, match="not_your_system"):
        await act(services, maintenance.verify_visit, engineer, visit_id, confirm=True)
    assert (await figures(services, "V001", "2026-11"))["visits"] == 0

    await act(services, maintenance.verify_visit, technician, visit_id, confirm=True)
    with pytest.raises(WrongState, match="already_verified"):  # the supervisor, a moment late
        await act(services, maintenance.verify_visit, supervisor, visit_id, confirm=False)
    (told,) = await outbox_rows(services, text_key="visit.confirmed")
    assert told.user_id == vendor.id
    assert (await figures(services, "V001", "2026-11"))["visits"] == 1

    # a second visit the same day is the same day's visit: it adds nothing once confirmed
    again = await declare(services, vendor, "EL-01")
    assert again.confirmed == 1
    await act(services, maintenance.verify_visit, supervisor, again.visit.id, confirm=True)
    assert (await figures(services, "V001", "2026-11"))["visits"] == 1

    clock.advance(dt.timedelta(days=1))
    disputed = await declare(services, vendor, "EL-02")
    await act(services, maintenance.verify_visit, supervisor, disputed.visit.id, confirm=False)
    assert [r.user_id for r in await outbox_rows(services, text_key="visit.disputed")] == [
        vendor.id
    ]
    (to_manager,) = await outbox_rows(services, text_key="visit.disputed_manager")
    assert to_manager.user_id == manager.id
    assert (await figures(services, "V001", "2026-11"))["visits"] == 1
    async with services.session_factory() as session:
        stored = await session.get(MaintenanceVisit, disputed.visit.id)
    assert (stored.status, stored.verified_by_id) == ("disputed", supervisor.id)


async def test_a_vendor_who_is_also_a_technician_never_verifies_their_companys_visit(
    services: Services, samples: None
) -> None:
    both = await make_user(services, "vendor", "technician")
    colleague = await vendor_user(services, "V001")
    async with services.unit_of_work() as uow:
        stored = await uow.session.get(type(colleague), both.id)
        stored.vendor_id = colleague.vendor_id
        await uow.commit()
    declared = await declare(services, colleague, "EL-01")
    assert both.id not in {r.user_id for r in await outbox_rows(services, text_key="visit.verify")}
    with pytest.raises(NotAllowed, match="own_visit"):
        await act(services, maintenance.verify_visit, both, declared.visit.id, confirm=True)


async def test_a_month_short_of_its_contracts_visits_is_chased_with_the_vendor_and_the_manager(
    services: Services, samples: None, clock: ManualClock
) -> None:
    technician = await make_user(services, "technician")
    manager = await make_user(services, "equipment_manager")
    lifts = await vendor_user(services, "V001")  # EL-01 and EL-02: two visits a month each
    chillers = await vendor_user(services, "V003")  # HV-01: one a month
    clock.set(dt.datetime(2026, 10, 31, 10, tzinfo=SHANGHAI))
    for code, vendor in (("EL-01", lifts), ("EL-02", lifts), ("HV-01", chillers)):
        for _ in range(2):  # October: done and confirmed, on two days for the elevators
            visit = await declare(services, vendor, code)
            await act(services, maintenance.verify_visit, technician, visit.visit.id, confirm=True)
            clock.advance(-dt.timedelta(days=1))
        clock.set(dt.datetime(2026, 10, 31, 10, tzinfo=SHANGHAI))
    pumps = await vendor_user(services, "V002")
    visit = await declare(services, pumps, "WP-01")
    await act(services, maintenance.verify_visit, technician, visit.visit.id, confirm=True)

    clock.set(dt.datetime(2026, 11, 26, 10, tzinfo=SHANGHAI))
    el01 = await declare(services, lifts, "EL-01")
    await act(services, maintenance.verify_visit, technician, el01.visit.id, confirm=True)
    hv01 = await declare(services, chillers, "HV-01")  # disputed: it does not count
    await act(services, maintenance.verify_visit, technician, hv01.visit.id, confirm=False)
    wp01 = await declare(services, pumps, "WP-01")
    await act(services, maintenance.verify_visit, technician, wp01.visit.id, confirm=True)

    clock.set(dt.datetime(2026, 11, 29, 9, 15, tzinfo=SHANGHAI))
    assert await chase(services) == 0  # two days left: every asset can still make it

    clock.set(dt.datetime(2026, 11, 30, 9, 15, tzinfo=SHANGHAI))
    assert await chase(services) == 2  # EL-02 needs two visits in its last day
    assert await chase(services) == 0  # once
    (to_vendor,) = await outbox_rows(services, text_key="visit.short_unreachable_vendor")
    (to_manager,) = await outbox_rows(services, text_key="visit.short_unreachable_manager")
    assert (to_vendor.user_id, to_manager.user_id) == (lifts.id, manager.id)
    assert to_vendor.params == {
        "asset": "EL-02 2號貨梯",
        "vendor": "迅達電梯維保有限公司",
        "period": "2026-11",
        "promised": 2,
        "confirmed": 0,
    }

    # a visit declared on the last day and never verified does not count at the month's end
    late = await declare(services, lifts, "EL-02")
    clock.set(dt.datetime(2026, 12, 1, 9, 15, tzinfo=SHANGHAI))
    assert await chase(services) == 6
    ended = await outbox_rows(services, text_key="visit.short_ended_vendor")
    assert {(r.params["asset"].split()[0], r.user_id, r.params["confirmed"]) for r in ended} == {
        ("EL-01", lifts.id, 1),
        ("EL-02", lifts.id, 0),
        ("HV-01", chillers.id, 0),
    }
    told = await outbox_rows(services, text_key="visit.short_ended_manager")
    assert {r.user_id for r in told} == {manager.id} and len(told) == 3
    assert await chase(services) == 0
    await act(services, maintenance.verify_visit, technician, late.visit.id, confirm=True)
    clock.set(dt.datetime(2026, 12, 2, 9, 15, tzinfo=SHANGHAI))
    assert await chase(services) == 0  # the month's verdict was given once


async def test_a_defects_repair_deadline_takes_the_repair_hours_of_the_vendors_contract(
    services: Services, samples: None, clock: ManualClock
) -> None:
    technician = await make_user(services, "technician")
    await vendor_user(services, "V001")
    await vendor_user(services, "V003")
    await make_user(services, "equipment_manager")

    first_item = {"EL-01": "EL-DOOR", "HV-01": "HV-RUN", "FP-01": "FP-VALVE"}

    async def report(code: str, severity: str = "normal") -> tuple[dt.timedelta, dict]:
        draft = await draft_for(services, code, abnormal=first_item[code], photos=1)
        draft.severity = severity
        outcome = await act(services, patrols.record_patrol, technician, draft, SHANGHAI)
        async with services.session_factory() as session:
            deadline = await session.scalar(
                select(Deadline).where(Deadline.subject_id == outcome.defect.id)
            )
        assert deadline.due_at == outcome.repair_due_at
        (notice,) = [
            row
            for row in await outbox_rows(services, text_key="defect.reported_manager")
            if row.params["number"] == outcome.defect.number
        ]
        return outcome.repair_due_at - clock.now(), notice.params["window"]

    # the elevator's own maintenance contract: 24 h, whatever the urgency
    assert await report("EL-01", "low") == (
        dt.timedelta(hours=24),
        {"$text": "defect.window.contract", "params": {"contract": "MC-2026-001", "hours": 24}},
    )
    # the chiller's maintenance contract (48 h) before its purchase contract (72 h)
    assert await report("HV-01") == (
        dt.timedelta(hours=48),
        {"$text": "defect.window.contract", "params": {"contract": "MC-2026-004", "hours": 48}},
    )
    # the fire pump has no vendor, and the contracts end with 2027: the urgency's hours
    assert await report("FP-01", "urgent") == (
        dt.timedelta(hours=4),
        {"$text": "defect.window.severity", "params": {"hours": 4}},
    )
    clock.set(dt.datetime(2028, 1, 5, 9, tzinfo=SHANGHAI))
    assert (await report("EL-01", "low"))[0] == dt.timedelta(hours=168)
    texts = services.texts
    window = {"$text": "defect.window.contract", "params": {"contract": "MC-2026-001", "hours": 24}}
    params = {
        "number": "DF-2026-00001",
        "asset": "EL-01 1號客梯",
        "location": "A棟大堂",
        "description": "門機異響",
        "severity": {"$text": "defect.severity.normal"},
        "due_at": {"$deadline": "2026-11-27T01:00:00+00:00"},
        "window": window,
        "vendor": "迅達電梯維保有限公司",
    }
    rendered = texts.get("zh-Hant", "defect.reported_manager", **params)
    # read in 2028 (the clock above): a deadline of 2026 names its year
    assert "須於2026年11月27日09:00前修復（按合同MC-2026-001：24小時）。" in rendered


async def test_every_system_is_inspected_monthly_unless_the_setting_says_otherwise(
    services: Services, samples: None, clock: ManualClock
) -> None:
    async def schedule(settings: dict[str, str]) -> set[str]:
        async with replace(services, policies=load_policies(settings)).unit_of_work() as uow:
            await inspections.schedule_inspections(uow, timezone=SHANGHAI)
            await uow.commit()
        async with services.session_factory() as session:
            rows = await session.execute(
                select(EquipmentAsset.system)
                .join(Inspection, Inspection.asset_id == EquipmentAsset.id)
                .where(Inspection.period == "2026-11")
            )
            return set(rows.scalars())

    assert await schedule({}) == {"elevator", "water_supply", "hvac", "fire_protection", "power"}
    with pytest.raises(ConfigError, match="system must be one of"):
        load_policies({"INSPECTION_MONTHS": "lifts:1"})
    months = load_policies({"INSPECTION_MONTHS": "power:0,hvac:3"})
    from procedures.equipment.policy import EquipmentPolicy

    assert dict(months.of(EquipmentPolicy).inspection_months) == {
        "elevator": 1,
        "water_supply": 1,
        "hvac": 3,
        "fire_protection": 1,
        "power": 0,
        "lighting": 1,
    }
