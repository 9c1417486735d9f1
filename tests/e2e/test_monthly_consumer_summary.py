"""The after-sales head's monthly consumer complaint summary end to end (P2 4.3.4, 4.4): the head
gets the month's summary, writes the improvement proposals in the chat and passes it on to the
business head; the next month's summary shows the proposals; a head who does not answer is
alerted; and the summary of any month, the running one so far, comes through /report."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook

from procedures.kernel.clock import ManualClock
from scheduler.jobs import send_consumer_complaint_summary, sweep_deadlines
from tests.conftest import SHANGHAI

from .conftest import BotHarness, buttons_of, register
from .test_complaints import press
from .test_patrols import jobs_of
from .test_returns import said, text_with

PROPOSALS = "Print the cuff's care instructions on the box; train the shops on fitting it."


def summary_rows(bot: BotHarness, message: dict) -> list[tuple]:
    content = bot.emulator.files[message["document"]["file_id"]].content
    return list(load_workbook(io.BytesIO(content))["Summary"].iter_rows(values_only=True))


async def test_the_heads_proposals_are_kept_passed_on_and_shown_in_next_months_summary(
    bot: BotHarness, clock: ManualClock
) -> None:
    head = await register(bot, "after_sales_head", "Ai Head")
    business = await register(bot, "business_head", "Bai Business")
    jobs = jobs_of(bot)

    clock.set(dt.datetime(2026, 12, 1, 8, tzinfo=SHANGHAI))
    await send_consumer_complaint_summary(jobs)
    (sheet,) = await head.expect()
    assert sheet["caption"] == (
        "Consumer complaints of 2026-11: summary and analysis.\n"
        "Please write the improvement proposals by 08:00 on 8 December and pass the summary on to "
        "the business head by 08:00 on 4 December.\n"
        "No improvement proposals were recorded for 2026-10."
    )
    assert sheet["document"]["file_name"] == "consumer-complaints-2026-11.xlsx"
    assert [label for label, _ in buttons_of(sheet)] == [
        "Improvement proposals",
        "Send to the business head",
    ]

    await press(head, sheet, "Improvement proposals")
    assert (await head.expect_text()).startswith("Write the improvement proposals for 2026-11")
    await head.send(PROPOSALS)
    assert await head.expect_text() == (
        "The improvement proposals for 2026-11 are recorded; next month's summary shows them."
    )

    await press(head, sheet, "Send to the business head")
    assert await head.expect_text() == "The summary of 2026-11 was sent to the business head."
    (handed,) = await business.expect()
    assert handed["caption"] == (
        "Ai Head (after-sales head) sends you the after-sales information of 2026-11: "
        "the consumer complaint summary and analysis."
    )
    assert ("2026-11", PROPOSALS, "Ai Head", "2026-12-01 08:00", "Ai Head", "2026-12-01 08:00") in (
        summary_rows(bot, handed)
    )
    # a second tap is answered, and the business head gets nothing more
    await press(head, sheet, "Send to the business head")
    assert "already sent to the business head by Ai Head" in await said(
        bot, head, "already sent to the business head"
    )
    await press(head, sheet, "Improvement proposals")
    assert "already recorded by Ai Head" in await said(bot, head, "already recorded by Ai Head")

    clock.set(dt.datetime(2027, 1, 1, 8, tzinfo=SHANGHAI))
    await send_consumer_complaint_summary(jobs)
    december = await text_with(bot, head, "Consumer complaints of 2026-12")
    assert december.endswith(f"Improvement proposals for 2026-11 (Ai Head): {PROPOSALS}")
    latest = head.all_bot_messages()[-1]
    rows = summary_rows(bot, latest)
    assert rows[-2][:3] == ("2026-11", PROPOSALS, "Ai Head")
    await bot.settled()
    assert [m.get("caption", m.get("text")) for m in business.all_bot_messages()][1:] == []


async def test_a_head_who_does_not_answer_is_alerted_with_the_company_leader(
    bot: BotHarness, clock: ManualClock
) -> None:
    head = await register(bot, "after_sales_head", "Ai Head")
    leader = await register(bot, "company_leader", "Lu Leader")
    jobs = jobs_of(bot)
    clock.set(dt.datetime(2026, 12, 1, 8, tzinfo=SHANGHAI))
    await send_consumer_complaint_summary(jobs)
    await head.expect()
    clock.set(dt.datetime(2026, 12, 6, 15, tzinfo=SHANGHAI))  # 75 % of the week
    await sweep_deadlines(jobs)
    # the hand-over, due in three days, fell overdue meanwhile: one digest tells both, the
    # overdue first
    proposals = (
        "2026-11 (consumer complaint summary of 2026-11): improvement proposals on the monthly "
        "consumer complaint summary (改善辦法和方案)"
    )
    digest = await text_with(bot, head, "2 deadlines waiting on you, 1 overdue")
    assert digest.endswith(f"• {proposals}, due by 08:00 on 8 December (1 day 17 hours left)")
    assert "passing the monthly consumer complaint summary to the business head, 2 days" in digest
    clock.set(dt.datetime(2026, 12, 8, 8, 1, tzinfo=SHANGHAI))
    await sweep_deadlines(jobs)
    for chat in (head, leader):
        alert = await text_with(bot, chat, "2 deadlines waiting on you, 2 overdue")
        assert f"• {proposals}, 1 minute overdue" in alert


async def test_the_summary_of_the_running_month_comes_through_report_so_far(
    bot: BotHarness, clock: ManualClock
) -> None:
    business = await register(bot, "business_head", "Bai Business")
    clock.set(dt.datetime(2026, 12, 6, 10, tzinfo=SHANGHAI))
    await business.send("/report")
    (menu,) = await business.expect()
    await press(business, menu, "Consumer complaint summary and analysis (month)")
    (periods,) = await business.expect()
    assert [label for label, _ in buttons_of(periods)][:3] == [
        "2026-12 (so far)",
        "2026-11",
        "2026-10",
    ]
    await press(business, periods, "2026-12 (so far)")
    _preparing, workbook = await business.expect(2)
    assert workbook["caption"] == (
        "Consumer complaint summary and analysis (month), 2026-12 (so far, to 2026-12-06)"
    )
    rows = summary_rows(bot, workbook)
    assert (
        rows[0][0]
        == "售後服務部 · Consumer complaints, 2026-12 (so far, to 2026-12-06): summary and analysis"
    )
