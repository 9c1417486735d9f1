"""P3 patrol rules: checklist ranges, defects from abnormal patrols, repair and verification,
missed patrols across the configured time zone and midnight, periodic inspections."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from bot.services import Services
from bot.texts import LANGUAGES, Texts
from core.services import load_policies
from procedures.equipment import defects, patrols
from procedures.equipment.inspections import record_inspection, schedule_inspections
from procedures.equipment.patrols import PatrolDraft
from procedures.equipment.queries import findings
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import InvalidInput, NotAllowed, WrongState
from storage.models import (
    ChecklistItem,
    Contract,
    Deadline,
    Defect,
    EquipmentAsset,
    Inspection,
    User,
    Vendor,
)
from tests.conftest import SHANGHAI

from .helpers import act, make_user, outbox_rows


async def asset(services: Services, code: str) -> EquipmentAsset:
    async with services.session_factory() as session:
        return await session.scalar(select(EquipmentAsset).where(EquipmentAsset.code == code))


async def vendor_user(services: Services, vendor_code: str) -> User:
    user = await make_user(services, "vendor", language="en")
    async with services.unit_of_work() as uow:
        stored = await uow.session.get(User, user.id)
        stored.vendor_id = await uow.session.scalar(
            select(Vendor.id).where(Vendor.code == vendor_code)
        )
        await uow.commit()
    return stored


async def draft_for(
    services: Services,
    code: str,
    *,
    abnormal: str | None = None,
    photos: int = 0,
    readings: dict[str, str] | None = None,
) -> PatrolDraft:
    """A complete check-in of the asset: every item OK unless named abnormal or read."""
    target = await asset(services, code)
    async with services.session_factory() as session:
        items = await patrols.checklist_for(session, target.system)
    draft = PatrolDraft(asset_id=target.id, photo_file_ids=[f"photo-{i}" for i in range(photos)])
    for item in items:
        if item.kind == "reading":
            value, ok = patrols.check_reading(
                item, (readings or {}).get(item.code, str(item.low or 0))
            )
            draft.answers.append({"item_id": item.id, "ok": ok, "reading": str(value)})
        else:
            draft.answers.append({"item_id": item.id, "ok": item.code != abnormal, "reading": None})
    return draft


async def patrol(services: Services, technician: User, draft: PatrolDraft):
    return await act(services, patrols.record_patrol, technician, draft, SHANGHAI)


async def test_a_reading_outside_its_range_counts_as_abnormal(
    services: Services, samples: None
) -> None:
    async with services.session_factory() as session:
        level = await session.scalar(select(ChecklistItem).where(ChecklistItem.code == "EL-LEVEL"))
    assert patrols.check_reading(level, "4") == (Decimal("4"), True)
    assert patrols.check_reading(level, "10") == (Decimal("10"), True)  # the bounds are normal
    assert patrols.check_reading(level, "12,5") == (Decimal("12.5"), False)
    assert patrols.check_reading(level, "-1")[1] is False
    for bad in ("about 3", "", "nan"):
        with pytest.raises(InvalidInput, match="bad_reading"):
            patrols.check_reading(level, bad)
    # as people type them: the item's unit after the number, full-width digits
    for typed in ("15mm", "15 mm", "１５ＭＭ", "15"):
        assert patrols.check_reading(level, typed) == (Decimal("15"), False)
    with pytest.raises(InvalidInput, match="wrong_unit") as wrong:
        patrols.check_reading(level, "1.5cm")
    assert wrong.value.params == {"unit": "mm"}
    room = ChecklistItem(label="機房溫度", unit="°C", low=Decimal(5), high=Decimal(40))
    assert patrols.check_reading(room, "31.5℃") == (Decimal("31.5"), True)
    assert patrols.check_reading(room, "31.5 °C") == (Decimal("31.5"), True)


def test_a_quantity_is_read_as_typed_and_another_unit_is_refused_naming_the_expected_one() -> None:
    from procedures.kernel import quantities

    for typed in ("20", "20盒", "20 盒", "２０", "２０盒"):
        assert quantities.check_quantity(typed, "盒") == 20
    with pytest.raises(InvalidInput, match="wrong_unit") as wrong:
        quantities.check_quantity("20 箱", "盒")
    assert wrong.value.params == {"unit": "盒"}
    assert quantities.check_quantity("20件", None) == 20  # unit unknown: a generic counter
    with pytest.raises(InvalidInput, match="wrong_unit"):
        quantities.check_quantity("20kg", None)


async def test_an_abnormal_patrol_needs_a_photo_and_opens_a_defect_for_the_vendor_and_manager(
    services: Services, samples: None
) -> None:
    technician = await make_user(services, "technician")
    manager = await make_user(services, "equipment_manager")
    vendor = await vendor_user(services, "V001")
    await vendor_user(services, "V002")  # another vendor's staff hear nothing

    with pytest.raises(InvalidInput, match="photo_required"):
        await patrol(
            services, technician, await draft_for(services, "EL-01", readings={"EL-LEVEL": "15"})
        )
    outcome = await patrol(
        services,
        technician,
        await draft_for(
            services, "EL-01", readings={"EL-LEVEL": "15"}, abnormal="EL-DOOR", photos=2
        ),
    )

    assert outcome.patrol.abnormal and outcome.defect.number == "DF-2026-00001"
    assert outcome.defect.description == "門機開關順暢、無異響；平層準確（誤差）：15mm"
    (to_vendor,) = await outbox_rows(services, text_key="defect.reported")
    assert to_vendor.user_id == vendor.id
    assert [b["data"] for b in to_vendor.buttons[0]] == [
        f"df:ack:{outcome.defect.id}",
        f"df:fix:{outcome.defect.id}",
    ]
    assert to_vendor.attachment == {"kind": "photo", "params": {"file_id": "photo-0"}}
    (to_manager,) = await outbox_rows(services, text_key="defect.reported_manager")
    assert (
        to_manager.user_id == manager.id and to_manager.params["vendor"] == "迅達電梯維保有限公司"
    )

    normal = await patrol(services, technician, await draft_for(services, "EL-02"))
    assert normal.defect is None and not normal.patrol.abnormal


async def test_an_incomplete_checklist_or_a_wrong_role_records_nothing(
    services: Services, samples: None
) -> None:
    technician = await make_user(services, "technician")
    draft = await draft_for(services, "WP-01")
    draft.answers.pop()
    with pytest.raises(InvalidInput, match="incomplete"):
        await patrol(services, technician, draft)
    with pytest.raises(NotAllowed):
        await patrol(
            services, await make_user(services, "warehouse"), await draft_for(services, "WP-01")
        )


async def test_the_vendor_repairs_the_technician_rejects_then_accepts_and_times_are_kept(
    services: Services, samples: None, clock: ManualClock
) -> None:
    technician = await make_user(services, "technician")
    vendor = await vendor_user(services, "V001")
    other_vendor = await vendor_user(services, "V002")
    outcome = await patrol(
        services, technician, await draft_for(services, "EL-01", abnormal="EL-DOOR", photos=1)
    )
    defect_id = outcome.defect.id

    with pytest.raises(NotAllowed, match="not_your_vendor"):
        await act(services, defects.acknowledge_defect, other_vendor, defect_id)
    clock.advance(dt.timedelta(minutes=20))
    await act(services, defects.acknowledge_defect, vendor, defect_id)
    with pytest.raises(WrongState, match="already_acknowledged"):
        await act(services, defects.acknowledge_defect, vendor, defect_id)
    clock.advance(dt.timedelta(hours=2))
    await act(services, defects.record_repair, vendor, defect_id, "Replaced door roller", ["fix-1"])
    (ask,) = await outbox_rows(services, text_key="defect.verify_repair")
    assert ask.user_id == technician.id and ask.attachment["params"]["file_id"] == "fix-1"

    await act(
        services, defects.verify_repair, technician, defect_id, accept=False, reason="Still grinds"
    )
    (rejected_to_vendor,) = await outbox_rows(
        services, text_key="defect.rejected", user_id=vendor.id
    )
    assert rejected_to_vendor.params["reason"] == "Still grinds"
    with pytest.raises(WrongState, match="not_repaired"):
        await act(services, defects.verify_repair, technician, defect_id, accept=True)
    clock.advance(dt.timedelta(hours=1))
    await act(services, defects.record_repair, vendor, defect_id, "Door motor replaced", [])
    await act(services, defects.verify_repair, technician, defect_id, accept=True)

    async with services.session_factory() as session:
        defect = await session.get(Defect, defect_id)
    assert defect.status == "closed" and defect.rejections == 1
    # the vendor who repaired hears it was accepted; another vendor's staff hear nothing
    (accepted,) = await outbox_rows(services, text_key="defect.accepted")
    assert accepted.user_id == vendor.id and accepted.params["number"] == defect.number
    assert defect.acknowledged_at - defect.reported_at == dt.timedelta(minutes=20)
    assert defect.repaired_at - defect.reported_at == dt.timedelta(hours=3, minutes=20)


async def test_a_repair_deadline_by_severity_chases_the_vendor_technician_and_manager_until_accepted(
    services: Services, samples: None, clock: ManualClock
) -> None:
    from .test_deadlines import sweep

    technician = await make_user(services, "technician")
    manager = await make_user(services, "equipment_manager")
    vendor = await vendor_user(services, "V001")
    other_vendor = await vendor_user(services, "V002")  # hears nothing of V001's repair
    await make_user(services, "technician")  # nor does a technician who did not report it

    # a maintenance contract silent on repair hours: the severity's window holds
    async with services.unit_of_work() as uow:
        await uow.session.execute(
            update(Contract).where(Contract.number == "MC-2026-001").values(repair_hours=None)
        )
        await uow.commit()
    clock.set(dt.datetime(2026, 11, 10, 9, tzinfo=SHANGHAI))
    draft = await draft_for(services, "EL-01", abnormal="EL-DOOR", photos=1)
    draft.severity = "urgent"
    configured = replace(services, policies=load_policies({"REPAIR_HOURS": "urgent:6"}))
    outcome = await act(configured, patrols.record_patrol, technician, draft, SHANGHAI)
    defect_id = outcome.defect.id
    due = dt.datetime(2026, 11, 10, 15, tzinfo=SHANGHAI)
    assert outcome.repair_due_at == due and outcome.defect.severity == "urgent"
    (told,) = await outbox_rows(services, text_key="defect.reported")
    assert told.params["severity"] == {"$text": "defect.severity.urgent"}

    clock.advance(dt.timedelta(hours=4, minutes=30))  # 75 % of six hours
    await sweep(services)
    reminders = await outbox_rows(services, text_key="deadline.reminder")
    assert sorted(r.user_id for r in reminders) == sorted([technician.id, manager.id, vendor.id])
    assert reminders[0].params["kind"] == {"$text": "deadline.kind.repair"}
    defect_number = reminders[0].params["number"]
    opens = [
        {
            "text_key": "deadline.button.open",
            "params": {"number": defect_number},
            "data": f"find:open:{defect_number}",
        }
    ]
    assert all(r.buttons == [opens] for r in reminders)

    # a repair that fails verification does not restart the clock: the seed chases until done
    await act(services, defects.record_repair, vendor, defect_id, "Adjusted", [])
    await act(services, defects.verify_repair, technician, defect_id, accept=False, reason="no")
    clock.set(due + dt.timedelta(minutes=1))
    await sweep(services)
    alerts = {a.user_id: a for a in await outbox_rows(services, text_key="deadline.overdue")}
    assert set(alerts) == {technician.id, manager.id, vendor.id}
    assert other_vendor.id not in alerts
    assert alerts[manager.id].buttons == [
        [{"text_key": "defect.button.rectify", "params": {}, "data": f"df:rectify:{defect_id}"}],
        opens,
    ]
    assert alerts[vendor.id].buttons == [opens] and alerts[technician.id].buttons == [opens]

    await act(services, defects.record_repair, vendor, defect_id, "Door motor replaced", [])
    await act(services, defects.verify_repair, technician, defect_id, accept=True)
    clock.advance(dt.timedelta(days=2))
    await sweep(services)
    assert len(await outbox_rows(services, text_key="deadline.overdue")) == 3
    async with services.session_factory() as session:
        deadline = await session.scalar(
            select(Deadline).where(Deadline.subject_id == defect_id, Deadline.kind == "repair")
        )
    assert deadline.due_at == due and deadline.met_late is True


async def test_missed_patrols_follow_the_local_day_across_midnight(
    services: Services, samples: None, clock: ManualClock
) -> None:
    technician = await make_user(services, "technician")
    manager = await make_user(services, "equipment_manager")
    # 23:30 in Shanghai is 15:30 UTC: the patrol counts for the local day, 26 November
    clock.set(dt.datetime(2026, 11, 26, 23, 30, tzinfo=SHANGHAI))
    for code in ("EL-01", "EL-02", "WP-01", "HV-01", "FP-01"):
        await patrol(services, technician, await draft_for(services, code))

    clock.set(dt.datetime(2026, 11, 27, 0, 30, tzinfo=SHANGHAI))  # after local midnight
    async with services.session_factory() as session:
        assert [a.code for a in await patrols.assets_to_patrol(session, dt.date(2026, 11, 26))] == [
            "PW-01"
        ]
        assert len(await patrols.assets_to_patrol(session, dt.date(2026, 11, 27))) == 6

    clock.set(dt.datetime(2026, 11, 27, 8, 0, tzinfo=SHANGHAI))
    for _ in range(2):  # a second run sends nothing new
        async with services.unit_of_work() as uow:
            await patrols.report_missed_patrols(uow.session, now=uow.clock.now(), timezone=SHANGHAI)
            await uow.commit()
    (missed,) = await outbox_rows(services, text_key="patrol.missed")
    assert missed.user_id == manager.id
    texts = Texts(SHANGHAI, strict=True)
    assert texts.get("zh-Hant", "patrol.missed", **missed.params) == (
        "2026-11-26未巡視的設備（1台）：\nPW-01 低壓配電櫃（地下一層配電房）"
    )
    assert texts.get("en", "patrol.missed", **missed.params).endswith(
        "PW-01 低壓配電櫃 (地下一層配電房)"
    )

    clock.set(dt.datetime(2026, 11, 27, 17, 0, tzinfo=SHANGHAI))
    async with services.unit_of_work() as uow:
        await patrols.remind_unpatrolled(uow.session, now=uow.clock.now(), timezone=SHANGHAI)
        await uow.commit()
    (reminder,) = await outbox_rows(services, text_key="patrol.reminder")
    assert reminder.user_id == technician.id and reminder.params["count"] == 6
    assert "：EL-01、EL-02、" in texts.get("zh-Hant", "patrol.reminder", **reminder.params)
    assert ": EL-01, EL-02, " in texts.get("en", "patrol.reminder", **reminder.params)


async def test_periodic_inspections_open_once_a_period_with_a_deadline_for_the_supervisor(
    services: Services, samples: None, clock: ManualClock
) -> None:
    supervisor = await make_user(services, "equipment_supervisor")

    async def schedule() -> int:
        policies = load_policies({"INSPECTION_MONTHS": "elevator:1,fire_protection:3"})
        async with replace(services, policies=policies).unit_of_work() as uow:
            created = await schedule_inspections(uow, timezone=SHANGHAI)
            await uow.commit()
        return created

    # every system monthly but fire protection, due in January: the two elevators, the pump,
    # the chiller and the switchboard
    assert await schedule() == 5
    assert await schedule() == 0
    async with services.session_factory() as session:
        inspections = list(await session.scalars(select(Inspection).order_by(Inspection.id)))
    assert inspections[0].due_at == dt.datetime(2026, 12, 1, tzinfo=SHANGHAI)
    notices = await outbox_rows(services, text_key="inspection.scheduled")
    assert {n.user_id for n in notices} == {supervisor.id}
    draft = await draft_for(services, "EL-01")
    await act(services, record_inspection, supervisor, inspections[0].id, draft, SHANGHAI)
    with pytest.raises(WrongState, match="already_done"):
        await act(services, record_inspection, supervisor, inspections[0].id, draft, SHANGHAI)

    clock.set(dt.datetime(2027, 1, 2, 9, tzinfo=SHANGHAI))
    assert await schedule() == 6  # the five again, and the fire protection pump


def test_a_defects_description_follows_the_punctuation_of_its_language() -> None:
    chinese = {
        1: ChecklistItem(id=1, label="平層準確（誤差）", unit="mm"),
        2: ChecklistItem(id=2, label="機房溫度", unit="℃"),
    }
    english = {
        1: ChecklistItem(id=1, label="Levelling", unit="mm"),
        2: ChecklistItem(id=2, label="Door"),
    }
    draft = PatrolDraft(
        asset_id=1,
        answers=[
            {"item_id": 1, "ok": False, "reading": Decimal("15")},
            {"item_id": 2, "ok": False, "reading": Decimal("31.5")},
        ],
    )
    assert patrols.describe_findings(chinese, draft, "轎廂停層偏高") == (
        "平層準確（誤差）：15mm；機房溫度：31.5℃——轎廂停層偏高"
    )
    draft.answers[1] = {"item_id": 2, "ok": False, "reading": None}
    assert patrols.describe_findings(english, draft, "Car stops high.") == (
        "Levelling 15 mm; Door — Car stops high."
    )


def test_a_failed_item_is_named_with_that_it_failed_in_each_readers_words() -> None:
    items = {
        1: ChecklistItem(id=1, label="門機開關順暢、無異響"),
        2: ChecklistItem(id=2, label="平層準確（誤差）", unit="mm"),
    }
    texts = Texts(SHANGHAI, strict=True)
    noted = findings(items, [(1, False, None)], "門機開關時有明顯異響")
    said = {
        language: texts.get(
            language,
            "defect.details",
            description=noted,
            asset="EL-01",
            location="A",
            reported_at="-",
            rejections=0,
        ).split("\n")[2]
        for language in LANGUAGES
    }
    assert said == {
        "zh-Hant": "問題：門機開關順暢、無異響：異常——門機開關時有明顯異響",
        "zh-Hans": "问题：門機開關順暢、無異響：异常——門機開關時有明顯異響",
        "en": "Problem: 門機開關順暢、無異響: failed — 門機開關時有明顯異響",
    }
    both = findings(items, [(1, False, None), (2, False, Decimal("15.000")), (1, True, None)], None)
    assert texts.get(
        "zh-Hant", "defect.verify_repair", number="DF-1", asset="EL-01", note=both
    ).endswith("門機開關順暢、無異響：異常；平層準確（誤差）：15mm\n請驗證並接受或退回。")
    assert texts.get(
        "en", "defect.verify_repair", number="DF-1", asset="EL-01", note=both
    ).startswith(
        "Defect DF-1 on EL-01 was repaired: 門機開關順暢、無異響: failed; 平層準確（誤差）: 15 mm"
    )
