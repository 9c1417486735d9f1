"""/find: staff find complaints, returns and defects by lot, customer, product, asset or days
received, newest first and capped, and open each with a button as /ticket, /return or /defect
shows it; customers are refused, and odd input is safe."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from typing import Any

from procedures.kernel.clock import ManualClock
from procedures.search import OpenFound
from tests.conftest import SHANGHAI
from tests.unit.helpers import file, make_user
from tests.unit.test_patrols import draft_for, patrol
from tests.unit.test_returns import request

from .conftest import BotHarness, Chat, buttons_of, register


def at(day: int, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, 9, tzinfo=SHANGHAI)


async def seed(bot: BotHarness, clock: ManualClock) -> None:
    """QC-2026-00001 (C001, 26 Nov), QC-2026-00002 (C002, 27 Nov), RT-2026-00001 (C003, lot
    GL2026B12, 28 Nov), DF-2026-00001 (EL-01, 2 Dec), before any staff is in the chat."""
    clock.set(at(26))
    await file(bot.services, "C001", "L20260301", product="P-1001")
    clock.set(at(27))
    await file(bot.services, "C002", "M20260815", product="P-1002")
    clock.set(at(28))
    await request(bot.services, 5)
    clock.set(at(2, 12))
    technician = await make_user(bot.services, "technician")
    draft = await draft_for(bot.services, "EL-01", abnormal="EL-DOOR")
    draft.photo_file_ids = [bot.emulator.store_file(b"door", None, "image/jpeg").file_id]
    await patrol(bot.services, technician, draft)


async def found(chat: Chat, query: str) -> dict[str, Any]:
    await chat.send(f"/find {query}")
    (answer,) = await chat.expect()
    return answer


def numbers(message: dict[str, Any]) -> list[str]:
    return [data.removeprefix("find:open:") for _, data in buttons_of(message)]


async def first_shown(bot: BotHarness, chat: Chat, act: Awaitable[None]) -> str:
    """The text of the first message `act` brings, once its update is committed (the photos
    and notes that follow are read too: whether a file is stored yet varies)."""
    await act
    (shown,) = await chat.expect()
    await bot.settled()
    chat.seen = len(chat.all_bot_messages())
    return shown.get("text") or ""


async def opened(
    bot: BotHarness, chat: Chat, message: dict[str, Any], number: str, *, forge: bool = False
) -> str:
    """The record's text, as its button shows it."""
    return await first_shown(
        bot, chat, chat.press(message, OpenFound(number=number).pack(), forge=forge)
    )


async def test_staff_find_by_lot_customer_and_days_and_open_what_the_view_command_shows(
    bot: BotHarness, clock: ManualClock
) -> None:
    await seed(bot, clock)
    qc = await register(bot, "quality", "Qiu QC")
    manager = await register(bot, "equipment_manager", "Ma Manager")

    lot = await found(qc, "l2026")  # a part of a lot, any case: a complaint's and a return's
    assert lot["text"].splitlines() == [
        "Found 2 records for l2026, newest first:",
        "RT-2026-00001 · 2026-11-28 09:00 · C003 華南醫藥貿易公司 · 血糖試紙 GL-50 GL2026B12 · "
        "refused",
        "QC-2026-00001 · 2026-11-26 09:00 · C001 仁和醫療器械有限公司 · "
        "一次性使用無菌注射器 5ml L20260301 · open, waiting for quality",
    ]
    assert [label for label, _ in buttons_of(lot)] == ["Open RT-2026-00001", "Open QC-2026-00001"]
    assert numbers(await found(qc, "仁和")) == ["QC-2026-00001"]  # the customer's name
    assert numbers(await found(qc, "c002")) == ["QC-2026-00002"]  # the customer's code
    assert numbers(await found(qc, "口罩")) == ["QC-2026-00002"]  # the product's name
    assert numbers(await found(qc, "P-2002")) == ["RT-2026-00001"]  # a return line's product
    assert numbers(await found(qc, "QC-2026-00002")) == ["QC-2026-00002"]
    assert numbers(await found(qc, "2026-11-27..2026-11-28")) == [
        "RT-2026-00001",
        "QC-2026-00002",
    ]
    assert numbers(await found(qc, "2026-11")) == [
        "RT-2026-00001",
        "QC-2026-00002",
        "QC-2026-00001",
    ]
    assert numbers(await found(qc, "P-1001 2026-11-27..2026-11-30")) == []  # both must hold
    # quality does not search the equipment's defects
    assert (await found(qc, "EL-01"))["text"] == "Nothing found for EL-01."

    # a result opens as /ticket shows the complaint to this user
    by_button = await opened(bot, qc, lot, "QC-2026-00001")
    assert by_button == await first_shown(bot, qc, qc.send("/ticket QC-2026-00001"))
    assert by_button.startswith("QC-2026-00001 — open, waiting for quality")
    by_button = await opened(bot, qc, lot, "RT-2026-00001")
    assert by_button == await first_shown(bot, qc, qc.send("/return RT-2026-00001"))

    # the equipment manager finds defects by asset or vendor, and nothing of quality's
    defects = await found(manager, "迅達")
    assert numbers(defects) == ["DF-2026-00001"]
    assert (
        defects["text"]
        .splitlines()[1]
        .startswith("DF-2026-00001 · 2026-12-02 09:00 · EL-01 1號客梯")
    )
    assert numbers(await found(manager, "el-01")) == ["DF-2026-00001"]
    assert (await found(manager, "C001"))["text"] == "Nothing found for C001."
    by_button = await opened(bot, manager, defects, "DF-2026-00001")
    assert by_button.startswith("DF-2026-00001 — open")
    assert by_button == await first_shown(bot, manager, manager.send("/defect DF-2026-00001"))

    # a press for a kind the user does not search is refused and shows nothing
    await manager.press(defects, OpenFound(number="QC-2026-00001").pack(), forge=True)
    answer = await manager.wait_for_callback_answer()
    assert answer["show_alert"] and answer["text"].startswith("This command is for ")
    assert "Nothing was changed" not in answer["text"]
    # a forged number that does not exist: the view's own answer
    assert (await opened(bot, manager, defects, "DF-2026-99999", forge=True)) == (
        "No defect with that number is visible to you."
    )


