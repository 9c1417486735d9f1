"""Checks in their place, end to end: QC's cause refused at its own step, an exchange a colleague
settled first ends with the reason, forged report buttons (a quarter still running, a year past
any report, a 56-digit id, a period of another type) refused with a clear answer, a finance
credit of 1e999999999 refused, and lots typed full-width with the product's own unit taken."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from procedures.complaints import handling
from procedures.kernel.text_input import MAX_TEXT
from storage.models import ReportApproval, ReturnRequest
from tests.unit.helpers import act, file, make_user, verify

from .conftest import BotHarness, Chat, register
from .test_complaints import data_of, press
from .test_return_corrective import quality_return_at_the_warehouse
from .test_returns import (
    book_in,
    carry_to_the_warehouse,
    click,
    confirm,
    find_company_fault,
    request_exchange,
    stored,
    text_with,
    with_button,
)

STALE_BUTTON = "This button is no longer valid. Nothing was changed."
SOMETHING_WRONG = "Something went wrong"
BAD_CREDIT = "Please send the credit amount as a number, e.g. 136.00."


def texts_of(chat: Chat) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in chat.all_bot_messages()]


async def answer_to_forged(chat: Chat, message: dict[str, Any], data: str) -> str:
    """The alert a forged press of `data` on `message` is answered with."""
    await chat.press(message, data, forge=True)
    answer = await chat.wait_for_callback_answer()
    return str(answer.get("text") or "")


async def test_a_company_faults_cause_too_long_is_refused_at_its_own_step(
    bot: BotHarness,
) -> None:
    await register(bot, "warehouse", "Wu Warehouse")
    _, qc = await quality_return_at_the_warehouse(bot)
    await click(bot, qc, "company fault")
    await text_with(bot, qc, "What is the cause?")
    await qc.send("密" * (MAX_TEXT + 1))
    assert await text_with(bot, qc, "Please keep it under") == (
        f"Please keep it under {MAX_TEXT} characters."
    )
    assert not [t for t in texts_of(qc) if "Which department" in t]  # not asked on
    await qc.send("Cuffs crushed in storage.")
    departments = await with_button(bot, qc, "warehouse")
    await press(qc, departments, "warehouse")
    await click(bot, qc, "Wu Warehouse")
    await text_with(bot, qc, "Corrective action: what is to be done")
    await qc.send("Re-inspect the cuffs.")
    await text_with(bot, qc, "Preventive action: what is to be done")
    await qc.send("Mark the rack's stacking limit.")
    await text_with(bot, qc, "Inspection of RT-2026-00001 recorded: company fault.")
    request = await stored(bot, "RT-2026-00001")
    assert request.inspection_notes == "Cuffs crushed in storage."
    assert not [t for t in texts_of(qc) if SOMETHING_WRONG in t]


async def booked_in_exchange(bot: BotHarness) -> tuple[Chat, Chat]:
    """An exchange of 2 of C003's GL2026B12, inspected and booked in; two warehouse keepers."""
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    after_sales = await register(bot, "after_sales", "An After-sales")
    finance = await register(bot, "finance", "Fan Finance")
    head = await register(bot, "after_sales_head", "Shou Head")
    business = await register(bot, "business_head", "Bai Business")
    driver = await register(bot, "driver", "Du Driver")
    qc = await register(bot, "quality", "Qiu QC")
    first = await register(bot, "warehouse", "Wu Warehouse")
    second = await register(bot, "warehouse", "Wang Warehouse")
    await request_exchange(bot, customer, 2)
    await click(bot, finance, "Agree")
    await click(bot, after_sales, "Sign")
    await click(bot, business, "Approve and sign")
    await text_with(bot, customer, "is approved")
    await click(bot, head, "Countersign")
    await carry_to_the_warehouse(bot, head, driver, qc)
    await click(bot, qc, "goods undamaged")
    await text_with(bot, qc, "Inspection of RT-2026-00001 recorded: goods undamaged.")
    await book_in(bot, first)
    await text_with(bot, first, "RT-2026-00001 booked in.")
    return first, second


async def text_message(bot: BotHarness, chat: Chat, part: str) -> dict[str, Any]:
    """The newest message in the chat whose text contains `part`."""

    def found() -> dict[str, Any] | None:
        for message in reversed(chat.all_bot_messages()):
            if part in (message.get("text") or ""):
                return message
        return None

    return await bot.emulator.wait_until(found)


async def test_an_exchange_a_colleague_recorded_first_ends_with_the_reason_not_an_error(
    bot: BotHarness,
) -> None:
    first, second = await booked_in_exchange(bot)
    # both keepers open the exchange (the second from the notice that told the warehouse to
    # book in, with the same return's button) and choose the lot
    exchange = data_of(await with_button(bot, first, "Exchange"), "Exchange")
    await click(bot, first, "Exchange")
    await click(bot, first, "GL2026B12")
    await text_with(bot, first, "How many of that lot?")
    # (the notice's own Book in is gone: the first booked it in)
    notice = await text_message(bot, second, "all three signatures are given")
    await second.press(notice, exchange, forge=True)
    await click(bot, second, "GL2026B12")
    await text_with(bot, second, "How many of that lot?")
    # the first records it, typing the product's own unit (盒) full-width
    await first.send("２盒")
    await text_with(bot, first, "The exchange of RT-2026-00001 is recorded")
    # the second's answer comes too late: told why, and that the dialogue ended
    await second.send("2")
    assert await text_with(bot, second, "exchange dialogue has ended") == (
        "The exchange was not recorded and this exchange dialogue has ended."
    )
    await second.send("2")
    await bot.settled()
    assert not [t for t in texts_of(second) if SOMETHING_WRONG in t]
    request = await stored(bot, "RT-2026-00001")
    assert request.lines[0].replacement_quantity == 2
    async with bot.services.session_factory() as session:
        exchanged = await session.scalar(
            select(ReturnRequest).where(ReturnRequest.number == "RT-2026-00001")
        )
    assert exchanged is not None and exchanged.settlement == "exchange"


