"""P2 end to end, the slip chain (4.2.5, 4.2.7-4.2.9): the freight station's notice, the
transport order the driver keeps, the booking-in slip, the marketing statistician's tally and
the marketing clerk's return slip by 12:00 the next day, reminded and alerted on time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from scheduler.jobs import sweep_deadlines
from tests.conftest import SHANGHAI
from tests.printing import read_pdf

from .conftest import BotHarness, Chat, buttons_of, register
from .test_complaints import press
from .test_patrols import jobs_of
from .test_returns import book_in, click, request_exchange, text_with, with_button

NUMBER = "RT-2026-00001"


DOCUMENT_SECONDS = 30


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


async def document_named(bot: BotHarness, chat: Chat, file_name: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for message in reversed(chat.all_bot_messages()):
            if (message.get("document") or {}).get("file_name") == file_name:
                return message
        return None

    # a form is made in the rendering worker (a PDF with its fonts): seconds on a busy machine
    return await bot.emulator.wait_until(found, timeout=DOCUMENT_SECONDS)


class People:
    async def register(self, bot: BotHarness) -> People:
        self.customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
        self.after_sales = await register(bot, "after_sales", "An After-sales")
        self.head = await register(bot, "after_sales_head", "Shou Head")
        self.business = await register(bot, "business_head", "Bai Business")
        self.driver = await register(bot, "driver", "Du Driver")
        self.qc = await register(bot, "quality", "Qiu QC")
        self.warehouse = await register(bot, "warehouse", "Wu Warehouse")
        self.finance = await register(bot, "finance", "Fan Finance")
        self.statistician = await register(bot, "marketing_statistician", "Tong Statistician")
        self.clerk = await register(bot, "marketing_clerk", "Wen Clerk")
        return self


async def to_the_booking_in(bot: BotHarness, p: People) -> None:
    """From the customer's request to the goods booked in."""
    await request_exchange(bot, p.customer, 2)
    await text_with(bot, p.customer, "received")
    await click(bot, p.finance, "Agree")  # 4.2.3: finance reviews first
    await text_with(bot, p.finance, "finance agrees with the figures")
    await click(bot, p.after_sales, "Sign")
    await click(bot, p.business, "Approve and sign")
    await text_with(bot, p.customer, "is approved")
    await click(bot, p.head, "Countersign")
    await text_with(bot, p.head, f"{NUMBER} countersigned")

    # 4.2.5: after-sales takes the station's call; the head issues the order, naming the station
    await p.after_sales.send("/returns")
    await click(bot, p.after_sales, "Goods at the station (貨已到站)")
    await text_with(bot, p.after_sales, "notice for RT-2026-00001 is recorded")
    assert await text_with(bot, p.head, "The freight station reports") == (
        f"The freight station reports the goods of return {NUMBER} (華南醫藥貿易公司, "
        "quantity 2 盒), recorded by An After-sales. Please issue the transport order "
        "by 09:00 on 27 November."
    )
    await click(bot, p.head, "Issue the transport order")
    await text_with(bot, p.head, "which station?")
    await p.head.send("廣州貨運北站")
    assert await text_with(bot, p.head, "Transport order issued for") == (
        f"Transport order issued for {NUMBER} (freight station 廣州貨運北站): the drivers have it."
    )
    order = (
        f"Transport order (退貨運輸單) {NUMBER}\n"
        "Freight station: 廣州貨運北站\n"
        "Customer: 華南醫藥貿易公司\n"
        "Goods: 血糖試紙 GL-50, lot GL2026B12: 2 盒\n"
        "Issued by Shou Head, 2026-11-26 09:00.\n"
        "Collect the goods at the station against this order by 09:00 on 27 November."
    )
    assert await text_with(bot, p.driver, "Freight station:") == order
    await document_named(bot, p.driver, f"Transport order (退貨運輸單)-{NUMBER}.pdf")
    # the driver's copy keeps the order's details after pick-up and delivery
    await click(bot, p.driver, "Picked up")
    kept = await text_with(bot, p.driver, f"Pick-up of {NUMBER} confirmed.")
    assert kept == f"{order}\n\nPick-up of {NUMBER} confirmed."
    await click(bot, p.driver, "Delivered to the warehouse")
    delivered = await text_with(bot, p.driver, f"Delivery of {NUMBER}")
    assert delivered.startswith(order)

    await click(bot, p.qc, "Inspect")
    await click(bot, p.qc, "goods undamaged")
    await text_with(bot, p.qc, f"Inspection of {NUMBER} recorded: goods undamaged.")
    await text_with(bot, p.warehouse, "all three signatures are given")
    await book_in(bot, p.warehouse)
    await text_with(bot, p.warehouse, f"{NUMBER} booked in.")


