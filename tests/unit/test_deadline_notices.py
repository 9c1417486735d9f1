"""Every reminder and overdue alert says what it is about: for every deadline kind of the rules,
in every language, the record's number and subject (the customer and product, the asset and
vendor, the return's customer), the step, when, how long, and a button to act."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select

import procedures.equipment.queries
import procedures.rules
from bot.digests import render_digest
from bot.services import Services
from bot.texts import LANGUAGES, Texts, deadline_phrase
from procedures.kernel import deadlines, roles
from procedures.kernel.clock import ManualClock
from storage.models import (
    Assessment,
    BuyerNoticeTask,
    ConsumerComplaint,
    ConsumerMonthlyReview,
    Defect,
    EquipmentAsset,
    Inspection,
    Organisation,
    OutboxMessage,
    Product,
    Rectification,
    ReturnAction,
    ReturnRequest,
    User,
    UserRole,
    Vendor,
)
from tests.conftest import SHANGHAI

from .helpers import file, make_user, outbox_rows

HOUR = dt.timedelta(hours=1)
CUSTOMER = "仁和醫療器械有限公司"  # C001 in the samples
PRODUCT_CODE = "P-1001"
VENDOR = "迅達電梯維保有限公司"  # V001
ASSET = "EL-01"
CONSUMER = "林小姐"

# which record each kind is about (a new kind fails the test until it is named here)
SUBJECT_OF_KIND = {
    **dict.fromkeys(
        [
            "on_site_verification",
            "disposition_opinion",
            "handling_complete",
            "hold_lift",
            "adverse_event_report",
            "outbound_stop",
            "goods_labelled",
            "sales_stop",
            "buyer_notice",
            "supplier_answer",
            "nonconforming_handoff",
            "inquiry_answer",
        ],
        "complaint",
    ),
    **dict.fromkeys(
        [
            "corrective_action",
            "preventive_action",
            "return_slip",
            "return_inspection",
            "return_review",
            "return_approval",
            "return_pick_up",
            "return_booking_in",
            "return_transport_order",
            "return_tally",
            "return_receipt",
            "return_finance_review",
        ],
        "return",
    ),
    **dict.fromkeys(
        [
            "consumer_first_answer",
            "consumer_decision",
            "consumer_final_answer",
            "consumer_return_filed",
        ],
        "consumer_complaint",
    ),
    "consumer_improvement_proposals": "consumer_monthly_review",
    "consumer_summary_forwarded": "consumer_monthly_review",
    "repair": "defect",
    "inspection": "inspection",
    "rectification": "rectification",
    "score": "vendor",
    "assessment": "assessment",
}
# the manager's own step on a vendor's record: a rectification's follow-up check, signing the
# half-year's assessment (every other kind's button is checked by its own procedure's tests)
STEP_BUTTON = {"rectification": "rn:follow:{id}", "assessment": "as:sign:{id}"}


@dataclass(frozen=True)
class Record:
    subject_id: int
    label: str
    # what every message about it must show, whatever the language
    shows: tuple[str, ...]


async def records(services: Services) -> dict[str, Record]:
    """One record of every subject type, in the sample master data."""
    complaint = await file(services)
    technician = await make_user(services, "technician")
    async with services.unit_of_work() as uow:
        session, now = uow.session, uow.clock.now()
        customer_id = await session.scalar(
            select(Organisation.id).where(Organisation.code == "C001")
        )
        product = await session.scalar(select(Product).where(Product.code == PRODUCT_CODE))
        vendor = await session.scalar(select(Vendor).where(Vendor.code == "V001"))
        asset = await session.scalar(select(EquipmentAsset).where(EquipmentAsset.code == ASSET))
        assert product is not None and vendor is not None and asset is not None
        request = ReturnRequest(
            number="RT-2026-00001",
            organisation_id=customer_id,
            reason="quality",
            status="awaiting_after_sales",
            created_at=now,
        )
        consumer = ConsumerComplaint(
            number="CC-2026-00001",
            status="open",
            channel="phone",
            consumer_name=CONSUMER,
            contact="0912-000-000",
            description="漏液",
            filed_by_id=technician.id,
            received_at=now,
            product_id=product.id,
        )
        defect = Defect(
            number="DF-2026-00001",
            status="open",
            asset_id=asset.id,
            vendor_id=vendor.id,
            description="門不關",
            reported_by_id=technician.id,
            reported_at=now,
        )
        inspection = Inspection(asset_id=asset.id, period="2026-11", due_at=now + 10 * HOUR)
        assessment = Assessment(year=2026, half=2, status="open", opened_at=now)
        review = ConsumerMonthlyReview(period="2026-10", requested_at=now)
        session.add_all([request, consumer, defect, inspection, assessment, review])
        await session.flush()
        rectification = Rectification(
            vendor_id=vendor.id,
            defect_id=defect.id,
            description="門機",
            rung="verbal",
            status="open",
            due_at=now + 10 * HOUR,
            raised_by_id=technician.id,
            raised_at=now,
        )
        session.add(rectification)
        quality = await make_owner(session, now)
        for kind in ("corrective", "preventive"):
            session.add(
                ReturnAction(
                    return_id=request.id,
                    kind=kind,
                    department=roles.QUALITY,
                    owner_id=quality.id,
                    measure="改進包裝",
                    opened_at=now,
                    opened_by_id=quality.id,
                    due_at=now + 10 * HOUR,
                )
            )
        await session.flush()
        found = {
            "complaint": Record(
                complaint.id, complaint.number, (complaint.number, CUSTOMER, product.name)
            ),
            "return": Record(request.id, request.number, (request.number, CUSTOMER)),
            "consumer_complaint": Record(
                consumer.id, consumer.number, (consumer.number, CONSUMER, product.name)
            ),
            "defect": Record(defect.id, f"{defect.number} {ASSET}", (defect.number, ASSET, VENDOR)),
            "inspection": Record(inspection.id, f"{ASSET} 2026-11", (ASSET, asset.name)),
            "rectification": Record(rectification.id, f"#{rectification.id}", (VENDOR, ASSET)),
            "vendor": Record(vendor.id, "V001 2026-10", ("V001", VENDOR)),
            "assessment": Record(assessment.id, "2026-H2", ("2026",)),
            "consumer_monthly_review": Record(review.id, "2026-10", ("2026-10",)),
        }
        await uow.commit()
    return found


async def make_owner(session, now: dt.datetime) -> User:
    owner = User(
        telegram_id=4_000_001,
        full_name="Action owner",
        active=True,
        created_at=now,
        roles=[UserRole(role=roles.QUALITY)],
    )
    session.add(owner)
    await session.flush()
    return owner


async def everyone(services: Services) -> None:
    """A person in every role (the vendor's staff of V001), so every audience has someone."""
    for role in sorted(roles.ALL_ROLES):
        user = await make_user(services, role)
        if role == roles.VENDOR:
            async with services.unit_of_work() as uow:
                stored = await uow.session.get(User, user.id)
                stored.vendor_id = await uow.session.scalar(
                    select(Vendor.id).where(Vendor.code == "V001")
                )
                await uow.commit()


async def sweep(services: Services) -> deadlines.SweepResult:
    async with services.unit_of_work() as uow:
        result = await deadlines.sweep_deadlines(uow.session, now=uow.clock.now(), limit=1000)
        await uow.commit()
        return result


@pytest.mark.usefixtures("samples")
async def test_every_kind_s_reminder_and_alert_name_the_record_and_what_to_do(
    services: Services, clock: ManualClock
) -> None:
    assert set(SUBJECT_OF_KIND) == set(procedures.rules.DEADLINES)
    await everyone(services)
    found = await records(services)
    opened = clock.now()
    async with services.unit_of_work() as uow:
        for kind, rule in procedures.rules.DEADLINES.items():
            record = found[SUBJECT_OF_KIND[kind]]
            deadline = deadlines.open_deadline(
                uow.session,
                rule=rule,
                subject_type=SUBJECT_OF_KIND[kind],
                subject_id=record.subject_id,
                subject_label=record.label,
                opened_at=opened,
                due_at=opened + 10 * HOUR,
                system="elevator" if kind == "inspection" else None,
            )
            if kind == "buyer_notice":  # after-sales is chased while another buyer is untold
                await uow.session.flush()
                uow.session.add(
                    BuyerNoticeTask(
                        complaint_id=record.subject_id,
                        organisation_id=await uow.session.scalar(select(Organisation.id)),
                        deadline_id=deadline.id,
                        created_at=opened,
                    )
                )
        await uow.commit()

    clock.advance(8 * HOUR)  # past the reminder (7 h 30), 2 h left
    assert (await sweep(services)).reminders == len(SUBJECT_OF_KIND)
    clock.advance(3 * HOUR)  # an hour late
    assert (await sweep(services)).overdue_alerts == len(SUBJECT_OF_KIND)

    texts = Texts(SHANGHAI, strict=True)
    rows = [row for row in await outbox_rows(services) if row.text_key.startswith("deadline.")]
    for kind in SUBJECT_OF_KIND:
        record = found[SUBJECT_OF_KIND[kind]]
        mine = [row for row in rows if row.params["kind"] == {"$text": f"deadline.kind.{kind}"}]
        keys = {row.text_key for row in mine}
        assert keys == {"deadline.reminder", "deadline.overdue"}, kind
        for row in mine:
            # every kind's reminder and alert carries the step's button or the record's
            assert row.buttons, f"{kind}: {row.text_key} has no button"
            if kind in STEP_BUTTON:
                pressed = [b["data"] for line in row.buttons for b in line]
                assert STEP_BUTTON[kind].format(id=record.subject_id) in pressed, pressed
            for language in LANGUAGES:
                text = texts.get(language, row.text_key, **row.params)
                step = texts.get(language, f"deadline.kind.{kind}")
                due = deadline_phrase(language, opened + 10 * HOUR, SHANGHAI)  # 11:00 UTC
                for shown in (*record.shows, step, due):
                    assert shown in text, f"{kind} ({language}): {shown!r} not in {text!r}"
                late_or_left = "1" if row.text_key == "deadline.overdue" else "2"
                assert late_or_left in text

    zh = texts.get("zh-Hant", mine[0].text_key, **mine[0].params)
    assert "{" not in zh


@pytest.mark.usefixtures("samples")
async def test_a_reminder_and_an_alert_as_a_person_reads_them(
    services: Services, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    await make_user(services, "quality_head")
    complaint = await file(services)  # filing opens the opinion's three days
    texts = Texts(SHANGHAI, strict=True)

    clock.advance(54 * HOUR)  # 75 % of three days: 18 h left
    await sweep(services)
    opinion = {"$text": "deadline.kind.disposition_opinion"}

    async def of_opinion(text_key: str) -> list[OutboxMessage]:
        rows = await outbox_rows(services, user_id=qc.id, text_key=text_key)
        return [row for row in rows if row.params["kind"] == opinion]

    (reminder,) = await of_opinion("deadline.reminder")
    clock.advance(18 * HOUR + 30 * dt.timedelta(minutes=1))
    await sweep(services)
    (alert,) = await of_opinion("deadline.overdue")

    product = "一次性使用無菌注射器 5ml"
    assert texts.get("zh-Hant", reminder.text_key, **reminder.params) == (
        f"提醒：{complaint.number}（客戶{CUSTOMER}，產品{product}）待辦「處置意見」，"
        "須11月29日09:00前完成（尚餘18小時）。"
    )
    assert texts.get("zh-Hant", alert.text_key, **alert.params) == (
        f"已逾期：{complaint.number}（客戶{CUSTOMER}，產品{product}）的「處置意見」"
        "應11月29日09:00前完成，已逾期30分鐘。"
    )
    assert reminder.buttons == [
        [
            {
                "text_key": "deadline.button.open",
                "params": {"number": complaint.number},
                "data": f"find:open:{complaint.number}",
            }
        ]
    ]
    text, _ = render_digest(texts, "zh-Hant", [reminder, alert], clock.now())
    # the reminder and the alert of one deadline: listed once, as overdue
    assert text.count(complaint.number) == 1 and "已逾期30分鐘" in text
