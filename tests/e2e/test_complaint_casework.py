"""P1 as its users meet it, in the chat: confirmations that name their consequences, the buyer's
and the staff's view of a ticket, reassigning, reopening and what waits on the buyer, an album's
one acknowledgement, and buttons that go once used."""

from __future__ import annotations

import datetime as dt
import io
from functools import partial

from openpyxl import load_workbook
from sqlalchemy import func, select

from procedures.complaints import handling, intake
from procedures.complaints.intake import ComplaintDraft
from procedures.complaints.queries import ledger_rows
from reports.complaints import LEDGER_COLUMNS, write_ledger
from storage.models import (
    Batch,
    BatchHold,
    Complaint,
    Deadline,
    Organisation,
    OutboxMessage,
    Product,
    ReturnRequest,
    TimelineEvent,
    User,
)
from tests.conftest import SHANGHAI

from .conftest import BotHarness, Chat, buttons_of, register
from .test_complaints import data_of, press

STALE = "此按鈕已失效，未作任何變更。"


async def user_of(bot: BotHarness, chat: Chat) -> User:
    async with bot.services.session_factory() as session:
        user = await session.scalar(select(User).where(User.telegram_id == chat.user_id))
        assert user is not None
        return user


async def act(bot: BotHarness, chat: Chat, procedure, *args, **kwargs):  # type: ignore[no-untyped-def]
    """A step taken by the chat's user through the procedure, where the test is not about it."""
    async with bot.services.unit_of_work() as uow:
        actor = await uow.session.scalar(select(User).where(User.telegram_id == chat.user_id))
        return await procedure(uow, actor, *args, **kwargs)


async def file_for(bot: BotHarness, customer: Chat, organisation: str = "C001") -> Complaint:
    """A complaint about lot L20260301 of P-1001, filed in the chat by `customer`."""
    async with bot.services.session_factory() as session:
        organisation_id = await session.scalar(
            select(Organisation.id).where(Organisation.code == organisation)
        )
        product = await session.scalar(select(Product).where(Product.code == "P-1001"))
        batch_id = await session.scalar(
            select(Batch.id).where(Batch.product_id == product.id, Batch.lot_number == "L20260301")
        )
    draft = ComplaintDraft(
        organisation_id=organisation_id,
        complainant_name="陳美玲",
        product_id=product.id,
        batch_id=batch_id,
        quantity=12,
        description="針筒漏液",
    )
    outcome = await act(bot, customer, intake.file_complaint, draft)
    return outcome.complaint


async def verified(bot: BotHarness, qc: Chat, complaint: Complaint, result: str) -> None:
    await act(bot, qc, handling.take_complaint, complaint.id)
    await act(
        bot,
        qc,
        handling.record_verification,
        complaint.id,
        result=result,
        on_site=True,
        notes="內部記錄：密封圈尺寸偏小",
        timezone=SHANGHAI,
    )


async def last_message(bot: BotHarness, chat: Chat, starts: str) -> dict:
    """The chat's latest bot message once it starts with `starts` (an edit counts)."""
    return await bot.emulator.wait_until(
        lambda: (
            chat.all_bot_messages()
            and chat.all_bot_messages()[-1].get("text", "").startswith(starts)
            and chat.all_bot_messages()[-1]
        )
    )


async def edited(bot: BotHarness, chat: Chat, message: dict, starts: str) -> dict:
    """The message once an edit made its text start with `starts`."""

    def now_shown() -> dict | None:
        shown = next(m for m in chat.all_bot_messages() if m["message_id"] == message["message_id"])
        return shown if shown.get("text", "").startswith(starts) else None

    return await bot.emulator.wait_until(now_shown)


async def buttons_become(bot: BotHarness, chat: Chat, message: dict, labels: list[str]) -> None:
    """Until the message, as the chat shows it with its edits, carries these buttons."""

    def current() -> dict:
        return next(m for m in chat.all_bot_messages() if m["message_id"] == message["message_id"])

    await bot.emulator.wait_until(lambda: [label for label, _ in buttons_of(current())] == labels)


