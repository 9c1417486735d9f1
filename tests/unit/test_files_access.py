"""/files answers a record's evidence only to those who may read the record: for every numbered
kind, a role that may use /files but not read that kind is told what a missing number gets."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.services import Services
from emulator.server import BotApiEmulator
from procedures.evidence import READERS, readable_record
from procedures.kernel import photos
from storage.models import (
    Complaint,
    ConsumerComplaint,
    Defect,
    EquipmentAsset,
    Organisation,
    Photo,
    Rectification,
    ReturnRequest,
    User,
    Vendor,
)
from tests.e2e.conftest import register, running_bot

from .helpers import make_user

AT = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
JPEG = b"\xff\xd8\xff\xe0 a consumer's photo of the broken lid \xff\xd9"


async def one_of_each(services: Services) -> dict[str, str]:
    """One record of every numbered kind, by its subject type: its number."""
    filer = await make_user(services, "after_sales")
    consumer = await make_user(services, "consumer")
    async with services.unit_of_work() as uow:
        session = uow.session
        organisation_id = await session.scalar(select(Organisation.id).limit(1))
        vendor_id = await session.scalar(select(Vendor.id).limit(1))
        asset_id = await session.scalar(select(EquipmentAsset.id).limit(1))
        assert organisation_id and vendor_id and asset_id
        session.add_all(
            [
                Complaint(
                    number="QC-2026-00901",
                    status="received",
                    organisation_id=organisation_id,
                    quantity=1,
                    description="leaks",
                    channel="chat",
                    locality="local",
                    complainant_name="Chen",
                    filed_by_id=filer.id,
                    received_at=AT,
                ),
                ReturnRequest(
                    number="RT-2026-00901",
                    organisation_id=organisation_id,
                    reason="quality",
                    status="requested",
                    created_at=AT,
                ),
                ConsumerComplaint(
                    number="CC-2026-00901",
                    status="received",
                    channel="chat",
                    consumer_id=consumer.id,
                    consumer_name="Lin",
                    contact="13800000000",
                    description="a photo of the broken lid",
                    filed_by_id=consumer.id,
                    received_at=AT,
                ),
                Defect(
                    number="DF-2026-00901",
                    status="open",
                    asset_id=asset_id,
                    description="pump noise",
                    reported_by_id=filer.id,
                    reported_at=AT,
                    rejections=0,
                ),
                Rectification(
                    number="RC-2026-00901",
                    vendor_id=vendor_id,
                    description="late visits",
                    rung="verbal",
                    status="open",
                    due_at=AT,
                    raised_by_id=filer.id,
                    raised_at=AT,
                ),
            ]
        )
        await uow.commit()
    return {
        "complaint": "QC-2026-00901",
        "return": "RT-2026-00901",
        "consumer_complaint": "CC-2026-00901",
        "defect": "DF-2026-00901",
        "rectification": "RC-2026-00901",
    }


async def readable(services: Services, viewer: User, number: str) -> tuple[str, int] | None:
    async with services.session_factory() as session:
        user = await session.get(User, viewer.id)
        assert user is not None
        await session.refresh(user, ["roles"])
        return await readable_record(session, user, number)


def test_every_numbered_kind_has_its_readers() -> None:
    assert set(READERS) == set(photos.numbered_kinds())


# (number's kind, a role /files lets in that may not read that kind, a role that may)
CASES = [
    ("complaint", "equipment_supervisor", "quality"),
    ("return", "equipment_supervisor", "warehouse"),
    ("consumer_complaint", "equipment_supervisor", "after_sales_head"),
    ("consumer_complaint", "equipment_manager", "quality"),
    ("consumer_complaint", "management_office", "business_head"),
    ("defect", "quality", "equipment_supervisor"),
    ("rectification", "quality", "equipment_manager"),
    ("rectification", "equipment_supervisor", "management_office"),
]


@pytest.mark.parametrize(("kind", "outsider_role", "reader_role"), CASES)
async def test_files_of_a_record_go_only_to_those_who_may_read_it(
    services: Services, samples: None, kind: str, outsider_role: str, reader_role: str
) -> None:
    numbers = await one_of_each(services)
    outsider = await make_user(services, outsider_role)
    reader = await make_user(services, reader_role)

    assert await readable(services, outsider, numbers[kind]) is None
    found = await readable(services, reader, numbers[kind].lower())
    assert found is not None and found[0] == kind


async def test_a_consumer_reads_their_own_complaint_and_no_one_elses(
    services: Services, samples: None
) -> None:
    numbers = await one_of_each(services)
    async with services.session_factory() as session:
        owner_id = await session.scalar(
            select(ConsumerComplaint.consumer_id).where(
                ConsumerComplaint.number == numbers["consumer_complaint"]
            )
        )
    other = await make_user(services, "consumer")
    assert await readable(services, other, numbers["consumer_complaint"]) is None
    async with services.session_factory() as session:
        owner = await session.get(User, owner_id)
        assert owner is not None
        await session.refresh(owner, ["roles"])
        assert await readable_record(session, owner, numbers["consumer_complaint"]) is not None


async def test_the_equipment_supervisor_gets_no_consumers_photo_and_after_sales_gets_it(
    services: Services, samples: None, emulator: BotApiEmulator
) -> None:
    """The attack: `/files CC-…` as the equipment supervisor sent the consumer's photo."""
    numbers = await one_of_each(services)
    number = numbers["consumer_complaint"]
    assert services.file_store is not None
    stored = services.file_store.put(JPEG)
    async with services.unit_of_work() as uow:
        complaint = await uow.session.scalar(
            select(ConsumerComplaint).where(ConsumerComplaint.number == number)
        )
        assert complaint is not None
        uow.session.add(
            Photo(
                subject_type="consumer_complaint",
                subject_id=complaint.id,
                stage="intake",
                telegram_file_id="AgACAgIAAx0-consumer-photo",
                kind="photo",
                added_by_id=complaint.filed_by_id,
                added_at=AT,
                sha256=stored.sha256,
                size=stored.size,
                mime_type="image/jpeg",
                stored_at=AT,
            )
        )
        await uow.commit()

    async with running_bot(emulator, services) as bot:
        supervisor = await register(bot, "equipment_supervisor", "Shi Supervisor")
        await supervisor.send(f"/files {number}")
        assert await supervisor.expect_text() == f"No record numbered {number}."
        assert not any(m.get("document") for m in supervisor.all_bot_messages())

        head = await register(bot, "after_sales_head", "Hu Head")
        await head.send(f"/files {number}")
        header, sent = await head.expect(2)
        assert header["text"] == f"{number}: 1 evidence files."
        assert bot.emulator.files[sent["document"]["file_id"]].content == JPEG
