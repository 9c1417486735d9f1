"""Used buttons go: a notice acted on by one of its audience is edited, in every copy the others
got, to say who did it and when, and loses the buttons that are done with; a dialogue's button
that opened a step done with goes when the step is recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from procedures.equipment.defects import open_defect
from procedures.equipment.policy import EquipmentPolicy
from procedures.kernel.calendar import local_day
from storage.models import EquipmentAsset, User

from .conftest import BotHarness, Chat, buttons_of, register
from .test_complaints import press
from .test_patrols import registered_vendor
from .test_returns import carry_to_the_warehouse, click, request_exchange, text_with, with_button

AT = "2026-11-26 09:00"  # the tests' clock


def shown(chat: Chat, message: dict[str, Any]) -> dict[str, Any]:
    """The message as the chat shows it now (edits applied)."""
    return next(m for m in chat.all_bot_messages() if m["message_id"] == message["message_id"])


async def settled(bot: BotHarness, chat: Chat, message: dict[str, Any], line: str) -> str:
    """Waits until `message` ends with `line`; returns its text (or caption)."""

    def edited() -> str | None:
        now = shown(chat, message)
        text = now.get("text") or now.get("caption") or ""
        return text if text.endswith(line) else None

    # the edit goes through the outbox, which may be sending a form made in the rendering
    # worker just before it: seconds on a busy machine
    return await bot.emulator.wait_until(edited, timeout=30)


def with_label(chat: Chat, label: str) -> list[dict[str, Any]]:
    return [m for m in chat.all_bot_messages() if label in [t for t, _ in buttons_of(m)]]


async def test_booking_in_the_exchange_and_the_slip_settle_every_copy_of_their_notices(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    after_sales = await register(bot, "after_sales", "An After-sales")
    head = await register(bot, "after_sales_head", "Shou Head")
    business = await register(bot, "business_head", "Bai Business")
    finance = await register(bot, "finance", "Fan Finance")
    driver = await register(bot, "driver", "Du Driver")
    qc = await register(bot, "quality", "Qiu QC")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")
    colleague = await register(bot, "warehouse", "Wang Warehouse", language="zh-Hant")
    statistician = await register(bot, "marketing_statistician", "Tong Statistician")
    clerk = await register(bot, "marketing_clerk", "Wen Clerk")
    other_clerk = await register(bot, "marketing_clerk", "Lin Clerk", language="zh-Hant")

    await request_exchange(bot, customer, 2)
    await click(bot, finance, "Agree")
    await click(bot, after_sales, "Sign")
    await text_with(bot, business, "Please approve")
    await click(bot, business, "Approve and sign")
    await text_with(bot, head, "Exchange RT-")
    await click(bot, head, "Countersign")
    await text_with(bot, head, "RT-2026-00001 countersigned")
    await carry_to_the_warehouse(bot, head, driver, qc)
    await click(bot, qc, "goods undamaged")
    await text_with(bot, colleague, "三方簽字齊全")
    # the warehouse was told twice: the goods delivered, then the signatures complete
    copies = with_label(colleague, "辦理入庫")
    assert len(copies) == 2
    before = [copy["text"] for copy in copies]  # the emulator's messages change as edited

    own = with_label(warehouse, "Book in")
    assert len(own) == 2
    await click(bot, warehouse, "Book in")
    question = await with_button(bot, warehouse, "Confirm booking in")
    assert question["text"].startswith("Book RT-2026-00001 (")
    await press(warehouse, question, "Confirm booking in")
    await text_with(bot, warehouse, "RT-2026-00001 booked in.")
    done = f"已由Wu Warehouse於{AT}辦理入庫。"
    for copy, text_before in zip(copies, before, strict=True):
        text = await settled(bot, colleague, copy, done)
        assert text == f"{text_before}\n\n{done}" and buttons_of(shown(colleague, copy)) == []
    # the presser's own copies (the one pressed, and the other) say so too, in English
    for copy in own:
        await settled(bot, warehouse, copy, f"Booked in by Wu Warehouse, {AT}.")
        assert buttons_of(shown(warehouse, copy)) == []

    # the exchange recorded: the 調換/退款 message it was opened from loses them
    opened_on = await with_button(bot, warehouse, "Exchange")
    await press(warehouse, opened_on, "Exchange")
    await click(bot, warehouse, "GL2026B12")
    await text_with(bot, warehouse, "How many of that lot?")
    await warehouse.send("2")
    await text_with(bot, warehouse, "The exchange of RT-2026-00001 is recorded")
    await bot.emulator.wait_until(lambda: buttons_of(shown(warehouse, opened_on)) == [])

    await click(bot, statistician, "Tallied")
    await text_with(bot, statistician, "tallied: the marketing clerk")
    to_send = await with_button(bot, other_clerk, "在對話中發送退貨單")
    await click(bot, clerk, "Send the slip in the chat")
    await text_with(bot, clerk, "in the chat and archived")
    text = await settled(bot, other_clerk, to_send, f"已由Wen Clerk於{AT}發送退貨單。")
    assert buttons_of(shown(other_clerk, to_send)) == []


async def test_a_vendors_acknowledgement_changes_every_copy_of_the_defect_notice(
    bot: BotHarness,
) -> None:
    technician = await register(bot, "technician", "Tang Technician")
    vendor = await registered_vendor(bot, "Sun Vendor", "V001")
    colleague = await registered_vendor(bot, "Song Vendor", "V001")
    async with bot.services.session_factory() as session:
        await session.execute(
            User.__table__.update()
            .where(User.telegram_id == colleague.user_id)
            .values(language="zh-Hant")
        )
        await session.commit()
    async with bot.services.unit_of_work() as uow:
        session = uow.session
        asset = await session.scalar(select(EquipmentAsset).where(EquipmentAsset.code == "EL-01"))
        await session.refresh(asset, ["vendor"])
        found_by = await session.scalar(select(User).where(User.telegram_id == technician.user_id))
        now = uow.clock.now()
        await open_defect(
            session,
            asset,
            None,
            found_by,
            "門機開關時有明顯異響。",
            [],
            now,
            repair_hours=uow.policy(EquipmentPolicy).repair_hours,
            day=local_day(now, bot.services.settings.timezone),
        )
        await uow.commit()
    (reported,) = await vendor.expect()
    (copy,) = await colleague.expect()
    caption = copy["caption"] if "caption" in copy else copy["text"]
    assert [label for label, _ in buttons_of(copy)] == ["確認收到", "已維修"]

    await press(vendor, reported, "Acknowledge")
    assert (await vendor.wait_for_callback_answer())["text"] == "Defect DF-2026-00001 acknowledged."
    text = await settled(bot, colleague, copy, f"已由Sun Vendor於{AT}確認收到。")
    assert text == f"{caption}\n\n已由Sun Vendor於{AT}確認收到。"
    assert [label for label, _ in buttons_of(shown(colleague, copy))] == ["已維修"]
    await settled(bot, vendor, reported, f"Acknowledged by Sun Vendor, {AT}.")
    assert [label for label, _ in buttons_of(shown(vendor, reported))] == ["Repaired"]


async def test_a_complaint_taken_by_one_qc_member_is_settled_on_the_others_copies(
    bot: BotHarness,
) -> None:
    from .test_complaint_casework import file_for

    customer = await register(bot, "customer", "陳美玲", organisation="C001")
    qc = await register(bot, "quality", "邱質檢", language="zh-Hant")
    colleague = await register(bot, "quality", "全質檢", language="zh-Hant")
    complaint = await file_for(bot, customer)
    notice = await with_button(bot, qc, "受理")
    copy = await with_button(bot, colleague, "受理")
    before = copy["text"]
    await press(qc, notice, "受理")
    done = f"已由邱質檢於{AT}受理。"
    text = await settled(bot, colleague, copy, done)
    assert text == f"{before}\n\n{done}" and buttons_of(shown(colleague, copy)) == []
    assert complaint.number in text
    # the taker's own message became the step's answer, with its next buttons
    assert [label for label, _ in buttons_of(shown(qc, notice))] == [
        "記錄核實",
        "處置意見",
        "可能的不良事件",
    ]