async def test_verifying_nonconforming_first_names_what_it_sets_in_motion(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "陳美玲", organisation="C001", language="zh-Hant")
    await register(bot, "customer", "王志強", organisation="C002", language="zh-Hant")
    qc = await register(bot, "quality", "邱質檢", language="zh-Hant")
    number = (await file_for(bot, customer)).number

    new_complaint = await last_message(bot, qc, f"新的質量投訴{number}")
    await press(qc, new_complaint, "受理")
    taken = await last_message(bot, qc, f"您已受理{number}")
    assert [label for label, _ in buttons_of(taken)] == ["記錄核實", "處置意見", "可能的不良事件"]
    await press(qc, taken, "記錄核實")
    ask_mode = await last_message(bot, qc, f"{number}：是否已進行實地核實？")
    await press(qc, ask_mode, "實地核實")
    await last_message(bot, qc, "請發送核實記錄")
    await qc.send("已到購貨方現場：200盒中12盒漏液。")
    ask_photos = await last_message(bot, qc, "請發送核實照片")
    await press(qc, ask_photos, "略過")
    ask_result = await last_message(bot, qc, "核實結果是？")
    await press(qc, ask_result, "不合格")

    confirm = await last_message(bot, qc, f"確認{number}核實不合格？")
    assert confirm["message_id"] == ask_result["message_id"]  # the question, in place
    assert confirm["text"] == (
        f"確認{number}核實不合格？確認後將：\n"
        "• 通知質量負責人，並通知倉庫暫停出庫、明顯標誌，綜合業務部停止銷售；\n"
        "• 通知其他3個購貨方暫停銷售，其中2個沒有聊天聯繫人（C003、C004），"
        "由售後服務人員以電話、電子郵件或上門方式通知；\n"
        "• 為購貨方辦理退貨；\n"
        "• 供貨企業S001沒有聊天聯繫人：質量查詢須由質量管理部以其他方式發出。\n"
        "請按「確認不合格」，或按「返回」重新選擇結果。"
    )
    assert [label for label, _ in buttons_of(confirm)] == ["確認不合格", "返回"]

    # Back: nothing recorded, nobody told, the result is asked again
    back_data = data_of(confirm, "返回")
    await press(qc, confirm, "返回")
    again = await last_message(bot, qc, "核實結果是？")
    assert [label for label, _ in buttons_of(again)] == ["合格", "不合格"]
    await bot.settled()
    async with bot.services.session_factory() as session:
        complaint = await session.scalar(select(Complaint).where(Complaint.number == number))
        assert complaint.verification_result is None and complaint.status == "investigating"
        assert not await session.scalar(select(func.count()).select_from(ReturnRequest))
        suspended = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.text_key == "complaint.suspend_sales")
        )
        assert suspended == 0

    await press(qc, again, "不合格")
    confirm = await last_message(bot, qc, f"確認{number}核實不合格？")
    confirm_data = data_of(confirm, "確認不合格")
    await press(qc, confirm, "確認不合格")
    recorded = await last_message(bot, qc, f"{number}核實不合格。")
    assert [label for label, _ in buttons_of(recorded)] == ["移交不合格品處理"]
    # the used button is gone from the message it was pressed on; the opinion's stays
    await buttons_become(bot, qc, taken, ["處置意見", "可能的不良事件"])

    # a double tap or a stale confirmation changes nothing
    for stale in (confirm_data, back_data):
        await qc.press(recorded, stale, forge=True)
        assert (await qc.wait_for_callback_answer())["text"] == STALE
    await bot.settled()
    async with bot.services.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(ReturnRequest)) == 1
        complaint = await session.scalar(select(Complaint).where(Complaint.number == number))
        assert complaint.verification_result == "nonconforming"