async def to_the_tally(bot: BotHarness, clock: Any, people: People) -> None:
    """From the customer's request to the statistician's tally at 16:00 local."""
    p = people
    await to_the_booking_in(bot, p)
    # 4.2.7-4.2.8: the booking-in slip to the warehouse and the statistician, who tallies it
    booking_in = f"Booking-in slip (退貨入庫單)-{NUMBER}.pdf"
    for chat in (p.warehouse, p.statistician):
        slip = await document_named(bot, chat, booking_in)
        assert slip["caption"] == (
            f"Return {NUMBER} (華南醫藥貿易公司) was booked in by the warehouse head "
            "Wu Warehouse; booking-in slip (退貨入庫單): quantity 2 盒, amount 90.00 yuan."
        )
    assert await text_with(bot, p.statistician, "please tally") == (
        f"Return {NUMBER} (華南醫藥貿易公司) is booked in: please tally quantity 2 盒 and "
        "amount 90.00 yuan by 09:00 on 27 November."
    )
    clock.set(local(26, 16))
    await click(bot, p.statistician, "Tallied")
    await text_with(bot, p.statistician, f"{NUMBER} tallied")
    assert await text_with(bot, p.clerk, "Please review it") == (
        f"Return slip (退貨單) {NUMBER} (華南醫藥貿易公司, quantity 2 盒, amount 90.00 "
        "yuan) was tallied by Tong Statistician. Please review it and send it to the customer "
        "in the chat by 12:00 on 27 November."
    )
    await document_named(bot, p.clerk, f"Return slip (退貨單)-{NUMBER}.pdf")


async def test_the_clerk_sends_the_slip_by_noon_after_the_tally_reminded_in_the_morning(
    bot: BotHarness, clock: Any
) -> None:
    people = await People().register(bot)
    await to_the_tally(bot, clock, people)
    jobs = jobs_of(bot)
    reminder = (
        f"Reminder: {NUMBER} (customer 華南醫藥貿易公司): return slip to the customer is due by "
        "12:00 on 27 November (5 hours left)."
    )

    def reminded() -> bool:
        return any(m.get("text") == reminder for m in people.clerk.all_bot_messages())

    # due 12:00 the next day, 20 hours after the tally: reminded at three quarters, 07:00
    clock.set(local(27, 6, 59))
    await sweep_deadlines(jobs)
    await bot.settled()
    assert not reminded()
    clock.set(local(27, 7))
    await sweep_deadlines(jobs)
    await text_with(bot, people.clerk, reminder)

    clock.set(local(27, 11, 59))
    await click(bot, people.clerk, "Send the slip in the chat")
    assert await text_with(bot, people.clerk, "archived") == (
        f"The return slip of {NUMBER} was sent to the customer in the chat and archived: booked in."
    )
    slip = await document_named(bot, people.customer, f"Return slip (退貨單)-{NUMBER}.pdf")
    assert slip["caption"] == f"Return slip (退貨單) of {NUMBER}: quantity 2 盒, amount 90.00 yuan."
    clock.set(local(27, 12, 1))
    await sweep_deadlines(jobs)
    await bot.settled()
    assert not [m for m in people.clerk.all_bot_messages() if "OVERDUE" in (m.get("text") or "")]

    # the record keeps the chain and its documents; the customer reads the slip only
    await people.clerk.send(f"/return {NUMBER}")
    record = await with_button(bot, people.clerk, "Booking-in slip")
    for line in (
        "Freight station's notice: An After-sales, 2026-11-26 09:00",
        "Transport order: Shou Head, 2026-11-26 09:00",
        "  Freight station: 廣州貨運北站",
        "Booked in: Wu Warehouse, 2026-11-26 09:00",
        "Tallied: Tong Statistician, 2026-11-26 16:00",
        "  quantity 2, amount 90.00 yuan",
        "Return slip sent: Wen Clerk, 2026-11-27 11:59",
        "  sent in the chat; archived",
        "• return slip to the customer: due 2026-11-27 12:00, met 2026-11-27 11:59",
    ):
        assert line in record["text"], line
    assert [label for label, _ in buttons_of(record)] == [
        "Transport order",
        "Booking-in slip",
        "Return slip",
    ]
    await press(people.clerk, record, "Booking-in slip")
    await document_named(bot, people.clerk, f"Booking-in slip (退貨入庫單)-{NUMBER}.pdf")
    await people.customer.send(f"/return {NUMBER}")
    seen = await with_button(bot, people.customer, "Return slip")
    assert [label for label, _ in buttons_of(seen)] == ["Return slip"]
    # the customer follows their goods' way too, without the company-internal deadlines
    assert "return_tally" not in seen["text"] and "tally of the return" not in seen["text"]
    assert "Freight station" in seen["text"] and "Tallied" in seen["text"]

    # /form: the record's forms as PDF, those each reader may have
    await people.customer.send(f"/form {NUMBER.lower()}")
    details = await document_named(
        bot, people.customer, f"Return and exchange detail sheet-{NUMBER}.pdf"
    )
    assert details["caption"] == f"Return and exchange detail sheet {NUMBER}"
    slip_pdf = await document_named(bot, people.customer, f"Return slip (退貨單)-{NUMBER}.pdf")
    printed = read_pdf(bot.emulator.files[slip_pdf["document"]["file_id"]].content)
    assert NUMBER in printed.text and "Wen Clerk" in printed.text and printed.smallest >= 8
    names = [
        (m.get("document") or {}).get("file_name", "") for m in people.customer.all_bot_messages()
    ]
    assert not [n for n in names if n.startswith(("Transport order", "Booking-in slip"))]
    await people.clerk.send("/form RT-2026-09999")
    assert await text_with(bot, people.clerk, "RT-2026-09999") == (
        "No record numbered RT-2026-09999, or you may not read its forms."
    )


