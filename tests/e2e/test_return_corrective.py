"""P2 4.2.6 end to end: a quality return's company fault opens the corrective and the preventive
action, each reaching its owner in the responsible department, reminded and alerted by the
deadline engine, and each closed by its owner with what was done."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from storage.models import Deadline, ReturnAction

from .conftest import BotHarness, Chat, buttons_of, register
from .test_complaints import press
from .test_patrols import jobs_of
from .test_returns import carry_to_the_warehouse, click, text_with, with_button

DONE = "Record what was done"


def message_starting(chat: Chat, start: str) -> dict[str, Any] | None:
    """The newest message in the chat whose text starts with `start`."""
    found = [m for m in chat.all_bot_messages() if (m.get("text") or "").startswith(start)]
    return found[-1] if found else None


async def arrived(bot: BotHarness, chat: Chat, start: str) -> dict[str, Any]:
    return await bot.emulator.wait_until(lambda: message_starting(chat, start))


async def quality_return_at_the_warehouse(bot: BotHarness) -> tuple[Chat, Chat]:
    """A quality return filed by after-sales for C001, signed, approved and delivered; QC has
    opened the inspection. The customer's and QC's chats."""
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    after_sales = await register(bot, "after_sales", "An After-sales")
    head = await register(bot, "after_sales_head", "Shou Head")
    business = await register(bot, "business_head", "Bai Business")
    driver = await register(bot, "driver", "Du Driver")
    qc = await register(bot, "quality", "Qiu QC")
    await after_sales.send("/return_for")
    await click(bot, after_sales, "C001 仁和醫療器械有限公司")
    await click(bot, after_sales, "phone")
    await click(bot, after_sales, "Just now")
    await click(bot, after_sales, "quality")
    await click(bot, after_sales, "P-2001 電子血壓計 BP-200")
    await click(bot, after_sales, "BP2026A07")
    await text_with(bot, after_sales, "How many?")
    await after_sales.send("1")
    await click(bot, after_sales, "Done")
    await click(bot, after_sales, "Submit")
    await text_with(bot, after_sales, "Return RT-2026-00001 received")
    await click(bot, head, "Confirm receipt (確認簽收)")  # 4.2.2: keyed in, then received
    await text_with(bot, head, "receipt confirmed")
    await click(bot, head, "Sign")
    await text_with(bot, head, "RT-2026-00001")
    await click(bot, business, "Approve and sign")
    await text_with(bot, customer, "is approved")
    await carry_to_the_warehouse(bot, head, driver, qc)
    return customer, qc


async def test_a_company_fault_opens_corrective_and_preventive_actions_each_closed_by_its_owner(
    bot: BotHarness, clock
) -> None:
    from scheduler.jobs import sweep_deadlines

    quality_head = await register(bot, "quality_head", "Zhou Head")
    owner = await register(bot, "warehouse", "Wu Warehouse")
    business = await register(bot, "business_head", "Bo Business")
    customer, qc = await quality_return_at_the_warehouse(bot)

    await click(bot, qc, "company fault")
    await text_with(bot, qc, "What is the cause?")
    await qc.send("Cuffs crushed in storage: stacked above the rack's limit.")
    departments = await with_button(bot, qc, "warehouse")
    assert "driver" in [label for label, _ in buttons_of(departments)]
    await click(bot, qc, "head of finance")  # nobody of finance is enrolled: another department
    await text_with(bot, qc, "No one of head of finance is enrolled in the bot")
    await click(bot, qc, "warehouse")
    people = await with_button(bot, qc, "Wu Warehouse")
    assert [label for label, _ in buttons_of(people)] == ["Wu Warehouse"]
    await press(qc, people, "Wu Warehouse")
    await text_with(bot, qc, "Corrective action: what is to be done")
    await qc.send("   ")
    await text_with(bot, qc, "Please write the corrective action")
    await qc.send("Re-inspect the cuffs stored on rack B and set damaged ones apart.")
    await text_with(bot, qc, "Preventive action: what is to be done")
    await qc.send("Mark rack B's stacking limit and check it in the weekly tour.")
    await text_with(bot, qc, "Inspection of RT-2026-00001 recorded: company fault.")

    # the owner is told of each action at once, each with its button
    corrective = await text_with(bot, owner, "corrective action of return RT-2026-00001")
    assert corrective == (
        "You are responsible for the corrective action of return RT-2026-00001"
        " (仁和醫療器械有限公司), due by 09:00 on 26 December.\n"
        "Cause found by QC: Cuffs crushed in storage: stacked above the rack's limit.\n"
        "To do: Re-inspect the cuffs stored on rack B and set damaged ones apart.\n"
        "When it is done, press the button and write what was done."
    )
    preventive = await text_with(bot, owner, "preventive action of return RT-2026-00001")
    assert "To do: Mark rack B's stacking limit" in preventive
    # quality follows
    notice = await text_with(bot, quality_head, "Company fault found on return RT-2026-00001")
    assert "Responsible: warehouse, Wu Warehouse." in notice
    assert "Preventive action: Mark rack B's stacking limit" in notice

    async with bot.services.session_factory() as session:
        deadlines = list(
            await session.scalars(
                select(Deadline)
                .where(Deadline.kind.in_(["corrective_action", "preventive_action"]))
                .order_by(Deadline.kind)
            )
        )
    assert [(d.kind, d.responsible_role, d.met_at) for d in deadlines] == [
        ("corrective_action", "warehouse", None),
        ("preventive_action", "warehouse", None),
    ]

    # reminded before the deadline: the owner, with the button; after it, the owner, the
    # warehouse's head (the business head) and quality
    clock.advance(dt.timedelta(days=23))
    await sweep_deadlines(jobs_of(bot))
    # the two actions' reminders come in one sweep with the booking in, long overdue: one
    # digest, the overdue first, the return's number a button that opens it
    reminder = await arrived(bot, owner, "3 deadlines waiting on you, 1 overdue")
    lines = reminder["text"].split("\n")
    assert lines[1:3] == [
        "Returns and exchanges",
        "• RT-2026-00001 (customer 仁和醫療器械有限公司): booking in by the warehouse head "
        "(in time), 22 days overdue",
    ]
    assert lines[3].endswith(
        "the correction (return found a company fault), due by 09:00 on 26 December (7 days left)"
    )
    assert buttons_of(reminder) == [("RT-2026-00001", "find:open:RT-2026-00001")]
    await press(owner, reminder, "RT-2026-00001")
    assert "RT-2026-00001 — " in await text_with(bot, owner, "RT-2026-00001 — ")
    assert not [m for m in business.all_bot_messages() if "Reminder" in (m.get("text") or "")]
    clock.advance(dt.timedelta(days=8))
    await sweep_deadlines(jobs_of(bot))
    for chat in (owner, business, qc):

        def late_actions(chat: Chat = chat) -> str | None:
            texts = [m.get("text") or "" for m in chat.all_bot_messages()]
            return next((t for t in texts if "company fault), 1 day overdue" in t), None)

        alerts = await bot.emulator.wait_until(late_actions)
        assert "the correction (return found a company fault), 1 day overdue" in alerts
        assert "the prevention (return found a company fault), 1 day overdue" in alerts

    # the owner closes each with what was done, from the message that told them; quality is
    # told; a second tap on a closed one is answered, and changes nothing
    for kind, done in (
        ("corrective", "Twelve cuffs set apart; the rest re-inspected and conforming."),
        ("preventive", "Stacking limit painted on rack B; added to the weekly tour."),
    ):
        assigned = await arrived(bot, owner, f"You are responsible for the {kind} action")
        await press(owner, assigned, "Record what was done")
        await text_with(bot, owner, f"What was done for the {kind} action of RT-2026-00001?")
        await owner.send(done)
        await text_with(bot, owner, f"The {kind} action of RT-2026-00001 is recorded as done")
        await text_with(bot, quality_head, f"Wu Warehouse recorded the {kind} action")
    await press(owner, await arrived(bot, owner, "You are responsible for the corrective"), DONE)
    assert "already recorded as done" in (await owner.wait_for_callback_answer())["text"]

    await bot.settled()
    async with bot.services.session_factory() as session:
        actions = list(await session.scalars(select(ReturnAction).order_by(ReturnAction.id)))
        closed = list(
            await session.scalars(
                select(Deadline).where(
                    Deadline.kind.in_(["corrective_action", "preventive_action"])
                )
            )
        )
    assert all(a.done_at is not None for a in actions), [a.kind for a in actions]
    assert all(d.met_at is not None and d.met_late for d in closed)

    # staff see both actions on the return; the customer sees neither
    await quality_head.send("/return RT-2026-00001")
    record = await text_with(bot, quality_head, "RT-2026-00001 — inspected")
    assert "• corrective action (Wu Warehouse, due 2026-12-26 09:00): Re-inspect" in record
    assert "done" in record and "Twelve cuffs set apart" in record
    await customer.send("/return RT-2026-00001")
    seen = await text_with(bot, customer, "RT-2026-00001 — inspected")
    assert "Wu Warehouse" not in seen and "corrective" not in seen and "rack B" not in seen
