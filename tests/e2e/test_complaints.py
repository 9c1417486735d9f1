"""P1 end to end: a customer files with photos, QC verifies nonconforming and every other buyer
is told to suspend sales; and a complaint taken by phone verified conforming up to the lifted hold."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import func, select

from storage.models import Batch, BatchHold, Complaint, Deadline, OutboxMessage, ReturnRequest

from .conftest import BotHarness, Chat, buttons_of, register

NUMBER = re.compile(r"QC-2026-\d{5}")


def data_of(message: dict, label: str) -> str:
    """The callback data of the button labelled `label` under `message`."""
    for text, data in buttons_of(message):
        if text == label:
            return data
    raise AssertionError(f"no button {label!r} in {buttons_of(message)}")


async def press(chat: Chat, message: dict, label: str) -> None:
    await chat.press(message, data_of(message, label))


async def test_a_customer_complaint_verified_nonconforming_suspends_sales_everywhere(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")
    other_local = await register(bot, "customer", "Wang Zhiqiang", organisation="C002")
    other_far = await register(bot, "customer", "Li Jiahao", organisation="C003")
    qc = await register(bot, "quality", "Qiu QC")
    qc_colleague = await register(bot, "quality", "Quan QC")
    head = await register(bot, "quality_head", "Zhou Head")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")
    business = await register(bot, "business_head", "Bai Business")
    supplier = await register(bot, "supplier", "Zhou Supplier", organisation="S001")
    after_sales = await register(bot, "after_sales", "An After-sales")

    await customer.send("/complain")
    (ask_product,) = await customer.expect()
    assert ask_product["text"].startswith("Which product")
    assert [label for label, _ in buttons_of(ask_product)] == [
        "P-1001 一次性使用無菌注射器 5ml",
        "P-2001 電子血壓計 BP-200",
    ]
    await press(customer, ask_product, "P-1001 一次性使用無菌注射器 5ml")
    (ask_lot,) = await customer.expect()
    assert [label for label, _ in buttons_of(ask_lot)] == ["L20260301"]

    await customer.send("L20250610")  # a lot of this product, but shipped to someone else
    assert (await customer.expect_text()).startswith(
        "Lot L20250610 is not among the lots shipped to your organisation for this product."
    )
    await press(customer, ask_lot, "L20260301")
    assert await customer.expect_text() == "How many units are affected? Count in 盒."
    await customer.send("zero")
    assert (await customer.expect_text()).startswith("Please send the quantity affected")
    await customer.send("500")
    assert (await customer.expect_text()).startswith("That is more than the 200 you were shipped")
    await customer.send("12 箱")  # another unit than the product's is refused, naming it
    assert await customer.expect_text() == (
        "The quantity is counted in 盒: please send it again, e.g. 20 盒."
    )
    await customer.send("１２盒")  # as typed on a Chinese keyboard
    assert (await customer.expect_text()).startswith("What is wrong?")
    await customer.send("Plungers stick; 12 syringes leak at the tip.")
    (ask_photos,) = await customer.expect()
    for content in (b"photo-1", b"photo-2"):  # an album: two updates, one media group
        await bot.emulator.send_photo(bot.token, customer.user_id, content, media_group_id="A1")
    await customer.expect()  # one acknowledgement, counting the whole album
    await bot.emulator.wait_until(
        lambda: customer.all_bot_messages()[-1]["text"].startswith(
            "Photo received (2 photos so far)"
        )
    )
    await press(customer, ask_photos, "Done")
    (summary,) = await customer.expect()
    assert "Quantity affected: 12" in summary["text"] and "Photos: 2" in summary["text"]
    await press(customer, summary, "Submit")
    filed = await bot.emulator.wait_until(
        lambda: NUMBER.search(customer.all_bot_messages()[-1].get("text", ""))
    )
    number = filed.group()
    filed_text = customer.all_bot_messages()[-1]["text"]
    assert f"Complaint {number} received" in filed_text
    assert (
        "On-site verification due by 09:00 on 27 November; disposition opinion due by 09:00 on 29 November."
        in filed_text
    )

    # the notice, then the customer's photos as they sent them
    new_complaint, *photos = await qc.expect(3)
    assert new_complaint["text"].startswith(
        f"New quality complaint {number} from 仁和醫療器械有限公司"
    )
    assert [p["caption"] for p in photos] == [f"{number}: photo 1 of 2", f"{number}: photo 2 of 2"]
    assert all(p["photo"] for p in photos)
    assert photos[0]["media_group_id"] == photos[1]["media_group_id"]  # one album
    assert "On-site verification due by 09:00 on 27 November" in new_complaint["text"]
    for staff in (warehouse, business):
        assert (await staff.expect_text()).startswith("Shipment hold (暫停發貨): do not ship")

    await press(qc, new_complaint, "Take")
    taken = await bot.emulator.wait_until(
        lambda: (
            qc.all_bot_messages()[0]["text"].startswith("You have taken")
            and qc.all_bot_messages()[0]
        )
    )
    colleague_notice, *_ = await qc_colleague.expect(3)
    await press(qc_colleague, colleague_notice, "Take")
    assert (await qc_colleague.wait_for_callback_answer())[
        "text"
    ] == f"{number} was already taken by Qiu QC."

    await press(qc, taken, "Record verification")
    (ask_mode,) = await qc.expect()
    await press(qc, ask_mode, "On-site verification")
    await bot.emulator.wait_until(
        lambda: qc.all_bot_messages()[-1]["text"].startswith("Send the verification notes")
    )
    await qc.send("Visited the buyer: 12 of 200 leak; seal ring undersized.")
    (ask_photos,) = await qc.expect()
    await bot.emulator.send_photo(bot.token, qc.user_id, b"seal-ring")
    await qc.expect()
    await press(qc, ask_photos, "Done")
    (ask_result,) = await qc.expect()
    await press(qc, ask_result, "Nonconforming")
    # the consequences are named first; the result is recorded only once confirmed
    confirm = await bot.emulator.wait_until(
        lambda: (
            qc.all_bot_messages()[-1]["text"].startswith(f"Verify {number} nonconforming?")
            and qc.all_bot_messages()[-1]
        )
    )
    assert (
        "• tell 3 other buyers to suspend sales; 1 of them (C004) has no chat contact"
        in confirm["text"]
    )
    await press(qc, confirm, "Confirm nonconforming")
    recorded = await bot.emulator.wait_until(
        lambda: (
            "verified nonconforming" in qc.all_bot_messages()[-1]["text"]
            and qc.all_bot_messages()[-1]
        )
    )
    assert (
        "2 other buyers were told to suspend sales. No chat contact for C004: after-sales has a task to tell them. Return RT-2026-00001 was started."
        in recorded["text"]
    )
    assert [label for label, _ in buttons_of(recorded)] == ["Hand over to nonconforming goods"]

    assert (await head.expect_text()).startswith(
        f"Complaint {number}: 一次性使用無菌注射器 5ml, lot L20260301, was verified NONCONFORMING"
    )
    (stop_outbound,) = await warehouse.expect()
    assert (
        "Stop all outbound shipments the hold covers and label the goods clearly (明顯標誌)"
        in stop_outbound["text"]
    )
    assert [label for label, _ in buttons_of(stop_outbound)] == [
        "Outbound stopped",
        "Labelled clearly",
        "Hand over to nonconforming goods",
    ]
    (stop_sales,) = await business.expect()
    assert stop_sales["text"].endswith(
        "Stop selling it and confirm with the button by 09:00 on 27 November."
    )
    suspend_notices = []
    for buyer in (other_local, other_far):
        (notice,) = await buyer.expect()
        assert notice["text"].startswith(
            "Quality notice: please suspend sales of 一次性使用無菌注射器 5ml"
        )
        assert [label for label, _ in buttons_of(notice)] == ["Sales suspended"]
        suspend_notices.append(notice)
    (task,) = await after_sales.expect()
    assert task["text"].startswith("Task: 北方衛材經銷部 (C004) bought 一次性使用無菌注射器 5ml")
    assert "Contact on file: 趙立新 010-6650-7720" in task["text"]
    (query,) = await supplier.expect()
    assert query["text"].startswith("Quality query: 一次性使用無菌注射器 5ml, lot L20260301")
    assert (await customer.expect_text()) == (
        f"Complaint {number}: a return RT-2026-00001 has been started for 12 盒 of 一次性使用無菌注射器 5ml, lot L20260301."
    )

    # the disposition opinion goes to the buyer and closes the complaint
    await press(qc, taken, "Disposition opinion")
    assert (await qc.expect_text()).startswith(f"{number}: send the disposition opinion")
    await qc.send("Return and replace the lot; supplier to correct the seal ring.")
    assert (await qc.expect_text()).startswith("Send the corrective action decided")
    await qc.send("Purchasing (Ms Zhou): incoming inspection of seal rings from S001.")
    assert (
        await qc.expect_text()
        == f"The disposition opinion on {number} was recorded and sent to the buyer."
    )
    assert "supplier to correct the seal ring" in await customer.expect_text()

    # the steps the finding set in motion, each confirmed by whoever owns it
    await press(warehouse, stop_outbound, "Outbound stopped")
    assert (await warehouse.expect_text()) == (
        f"Recorded: outbound of 一次性使用無菌注射器 5ml stopped ({number})."
    )
    # the used button goes from the notice; the steps still to do stay
    notice_id = stop_outbound["message_id"]
    await bot.emulator.wait_until(
        lambda: (
            [
                label
                for m in warehouse.all_bot_messages()
                if m["message_id"] == notice_id
                for label, _ in buttons_of(m)
            ]
            == ["Labelled clearly", "Hand over to nonconforming goods"]
        )
    )
    await press(warehouse, stop_outbound, "Labelled clearly")
    await warehouse.expect()
    await press(business, stop_sales, "Sales stopped")
    assert (await business.expect_text()).startswith("Recorded: sales of")
    await press(after_sales, task, "by phone")
    told = await bot.emulator.wait_until(
        lambda: (
            "was told" in after_sales.all_bot_messages()[-1]["text"]
            and after_sales.all_bot_messages()[-1]["text"]
        )
    )
    assert told == (
        f"北方衛材經銷部 (C004) was told by phone at 2026-11-26 09:00 to suspend sales ({number})."
    )
    # each other buyer confirms it suspended sales: the notice says who and when
    for buyer, notice in zip((other_local, other_far), suspend_notices, strict=True):
        await press(buyer, notice, "Sales suspended")
        await bot.emulator.wait_until(
            lambda notice=notice: (
                notice["text"].endswith(", 2026-11-26 09:00.") and not buttons_of(notice)
            )
        )
        assert "\n\nSuspension of sales confirmed by " in notice["text"]
    await press(supplier, query, "Answer the query")
    assert (await supplier.expect_text()).startswith(f"{number}: send the supplier's answer")
    await supplier.send("Seal rings of March were undersized; replacement lot follows.")
    assert (await supplier.expect_text()).startswith(f"The supplier's answer on {number}")
    assert (await qc.expect_text()).startswith(f"Complaint {number}: the supplier answered")
    await qc.send(f"/tech_support {number} Asked the factory's QA to test the seal ring stock.")
    assert (await qc.expect_text()) == (
        f"The contact with the manufacturer was recorded on {number}."
    )
    await press(warehouse, stop_outbound, "Hand over to nonconforming goods")
    (ask_outcome,) = await warehouse.expect()
    await press(warehouse, ask_outcome, "kept apart in the nonconforming area")
    await bot.emulator.wait_until(
        lambda: warehouse.all_bot_messages()[-1]["text"].startswith("Who took the goods over")
    )
    await warehouse.send("Wu took 12 boxes back; shelf N3 of the nonconforming area.")
    assert (await warehouse.expect_text()) == (
        f"The hand-off of the goods of {number} was recorded: kept apart in the nonconforming area."
    )
    await bot.settled()  # the reply goes out before the update's commit

    async with bot.services.session_factory() as session:
        complaint = await session.scalar(select(Complaint).where(Complaint.number == number))
        assert complaint.status == "closed" and complaint.verification_result == "nonconforming"
        batch = await session.get(Batch, complaint.batch_id)
        assert batch.nonconforming_since is not None
        hold = await session.scalar(select(BatchHold).where(BatchHold.complaint_id == complaint.id))
        assert hold.lifted_at is None and hold.nonconforming
        rt = await session.scalar(
            select(ReturnRequest).where(ReturnRequest.complaint_id == complaint.id)
        )
        assert rt.number == "RT-2026-00001" and rt.lines[0].amount == Decimal("216.00")
        suspend = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.text_key == "complaint.suspend_sales")
        )
        assert suspend == 2  # one each; C004 has no registered contact

    # staff read the whole record (顧客質量投訴及處理記錄) with its timeline
    await qc.send(f"/ticket {number}")
    ticket_message, *ticket_photos = await qc.expect(4)
    ticket = ticket_message["text"]
    assert ticket.startswith(f"{number} — closed")
    assert "Photos from the buyer: 2" in ticket and "Verification photos: 1" in ticket
    # the record's photos follow its text: the buyer's two, then the one taken on site
    assert [p["caption"] for p in ticket_photos] == [
        f"{number}: photo from the buyer 1 of 2",
        f"{number}: photo from the buyer 2 of 2",
        f"{number}: verification photo 1 of 1",
    ]
    assert all(p["photo"] for p in ticket_photos)
    # the buyer's two as one album; the verification photo, alone, follows on its own
    buyers, verification = ticket_photos[:2], ticket_photos[2]
    assert len({p["media_group_id"] for p in buyers}) == 1
    assert "media_group_id" not in verification
    assert "Verification (on site, by Qiu QC at 2026-11-26 09:00): verified nonconforming" in ticket
    for line in (
        "Chen Meiling: filed (chat, 12 affected, 2 photos)",
        "system: shipment hold placed on every lot of the product (lot L20260301)",
        "Qiu QC: taken by quality",
        "Qiu QC: verified: verified nonconforming",
        "system: other buyers told to suspend sales",
        "system: return RT-2026-00001 started",
        "system: reply sent to the buyer: return started",
        "system: reply sent to the buyer: disposition opinion",
        "Qiu QC: disposition opinion recorded",
        "Wu Warehouse: confirmed: outbound stopped",
        "Bai Business: confirmed: sales stopped",
        "An After-sales: C004 told by phone",
        "Zhou Supplier: supplier's answer recorded",
        "Qiu QC: manufacturer contacted for technical support: Asked the factory's QA",
        "Wu Warehouse: goods handed over to the nonconforming-goods procedure: kept apart",
        "system: closed",
        "Shipment hold on every lot of the product since 2026-11-26 09:00.",
        "• labelled clearly (明顯標誌): Wu Warehouse, 2026-11-26 09:00",
        "• C004: told by phone by An After-sales at 2026-11-26 09:00",
        "Supplier's answer (Zhou Supplier, 2026-11-26 09:00): Seal rings of March",
        "Nonconforming goods handed over (Wu Warehouse, 2026-11-26 09:00): kept apart",
    ):
        assert line in ticket, line
    assert "handling completed" not in ticket  # the 7-day handling limit is for 外埠 only
    assert "• on-site verification: due 2026-11-27 09:00, met 2026-11-26 09:00" in ticket
    assert (
        "Corrective action: Purchasing (Ms Zhou): incoming inspection of seal rings from S001."
        in ticket
    )

    await customer.send("/mytickets")
    assert await customer.expect_text() == (
        f"Your organisation's complaints:\n{number} · 一次性使用無菌注射器 5ml lot L20260301 · closed"
    )
    # the buyer reads its own view: no staff names, no internal notes, no internal timeline
    await customer.send(f"/ticket {number}")
    buyer_view, *buyer_photos = await customer.expect(3)
    assert [p["caption"] for p in buyer_photos] == [
        f"{number}: photo from the buyer {i} of 2" for i in (1, 2)
    ]
    assert "Photos from the buyer: 2" in buyer_view["text"]
    for internal in ("Qiu QC", "Timeline", "undersized", "Purchasing (Ms Zhou)", "C004"):
        assert internal not in buyer_view["text"], internal

    await other_local.send(f"/ticket {number}")
    assert await other_local.expect_text() == "No complaint with that number is visible to you."


async def test_a_phoned_in_complaint_verified_conforming_ends_with_the_lifted_hold(
    bot: BotHarness, clock
) -> None:
    import datetime as dt

    after_sales = await register(bot, "after_sales", "An After-sales")
    buyer = await register(bot, "customer", "Li Jiahao", organisation="C003")
    qc = await register(bot, "quality", "Qiu QC")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")
    business = await register(bot, "business_head", "Bai Business")

    await after_sales.send("/complain_for")
    (ask_org,) = await after_sales.expect()
    await press(after_sales, ask_org, "C003 華南醫藥貿易公司")
    ask_kind = await bot.emulator.wait_until(
        lambda: (
            after_sales.all_bot_messages()[-1]["text"].startswith("Is it a quality complaint")
            and after_sales.all_bot_messages()[-1]
        )
    )
    await press(after_sales, ask_kind, "quality complaint")
    ask_channel = await bot.emulator.wait_until(
        lambda: (
            after_sales.all_bot_messages()[-1]["text"].startswith("How did")
            and after_sales.all_bot_messages()[-1]
        )
    )
    await press(after_sales, ask_channel, "phone")
    ask_received = await bot.emulator.wait_until(
        lambda: (
            after_sales.all_bot_messages()[-1]["text"].startswith("When was it received?")
            and after_sales.all_bot_messages()[-1]
        )
    )
    await press(after_sales, ask_received, "Just now")
    await bot.emulator.wait_until(
        lambda: after_sales.all_bot_messages()[-1]["text"].startswith("Who complained?")
    )
    await after_sales.send("李家豪 020-8860-4411")
    await after_sales.expect()
    await after_sales.send("p-1001")  # typed, any case
    await after_sales.expect()
    await after_sales.send("L20260301")
    assert await after_sales.expect_text() == "How many units are affected? Count in 盒."
    await after_sales.send("5")
    await after_sales.expect()
    await after_sales.send("Labels smudged on 5 boxes.")
    (ask_photos,) = await after_sales.expect()
    await press(after_sales, ask_photos, "Skip")
    (summary,) = await after_sales.expect()
    assert "Channel: phone" in summary["text"]
    await press(after_sales, summary, "Submit")
    filed = await bot.emulator.wait_until(
        lambda: NUMBER.search(after_sales.all_bot_messages()[-1]["text"])
    )
    number = filed.group()
    assert (
        "On-site verification due by 09:00 on 3 December"
        in after_sales.all_bot_messages()[-1]["text"]
    )  # 7 days

    (new_complaint,) = await qc.expect()
    assert "(out-of-town buyer, 7 days)" in new_complaint["text"]
    await qc.send("/queue")
    header, line = await qc.expect(2)
    assert header["text"] == "Complaints waiting for quality:"
    assert (
        line["text"]
        == f"{number} · 華南醫藥貿易公司 · 一次性使用無菌注射器 5ml lot L20260301 · open, waiting for quality"
    )
    assert buttons_of(line) == [("Take", data_of(new_complaint, "Take"))]
    clock.advance(dt.timedelta(hours=3))
    await press(qc, new_complaint, "Take")
    taken = await bot.emulator.wait_until(
        lambda: (
            qc.all_bot_messages()[0]["text"].startswith("You have taken")
            and qc.all_bot_messages()[0]
        )
    )
    await press(qc, taken, "Record verification")
    (ask_mode,) = await qc.expect()
    await press(qc, ask_mode, "No visit needed")
    await bot.emulator.wait_until(
        lambda: qc.all_bot_messages()[-1]["text"].startswith("Send why no on-site")
    )
    await qc.send("Same lot verified on QC-2026-00001 last week; smudging is cosmetic.")
    (ask_result,) = await qc.expect()
    await press(qc, ask_result, "Conforming")
    await bot.emulator.wait_until(
        lambda: "verified conforming" in qc.all_bot_messages()[-1]["text"]
    )

    assert (await buyer.expect_text()) == (
        f"Complaint {number}: 一次性使用無菌注射器 5ml, lot L20260301, was verified conforming. You may resume selling it."
    )
    await warehouse.expect()  # the hold notice from filing
    (lift,) = await warehouse.expect()
    assert "Lift the shipment hold by 12:00 on 27 November" in lift["text"]
    await business.expect()
    (business_lift,) = await business.expect()
    assert "Lift the shipment hold by 12:00 on 27 November" in business_lift["text"]
    assert buttons_of(business_lift) == []  # only the warehouse confirms the lift
    # a forged press of the warehouse's button is still refused
    await business.press(business_lift, data_of(lift, "Hold lifted"), forge=True)
    assert (await business.wait_for_callback_answer())["text"] == (
        "This command is for warehouse only. Nothing was changed."
    )

    lift_data = data_of(lift, "Hold lifted")
    await warehouse.press(lift, lift_data)
    confirm_lift = await bot.emulator.wait_until(
        lambda: (
            warehouse.all_bot_messages()[-1]["text"].startswith("Lift the shipment hold")
            and warehouse.all_bot_messages()[-1]
        )
    )
    await press(warehouse, confirm_lift, "Lift the hold")
    await bot.emulator.wait_until(
        lambda: warehouse.all_bot_messages()[-1]["text"].startswith("Hold on")
    )
    assert (await business.expect_text()) == (
        f"Complaint {number}: the shipment hold on 一次性使用無菌注射器 5ml, lot L20260301, has been lifted."
    )
    await warehouse.press(lift, lift_data, forge=True)  # a double tap racing the edit
    assert (await warehouse.wait_for_callback_answer())[
        "text"
    ] == f"The hold of {number} has already been lifted."

    async with bot.services.session_factory() as session:
        complaint = await session.scalar(select(Complaint).where(Complaint.number == number))
        assert complaint.status == "conforming"  # open until the disposition opinion
        assert complaint.on_site is False and complaint.channel == "phone"
        assert (
            complaint.complainant_name == "李家豪"
            and complaint.complainant_contact == "020-8860-4411"
        )
        hold = await session.scalar(select(BatchHold).where(BatchHold.complaint_id == complaint.id))
        assert hold.lifted_at == clock.now()
        lift_deadline = await session.scalar(
            select(Deadline).where(
                Deadline.subject_id == complaint.id, Deadline.kind == "hold_lift"
            )
        )
        assert lift_deadline.met_at == clock.now() and lift_deadline.met_late is False

    # the waiver is a decision on the record, not a visit made in time
    await after_sales.send(f"/ticket {number}")
    ticket = await after_sales.expect_text()
    assert (
        "Verification (no visit: waived by the verifier for the reason below, by Qiu QC" in ticket
    )
    assert "• on-site verification: due 2026-12-03 09:00, waived 2026-11-26 12:00" in ticket
    assert "• handling completed (out-of-town buyer): due 2026-12-03 09:00" in ticket
    assert "Qiu QC: on-site visit waived: Same lot verified on QC-2026-00001" in ticket


async def test_quality_downloads_the_ledger_and_a_quarters_report_and_a_customer_may_not(
    bot: BotHarness,
) -> None:
    qc = await register(bot, "quality", "Qiu QC", language="zh-Hant")
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")

    await qc.send("/ledger")
    preparing, ledger = await qc.expect(2)
    assert preparing["text"].startswith("正在準備文件")
    assert ledger["caption"] == "《顧客質量投訴臺帳》。"
    assert ledger["document"]["file_name"] == "顧客質量投訴臺帳-2026-11-26.xlsx"
    await qc.send("/ledger 2026-11")  # a month, as users try it
    _, month = await qc.expect(2)
    assert month["caption"] == "《顧客質量投訴臺帳》2026-11。"
    assert month["document"]["file_name"] == "顧客質量投訴臺帳-2026-11.xlsx"
    await qc.send("/ledger 2026-Q4")
    _, report = await qc.expect(2)
    assert report["document"]["file_name"] == "顧客投訴查詢商品質量記錄表-2026-Q4-草稿.xlsx"
    await qc.send("/ledger last-year")
    assert (await qc.expect_text()).startswith("用法：/ledger")

    await customer.send("/ledger")
    assert (await customer.expect_text()).startswith("This command is for")

    business = await register(bot, "business_head", "Bai Business")
    await business.send("/ledger 2026-Q4")
    _, report = await business.expect(2)
    assert report["document"]["file_name"] == "complaints-2026-Q4-draft.xlsx"


async def test_staff_record_a_complaint_about_a_lot_the_shipment_data_does_not_know(
    bot: BotHarness,
) -> None:
    after_sales = await register(bot, "after_sales", "An After-sales")
    qc = await register(bot, "quality", "Qiu QC")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")
    business = await register(bot, "business_head", "Bai Business")

    await after_sales.send("/complain_for")
    (ask_org,) = await after_sales.expect()
    await press(after_sales, ask_org, "C002 康健藥房連鎖")
    ask_kind = await bot.emulator.wait_until(
        lambda: (
            after_sales.all_bot_messages()[-1]["text"].startswith("Is it a quality complaint")
            and after_sales.all_bot_messages()[-1]
        )
    )
    await press(after_sales, ask_kind, "quality complaint")
    ask_channel = await bot.emulator.wait_until(
        lambda: (
            after_sales.all_bot_messages()[-1]["text"].startswith("How did")
            and after_sales.all_bot_messages()[-1]
        )
    )
    await press(after_sales, ask_channel, "letter")
    ask_received = await bot.emulator.wait_until(
        lambda: (
            after_sales.all_bot_messages()[-1]["text"].startswith("When was it received?")
            and after_sales.all_bot_messages()[-1]
        )
    )
    await press(after_sales, ask_received, "Just now")
    await bot.emulator.wait_until(
        lambda: after_sales.all_bot_messages()[-1]["text"].startswith("Who complained?")
    )
    await after_sales.send("王志強 021-5550-3388")
    (ask_product,) = await after_sales.expect()
    assert "a product not in the master data is recorded as typed" in ask_product["text"]
    await after_sales.send("P-1001")  # never shipped to C002's records of this lot
    await after_sales.expect()
    await after_sales.send("L2026-0999")
    assert await after_sales.expect_text() == "How many units are affected? Count in 盒."
    await after_sales.send("500")  # no shipment to check it against
    await after_sales.expect()
    await after_sales.send("Cracked barrels in a lot our records do not show.")
    (ask_photos,) = await after_sales.expect()
    await press(after_sales, ask_photos, "Skip")
    (summary,) = await after_sales.expect()
    assert "Lot: L2026-0999" in summary["text"]
    await press(after_sales, summary, "Submit")
    filed = await bot.emulator.wait_until(
        lambda: (
            NUMBER.search(after_sales.all_bot_messages()[-1]["text"])
            and after_sales.all_bot_messages()[-1]["text"]
        )
    )
    number = NUMBER.search(filed).group()
    assert "No shipment of this lot to the buyer is on file" in filed

    (new_complaint,) = await qc.expect()
    assert "No shipment of this lot to the buyer is on file" in new_complaint["text"]
    assert (await warehouse.expect_text()).startswith(
        "Shipment hold (暫停發貨): do not ship any lot of 一次性使用無菌注射器 5ml"
    )
    await business.expect()

    # the business head reads the queue and the ticket, without quality's buttons
    await business.send("/queue")
    header, line = await business.expect(2)
    assert header["text"] == "Complaints waiting for quality:"
    assert line["text"].startswith(
        f"{number} · 康健藥房連鎖 · 一次性使用無菌注射器 5ml lot L2026-0999"
    )
    assert buttons_of(line) == []
    await business.send(f"/ticket {number}")
    ticket = await business.expect_text()
    assert "No shipment of this lot to the buyer is on file: recorded as reported." in ticket
    await bot.settled()
    async with bot.services.session_factory() as session:
        complaint = await session.scalar(select(Complaint).where(Complaint.number == number))
        assert (complaint.batch_id, complaint.lot_text, complaint.quantity) == (
            None,
            "L2026-0999",
            500,
        )


STALE_BUTTON = "This button is no longer valid. Nothing was changed."


async def test_each_intake_step_that_moves_on_takes_the_previous_keyboard_away(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")

    await customer.send("/complain")
    (ask_product,) = await customer.expect()
    product_data = data_of(ask_product, "P-1001 一次性使用無菌注射器 5ml")
    await press(customer, ask_product, "P-1001 一次性使用無菌注射器 5ml")
    (ask_lot,) = await customer.expect()
    assert buttons_of(ask_product) == []  # the product is chosen: its buttons are gone
    assert [label for label, _ in buttons_of(ask_lot)] == ["L20260301"]

    await customer.send("L20250610")  # refused: the step stays, and so do its buttons
    await customer.expect_text()
    assert [label for label, _ in buttons_of(ask_lot)] == ["L20260301"]
    lot_data = data_of(ask_lot, "L20260301")
    await press(customer, ask_lot, "L20260301")
    assert await customer.expect_text() == "How many units are affected? Count in 盒."
    assert buttons_of(ask_lot) == []

    await customer.send("12")
    await customer.expect_text()
    await customer.send("Plungers stick.")
    (ask_photos,) = await customer.expect()
    assert [label for label, _ in buttons_of(ask_photos)] == ["Done", "Skip"]
    await bot.emulator.send_photo(bot.token, customer.user_id, b"photo-1")
    (first_ack,) = await customer.expect()
    assert first_ack["text"].startswith("Photo received (1 photo so far)")
    assert [label for label, _ in buttons_of(ask_photos)] == ["Done", "Skip"]  # still the step
    await bot.emulator.send_photo(bot.token, customer.user_id, b"photo-2")
    (ack,) = await customer.expect()
    assert ack["text"].startswith("Photo received (2 photos so far)")
    await bot.emulator.wait_until(lambda: buttons_of(first_ack) == [])  # one Done at a time
    assert [label for label, _ in buttons_of(ack)] == ["Done"]
    assert [label for label, _ in buttons_of(ask_photos)] == ["Done", "Skip"]
    await press(customer, ack, "Done")
    (summary,) = await customer.expect()
    assert buttons_of(ask_photos) == [] and buttons_of(ack) == []  # Done, Skip and the ack's
    assert [label for label, _ in buttons_of(summary)] == ["Submit", "Cancel"]

    # an old button pressed anyway (a copy, a client that kept it) is answered and changes nothing
    for old, data in ((ask_product, product_data), (ask_lot, lot_data)):
        await customer.press(old, data, forge=True)
        assert (await customer.wait_for_callback_answer())["text"] == STALE_BUTTON
    await press(customer, summary, "Submit")
    await bot.emulator.wait_until(
        lambda: NUMBER.search(customer.all_bot_messages()[-1].get("text", ""))
    )
    assert buttons_of(customer.all_bot_messages()[-1]) == []
    await bot.settled()
    async with bot.services.session_factory() as session:
        complaint = await session.scalar(select(Complaint))
        assert complaint.quantity == 12 and complaint.batch_id is not None


async def test_a_typed_product_takes_the_product_buttons_away_and_cancel_the_last_ones(
    bot: BotHarness,
) -> None:
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")

    await customer.send("/complain")
    (ask_product,) = await customer.expect()
    await customer.send("P-1001")  # typed instead of pressed
    (ask_lot,) = await customer.expect()
    assert buttons_of(ask_product) == []
    assert [label for label, _ in buttons_of(ask_lot)] == ["L20260301"]
    await customer.send("/cancel")
    assert await customer.expect_text() == "The complaint was cancelled; nothing was filed."
    assert buttons_of(ask_lot) == []
