"""People outside the company are never left at a dead end: a customer whose exchange was
refused is told so once, with the way to ask for a special case, and can ask it; a vendor
reports a rectification done from the notice that asked it; another buyer of a nonconforming
product confirms it suspended sales, and after-sales chases one that does not."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from procedures.complaints import handling
from storage.models import Rectification
from tests.unit.helpers import file, verify

from .conftest import BotHarness, Chat, buttons_of, register
from .test_complaint_casework import act as act_as
from .test_complaint_casework import user_of
from .test_complaints import press
from .test_patrols import jobs_of, last, registered_vendor
from .test_returns import request_exchange, stored, text_with, with_button


async def test_a_refused_exchange_is_told_once_with_the_way_to_ask_for_a_special_case(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    colleague = await register(bot, "customer", "黃採購", organisation="C003", language="zh-Hant")
    after_sales = await register(bot, "after_sales", "An After-sales")
    await register(bot, "company_leader", "Lin Leader")

    await request_exchange(bot, customer, 4)
    await text_with(bot, after_sales, "Refused:")
    filed = await text_with(bot, customer, "received")
    assert "It cannot be accepted" in filed and "Ask for a special case" in filed
    # the one who filed it reads the refusal in the filing's answer, and nowhere else
    await bot.settled()
    texts = [m.get("text") or "" for m in customer.all_bot_messages()]
    assert sum("cannot be accepted" in text for text in texts) == 1, texts

    # a colleague of the customer is told, with the button that asks
    told = await with_button(bot, colleague, "申請特殊情況")
    assert told["text"].startswith("您的調換貨申請RT-2026-00001不能接受：")
    assert told["text"].endswith(
        "\n如屬特殊情況，可按「申請特殊情況」說明，售後服務科可報公司領導人批準。"
    )
    await press(colleague, told, "申請特殊情況")
    await text_with(bot, colleague, "請說明RT-2026-00001的特殊情況")
    await colleague.send("冬季備貨，客戶已預訂。")
    assert await text_with(bot, colleague, "已收到RT-2026-00001") == (
        "已收到RT-2026-00001的特殊情況說明，售後服務科將決定是否報公司領導人批準。"
    )
    await text_with(bot, after_sales, "asks for exchange")
    asked = await with_button(bot, after_sales, "Send to the company leader")
    assert asked["text"] == (
        "Customer 黃採購 (華南醫藥貿易公司) asks for exchange RT-2026-00001 to be taken as a "
        "special case: 冬季備貨，客戶已預訂。\nIf it is one, send it to the company leader."
    )
    await press(after_sales, asked, "Send to the company leader")
    await text_with(bot, after_sales, "RT-2026-00001 was sent to the company leader.")
    assert (await stored(bot, "RT-2026-00001")).status == "special_case"
    await customer.send("/returns")
    await text_with(bot, customer, "with the company leader")
    assert all(
        "Ask for a special case" not in [label for label, _ in buttons_of(m)]
        for m in customer.all_bot_messages()[-2:]
    )


async def test_the_vendor_reports_a_rectification_done_from_its_notice(
    bot: BotHarness, clock
) -> None:
    from scheduler.jobs import prompt_overdue_rectifications

    manager = await register(bot, "equipment_manager", "Ma Manager")
    vendor = await registered_vendor(bot, "Wu Vendor", "V002")
    colleague = await registered_vendor(bot, "Wang Vendor", "V002")
    await manager.send("/rectify")
    (ask_vendor,) = await manager.expect()
    await press(manager, ask_vendor, "V002 清源水務工程公司")
    await last(manager, "What must the vendor correct?")
    await manager.send("Pump room left dirty after each service.")
    await press(manager, await last(manager, "By when?"), "3 days")
    await last(manager, "Verbal rectification request #")
    (verbal,) = await vendor.expect()
    (copy,) = await colleague.expect()
    assert verbal["text"].endswith("Press “Rectified” once it is done.")
    assert [label for label, _ in buttons_of(verbal)] == ["Rectified"]

    # overdue: the written notice (不合格項整改單) carries the button too
    clock.advance(dt.timedelta(days=3, minutes=1))
    await prompt_overdue_rectifications(jobs_of(bot))
    await press(manager, await last(manager, "Rectification #"), "Issue written notice")
    written = await with_document(bot, vendor)
    assert [label for label, _ in buttons_of(written)] == ["Rectified"]

    await press(vendor, written, "Rectified")
    assert (await vendor.wait_for_callback_answer())["text"].startswith("Rectification RN-2026-")
    done = "Reported rectified by Wu Vendor, 2026-11-29 09:01."
    for chat, message in ((vendor, written), (colleague, copy), (vendor, verbal)):
        await bot.emulator.wait_until(
            lambda chat=chat, message=message: _shown(chat, message).endswith(done)
        )
    assert buttons_of(written) == [] and buttons_of(copy) == []
    reported = await with_button(bot, manager, "Conforms")
    assert reported["text"].startswith("清源水務工程公司 reports rectification RN-2026-")
    await press(manager, reported, "Conforms")
    await last(manager, "RN-2026-")
    await bot.settled()
    async with bot.services.session_factory() as session:
        stored = await session.scalar(select(Rectification))
    assert stored.status == "conforming"
    await vendor.press(written, "rn:done:1", forge=True)  # a copy pressed anyway
    assert "not possible now" in (await vendor.wait_for_callback_answer())["text"]


def _shown(chat: Chat, message: dict[str, Any]) -> str:
    return message.get("text") or message.get("caption") or ""


async def with_document(bot: BotHarness, chat: Chat) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next((m for m in reversed(chat.all_bot_messages()) if m.get("document")), None)

    # a form is made in the rendering worker: seconds on a busy machine
    return await bot.emulator.wait_until(found, timeout=30)


async def test_other_buyers_confirm_the_suspension_and_those_who_do_not_are_chased(
    bot: BotHarness, clock
) -> None:
    from scheduler.jobs import sweep_deadlines

    buyer = await register(bot, "customer", "王志強", organisation="C002", language="zh-Hant")
    colleague = await register(bot, "customer", "王同事", organisation="C002", language="zh-Hant")
    silent = await register(bot, "customer", "Li Jiahao", organisation="C003")
    after_sales = await register(bot, "after_sales", "安售後", language="zh-Hant")
    qc = await register(bot, "quality", "邱質檢", language="zh-Hant")
    complaint = await file(bot.services, "C001")
    await act_as(bot, qc, handling.take_complaint, complaint.id)
    await verify(bot.services, await user_of(bot, qc), complaint.id, "nonconforming")

    notice = await with_button(bot, buyer, "已暫停銷售")
    copy = await with_button(bot, colleague, "已暫停銷售")
    await with_button(bot, silent, "Sales suspended")
    before = copy["text"]
    await press(buyer, notice, "已暫停銷售")
    done = "已由王志強於2026-11-26 09:00確認暫停銷售。"
    for message in (notice, copy):
        await bot.emulator.wait_until(
            lambda message=message: message["text"].endswith(done) and not buttons_of(message)
        )
    assert copy["text"] == f"{before}\n\n{done}"

    # C003 never confirms: after-sales is reminded at 18 h, with the buttons that record how
    # it told them another way (C004, without a chat contact, is its task from the start)
    clock.advance(dt.timedelta(hours=19))
    await sweep_deadlines(jobs_of(bot))
    # C003's and C004's reminders come due together: one digest names each buyer
    digest = await text_with(bot, after_sales, "待辦期限共2項")
    for buyer in ("C003", "C004"):
        assert (
            f"・{complaint.number} {buyer}（客戶仁和醫療器械有限公司，產品一次性使用無菌注射器 5ml）："
            "通知其他購貨方暫停銷售，須11月27日09:00前完成（尚餘5小時）"
        ) in digest
    reminded = await with_button(bot, after_sales, "電話")
    assert [label for label, _ in buttons_of(reminded)] == ["電話", "電子郵件", "上門"]
    reminders = [m.get("text") or "" for m in after_sales.all_bot_messages()]
    assert not any(f"{complaint.number} C002" in text for text in reminders)  # confirmed
