"""P2 end to end: an exchange inside the ratio from the request to the slip, one over the limit
approved by the company leader, and a nonconforming complaint's return carried to a refund (a
company fault's corrective and preventive actions: test_return_corrective)."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from procedures.complaints import handling
from procedures.kernel.timeline import record_change
from storage.models import Batch, Deadline, OutboxMessage, Product, ReturnRequest, User
from tests.unit.helpers import act, file, make_user, verify

from .conftest import BotHarness, Chat, buttons_of, register
from .test_complaints import data_of, press


async def with_button(bot: BotHarness, chat: Chat, label: str) -> dict[str, Any]:
    """The newest message in the chat that carries a button labelled `label`."""

    def found() -> dict[str, Any] | None:
        for message in reversed(chat.all_bot_messages()):
            if label in [text for text, _ in buttons_of(message)]:
                return message
        return None

    return await bot.emulator.wait_until(found)


async def text_with(bot: BotHarness, chat: Chat, part: str) -> str:
    """The newest message (or caption) in the chat containing `part`."""

    def found() -> str | None:
        for message in reversed(chat.all_bot_messages()):
            text = message.get("text") or message.get("caption") or ""
            if part in text:
                return text
        return None

    return await bot.emulator.wait_until(found)


async def click(bot: BotHarness, chat: Chat, label: str) -> None:
    await press(chat, await with_button(bot, chat, label), label)


async def confirm(bot: BotHarness, chat: Chat, label: str, confirmation: str) -> None:
    """A final step: its button, then its confirmation's."""
    await click(bot, chat, label)
    await click(bot, chat, confirmation)


async def book_in(bot: BotHarness, warehouse: Chat) -> None:
    await confirm(bot, warehouse, "Book in", "Confirm booking in")


async def carry_to_the_warehouse(bot: BotHarness, head: Chat, driver: Chat, qc: Chat) -> None:
    """The goods reported at the station, the transport order issued, the goods collected and
    delivered; QC opens the inspection."""
    await click(bot, head, "Goods at the station (貨已到站)")
    await click(bot, head, "Issue the transport order")
    await text_with(bot, head, "which station?")
    await head.send("廣州貨運北站")
    await text_with(bot, head, "Transport order issued for")
    await click(bot, driver, "Picked up")
    await click(bot, driver, "Delivered to the warehouse")
    await click(bot, qc, "Inspect")


async def find_company_fault(
    bot: BotHarness,
    qc: Chat,
    cause: str,
    department: str,
    who: str,
    corrective: str = "Re-inspect the lot's seals and replace the faulty ones.",
    preventive: str = "Add a seal check to the outgoing inspection.",
) -> None:
    """QC finds a company fault: its cause, the department and the person (buttons) who owns
    the corrective and preventive actions, and the two actions."""
    await click(bot, qc, "company fault")
    await text_with(bot, qc, "What is the cause?")
    await qc.send(cause)
    await click(bot, qc, department)
    await click(bot, qc, who)
    await text_with(bot, qc, "Corrective action: what is to be done")
    await qc.send(corrective)
    await text_with(bot, qc, "Preventive action: what is to be done")
    await qc.send(preventive)
    await text_with(bot, qc, "Inspection of RT-2026-00001 recorded: company fault.")


async def request_exchange(bot: BotHarness, customer: Chat, quantity: int) -> None:
    """The customer asks to exchange `quantity` of C003's lot GL2026B12 (unsalable)."""
    await customer.send("/return")
    await click(bot, customer, "unsalable (不適銷)")
    await click(bot, customer, "P-2002 血糖試紙 GL-50")
    await click(bot, customer, "GL2026B12")
    await text_with(bot, customer, "How many?")
    await customer.send(str(quantity))
    await click(bot, customer, "Done")
    await click(bot, customer, "Submit")