async def test_a_customer_is_refused_find_and_its_buttons(
    bot: BotHarness, clock: ManualClock
) -> None:
    await seed(bot, clock)
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    await customer.send("/find C001")
    refusal = await customer.expect_text()
    assert refusal.startswith("This command is for ") and refusal.endswith(" only.")
    await customer.send("/start")
    assert "/find" not in await customer.expect_text()
    assert "find" not in bot.emulator.command_menu(bot.token, customer.user_id)

    await customer.send("/ticket QC-2026-00001")  # a message to press under
    (ticket,) = await customer.expect()
    before = len(customer.all_bot_messages())
    await customer.press(ticket, OpenFound(number="QC-2026-00001").pack(), forge=True)
    answer = await customer.wait_for_callback_answer()
    assert answer["show_alert"] and answer["text"].startswith("This command is for ")
    await bot.settled()
    assert len(customer.all_bot_messages()) == before  # nothing was shown


async def test_results_are_capped_newest_first_and_odd_input_is_answered_safely(
    bot: BotHarness, clock: ManualClock
) -> None:
    for day in range(1, 13):
        clock.set(at(day))
        await file(bot.services, "C001", "L20260301", product="P-1001")
    head = await register(bot, "quality_head", "Zhou Head", language="zh-Hant")
    await head.send("/start")
    assert "/find——查找投訴、退貨和設備缺陷" in await head.expect_text()
    assert "find" in bot.emulator.command_menu(bot.token, head.user_id)

    listed = await found(head, "C001")
    lines = listed["text"].splitlines()
    assert lines[0] == "找到12條與「C001」相符的記錄，最新的在前："
    assert lines[1].startswith("QC-2026-00012｜2026-11-12 09:00｜C001 仁和醫療器械有限公司｜")
    assert len(lines) == 12
    assert lines[-1] == "另有2條未列出，請縮小範圍（批號、客戶編號、日期範圍）。"
    assert numbers(listed) == [f"QC-2026-{n:05d}" for n in range(12, 2, -1)]
    assert buttons_of(listed)[0][0] == "查看QC-2026-00012"
    assert all(len(row) <= 2 for row in listed["reply_markup"]["inline_keyboard"])

    # LIKE's wildcards are characters, not "anything"
    for wildcard in ("%", "_", "C0_1", "100%", "\\"):
        assert (await found(head, wildcard))["text"] == f"沒有找到與「{wildcard}」相符的記錄。"
    assert numbers(await found(head, "C0\x0701")) == numbers(listed)  # a control character
    assert (await found(head, "😀"))["text"] == "沒有找到與「😀」相符的記錄。"
    assert (await found(head, "x" * 300))["text"] == "內容請勿超過100個字。"
    assert (await found(head, "2026-13-01"))["text"] == (
        "2026-13-01不是日期，請寫作2026-11-01、2026-11或2026-11-01..2026-11-30。"
    )
    assert (await found(head, "2026-11-30..2026-11-01"))["text"] == (
        "日期範圍2026-11-30..2026-11-01的結束早於開始。"
    )
    await head.send("/find")
    assert (await head.expect_text()).startswith("用法：/find 關鍵詞")
