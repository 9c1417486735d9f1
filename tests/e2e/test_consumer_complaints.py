"""P2 consumer complaints end to end: a consumer's complaint with a photo that after-sales cannot
resolve, decided by the business head and answered back through after-sales; and the 1st of the
month's summary workbook for the after-sales head."""

from __future__ import annotations

import datetime as dt
import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from procedures.consumer_complaints import handling, intake
from procedures.consumer_complaints.common import ConsumerComplaintDraft
from procedures.consumer_complaints.rules import ConsumerDeadline
from procedures.kernel.clock import ManualClock
from scheduler.jobs import send_consumer_complaint_summary
from storage.models import ConsumerComplaint, Deadline, User
from tests.conftest import SHANGHAI

from .conftest import BotHarness, Chat, buttons_of, register
from .test_complaints import press
from .test_patrols import jobs_of, last
from .test_returns import click, text_with

NUMBER = re.compile(r"CC-2026-\d{5}")


async def test_a_consumer_complaint_is_escalated_decided_and_answered_through_after_sales(
    bot: BotHarness,
) -> None:
    consumer = await register(bot, "consumer", "Xu Consumer")
    after_sales = await register(bot, "after_sales", "An After-sales")
    business = await register(bot, "business_head", "Bai Business")
    await register(bot, "after_sales_head", "Ai Head")

    await consumer.send("/consumer_complaint")
    (ask_product,) = await consumer.expect()
    assert ask_product["text"].startswith("Which product is it about?")
    assert "P-2001 電子血壓計 BP-200" in [label for label, _ in buttons_of(ask_product)]
    await press(consumer, ask_product, "P-2001 電子血壓計 BP-200")
    assert (await consumer.expect_text()).startswith("What happened?")
    await consumer.send("The cuff tore on the second day of use.")
    assert (await consumer.expect_text()).startswith("How can we reach you?")
    await consumer.send("   ")
    assert (await consumer.expect_text()).startswith("Please send a phone number or e-mail")
    await consumer.send("138 0013 8000")
    (ask_photos,) = await consumer.expect()
    await bot.emulator.send_photo(bot.token, consumer.user_id, b"torn-cuff")
    (ack,) = await consumer.expect()
    assert ack["text"].startswith("Photo received (1 photo so far)")
    await press(consumer, ask_photos, "Done")
    (summary,) = await consumer.expect()
    assert "Product: 電子血壓計 BP-200" in summary["text"] and "Photos: 1" in summary["text"]
    await press(consumer, summary, "Submit")
    filed = await last(consumer, "Your complaint CC-2026-")
    number = NUMBER.search(filed["text"]).group()
    assert filed["text"] == (
        f"Your complaint {number} about 電子血壓計 BP-200 is recorded. "
        "After-sales will answer you by 09:00 on 27 November."
    )
    await consumer.send("/mycomplaints")  # P2 4.3: the consumer reads their own
    assert await consumer.expect_text() == (
        f"Your complaints:\n{number} (received 2026-11-26 09:00) 電子血壓計 BP-200: "
        "waiting for after-sales' judgement"
    )

    (notice,) = await after_sales.expect()
    assert notice["text"].startswith(f"New consumer complaint {number} from Xu Consumer")
    await press(after_sales, notice, "Judge")
    ask_verdict = await last(after_sales, "Does the complaint stand?")
    assert [label for label, _ in buttons_of(ask_verdict)] == [
        "Stands",
        "Does not stand",
        "Cannot resolve: business head",
    ]
    await press(after_sales, ask_verdict, "Cannot resolve: business head")
    ask_cause = await last(after_sales, "What was it about?")
    await press(after_sales, ask_cause, "product quality")
    await last(after_sales, "Write a note for the business head")
    await after_sales.send("Wants a refund in full after the warranty's end.")
    escalated = await last(after_sales, f"{number} is with the business head")
    assert "decides by 09:00 on 29 November" in escalated["text"]
    assert (await consumer.expect_text()).startswith(
        f"Your complaint {number} has been passed to our business department."
    )

    (to_head,) = await business.expect()
    assert "after-sales (An After-sales) could not resolve it" in to_head["text"]
    await press(business, to_head, "Decide")
    ask_decision = await last(business, f"Your decision on {number}: does the complaint stand?")
    assert [label for label, _ in buttons_of(ask_decision)] == ["Stands", "Does not stand"]
    await press(business, ask_decision, "Stands")
    ask_remedy = await last(business, "Which remedy was agreed")
    await press(business, ask_remedy, "exchange")
    await last(business, "Write your decision")
    await business.send("Exchange it for a new cuff; the seam was weak.")
    await last(business, f"Your decision on {number} is recorded.")

    (decided,) = await after_sales.expect()
    assert decided["text"].startswith(
        f"The business head (Bai Business) decided on consumer complaint {number}"
    )
    assert "Remedy: exchange." in decided["text"]
    await press(after_sales, decided, "Answer the consumer")
    await last(after_sales, f"Write the answer to the consumer on {number}")
    await after_sales.send("A new cuff is on its way to you; please keep the torn one for us.")
    await last(after_sales, f"The answer on {number} is recorded")
    final = await consumer.expect_text()
    assert final == (
        f"About your complaint {number}:\nRemedy: exchange.\n"
        "A new cuff is on its way to you; please keep the torn one for us."
    )
    await consumer.send("/mycomplaints")
    assert await consumer.expect_text() == (
        f"Your complaints:\n{number} (received 2026-11-26 09:00) 電子血壓計 BP-200: "
        "answered and closed\n"
        "  Answer (2026-11-26 09:00): A new cuff is on its way to you; please keep the torn one "
        "for us."
    )

    await bot.settled()
    async with bot.services.session_factory() as session:
        complaint = await session.scalar(
            select(ConsumerComplaint).where(ConsumerComplaint.number == number)
        )
        assert (complaint.status, complaint.verdict, complaint.decision_verdict) == (
            "closed",
            "unresolved",
            "standing",
        )
        assert complaint.remedy == "exchange" and complaint.contact == "138 0013 8000"
        closed = list(
            await session.scalars(
                select(Deadline.kind).where(
                    Deadline.subject_id == complaint.id,
                    Deadline.subject_type == "consumer_complaint",
                    Deadline.met_at.is_not(None),
                )
            )
        )
    assert sorted(closed) == sorted(
        [ConsumerDeadline.FIRST_ANSWER, ConsumerDeadline.DECISION, ConsumerDeadline.FINAL_ANSWER]
    )