async def tally_and_send_the_slip(bot: BotHarness, statistician: Chat, clerk: Chat) -> None:
    """The marketing statistician tallies the goods booked in; the clerk sends the slip in the
    chat (4.2.8-4.2.9)."""
    await click(bot, statistician, "Tallied")
    await text_with(bot, statistician, "tallied: the marketing clerk")
    await click(bot, clerk, "Send the slip in the chat")
    await text_with(bot, clerk, "in the chat and archived")


async def stored(bot: BotHarness, number: str) -> ReturnRequest:
    await bot.settled()
    async with bot.services.session_factory() as session:
        return await session.scalar(select(ReturnRequest).where(ReturnRequest.number == number))


async def test_an_exchange_inside_the_limit_goes_from_request_to_the_slip(bot: BotHarness) -> None:
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    after_sales = await register(bot, "after_sales", "An After-sales")
    head = await register(bot, "after_sales_head", "Shou Head")
    business = await register(bot, "business_head", "Bai Business")
    finance = await register(bot, "finance", "Fan Finance")
    driver = await register(bot, "driver", "Du Driver")
    qc = await register(bot, "quality", "Qiu QC")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")
    statistician = await register(bot, "marketing_statistician", "Tong Statistician")
    clerk = await register(bot, "marketing_clerk", "Wen Clerk")

    await customer.send("/return")
    await click(bot, customer, "unsalable (不適銷)")
    ask_product = await with_button(bot, customer, "P-2002 血糖試紙 GL-50")
    assert [label for label, _ in buttons_of(ask_product)] == [
        "P-1001 一次性使用無菌注射器 5ml",
        "P-2002 血糖試紙 GL-50",
    ]
    await press(customer, ask_product, "P-2002 血糖試紙 GL-50")
    await click(bot, customer, "GL2026B12")
    assert await text_with(bot, customer, "How many?") == "How many? (at most 60)"
    await customer.send("61")
    assert await text_with(bot, customer, "You cannot return 61") == (
        "You cannot return 61: 60 were shipped of this lot and 0 are already returned or "
        "requested, so at most 60 can be returned."
    )
    await customer.send("2")
    added = await with_button(bot, customer, "Done")
    assert added["text"].startswith(
        "Line 1: 血糖試紙 GL-50, lot GL2026B12, quantity 2 盒, amount 90.00 yuan."
    )
    await press(customer, added, "Done")
    summary = await with_button(bot, customer, "Submit")
    assert "Total: quantity 2 盒, amount 90.00 yuan" in summary["text"]
    await press(customer, summary, "Submit")
    filed = await text_with(bot, customer, "received")
    assert filed == (
        "Return RT-2026-00001 received: quantity 2 盒, amount 90.00 yuan.\n"
        "Exchange ratio 3.33% (limit 5.00%): inside the limit. After-sales and the business "
        "head review it."
    )
    assert "= 3.33%; limit 5.00%.\nTime limit (限期)" in await text_with(
        bot, finance, "RT-2026-00001"
    )

    await click(bot, finance, "Agree")  # 4.2.3: finance reviews first
    await click(bot, after_sales, "Sign")
    assert "Exchange ratio: exchanged 90.00 yuan" in await text_with(
        bot, business, "Please approve"
    )
    await click(bot, business, "Approve and sign")
    assert (await text_with(bot, customer, "is approved")).startswith(
        "Your return RT-2026-00001 is approved: please send the goods"
    )
    # 4.2.7: the warehouse books in against the after-sales head's signature, not the staff's
    assert "please countersign it as after-sales head" in await text_with(bot, head, "Exchange RT-")
    await click(bot, head, "Countersign")
    await text_with(bot, head, "RT-2026-00001 countersigned")
    await carry_to_the_warehouse(bot, head, driver, qc)
    await click(bot, qc, "goods undamaged")
    await text_with(bot, qc, "Inspection of RT-2026-00001 recorded: goods undamaged.")
    await text_with(bot, warehouse, "all three signatures are given")
    await book_in(bot, warehouse)
    await text_with(bot, warehouse, "RT-2026-00001 booked in.")
    await click(bot, warehouse, "Exchange")
    await click(bot, warehouse, "GL2026B12")
    await text_with(bot, warehouse, "How many of that lot?")
    await warehouse.send("2")
    await text_with(bot, warehouse, "The exchange of RT-2026-00001 is recorded")
    await tally_and_send_the_slip(bot, statistician, clerk)

    slip = await bot.emulator.wait_until(
        lambda: next((m for m in customer.all_bot_messages() if m.get("document")), None),
        timeout=30,  # a form is made in the rendering worker: seconds on a busy machine
    )
    assert (
        slip["caption"]
        == "Return slip (退貨單) of RT-2026-00001: quantity 2 盒, amount 90.00 yuan."
    )
    assert slip["document"]["file_name"] == "Return slip (退貨單)-RT-2026-00001.pdf"
    request = await stored(bot, "RT-2026-00001")
    assert request.status == "closed" and request.lines[0].replacement_quantity == 2
    async with bot.services.session_factory() as session:
        deadline = await session.scalar(select(Deadline).where(Deadline.kind == "return_slip"))
    assert deadline.met_at is not None and not deadline.met_late

    await after_sales.send("/return RT-2026-00001")
    record = await text_with(bot, after_sales, "RT-2026-00001 — closed")
    assert "• after-sales review: An After-sales, 2026-11-26 09:00" in record
    assert "• the after-sales head: Shou Head, 2026-11-26 09:00" in record
    assert "• QC: Qiu QC, 2026-11-26 09:00" in record
    assert "Transport order: Shou Head, 2026-11-26 09:00" in record
    assert "• return slip to the customer: due 2026-11-27 12:00, met 2026-11-26 09:00" in record
    assert "Wen Clerk: return slip sent" in record
    await customer.send("/return RT-2026-00001")
    assert "closed" in await text_with(bot, customer, "RT-2026-00001 — closed")