async def test_a_slip_not_sent_by_noon_alerts_the_clerk_and_the_business_head(
    bot: BotHarness, clock: Any
) -> None:
    people = await People().register(bot)
    await to_the_tally(bot, clock, people)
    jobs = jobs_of(bot)
    overdue = (
        f"OVERDUE: {NUMBER} (customer 華南醫藥貿易公司): return slip to the customer was due by "
        "12:00 on 27 November, 1 minute ago."
    )
    clock.set(local(27, 11, 59))
    await sweep_deadlines(jobs)
    await bot.settled()
    assert not [m for m in people.clerk.all_bot_messages() if m.get("text") == overdue]
    clock.set(local(27, 12, 1))
    await sweep_deadlines(jobs)
    for chat in (people.clerk, people.business):
        await text_with(bot, chat, overdue)
    # sent late, it is met late: the clerk's monthly record shows it
    await click(bot, people.clerk, "Send the slip in the chat")
    await text_with(bot, people.clerk, "archived")
    await people.clerk.send(f"/return {NUMBER}")
    record = await text_with(bot, people.clerk, f"{NUMBER} — ")
    assert "• return slip to the customer: due 2026-11-27 12:00, met 2026-11-27 12:01 — LATE" in (
        record
    )


class PeopleInChinese(People):
    async def register(self, bot: BotHarness) -> People:
        await super().register(bot)
        self.statistician = await register(
            bot, "marketing_statistician", "童統計", language="zh-Hant"
        )
        self.clerk = await register(bot, "marketing_clerk", "溫文員", language="zh-Hant")
        return self


async def test_the_tally_names_the_slips_deadline_and_the_slip_its_unit_in_the_readers_words(
    bot: BotHarness,
) -> None:
    p = await PeopleInChinese().register(bot)
    await to_the_booking_in(bot, p)
    slip = await document_named(bot, p.statistician, f"退貨入庫單-{NUMBER}.pdf")
    assert slip["caption"] == (
        f"退貨{NUMBER}（華南醫藥貿易公司）已由倉庫主管Wu Warehouse辦理入庫，開具《退貨入庫單》："
        "數量2盒，金額90.00元。"
    )
    assert await text_with(bot, p.statistician, "請於") == (
        f"退貨{NUMBER}（華南醫藥貿易公司）已入庫：請於11月27日09:00前統計數量2盒和金額90.00元並錄入。"
    )
    await click(bot, p.statistician, "統計完畢")
    tallied = await text_with(bot, p.statistician, f"{NUMBER}已統計完畢")
    assert tallied.startswith(
        f"{NUMBER}已統計完畢：營銷文員須於11月27日12:00前審核並發送《退貨單》。"
    )
    slip = await document_named(bot, p.clerk, f"退貨單-{NUMBER}.pdf")
    printed = read_pdf(bot.emulator.files[slip["document"]["file_id"]].content).text
    for shown in ("《退貨單》", NUMBER, "單位", "單價", "盒", "45.00", "90.00"):
        assert shown in printed, shown
    assert "單價（元）" in printed and "金額（元）" in printed
    assert "P-2002 血糖試紙 GL-50 GL2026B12 2 盒 45.00 90.00" in printed
