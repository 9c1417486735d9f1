"""P1 4.4 and 4.2 end to end: staff key in a phone complaint received yesterday and its
deadlines count from then; an inquiry is answered without any hold, then judged a quality
complaint, which holds the lot."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from procedures.kernel.clock import ManualClock
from storage.models import BatchHold, Complaint, Deadline
from tests.conftest import SHANGHAI

from .conftest import BotHarness, Chat, buttons_of, register
from .test_complaint_casework import buttons_become, edited
from .test_complaints import NUMBER
from .test_returns import click, text_with, with_button


async def key_in(bot: BotHarness, staff: Chat, kind: str, channel: str) -> None:
    """/complain_for C001, up to the question of when it was received."""
    await staff.send("/complain_for")
    await click(bot, staff, "C001 仁和醫療器械有限公司")
    await click(bot, staff, kind)
    await click(bot, staff, channel)
    await text_with(bot, staff, "When was it received?")


async def the_goods(bot: BotHarness, staff: Chat, description: str) -> None:
    """Complainant, product, lot, quantity, description, no photos; up to the summary."""
    await text_with(bot, staff, "Who complained?")
    await staff.send("陳美玲 021-5550-1201")
    await text_with(bot, staff, "Which product")
    await staff.send("P-1001")
    await text_with(bot, staff, "Which lot")
    await staff.send("L20260301")
    await text_with(bot, staff, "How many units are affected?")
    await staff.send("3")
    await text_with(bot, staff, "What is wrong?")
    await staff.send(description)
    await click(bot, staff, "Skip")


async def test_a_phone_complaint_received_yesterday_counts_its_deadlines_from_then(
    bot: BotHarness, clock: ManualClock
) -> None:
    after_sales = await register(bot, "after_sales", "An After-sales")
    qc = await register(bot, "quality", "Qiu QC")
    clock.set(dt.datetime(2026, 11, 27, 10, 30, tzinfo=SHANGHAI))

    await key_in(bot, after_sales, "quality complaint", "phone")
    await after_sales.send("2026-11-27 11:00")  # later than now
    assert await text_with(bot, after_sales, "cannot be later than now") == (
        "The time received cannot be later than now (2026-11-27 10:30). Please send it again."
    )
    await after_sales.send("2026-10-01 09:00")
    await text_with(bot, after_sales, "cannot be more than 30 days ago")
    await after_sales.send("yesterday morning")
    await text_with(bot, after_sales, "Send when it was received as 2026-12-05 09:00")
    await after_sales.send("2026-11-26 09:00")
    await the_goods(bot, after_sales, "Cracked barrels, reported by phone yesterday.")
    summary = await text_with(bot, after_sales, "Please check your complaint")
    assert "Kind: quality complaint" in summary and "Received: 2026-11-26 09:00" in summary
    await click(bot, after_sales, "Submit")

    filed = await text_with(bot, after_sales, "received 2026-11-26 09:00")
    number = NUMBER.search(filed).group()
    # 本埠: 24 hours from the call, not from the keying in; the opinion 3 days from the call
    assert (
        "On-site verification due by 09:00 on 27 November; disposition opinion due by 09:00 on 29 November."
        in filed
    )
    notice = await text_with(bot, qc, f"New quality complaint {number}")
    assert (
        "received 2026-11-26 09:00 by phone.\nOn-site verification due by 09:00 on 27 November"
        in (notice)
    )

    await qc.send(f"/ticket {number}")
    ticket = await text_with(bot, qc, "Received:")
    assert "Received: 2026-11-26 09:00 by phone from 陳美玲 021-5550-1201" in ticket, ticket
    assert "on-site verification: due 2026-11-27 09:00 — OVERDUE" in ticket, ticket

    async with bot.services.session_factory() as session:
        complaint = await session.scalar(select(Complaint).where(Complaint.number == number))
        assert complaint is not None
        assert complaint.received_at == dt.datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
        opened = set(
            await session.scalars(
                select(Deadline.opened_at).where(Deadline.subject_id == complaint.id)
            )
        )
    assert opened == {complaint.received_at}


async def test_an_inquiry_is_answered_without_a_hold_then_judged_a_complaint_that_holds_the_lot(
    bot: BotHarness, clock: ManualClock
) -> None:
    after_sales = await register(bot, "after_sales", "An After-sales")
    qc = await register(bot, "quality", "Qiu QC")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")
    buyer = await register(bot, "customer", "Chen Meiling", organisation="C001")

    await key_in(bot, after_sales, "inquiry or feedback", "letter")
    await click(bot, after_sales, "Just now")
    await the_goods(bot, after_sales, "Is a faint print on the blister a defect?")
    summary = await text_with(bot, after_sales, "Please check your complaint")
    assert "Kind: inquiry or feedback" in summary and "Received: on submitting" in summary
    await click(bot, after_sales, "Submit")
    filed = await text_with(bot, after_sales, "Inquiry or feedback QC-")
    number = NUMBER.search(filed).group()
    assert "Nothing is held; answer due by 09:00 on 29 November." in filed

    inquiry = await with_button(bot, qc, "Judge a quality complaint")
    assert inquiry["text"].startswith(f"New inquiry or feedback {number} from 仁和醫療器械有限公司")
    assert [label for label, _ in buttons_of(inquiry)] == ["Answer", "Judge a quality complaint"]
    await click(bot, qc, "Answer")
    await text_with(bot, qc, f"{number}: send the answer for the buyer.")
    await qc.send("A faint print within the printing tolerance is no defect.")
    await text_with(bot, qc, f"The answer to {number} is recorded")
    answer = await text_with(bot, buyer, f"Our answer to your inquiry {number}")
    assert answer.endswith("A faint print within the printing tolerance is no defect.")
    async with bot.services.session_factory() as session:
        assert list(await session.scalars(select(BatchHold))) == []
    assert warehouse.all_bot_messages() == []  # nothing held, nobody told to hold

    # the answered inquiry keeps only the judgment's button
    await buttons_become(bot, qc, inquiry, ["Judge a quality complaint"])

    # the buyer writes again: quality judges it a quality complaint after all, asked first
    clock.advance(dt.timedelta(hours=2))
    await click(bot, qc, "Judge a quality complaint")
    confirm = await edited(bot, qc, inquiry, f"Judge {number} a quality complaint?")
    assert "• hold every lot of 一次性使用無菌注射器 5ml;" in confirm["text"]
    assert [label for label, _ in buttons_of(confirm)] == ["Confirm: quality complaint", "Back"]
    await click(bot, qc, "Back")
    assert (await qc.wait_for_callback_answer())["text"] == (
        f"{number} stays an inquiry or feedback; nothing was changed."
    )
    back = await edited(bot, qc, inquiry, f"{number} (inquiry or feedback, answered)")
    assert [label for label, _ in buttons_of(back)] == ["Judge a quality complaint"]
    async with bot.services.session_factory() as session:
        assert list(await session.scalars(select(BatchHold))) == []

    await click(bot, qc, "Judge a quality complaint")
    await edited(bot, qc, inquiry, f"Judge {number} a quality complaint?")
    await click(bot, qc, "Confirm: quality complaint")
    judged = (await edited(bot, qc, inquiry, f"{number} is now a quality complaint"))["text"]
    assert buttons_of(await edited(bot, qc, inquiry, number)) == []
    assert "On-site verification due by 11:00 on 27 November" in judged  # 24 h from the judgment
    hold = await text_with(bot, warehouse, "Shipment hold (暫停發貨)")
    assert number in hold
    await with_button(bot, qc, "Take")
    await text_with(bot, buyer, "a quality complaint: we verify and handle it as one")
    async with bot.services.session_factory() as session:
        (held,) = await session.scalars(select(BatchHold))
        complaint = await session.scalar(select(Complaint).where(Complaint.number == number))
    assert complaint is not None and held.complaint_id == complaint.id
    assert complaint.status == "open" and complaint.answer is not None