async def said(bot: BotHarness, chat: Chat, part: str) -> str:
    """The newest message or button answer (an alert) to the chat containing `part`."""
    answers = bot.emulator.bot(bot.token).callback_answers

    def found() -> str | None:
        for message in reversed(chat.all_bot_messages()):
            if part in (message.get("text") or ""):
                return message["text"]
        texts = [answer.get("text") or "" for answer in answers.values()]
        return next((text for text in reversed(texts) if part in text), None)

    return await bot.emulator.wait_until(found)


async def test_an_exchange_never_sends_out_a_lot_a_complaint_holds(bot: BotHarness) -> None:
    """P1 4.5/4.7 against P2 4.2.7: a complaint filed while the warehouse is choosing the
    replacement holds the product; the lot pressed is refused naming the complaint, and the
    exchange, asked again, offers no lot."""
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    after_sales = await register(bot, "after_sales", "An After-sales")
    finance = await register(bot, "finance", "Fan Finance")
    head = await register(bot, "after_sales_head", "Shou Head")
    business = await register(bot, "business_head", "Bai Business")
    driver = await register(bot, "driver", "Du Driver")
    qc = await register(bot, "quality", "Qiu QC")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")
    async with bot.services.unit_of_work() as uow:
        product_id = await uow.session.scalar(select(Product.id).where(Product.code == "P-2002"))
        uow.session.add(
            Batch(product_id=product_id, lot_number="GL2026C03", expiry_date=dt.date(2028, 3, 31))
        )
        await uow.commit()

    await request_exchange(bot, customer, 2)
    await click(bot, finance, "Agree")  # 4.2.3: finance reviews first
    await click(bot, after_sales, "Sign")
    await click(bot, business, "Approve and sign")
    await click(bot, head, "Countersign")
    await carry_to_the_warehouse(bot, head, driver, qc)
    await click(bot, qc, "goods undamaged")
    await text_with(bot, qc, "Inspection of RT-2026-00001 recorded: goods undamaged.")
    await text_with(bot, warehouse, "all three signatures are given")
    await book_in(bot, warehouse)
    await text_with(bot, warehouse, "RT-2026-00001 booked in.")
    await click(bot, warehouse, "Exchange")
    offer = await with_button(bot, warehouse, "GL2026C03")
    assert [label for label, _ in buttons_of(offer)] == ["GL2026B12", "GL2026C03"]

    complaint = await file(bot.services, "C003", lot="GL2026B12", product="P-2002", quantity=1)
    await press(warehouse, offer, "GL2026C03")
    refusal = await said(bot, warehouse, "may not leave")
    assert refusal == (
        f"Lot GL2026C03 is held by complaint {complaint.number} and may not leave the warehouse."
    )
    request = await stored(bot, "RT-2026-00001")
    assert request.status == "booked_in" and request.lines[0].replacement_batch_id is None

    await warehouse.send("/cancel")
    await click(bot, warehouse, "Exchange")
    assert await text_with(bot, warehouse, "No lot of") == (
        "No lot of 血糖試紙 GL-50 may leave the warehouse now (held, expired and nonconforming "
        "lots cannot replace goods): the exchange cannot be made yet."
    )


