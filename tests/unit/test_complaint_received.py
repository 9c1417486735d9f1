"""P1 4.4 and 4.2: a complaint keyed in later counts from when it was received; an inquiry or
feedback is answered without a hold until quality judges it a quality complaint."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from bot.services import Services
from procedures.complaints import handling, inquiries, intake, queries
from procedures.complaints.intake import ComplaintDraft
from procedures.kernel import deadlines
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import InvalidInput, NotAllowed, WrongState
from procedures.kernel.received import parse_received_at
from procedures.kernel.timeline import events_of
from storage.models import Complaint, User
from tests.conftest import SHANGHAI

from .helpers import act, customer_of, ids, make_user, outbox_rows
from .test_reports import render

HOUR = dt.timedelta(hours=1)


async def key_in(
    services: Services,
    staff: User,
    organisation: str = "C001",
    *,
    received_at: dt.datetime | None = None,
    kind: str = "complaint",
    channel: str = "phone",
) -> Complaint:
    organisation_id, product_id, batch_id = await ids(services, organisation, "P-1001", "L20260301")
    draft = ComplaintDraft(
        organisation_id=organisation_id,
        channel=channel,
        kind=kind,
        received_at=received_at.isoformat() if received_at else None,
        complainant_name="李家豪",
        complainant_contact="020-8860-4411",
        product_id=product_id,
        batch_id=batch_id,
        quantity=5,
        description="Labels smudged",
    )
    async with services.unit_of_work() as uow:
        filed = await intake.file_complaint(uow, await uow.session.get(User, staff.id), draft)
    return filed.complaint


async def due_of(services: Services, complaint_id: int) -> dict[str, tuple[dt.datetime, ...]]:
    async with services.session_factory() as session:
        return {
            d.kind: (d.opened_at, d.due_at)
            for d in await queries.deadlines_of(session, complaint_id)
        }


def test_staff_give_the_received_time_on_the_local_clock_and_absurd_ones_are_refused() -> None:
    now = dt.datetime(2026, 11, 26, 14, 30, tzinfo=SHANGHAI)
    yesterday_nine = dt.datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
    assert (
        parse_received_at("2026-11-25 09:00", now, SHANGHAI, intake.RECEIVED_TEXTS)
        == yesterday_nine
    )
    assert (
        parse_received_at(" 11-25  09:00 ", now, SHANGHAI, intake.RECEIVED_TEXTS) == yesterday_nine
    )
    assert (
        parse_received_at("2026/11/25 09：00", now, SHANGHAI, intake.RECEIVED_TEXTS)
        == yesterday_nine
    )
    assert parse_received_at("08:15", now, SHANGHAI, intake.RECEIVED_TEXTS) == now.replace(
        hour=8, minute=15
    )
    assert parse_received_at("09:00", now, SHANGHAI, intake.RECEIVED_TEXTS).tzinfo is dt.UTC

    with pytest.raises(InvalidInput, match="received_in_future"):
        parse_received_at("15:00", now, SHANGHAI, intake.RECEIVED_TEXTS)
    with pytest.raises(InvalidInput, match="received_too_early") as too_early:
        parse_received_at("2026-10-01 09:00", now, SHANGHAI, intake.RECEIVED_TEXTS)
    assert too_early.value.params == {"days": 30}
    with pytest.raises(InvalidInput, match="received_too_early"):
        parse_received_at("0001-11-25 09:00", now, SHANGHAI, intake.RECEIVED_TEXTS)
    for garbage in ("yesterday", "25:00", "2026-13-01 09:00", "99999-11-25 09:00", "9", ""):
        with pytest.raises(InvalidInput, match="bad_received_at"):
            parse_received_at(garbage, now, SHANGHAI, intake.RECEIVED_TEXTS)


async def test_a_phoned_in_complaint_received_yesterday_counts_its_deadlines_from_then(
    services: Services, samples: None, clock: ManualClock
) -> None:
    after_sales = await make_user(services, "after_sales")
    qc = await make_user(services, "quality", language="en")
    clock.set(dt.datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI))
    received = dt.datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)

    local = await key_in(services, after_sales, "C001", received_at=received)
    far = await key_in(services, after_sales, "C003", received_at=received)

    assert local.received_at == received
    assert await due_of(services, local.id) == {
        "on_site_verification": (received, received + 24 * HOUR),  # an hour ago already
        "disposition_opinion": (received, received + 72 * HOUR),
    }
    assert await due_of(services, far.id) == {
        "on_site_verification": (received, received + 7 * 24 * HOUR),
        "disposition_opinion": (received, received + 72 * HOUR),
        "handling_complete": (received, received + 7 * 24 * HOUR),
    }
    notices = await outbox_rows(services, text_key="complaint.new_for_qc", user_id=qc.id)
    assert notices[0].params["received_at"] == {"$time": received.astimezone(dt.UTC).isoformat()}
    assert notices[0].params["channel"] == {"$text": "complaint.channel.phone"}

    # its 24 hours ran out before it was keyed in: the first sweep alerts quality
    async with services.unit_of_work() as uow:
        await deadlines.sweep_deadlines(uow.session, now=uow.clock.now())
        await uow.commit()
    alerts = await outbox_rows(services, text_key="deadline.overdue", user_id=qc.id)
    assert [a.params["subject"] for a in alerts] == [local.number]

    async with services.session_factory() as session:
        rows = {r.number: r for r in await queries.ledger_rows(session)}
    assert rows[local.number].received_at == received
    assert rows[local.number].received_as == "complaint"


async def test_a_customer_cannot_backdate_and_staff_cannot_date_ahead_at_submit(
    services: Services, samples: None, clock: ManualClock
) -> None:
    buyer = await customer_of(services, "C001")
    organisation_id, product_id, batch_id = await ids(services, "C001", "P-1001", "L20260301")
    draft = ComplaintDraft(
        organisation_id=organisation_id,
        received_at=(clock.now() - 48 * HOUR).isoformat(),
        product_id=product_id,
        batch_id=batch_id,
        quantity=1,
        description="cracked",
    )
    complaint = (await act(services, intake.file_complaint, buyer, draft)).complaint
    assert complaint.received_at == clock.now()  # a chat complaint is received when filed

    after_sales = await make_user(services, "after_sales")
    with pytest.raises(InvalidInput, match="received_in_future"):
        await key_in(services, after_sales, received_at=clock.now() + HOUR)
    with pytest.raises(InvalidInput, match="received_too_early"):
        await key_in(services, after_sales, received_at=clock.now() - dt.timedelta(days=31))


async def test_an_inquiry_is_answered_without_any_hold(
    services: Services, samples: None, clock: ManualClock
) -> None:
    after_sales = await make_user(services, "after_sales", language="en")
    qc = await make_user(services, "quality", language="en")
    buyer = await customer_of(services, "C001")
    received = clock.now() - 2 * HOUR

    inquiry = await key_in(services, after_sales, kind="inquiry", received_at=received)

    assert (inquiry.status, inquiry.received_as) == ("inquiry", "inquiry")
    async with services.session_factory() as session:
        assert not await queries.is_on_hold(session, inquiry.product_id, inquiry.batch_id)
        assert await queries.work_queue(session) == []
    assert await due_of(services, inquiry.id) == {
        "inquiry_answer": (received, received + 72 * HOUR)
    }
    assert await outbox_rows(services, text_key="complaint.hold_placed_product") == []
    (for_qc,) = await outbox_rows(services, text_key="complaint.inquiry_for_quality")
    assert for_qc.user_id == qc.id
    assert [[b["data"] for b in row] for row in for_qc.buttons] == [
        [f"iq:answer:{inquiry.id}"],
        [f"iq:judge:{inquiry.id}"],
    ]
    (for_after_sales,) = await outbox_rows(services, text_key="complaint.inquiry_for_after_sales")
    assert for_after_sales.user_id == after_sales.id
    assert [[b["data"] for b in row] for row in for_after_sales.buttons] == [
        [f"iq:answer:{inquiry.id}"]
    ]

    with pytest.raises(InvalidInput, match="empty_inquiry_answer"):
        await act(services, inquiries.answer_inquiry, after_sales, inquiry.id, "  ")
    answered = await act(
        services, inquiries.answer_inquiry, after_sales, inquiry.id, "Smudging is cosmetic."
    )
    assert answered.status == "answered" and answered.answer == "Smudging is cosmetic."
    (to_buyer,) = await outbox_rows(services, text_key="complaint.inquiry_answer")
    assert to_buyer.user_id == buyer.id
    assert to_buyer.params["answer"] == "Smudging is cosmetic."
    with pytest.raises(WrongState, match="inquiry_answered_already"):
        await act(services, inquiries.answer_inquiry, qc, inquiry.id, "again")
    async with services.session_factory() as session:
        assert not await queries.is_on_hold(session, inquiry.product_id, inquiry.batch_id)
        (answer_deadline,) = await queries.deadlines_of(session, inquiry.id)
        assert answer_deadline.met_at == clock.now() and answer_deadline.met_late is False


async def test_quality_judges_an_inquiry_a_quality_complaint_which_holds_the_goods_from_then(
    services: Services, samples: None, clock: ManualClock
) -> None:
    after_sales = await make_user(services, "after_sales")
    qc = await make_user(services, "quality", language="en")
    warehouse = await make_user(services, "warehouse")
    buyer = await customer_of(services, "C001")
    inquiry = await key_in(services, after_sales, kind="inquiry", received_at=clock.now() - HOUR)
    clock.advance(5 * HOUR)
    judged_at = clock.now()

    with pytest.raises(NotAllowed):  # quality judges (P1 4.3), not after-sales
        await act(services, inquiries.judge_quality_complaint, after_sales, inquiry.id)
    outcome = await act(services, inquiries.judge_quality_complaint, qc, inquiry.id)

    complaint = outcome.complaint
    assert (complaint.status, complaint.judged_at) == ("open", judged_at)
    assert complaint.received_at == judged_at - 6 * HOUR  # still when it reached us
    async with services.session_factory() as session:
        assert await queries.is_on_hold(session, complaint.product_id, complaint.batch_id)
        assert [c.number for c in await queries.work_queue(session)] == [complaint.number]
        events = [e.action for e in await events_of(session, "complaint", complaint.id)]
    assert "judged_quality_complaint" in events and "hold_placed" in events
    due = await due_of(services, complaint.id)
    assert due["on_site_verification"] == (judged_at, judged_at + 24 * HOUR)
    assert due["disposition_opinion"] == (judged_at, judged_at + 72 * HOUR)
    assert outcome.verify_due == judged_at + 24 * HOUR
    (hold,) = await outbox_rows(services, text_key="complaint.hold_placed_product")
    assert hold.user_id == warehouse.id
    (new,) = await outbox_rows(services, text_key="complaint.new_for_qc")
    assert new.buttons[0][0]["data"] == f"qc:take:{complaint.id}"
    (told,) = await outbox_rows(services, text_key="complaint.inquiry_judged")
    assert told.user_id == buyer.id

    with pytest.raises(WrongState, match="already_complaint"):
        await act(services, inquiries.judge_quality_complaint, qc, inquiry.id)
    with pytest.raises(WrongState, match="not_inquiry"):
        await act(services, inquiries.answer_inquiry, qc, inquiry.id, "too late")
    # a complaint keyed in as one cannot be "judged" a second time either
    plain = await key_in(services, after_sales)
    with pytest.raises(WrongState, match="already_complaint"):
        await act(services, inquiries.judge_quality_complaint, qc, plain.id)


async def test_an_answered_inquiry_may_still_be_judged_a_quality_complaint(
    services: Services, samples: None, clock: ManualClock
) -> None:
    after_sales = await make_user(services, "after_sales")
    qc = await make_user(services, "quality")
    inquiry = await key_in(services, after_sales, kind="inquiry")
    await act(services, inquiries.answer_inquiry, after_sales, inquiry.id, "Store below 25°C.")
    clock.advance(24 * HOUR)
    judged = await act(services, inquiries.judge_quality_complaint, qc, inquiry.id)
    assert judged.complaint.status == "open"
    async with services.session_factory() as session:
        assert await queries.is_on_hold(session, inquiry.product_id, inquiry.batch_id)


async def test_the_ledger_lists_complaints_and_the_quarterly_record_counts_inquiries_too(
    services: Services, samples: None, clock: ManualClock
) -> None:
    after_sales = await make_user(services, "after_sales")
    qc = await make_user(services, "quality")
    complaint = await key_in(services, after_sales, channel="letter")
    answered = await key_in(services, after_sales, kind="inquiry")
    await act(services, inquiries.answer_inquiry, qc, answered.id, "It is within tolerance.")
    judged = await key_in(services, after_sales, kind="inquiry")
    await act(services, inquiries.judge_quality_complaint, qc, judged.id)

    ledger = await render(services, {"kind": "complaint_ledger", "params": {"month": "2026-11"}})
    sheet = load_workbook(io.BytesIO(ledger.content)).active
    header = [cell.value for cell in sheet[2]]
    rows = [dict(zip(header, [c.value for c in row], strict=True)) for row in sheet.iter_rows(3)]
    assert [(r["序號"], r["投訴編號"], r["類別"]) for r in rows] == [
        (1, complaint.number, "質量投訴"),
        (2, judged.number, "查詢、情況反映，判定為質量投訴"),
    ]
    assert rows[1]["備註"] == "2026-11-26 09:00 查詢、情況反映判定為質量投訴，期限自此起算"

    quarterly = await render(
        services, {"kind": "complaint_quarterly", "params": {"year": 2026, "quarter": 4}}, "en"
    )
    summary, details = load_workbook(io.BytesIO(quarterly.content)).worksheets
    figures = {row[0].value: row[1].value for row in summary.iter_rows(min_row=2)}
    assert figures["Complaints"] == 2
    assert figures["Inquiries and feedback"] == 1 and figures["of which answered"] == 1
    assert figures["Inquiries and feedback judged quality complaints"] == 1
    listed = [row[1].value for row in details.iter_rows(min_row=3)]
    assert listed == [complaint.number, answered.number, judged.number]


async def test_an_inquiry_is_not_taken_or_verified_before_quality_judges_it_a_complaint(
    services: Services, samples: None
) -> None:
    after_sales = await make_user(services, "after_sales")
    qc = await make_user(services, "quality")
    inquiry = await key_in(services, after_sales, kind="inquiry")
    with pytest.raises(WrongState, match="still_inquiry"):  # a forged Take button
        await act(services, handling.take_complaint, qc, inquiry.id)
    async with services.session_factory() as session:
        with pytest.raises(WrongState, match="still_inquiry"):
            await handling.complaint_for_verification(session, qc, inquiry.id)
        with pytest.raises(WrongState, match="still_inquiry"):
            await handling.complaint_for_opinion(session, qc, inquiry.id)
    await act(services, inquiries.judge_quality_complaint, qc, inquiry.id)
    taken = await act(services, handling.take_complaint, qc, inquiry.id)
    assert taken.status == "investigating"


def test_a_received_time_typed_full_width_is_read_as_typed() -> None:
    now = dt.datetime(2026, 11, 26, 14, 30, tzinfo=SHANGHAI)
    typed = "２０２６－１１－２５　０９：００"
    assert parse_received_at(typed, now, SHANGHAI, intake.RECEIVED_TEXTS) == dt.datetime(
        2026, 11, 25, 9, 0, tzinfo=SHANGHAI
    )