async def test_on_the_first_the_after_sales_head_receives_the_months_summary_workbook(
    bot: BotHarness, clock: ManualClock
) -> None:
    head = await register(bot, "after_sales_head", "Ai Head")
    await register(bot, "after_sales", "An After-sales")
    async with bot.services.unit_of_work() as uow:
        staff = await uow.session.scalar(select(User).where(User.full_name == "An After-sales"))
        filed = await intake.file_consumer_complaint(
            uow,
            staff,
            ConsumerComplaintDraft(
                channel="phone",
                consumer_name="Ma Lin",
                contact="139 1111 2222",
                product_text="a cuff",
                description="It shows errors.",
            ),
        )
    async with bot.services.unit_of_work() as uow:
        staff = await uow.session.get(User, staff.id)
        await handling.agree_remedy(
            uow, staff, filed.complaint.id, cause="quality", remedy="discount", answer="20 % off"
        )

    clock.set(dt.datetime(2026, 12, 1, 8, tzinfo=SHANGHAI))
    await send_consumer_complaint_summary(jobs_of(bot))
    await send_consumer_complaint_summary(jobs_of(bot))  # a second run sends nothing more
    (sheet,) = await head.expect()
    assert sheet["caption"].startswith("Consumer complaints of 2026-11: summary and analysis.\n")
    assert sheet["document"]["file_name"] == "consumer-complaints-2026-11.xlsx"
    workbook = load_workbook(io.BytesIO(bot.emulator.files[sheet["document"]["file_id"]].content))
    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Complaints"] == 1 and summary["Standing rate"] == "100%"
    assert summary["discount"] == 1 and summary["a cuff"] == 1
    rows = list(workbook["Consumer complaints"].iter_rows(values_only=True))
    assert rows[1][:5] == (
        filed.complaint.number,
        "2026-11-26 09:00",
        "phone",
        "Ma Lin 139 1111 2222",
        "a cuff",
    )
    await bot.settled()
    assert not head.all_bot_messages()[1:]