async def test_lifting_a_hold_asks_first_naming_what_it_releases_and_cancel_keeps_it(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    other = await register(bot, "customer", "Wang Zhiqiang", organisation="C002")
    qc = await register(bot, "quality", "Qiu QC")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")
    complaint = await file_for(bot, customer)
    await verified(bot, qc, complaint, "conforming")

    lift = await last_message(bot, warehouse, f"Complaint {complaint.number}: 一次性使用無菌注射器")
    await press(warehouse, lift, "Hold lifted")
    confirm = await edited(bot, warehouse, lift, "Lift the shipment hold")
    assert confirm["text"] == (
        f"Lift the shipment hold of {complaint.number}? This releases every lot of "
        "一次性使用無菌注射器 5ml. The goods may ship again, and the business department "
        "(綜合業務部) and quality are told."
    )
    await press(warehouse, confirm, "Cancel")
    assert (await warehouse.wait_for_callback_answer())["text"] == (
        "The hold stays; nothing was changed."
    )
    back = await edited(bot, warehouse, lift, f"Complaint {complaint.number}")
    assert back["text"] == lift["text"] and buttons_of(back) == buttons_of(lift)
    async with bot.services.session_factory() as session:
        hold = await session.scalar(select(BatchHold).where(BatchHold.complaint_id == complaint.id))
        assert hold.lifted_at is None

    # another open complaint holds the same goods: the question says the lift frees nothing yet
    second = await file_for(bot, other, organisation="C002")
    await press(warehouse, back, "Hold lifted")
    confirm = await edited(bot, warehouse, lift, "Lift the shipment hold")
    assert confirm["text"].endswith(
        f"But {second.number} still hold these goods: they may not ship yet, and the business "
        "department (綜合業務部) and quality are not told."
    )
    confirm_data = data_of(confirm, "Lift the hold")
    await press(warehouse, confirm, "Lift the hold")
    done = await edited(bot, warehouse, lift, "Hold on")
    assert buttons_of(done) == []
    await warehouse.press(done, confirm_data, forge=True)  # a double tap
    assert (await warehouse.wait_for_callback_answer())["text"] == (
        f"The hold of {complaint.number} has already been lifted."
    )
    async with bot.services.session_factory() as session:
        hold = await session.scalar(select(BatchHold).where(BatchHold.complaint_id == complaint.id))
        assert hold.lifted_at is not None


async def test_a_buyer_reads_its_own_view_and_staff_the_whole_record(bot: BotHarness) -> None:
    customer = await register(bot, "customer", "陳美玲", organisation="C001", language="zh-Hant")
    qc = await register(bot, "quality", "邱質檢", language="zh-Hant")
    complaint = await file_for(bot, customer)
    await verified(bot, qc, complaint, "conforming")
    await act(
        bot, qc, handling.record_disposition, complaint.id, "批號合格，可恢復銷售。", "加強出廠檢驗"
    )

    await customer.send(f"/ticket {complaint.number}")
    view = await last_message(bot, customer, complaint.number + "——")
    assert view["text"] == (
        f"{complaint.number}——核實合格\n"
        "產品：一次性使用無菌注射器 5ml，批號L20260301（有效期至2029-02-28）\n"
        "涉及數量：12盒\n"
        "收到：2026-11-26 09:00，途徑：聊天\n"
        "問題：針筒漏液\n"
        "購貨方照片：0張\n"
        "核實結果（2026-11-26 09:00）：核實合格\n"
        "處置意見（2026-11-26 09:00）：批號合格，可恢復銷售。\n"
        "\n"
        "期限：\n"
        "• 實地核實：期限2026-11-27 09:00，完成於2026-11-26 09:00\n"
        "• 處置意見：期限2026-11-29 09:00，完成於2026-11-26 09:00\n"
        "\n"
        "已發給貴單位的回覆：\n"
        "• 2026-11-26 09:00：可恢復銷售\n"
        "• 2026-11-26 09:00：處置意見"
    )
    assert buttons_of(view) == []

    await qc.send(f"/ticket {complaint.number}")
    staff = await last_message(bot, qc, complaint.number + "——")
    for line in (
        "購貨方照片：0張",
        "核實照片：0張",
        "內部記錄：密封圈尺寸偏小",
        "糾正措施：加強出廠檢驗",
        "處理記錄：",
        "邱質檢：質量管理部受理",
        "• 解除暫停發貨：期限2026-11-27 09:00",
    ):
        assert line in staff["text"], line
    assert [label for label, _ in buttons_of(staff)] == ["等待購貨方"]


async def test_the_quality_head_reassigns_a_taken_complaint_to_a_qc_member_by_name(
    bot: BotHarness, clock
) -> None:
    customer = await register(bot, "customer", "陳美玲", organisation="C001")
    qc = await register(bot, "quality", "邱質檢", language="zh-Hant")
    colleague = await register(bot, "quality", "全質檢", language="zh-Hant")
    head = await register(bot, "quality_head", "周負責", language="zh-Hant")
    complaint = await file_for(bot, customer)
    await act(bot, qc, handling.take_complaint, complaint.id)
    async with bot.services.session_factory() as session:
        due_before = list(
            await session.scalars(
                select(Deadline.due_at)
                .where(Deadline.subject_id == complaint.id)
                .order_by(Deadline.id)
            )
        )

    # a QC member sees no Reassign, and a forged press is refused
    await qc.send(f"/ticket {complaint.number}")
    own = await last_message(bot, qc, complaint.number + "——")
    assert [label for label, _ in buttons_of(own)] == ["等待購貨方"]

    clock.advance(dt.timedelta(hours=2))
    await head.send(f"/ticket {complaint.number}")
    ticket = await last_message(bot, head, complaint.number + "——")
    assert [label for label, _ in buttons_of(ticket)] == ["等待購貨方", "改派"]
    await qc.press(own, data_of(ticket, "改派"), forge=True)
    assert (await qc.wait_for_callback_answer())[
        "text"
    ] == "此命令僅限質量負責人使用，未作任何變更。"

    await press(head, ticket, "改派")
    ask = await last_message(bot, head, "改派給哪位質量管理部人員？")
    assert [label for label, _ in buttons_of(ask)] == ["全質檢", "周負責"]
    choice = data_of(ask, "全質檢")
    await press(head, ask, "全質檢")
    done = await last_message(bot, head, complaint.number)
    assert done["text"] == f"{complaint.number}已由邱質檢改派給全質檢；兩人均已收到通知，期限不變。"
    assert buttons_of(done) == []
    await head.press(done, choice, forge=True)  # a double tap
    assert (await head.wait_for_callback_answer())["text"] == f"{complaint.number}已由全質檢負責。"

    told_from = await last_message(bot, qc, f"投訴{complaint.number}")
    assert told_from["text"] == (
        f"投訴{complaint.number}（一次性使用無菌注射器 5ml，批號L20260301）已由周負責從邱質檢改派給全質檢，"
        "您無需再處理。期限不變。"
    )
    told_to = await last_message(bot, colleague, f"周負責將投訴{complaint.number}改派給您")
    assert [label for label, _ in buttons_of(told_to)] == ["記錄核實", "處置意見", "可能的不良事件"]
    await press(colleague, told_to, "記錄核實")  # the new holder works it
    await last_message(bot, colleague, f"{complaint.number}：是否已進行實地核實？")
    await colleague.send("/cancel")

    colleague_id = (await user_of(bot, colleague)).id
    async with bot.services.session_factory() as session:
        stored = await session.scalar(select(Complaint).where(Complaint.id == complaint.id))
        assert stored.taken_by_id == colleague_id
        due_after = list(
            await session.scalars(
                select(Deadline.due_at)
                .where(Deadline.subject_id == complaint.id)
                .order_by(Deadline.id)
            )
        )
        assert due_after == due_before  # the seed's deadlines do not move
    await head.send(f"/ticket {complaint.number}")
    ticket = await last_message(bot, head, complaint.number + "——")
    assert "2026-11-26 11:00 周負責：由邱質檢改派給全質檢" in ticket["text"]


async def test_the_quality_head_taking_a_case_over_names_the_qc_member_taken_off_it(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "陳美玲", organisation="C001")
    qc = await register(bot, "quality", "邱質檢", language="zh-Hant")
    head = await register(bot, "quality_head", "周負責", language="zh-Hant")
    complaint = await file_for(bot, customer)
    await act(bot, qc, handling.take_complaint, complaint.id)

    await head.send(f"/ticket {complaint.number}")
    ticket = await last_message(bot, head, complaint.number + "——")
    await press(head, ticket, "改派")
    ask = await last_message(bot, head, "改派給哪位質量管理部人員？")
    await press(head, ask, "周負責")
    done = await last_message(bot, head, complaint.number)
    assert done["text"] == f"{complaint.number}已由邱質檢改派給周負責；兩人均已收到通知，期限不變。"

    told_from = await last_message(bot, qc, f"投訴{complaint.number}")
    assert told_from["text"] == (
        f"投訴{complaint.number}（一次性使用無菌注射器 5ml，批號L20260301）原由邱質檢負責，"
        "已由周負責接手，您無需再處理。期限不變。"
    )
    await last_message(bot, head, f"您已接手投訴{complaint.number}（原由邱質檢負責）")


async def test_quality_reopens_a_closed_complaint_with_a_reason_and_closes_it_again(
    bot: BotHarness, clock
) -> None:
    customer = await register(bot, "customer", "陳美玲", organisation="C001", language="zh-Hant")
    qc = await register(bot, "quality", "邱質檢", language="zh-Hant")
    warehouse = await register(bot, "warehouse", "吳倉庫")
    complaint = await file_for(bot, customer)
    await verified(bot, qc, complaint, "conforming")
    await act(bot, warehouse, handling.lift_hold, complaint.id)
    await act(bot, qc, handling.record_disposition, complaint.id, "批號合格，可恢復銷售。")
    await last_message(bot, customer, "關於投訴")  # the first opinion

    clock.advance(dt.timedelta(days=2))
    await qc.send(f"/ticket {complaint.number}")
    ticket = await last_message(bot, qc, f"{complaint.number}——已結案")
    assert [label for label, _ in buttons_of(ticket)] == ["重新開啟"]
    reopen_data = data_of(ticket, "重新開啟")
    await press(qc, ticket, "重新開啟")
    await last_message(bot, qc, f"{complaint.number}：請寫明重新開啟的原因")
    await qc.send("   ")
    assert (await last_message(bot, qc, "請寫明原因。"))["text"] == "請寫明原因。"
    await qc.send("購貨方對處置意見有異議：要求第三方檢測。")
    reopened = await last_message(bot, qc, f"{complaint.number}已重新開啟")
    assert reopened["text"] == (
        f"{complaint.number}已重新開啟，購貨方已收到通知。新的處置意見期限：12月1日09:00前。"
    )
    await buttons_become(bot, qc, ticket, [])  # Reopen is used
    told = await last_message(bot, customer, f"投訴{complaint.number}")
    assert told["text"] == (
        f"投訴{complaint.number}（一次性使用無菌注射器 5ml，批號L20260301）已重新開啟，"
        "我們將於12月1日09:00前重新作出處置意見。"
    )
    async with bot.services.session_factory() as session:
        stored = await session.scalar(select(Complaint).where(Complaint.id == complaint.id))
        assert stored.status == "conforming" and stored.closed_at is None
        assert stored.disposition is None
        opinions = list(
            await session.scalars(
                select(Deadline)
                .where(Deadline.subject_id == complaint.id, Deadline.kind == "disposition_opinion")
                .order_by(Deadline.id)
            )
        )
        assert [d.met_at is not None for d in opinions] == [True, False]
        assert opinions[1].due_at == clock.now() + dt.timedelta(days=3)

    # a second reopen of an open complaint is refused
    await qc.press(reopened, reopen_data, forge=True)
    assert (await qc.wait_for_callback_answer())["text"] == (
        f"{complaint.number}尚未結案，無需重新開啟。"
    )

    await press(qc, reopened, "處置意見")
    await last_message(bot, qc, f"{complaint.number}：請發送處置意見")
    await qc.send("經第三方檢測合格，維持原意見。")
    await last_message(bot, qc, "請發送已確定的糾正措施")
    await qc.send("無")
    await last_message(bot, qc, f"{complaint.number}的處置意見已記錄")
    second = await last_message(bot, customer, "關於投訴")
    assert second["text"].endswith("經第三方檢測合格，維持原意見。")
    await bot.settled()
    async with bot.services.session_factory() as session:
        stored = await session.scalar(select(Complaint).where(Complaint.id == complaint.id))
        assert stored.status == "closed"
        reason = await session.scalar(
            select(TimelineEvent.after).where(
                TimelineEvent.subject_id == complaint.id, TimelineEvent.action == "reopened"
            )
        )
        assert reason["reason"] == "購貨方對處置意見有異議：要求第三方檢測。"
    await qc.send(f"/ticket {complaint.number}")
    ticket = await last_message(bot, qc, f"{complaint.number}——已結案")
    assert "邱質檢：重新開啟：購貨方對處置意見有異議：要求第三方檢測。" in ticket["text"]


async def test_qc_records_what_waits_on_the_buyer_on_the_timeline_and_the_ledger(
    bot: BotHarness, clock
) -> None:
    customer = await register(bot, "customer", "陳美玲", organisation="C001")
    qc = await register(bot, "quality", "邱質檢", language="zh-Hant")
    complaint = await file_for(bot, customer)
    await act(bot, qc, handling.take_complaint, complaint.id)

    clock.advance(dt.timedelta(hours=5))
    await qc.send(f"/ticket {complaint.number}")
    ticket = await last_message(bot, qc, complaint.number + "——")
    await press(qc, ticket, "等待購貨方")
    ask = await last_message(bot, qc, f"{complaint.number}：在等待購貨方什麼？")
    assert ask["text"].endswith("期限不會暫停。")
    reason = "購貨方約定12月1日才能接待上門核實 📅"
    await qc.send(reason)
    done = await last_message(bot, qc, "已在")
    assert done["text"] == f"已在{complaint.number}的處理記錄中記下等待購貨方的原因；期限照常計算。"
    await buttons_become(bot, qc, ticket, ["等待購貨方"])  # it may be needed again

    clock.advance(dt.timedelta(days=1))  # the on-site deadline passes all the same
    await qc.send(f"/ticket {complaint.number}")
    ticket = await last_message(bot, qc, complaint.number + "——")
    assert f"2026-11-26 14:00 邱質檢：等待購貨方：{reason}" in ticket["text"]
    assert "• 實地核實：期限2026-11-27 09:00——已逾期" in ticket["text"]

    async with bot.services.session_factory() as session:
        rows = await ledger_rows(session)
    workbook = io.BytesIO()
    texts = bot.services.texts
    await write_ledger(rows, workbook, partial(texts.get, "zh-Hant"), SHANGHAI, "臺帳")
    sheet = load_workbook(io.BytesIO(workbook.getvalue())).active
    header = [cell.value for cell in sheet[2]]
    assert header[-1] == "備註" and len(header) == len(LEDGER_COLUMNS)
    assert sheet.cell(3, len(header)).value == f"2026-11-26 14:00 等待購貨方：{reason}"


async def test_an_album_is_acknowledged_once_with_the_count_of_its_photos(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "陳美玲", organisation="C001", language="zh-Hant")
    await customer.send("/complain")
    ask_product = await last_message(bot, customer, "投訴哪個產品？")
    await press(customer, ask_product, "P-1001 一次性使用無菌注射器 5ml")
    ask_lot = await last_message(bot, customer, "哪個批號？")
    await press(customer, ask_lot, "L20260301")
    await last_message(bot, customer, "涉及數量（盒）是多少？")
    await customer.send("12盒")
    await last_message(bot, customer, "出現什麼問題？")
    await customer.send("針筒漏液")
    await last_message(bot, customer, "請發送問題照片")
    before = len(customer.all_bot_messages())

    for content in (b"p-1", b"p-2", b"p-3"):  # one album: three updates, one media group
        await bot.emulator.send_photo(bot.token, customer.user_id, content, media_group_id="G7")
    await bot.emulator.wait_until(
        lambda: customer.all_bot_messages()[-1]["text"].startswith("已收到照片（共3張）")
    )
    await bot.emulator.send_photo(bot.token, customer.user_id, b"p-4")  # then one more
    ack = await last_message(bot, customer, "已收到照片（共4張）")
    assert ack["text"] == "已收到照片（共4張）。可繼續發送或按「完成」。"
    acks = customer.all_bot_messages()[before:]
    assert [m["text"][:10] for m in acks] == ["已收到照片（共3張）", "已收到照片（共4張）"]
    await press(customer, ack, "完成")
    summary = await last_message(bot, customer, "請確認您的投訴")
    assert "照片：4" in summary["text"]
    assert "涉及數量：12盒\n" in summary["text"]  # the unit of the product, 盒