async def test_an_exchange_over_the_limit_is_refused_then_approved_by_the_company_leader(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    after_sales = await register(bot, "after_sales", "An After-sales")
    leader = await register(bot, "company_leader", "Lin Leader")
    business = await register(bot, "business_head", "Bai Business")
    finance = await register(bot, "finance", "Fan Finance")
    head = await register(bot, "after_sales_head", "Shou Head")

    await request_exchange(bot, customer, 4)
    refusal = (
        "the exchanged amount 180.00 yuan (this request included) is 6.67% of the purchases 2700.00 yuan "
        "in the last 90 days, over the contract's limit of 5.00%."
    )
    assert await text_with(bot, customer, "received") == (
        f"Return RT-2026-00001 received: quantity 4 盒, amount 180.00 yuan.\nIt cannot be accepted: {refusal}"
        "\nIf yours is a special case, send /returns and press “Ask for a special case” under "
        "RT-2026-00001 to explain it: after-sales may take it to the company leader."
    )
    assert refusal in await text_with(bot, after_sales, "Refused:")
    assert (await stored(bot, "RT-2026-00001")).status == "refused"

    await click(bot, after_sales, "Send to the company leader")
    special = await text_with(bot, leader, "Special case")
    assert (
        "Exchange ratio: exchanged 180.00 yuan (this request included) / purchased 2700.00 yuan"
        in special
    )
    assert refusal in special  # the refusal with its figures, not "{exchanged}"
    # a refusal kept on the timeline before the figures went with the entry shows them too
    async with bot.services.unit_of_work() as uow:
        kept = await uow.session.scalar(
            select(ReturnRequest).where(ReturnRequest.number == "RT-2026-00001")
        )
        record_change(
            uow.session, kept, "refused", uow.clock.now(), after={"refusal": "over_limit"}
        )
        await uow.commit()
    await after_sales.send("/return RT-2026-00001")
    record = await text_with(bot, after_sales, "Timeline")
    assert record.count(f"refused: {refusal}") == 2, record
    await click(bot, leader, "Approve (special case)")
    assert (await text_with(bot, leader, "as a special case? Once confirmed:")).startswith(
        "Approve exchange RT-2026-00001 (華南醫藥貿易公司, quantity 4 盒, amount 180.00 yuan) as a "
        "special case? Once confirmed:\n• the company leader's approval is recorded"
    )
    await click(bot, leader, "Confirm approval")
    await text_with(bot, customer, "is approved")
    await text_with(bot, business, "approved exchange RT-2026-00001")
    passed = await text_with(bot, finance, "is now past its limit")
    assert passed.startswith(
        "Exchange ratio of C003 華南醫藥貿易公司 is now past its limit: exchanged 180.00 yuan / "
        "purchased 2700.00 yuan in 90 days = 6.67%; limit 5.00%"
    )
    await with_button(bot, head, "Goods at the station (貨已到站)")
    request = await stored(bot, "RT-2026-00001")
    assert (request.status, request.leader_decision) == ("approved", "approved")
    assert request.signatures == []  # sending it to the leader signed nothing
    await bot.settled()
    async with bot.services.session_factory() as session:
        told = list(
            await session.scalars(
                select(User.telegram_id)
                .join(OutboxMessage, OutboxMessage.user_id == User.id)
                .where(OutboxMessage.text_key == "return.ratio_passed")
            )
        )
    # 3.8: finance, the business head and the company leader, once each
    assert sorted(told) == sorted(chat.user_id for chat in (finance, business, leader))
    await text_with(bot, leader, "is now past its limit")

    await leader.send("/return RT-2026-00001")
    record = await text_with(bot, leader, "RT-2026-00001 — approved")
    assert "Company leader: approved as a special case (Lin Leader, 2026-11-26 09:00)" in record
    assert "Lin Leader: company leader: approved as a special case" in record


async def test_a_nonconforming_complaints_return_is_carried_to_a_refund(bot: BotHarness) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    head = await register(bot, "after_sales_head", "Shou Head")
    business = await register(bot, "business_head", "Bai Business")
    driver = await register(bot, "driver", "Du Driver")
    qc = await register(bot, "quality", "Qiu QC")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")
    finance = await register(bot, "finance", "Fan Finance")
    statistician = await register(bot, "marketing_statistician", "Tong Statistician")
    clerk = await register(bot, "marketing_clerk", "Wen Clerk")

    complaint = await file(bot.services, "C001", quantity=12)
    verifier = await make_user(bot.services, "quality")
    await act(bot.services, handling.take_complaint, verifier, complaint.id)
    outcome = await verify(bot.services, verifier, complaint.id, "nonconforming")
    assert outcome.return_number == "RT-2026-00001"
    to_sign = await text_with(bot, head, "Quality return RT-2026-00001")
    assert "quantity 12 盒, amount 216.00 yuan" in to_sign
    await click(bot, head, "Sign")
    await click(bot, business, "Approve and sign")
    await text_with(bot, customer, "is approved")
    await carry_to_the_warehouse(bot, head, driver, qc)
    await find_company_fault(
        bot, qc, "Seal ring undersized, as the complaint found.", "warehouse", "Wu Warehouse"
    )
    await text_with(bot, warehouse, "all three signatures are given")
    await book_in(bot, warehouse)
    await text_with(bot, warehouse, "RT-2026-00001 booked in.")
    await confirm(bot, warehouse, "Refund", "Confirm refund")
    await text_with(bot, warehouse, "refund chosen")
    await click(bot, finance, "Record the credit")
    await text_with(bot, finance, "Credit amount for RT-2026-00001")
    await finance.send("300")
    assert await text_with(bot, finance, "cannot exceed") == (
        "The credit cannot exceed the return's amount, 216.00 yuan."
    )
    await finance.send("216.00")
    await text_with(bot, finance, "Credit 216.00 yuan recorded for RT-2026-00001")
    assert await text_with(bot, customer, "was refunded") == (
        "Your return RT-2026-00001 was refunded: credit 216.00 yuan."
    )
    await tally_and_send_the_slip(bot, statistician, clerk)
    await bot.emulator.wait_until(
        lambda: next((m for m in customer.all_bot_messages() if m.get("document")), None),
        timeout=30,  # a form is made in the rendering worker: seconds on a busy machine
    )
    request = await stored(bot, "RT-2026-00001")
    assert (request.status, request.settlement, request.credit_amount) == (
        "closed",
        "refund",
        Decimal("216.00"),
    )
    assert request.complaint_id == complaint.id and request.goods_on_hold


async def test_the_business_head_refuses_an_exchange_with_a_reason(bot: BotHarness) -> None:
    """Told to the customer and after-sales, shown on the record; a second press changes
    nothing."""
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    after_sales = await register(bot, "after_sales", "An After-sales")
    finance = await register(bot, "finance", "Fan Finance")
    business = await register(bot, "business_head", "Bai Business")

    await request_exchange(bot, customer, 2)
    await text_with(bot, customer, "RT-2026-00001 received")
    await click(bot, finance, "Agree")  # 4.2.3: finance reviews first
    await click(bot, after_sales, "Sign")

    to_approve = await with_button(bot, business, "Refuse")
    assert [label for label, _ in buttons_of(to_approve)] == ["Approve and sign", "Refuse"]
    await press(business, to_approve, "Refuse")
    await text_with(bot, business, "Why is RT-2026-00001 not approved?")
    await business.send("Seasonal stock: the customer ordered it for the winter.")
    question = await with_button(bot, business, "Confirm refusal")
    assert question["text"].startswith(
        "Refuse RT-2026-00001? Reason: Seasonal stock: the customer ordered it for the winter.\n"
        "Once confirmed:\n• the refusal is recorded and cannot be taken back;"
    )
    await press(business, question, "Back")  # the reason asked again: nothing recorded
    await text_with(bot, business, "Why is RT-2026-00001 not approved?")
    assert (await stored(bot, "RT-2026-00001")).business_refused_at is None
    await business.send("Seasonal stock: the customer ordered it for the winter.")
    await click(bot, business, "Confirm refusal")
    assert await text_with(bot, business, "is not approved.") == (
        "RT-2026-00001 is not approved. The customer and after-sales were told."
    )
    assert await text_with(bot, customer, "was not approved") == (
        "Your exchange request RT-2026-00001 was not approved by the business head: "
        "Seasonal stock: the customer ordered it for the winter."
    )
    assert (await text_with(bot, after_sales, "did not approve")).startswith(
        "The business head (Bai Business) did not approve exchange RT-2026-00001"
    )

    # the same button pressed again, or Approve: a clear answer, nothing changes
    for label in ("Refuse", "Approve and sign"):
        await press(business, to_approve, label)
        assert (await business.wait_for_callback_answer())["text"] == (
            "RT-2026-00001 is rejected: that step is not open now. Nothing was changed."
        )
    request = await stored(bot, "RT-2026-00001")
    assert request.status == "rejected" and request.business_refused_at is not None
    await customer.send("/return RT-2026-00001")
    shown = await text_with(bot, customer, "RT-2026-00001 — rejected")
    assert "Business head: not approved (Bai Business, " in shown
    assert "not approved by the business head: Seasonal stock" in shown


async def test_a_refusal_overtaken_by_anothers_approval_ends_the_dialogue_with_the_reason(
    bot: BotHarness,
) -> None:
    """Two business heads: one asks to refuse, the other approves meanwhile. The reason typed
    afterwards is answered with why it cannot be taken, and the next message is not read as a
    reason again."""
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    after_sales = await register(bot, "after_sales", "An After-sales")
    finance = await register(bot, "finance", "Fan Finance")
    first = await register(bot, "business_head", "Bai Business")
    second = await register(bot, "business_head", "Bo Business")
    await request_exchange(bot, customer, 2)
    await text_with(bot, customer, "RT-2026-00001 received")
    await click(bot, finance, "Agree")  # 4.2.3: finance reviews first
    await click(bot, after_sales, "Sign")

    await press(first, await with_button(bot, first, "Refuse"), "Refuse")
    await text_with(bot, first, "Why is RT-2026-00001 not approved?")
    await click(bot, second, "Approve and sign")
    await text_with(bot, customer, "is approved")
    assert (await stored(bot, "RT-2026-00001")).status == "approved"

    first.seen = len(first.all_bot_messages())
    await first.send("Seasonal stock")
    assert await first.expect_text() == (
        "RT-2026-00001 is approved, waiting for the goods: that step is not open now. "
        "Nothing was changed."
    )
    await first.send("hello")
    assert await first.expect_text() == (
        "I did not understand that. Send /help to see what you can use."
    )
    assert (await stored(bot, "RT-2026-00001")).business_refused_at is None


STALE_BUTTON = "This button is no longer valid. Nothing was changed."


async def test_each_return_step_that_moves_on_takes_the_previous_keyboard_away(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")

    await customer.send("/return")
    ask_reason = await with_button(bot, customer, "unsalable (不適銷)")
    reason_data = data_of(ask_reason, "unsalable (不適銷)")
    await press(customer, ask_reason, "unsalable (不適銷)")
    ask_product = await with_button(bot, customer, "P-2002 血糖試紙 GL-50")
    assert buttons_of(ask_reason) == []  # the reason is chosen: its buttons are gone

    await customer.send("P-2002")  # the product typed instead of pressed
    ask_lot = await with_button(bot, customer, "GL2026B12")
    assert buttons_of(ask_product) == []
    lot_data = data_of(ask_lot, "GL2026B12")
    await press(customer, ask_lot, "GL2026B12")
    await text_with(bot, customer, "How many?")
    assert buttons_of(ask_lot) == []

    await customer.send("2")
    first_line = await with_button(bot, customer, "Add a line")
    await press(customer, first_line, "Add a line")
    second_product = await with_button(bot, customer, "P-1001 一次性使用無菌注射器 5ml")
    assert second_product is not ask_product
    assert buttons_of(first_line) == []  # Add a line and Done, used, are gone
    await press(customer, second_product, "P-2002 血糖試紙 GL-50")
    await press(customer, await with_button(bot, customer, "GL2026B12"), "GL2026B12")
    await text_with(bot, customer, "How many? (at most 58)")
    await customer.send("1")
    second_line = await with_button(bot, customer, "Add a line")
    assert second_line is not first_line
    await press(customer, second_line, "Done")
    summary = await with_button(bot, customer, "Submit")
    assert buttons_of(second_line) == [] and buttons_of(second_product) == []

    # old buttons pressed anyway are answered and change nothing
    for old, data in ((ask_reason, reason_data), (ask_lot, lot_data)):
        await customer.press(old, data, forge=True)
        assert (await customer.wait_for_callback_answer())["text"] == STALE_BUTTON
    await press(customer, summary, "Submit")
    await text_with(bot, customer, "RT-2026-00001")
    assert buttons_of(summary) == []
    request = await stored(bot, "RT-2026-00001")
    assert request.total_quantity == 3


async def test_qcs_inspection_and_the_exchange_take_their_used_keyboards_away(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    after_sales = await register(bot, "after_sales", "An After-sales")
    finance = await register(bot, "finance", "Fan Finance")
    head = await register(bot, "after_sales_head", "Shou Head")
    business = await register(bot, "business_head", "Bai Business")
    driver = await register(bot, "driver", "Du Driver")
    qc = await register(bot, "quality", "Qiu QC")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")
    await request_exchange(bot, customer, 2)
    await click(bot, finance, "Agree")  # 4.2.3: finance reviews first
    await click(bot, after_sales, "Sign")
    await click(bot, business, "Approve and sign")
    await text_with(bot, customer, "is approved")
    await click(bot, head, "Countersign")
    await carry_to_the_warehouse(bot, head, driver, qc)

    ask_result = await with_button(bot, qc, "goods undamaged")
    undamaged = data_of(ask_result, "goods undamaged")
    assert len(buttons_of(ask_result)) > 1
    await press(qc, ask_result, "goods undamaged")
    await text_with(bot, qc, "Inspection of RT-2026-00001 recorded: goods undamaged.")
    assert buttons_of(ask_result) == []  # the finding is recorded: the findings are gone
    await qc.press(ask_result, undamaged, forge=True)  # a copy pressed anyway
    assert (await qc.wait_for_callback_answer())["text"] == STALE_BUTTON

    await book_in(bot, warehouse)
    await text_with(bot, warehouse, "RT-2026-00001 booked in.")
    booked = await with_button(bot, warehouse, "Exchange")
    await press(warehouse, booked, "Exchange")
    ask_lot = await with_button(bot, warehouse, "GL2026B12")
    await press(warehouse, ask_lot, "GL2026B12")
    await text_with(bot, warehouse, "How many of that lot?")
    assert buttons_of(ask_lot) == []  # the lot is chosen: the lots are gone
    await warehouse.send("2")
    await text_with(bot, warehouse, "The exchange of RT-2026-00001 is recorded")
    assert (await stored(bot, "RT-2026-00001")).lines[0].replacement_quantity == 2
    assert buttons_of(booked) == []  # Exchange and Refund, done with, are gone


async def test_a_company_fault_finding_asks_its_cause_in_place_of_the_findings(
    bot: BotHarness,
) -> None:
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
    await click(bot, head, "Confirm receipt (確認簽收)")  # 4.2.2: keyed in, then received
    await click(bot, head, "Sign")
    await click(bot, business, "Approve and sign")
    await text_with(bot, customer, "is approved")
    await carry_to_the_warehouse(bot, head, driver, qc)

    ask_result = await with_button(bot, qc, "company fault")
    fault = data_of(ask_result, "company fault")
    await press(qc, ask_result, "company fault")
    await text_with(bot, qc, "What is the cause?")
    assert buttons_of(ask_result) == []
    await qc.press(ask_result, fault, forge=True)  # a second tap while the cause is asked
    assert (await qc.wait_for_callback_answer())["text"] == STALE_BUTTON
    await qc.send("Seal missing.")
    await text_with(bot, qc, "Which department is responsible?")
    await qc.send("/cancel")
    await text_with(bot, qc, "Nothing was saved")
    assert (await stored(bot, "RT-2026-00001")).inspection_result is None


async def test_booking_in_is_refused_until_the_after_sales_head_has_countersigned(
    bot: BotHarness,
) -> None:
    """4.2.7: the warehouse books in against the after-sales head's, the business head's and
    QC's signatures; without the head's, booking in is refused naming it, and nothing moves."""
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    after_sales = await register(bot, "after_sales", "An After-sales")
    finance = await register(bot, "finance", "Fan Finance")
    head = await register(bot, "after_sales_head", "Shou Head")
    business = await register(bot, "business_head", "Bai Business")
    driver = await register(bot, "driver", "Du Driver")
    qc = await register(bot, "quality", "Qiu QC")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")

    await request_exchange(bot, customer, 2)
    await click(bot, finance, "Agree")
    await text_with(bot, finance, "finance agrees with the figures")
    await click(bot, after_sales, "Sign")
    await text_with(bot, after_sales, "RT-2026-00001")
    await click(bot, business, "Approve and sign")
    await text_with(bot, customer, "is approved")
    await carry_to_the_warehouse(bot, head, driver, qc)  # the head has not countersigned
    await click(bot, qc, "goods undamaged")
    await text_with(bot, qc, "Inspection of RT-2026-00001 recorded: goods undamaged.")
    assert await text_with(bot, warehouse, "still missing") == (
        "QC signed return RT-2026-00001 (華南醫藥貿易公司); still missing the signature of "
        "the after-sales head. Once it is given, please book the goods in by 09:00 on 27 November."
    )

    await warehouse.send("/returns")
    listed = await with_button(bot, warehouse, "Book in")
    answer = asyncio.create_task(warehouse.wait_for_callback_answer())
    await press(warehouse, listed, "Book in")
    assert (await answer)["text"] == (
        "RT-2026-00001 cannot be booked in: missing the signature of the after-sales head. "
        "Nothing was changed."
    )
    assert (await stored(bot, "RT-2026-00001")).status == "inspected"

    await click(bot, head, "Countersign")
    await text_with(bot, head, "RT-2026-00001 countersigned")
    await text_with(bot, warehouse, "all three signatures are given")
    await book_in(bot, warehouse)
    await text_with(bot, warehouse, "RT-2026-00001 booked in.")
    assert (await stored(bot, "RT-2026-00001")).status == "booked_in"