async def go_through(bot: BotHarness, chat: Chat, *steps: str) -> None:
    """The user's steps in turn: "?text" waits for a message with it, "!text" sends it, and
    anything else presses the newest button of that label."""
    for step in steps:
        if step.startswith("?"):
            await text_with(bot, chat, step[1:])
        elif step.startswith("!"):
            await chat.send(step[1:])
        else:
            await click(bot, chat, step)


async def test_a_consumer_complaints_return_is_filed_from_the_answer_and_named_on_it(
    bot: BotHarness,
) -> None:
    after_sales = await register(bot, "after_sales", "An After-sales")
    await go_through(
        bot,
        after_sales,
        "!/consumer_for",
        "?Who called?",
        "!Zhou 139 0000 0000",
        "P-2001 電子血壓計 BP-200",
        "?What happened?",
        "!The display stays blank.",
        "Skip",
        "Submit",
    )
    number = NUMBER.search(await text_with(bot, after_sales, "is recorded")).group()
    await go_through(
        bot,
        after_sales,
        *("Judge", "Stands", "product quality", "return at a local store"),
        "?Write the answer to the consumer",
        "!Sorry: bring it back to the shop for a refund.",
    )
    answered = await last(after_sales, f"The answer on {number} is recorded")
    assert [label for label, _ in buttons_of(answered)] == ["File the return (調退貨明細表)"]
    await press(after_sales, answered, "File the return (調退貨明細表)")
    # each step waits for its own question: older messages carry buttons of the same labels
    await go_through(
        bot,
        after_sales,
        *("C001 仁和醫療器械有限公司", "quality"),
        "?Which product? Choose it, or type its code or the lot.",
        *("P-2001 電子血壓計 BP-200", "BP2026A07", "?How many?", "!1"),
        *("?Line 1: 電子血壓計 BP-200", "Done", "?Return request (調退貨明細表)", "Submit"),
    )
    assert (await text_with(bot, after_sales, "Return RT-2026-00001 received")).startswith(
        "Return RT-2026-00001 received: quantity 1 台, amount 390.00 yuan. "
        f"It is recorded on consumer complaint {number}."
    )
    await bot.settled()
    async with bot.services.session_factory() as session:
        complaint = await session.scalar(
            select(ConsumerComplaint).where(ConsumerComplaint.number == number)
        )
        assert complaint.return_number == "RT-2026-00001"
    # the button again: the complaint already names its return, nothing is filed
    await press(after_sales, answered, "File the return (調退貨明細表)")
    assert (await after_sales.wait_for_callback_answer())["text"] == (
        f"{number} already names its return."
    )


async def test_each_consumer_intake_step_that_moves_on_takes_the_previous_keyboard_away(
    bot: BotHarness,
) -> None:
    consumer = await register(bot, "consumer", "Xu Consumer")

    await consumer.send("/consumer_complaint")
    (ask_product,) = await consumer.expect()
    await press(consumer, ask_product, "P-2001 電子血壓計 BP-200")
    assert (await consumer.expect_text()).startswith("What happened?")
    assert buttons_of(ask_product) == []
    await consumer.send("The cuff tore on the second day of use.")
    await consumer.expect_text()
    await consumer.send("138 0013 8000")
    (ask_photos,) = await consumer.expect()
    await bot.emulator.send_photo(bot.token, consumer.user_id, b"torn-cuff")
    (ack,) = await consumer.expect()
    assert [label for label, _ in buttons_of(ack)] == ["Done"]
    await press(consumer, ask_photos, "Done")
    (summary,) = await consumer.expect()
    assert buttons_of(ask_photos) == [] and buttons_of(ack) == []
    await press(consumer, summary, "Cancel")
    await bot.emulator.wait_until(lambda: buttons_of(summary) == [])
