"""P3 point 12: the elevator inspection records what it found (checklist, note, photos) and a
finding opens a defect as a patrol's does; open elevator defects are chased daily (督促)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.services import Services
from procedures.equipment import defects, inspections
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import InvalidInput, NotAllowed
from storage.models import Defect, Inspection, Photo, TimelineEvent
from tests.conftest import SHANGHAI

from .helpers import act, make_user, outbox_rows
from .test_patrols import draft_for, vendor_user


async def schedule(services: Services) -> list[Inspection]:
    async with services.unit_of_work() as uow:
        await inspections.schedule_inspections(uow, timezone=SHANGHAI)
        await uow.commit()
    async with services.session_factory() as session:
        return list(await session.scalars(select(Inspection).order_by(Inspection.id)))


async def test_an_inspection_keeps_its_findings_and_a_finding_opens_a_defect_for_the_vendor(
    services: Services, samples: None
) -> None:
    supervisor = await make_user(services, "equipment_supervisor")
    manager = await make_user(services, "equipment_manager")
    vendor = await vendor_user(services, "V001")
    el01, *_ = await schedule(services)  # every system's assets; EL-01 first
    (notice, *_) = await outbox_rows(services, text_key="inspection.scheduled")
    assert notice.buttons[0][0]["data"] == f"in:done:{el01.id}"

    with pytest.raises(NotAllowed):
        await act(
            services,
            inspections.record_inspection,
            await make_user(services, "technician"),
            el01.id,
            await draft_for(services, "EL-01"),
            SHANGHAI,
        )
    finding = await draft_for(services, "EL-01", abnormal="EL-DOOR")
    finding.note = "Door closes slowly on every floor."
    with pytest.raises(InvalidInput, match="photo_required"):
        await act(services, inspections.record_inspection, supervisor, el01.id, finding, SHANGHAI)
    finding.photo_file_ids = ["door-1", "door-2"]
    outcome = await act(
        services, inspections.record_inspection, supervisor, el01.id, finding, SHANGHAI
    )

    assert outcome.defect.number == "DF-2026-00001"
    assert outcome.defect.description == "門機開關順暢、無異響——Door closes slowly on every floor."
    (to_vendor,) = await outbox_rows(services, text_key="defect.reported")
    assert to_vendor.user_id == vendor.id and to_vendor.attachment["params"]["file_id"] == "door-1"
    (to_manager,) = await outbox_rows(services, text_key="defect.reported_manager")
    assert to_manager.user_id == manager.id
    async with services.session_factory() as session:
        stored = await session.get(Inspection, el01.id)
        assert stored.done_by_id == supervisor.id and stored.abnormal is True
        assert stored.note == "Door closes slowly on every floor."
        assert len(stored.checks) == 4 and sum(not c.ok for c in stored.checks) == 1
        defect = await session.scalar(select(Defect))
        assert defect.inspection_id == el01.id and defect.patrol_id is None
        photos = await session.scalars(
            select(Photo.telegram_file_id).where(
                Photo.subject_type == "inspection", Photo.subject_id == el01.id
            )
        )
        assert sorted(photos) == ["door-1", "door-2"]


async def test_open_elevator_defects_are_chased_once_a_day_until_repaired(
    services: Services, samples: None, clock: ManualClock
) -> None:
    supervisor = await make_user(services, "equipment_supervisor")
    vendor = await vendor_user(services, "V001")
    await vendor_user(services, "V002")  # the pumps' vendor hears nothing of the elevators
    el01, *_ = await schedule(services)  # every system's assets; EL-01 first
    draft = await draft_for(services, "EL-01", abnormal="EL-DOOR", photos=1)
    defect = (
        await act(services, inspections.record_inspection, supervisor, el01.id, draft, SHANGHAI)
    ).defect

    async def chase() -> int:
        async with services.unit_of_work() as uow:
            queued = await inspections.chase_elevator_defects(
                uow.session, now=uow.clock.now(), timezone=SHANGHAI
            )
            await uow.commit()
        return queued

    assert await chase() == 0  # reported today: nothing to chase yet
    clock.set(dt.datetime(2026, 11, 27, 9, tzinfo=SHANGHAI))
    assert await chase() == 2  # the supervisor and the vendor's staff
    assert await chase() == 0  # the same day again: nothing new
    (to_vendor,) = await outbox_rows(services, text_key="defect.chase_vendor")
    assert to_vendor.user_id == vendor.id
    assert to_vendor.buttons[0][0]["data"] == f"df:fix:{defect.id}"
    assert to_vendor.dedupe_key == f"defect:{defect.id}:chase:2026-11-27:vendor:u{vendor.id}"
    (to_staff,) = await outbox_rows(services, text_key="defect.chase")
    assert to_staff.user_id == supervisor.id

    await act(services, defects.acknowledge_defect, vendor, defect.id)
    clock.set(dt.datetime(2026, 11, 28, 9, tzinfo=SHANGHAI))
    assert await chase() == 2  # acknowledged is not repaired
    await act(services, defects.record_repair, vendor, defect.id, "Door roller replaced", [])
    clock.set(dt.datetime(2026, 11, 29, 9, tzinfo=SHANGHAI))
    assert await chase() == 0
    async with services.session_factory() as session:
        chased = await session.scalars(
            select(TimelineEvent.after).where(
                TimelineEvent.subject_type == "defect", TimelineEvent.action == "chased"
            )
        )
        assert [event["date"] for event in chased] == ["2026-11-27", "2026-11-28"]


async def test_a_recorded_inspections_findings_cannot_be_rewritten_or_deleted(
    services: Services, samples: None
) -> None:
    from sqlalchemy import delete, update

    from storage.models import InspectionCheck

    from .test_records_kept import refused

    supervisor = await make_user(services, "equipment_supervisor")
    el01, *_ = await schedule(services)  # every system's assets; EL-01 first
    draft = await draft_for(services, "EL-01")
    draft.note = "All good."
    await act(services, inspections.record_inspection, supervisor, el01.id, draft, SHANGHAI)
    await refused(services, update(Inspection).values(note="nothing checked"))
    await refused(services, update(Inspection).values(done_at=None))
    await refused(services, update(InspectionCheck).values(ok=False))
    await refused(services, delete(InspectionCheck))