async def test_an_exchange_quantity_refused_keeps_the_step_and_a_later_answer_is_taken(
    bot: BotHarness,
) -> None:
    first, _ = await booked_in_exchange(bot)
    await click(bot, first, "Exchange")
    await click(bot, first, "GL2026B12")
    await text_with(bot, first, "How many of that lot?")
    await first.send("999999")
    assert await text_with(bot, first, "999999") == "999999 盒 is more than the 2 盒 returned."
    assert not [t for t in texts_of(first) if SOMETHING_WRONG in t]
    await first.send("2台")  # not the product's unit: refused naming 盒
    assert "盒" in await text_with(bot, first, "counted in")
    await first.send("2 盒")
    await text_with(bot, first, "The exchange of RT-2026-00001 is recorded")
    assert not [t for t in texts_of(first) if SOMETHING_WRONG in t]


async def test_forged_report_buttons_are_refused_with_a_clear_answer(bot: BotHarness) -> None:
    head = await register(bot, "quality_head", "Zhou Head")
    await head.send("/report")
    menu = await with_button(bot, head, "Complaint ledger (month)")
    # the quarter still running (2026 Q4 on 26 November) cannot be approved
    assert await answer_to_forged(head, menu, "rp:ok:2026:4") == (
        "The 2026 Q4 report can be approved only once the quarter is over."
    )
    # a year past any report, and a 56-digit year, are stale buttons
    assert await answer_to_forged(head, menu, "rp:ok:99999:1") == STALE_BUTTON
    assert await answer_to_forged(head, menu, "rp:ok:" + "9" * 56 + ":1") == STALE_BUTTON
    # a period of another type than the report's, or one not yet begun
    for period in ("2026-H9", "2026-Q3", "2026-H1", "2027-01", "9999-12"):
        assert await answer_to_forged(head, menu, f"rp:p:complaint_ledger:{period}") == (
            STALE_BUTTON
        )
    await bot.settled()
    async with bot.services.session_factory() as session:
        assert list(await session.scalars(select(ReportApproval))) == []
    assert not [m for m in head.all_bot_messages() if m.get("document")]
    assert not [t for t in texts_of(head) if SOMETHING_WRONG in t]

    # once the quarter is over, the real approval is open; a conclusion nobody sees is none
    bot.services.clock.set(dt.datetime(2027, 1, 2, 9, tzinfo=dt.UTC))  # type: ignore[attr-defined]
    await head.press(menu, "rp:ok:2026:4", forge=True)
    await text_with(bot, head, "please type your conclusion")
    await head.send("\u200b \u2060")
    await text_with(bot, head, "Please type the conclusion")
    await head.send("All complaints closed in time.")
    await text_with(bot, head, "The 2026 Q4 report is approved and final")
    await bot.settled()
    async with bot.services.session_factory() as session:
        (approval,) = list(await session.scalars(select(ReportApproval)))
    assert approval.conclusion == "All complaints closed in time."


async def test_a_credit_of_no_real_amount_is_refused_and_a_real_one_recorded(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    head = await register(bot, "after_sales_head", "Shou Head")
    business = await register(bot, "business_head", "Bai Business")
    driver = await register(bot, "driver", "Du Driver")
    qc = await register(bot, "quality", "Qiu QC")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")
    finance = await register(bot, "finance", "Fan Finance")
    complaint = await file(bot.services, "C001", quantity=12)
    verifier = await make_user(bot.services, "quality")
    await act(bot.services, handling.take_complaint, verifier, complaint.id)
    await verify(bot.services, verifier, complaint.id, "nonconforming")
    await click(bot, head, "Sign")
    await click(bot, business, "Approve and sign")
    await text_with(bot, customer, "is approved")
    await carry_to_the_warehouse(bot, head, driver, qc)
    await find_company_fault(bot, qc, "Seal ring undersized.", "warehouse", "Wu Warehouse")
    await text_with(bot, warehouse, "all three signatures are given")
    await book_in(bot, warehouse)
    await text_with(bot, warehouse, "RT-2026-00001 booked in.")
    await confirm(bot, warehouse, "Refund", "Confirm refund")
    await text_with(bot, warehouse, "refund chosen")
    await click(bot, finance, "Record the credit")
    await text_with(bot, finance, "Credit amount for RT-2026-00001")
    finance.seen = len(finance.all_bot_messages())
    for typed in ("1e999999999", "NaN", "\u200b", "0.001"):
        await finance.send(typed)
        assert await finance.expect_text() == BAD_CREDIT
    await finance.send("２１６")
    await text_with(bot, finance, "Credit 216.00 yuan recorded for RT-2026-00001")
    assert not [t for t in texts_of(finance) if SOMETHING_WRONG in t]
    assert (await stored(bot, "RT-2026-00001")).credit_amount == Decimal("216.00")


async def test_a_lot_typed_full_width_and_a_quantity_in_the_products_unit_are_taken(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    await customer.send("/return")
    await click(bot, customer, "quality")
    await text_with(bot, customer, "Which product?")
    await customer.send("ＢＰ２０２６Ａ０７")
    await text_with(bot, customer, "How many?")
    await customer.send("２台")
    added = await text_with(bot, customer, "Line 1:")
    assert "BP2026A07" in added and "quantity 2 台," in added
    assert not [t for t in texts_of(customer) if SOMETHING_WRONG in t]
