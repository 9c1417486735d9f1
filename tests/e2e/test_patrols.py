"""P3 end to end: a patrol with an abnormal reading and an album of photos, the vendor's repair
rejected then accepted; a rectification that climbs to the evaluation form and is approved."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from scheduler.services import JobServices
from storage.models import Defect, Patrol, Photo, Rectification
from tests.printing import read_pdf

from .conftest import BotHarness, Chat, buttons_of, register
from .test_complaints import data_of, press

# a form is made in the rendering worker (a PDF with its fonts): seconds on a busy machine
FORM_SECONDS = 30


async def last(chat: Chat, starts: str) -> dict:
    """Wait until the chat's latest bot message starts with `starts`; return it (and read it)."""

    def latest() -> dict | None:
        messages = chat.all_bot_messages()
        if not messages:
            return None
        text = messages[-1].get("text") or messages[-1].get("caption") or ""
        return messages[-1] if text.startswith(starts) else None

    try:
        message = await chat.emulator.wait_until(latest)
    except TimeoutError:
        got = [m.get("text") or m.get("caption") for m in chat.all_bot_messages()[-3:]]
        raise AssertionError(f"waited for {starts!r}, last messages: {got}") from None
    chat.seen = len(chat.all_bot_messages())
    return message


def jobs_of(bot: BotHarness) -> JobServices:
    """What the scheduled jobs get, on the bot's sessions, clock and outbox."""

    return JobServices(
        bot.services.session_factory,
        bot.services.clock,
        bot.services.settings.timezone,
        bot.services.outbox_ready,
    )


async def registered_vendor(
    bot: BotHarness, name: str, vendor_code: str, language: str | None = None
) -> Chat:
    from storage.models import User, Vendor

    chat = await register(bot, "vendor", name, **({"language": language} if language else {}))
    async with bot.services.unit_of_work() as uow:
        user = await uow.session.scalar(select(User).where(User.telegram_id == chat.user_id))
        user.vendor_id = await uow.session.scalar(
            select(Vendor.id).where(Vendor.code == vendor_code)
        )
        await uow.commit()
    return chat


async def test_an_abnormal_patrol_is_repaired_rejected_repaired_again_and_accepted(
    bot: BotHarness,
) -> None:
    technician = await register(bot, "technician", "Tang Technician")
    manager = await register(bot, "equipment_manager", "Ma Manager")
    vendor = await registered_vendor(bot, "Sun Vendor", "V001")

    await technician.send("/patrol")
    (choose,) = await technician.expect()
    assert (
        choose["text"]
        == "6 assets still to patrol today. Choose one, or type the code on its label."
    )
    await technician.send("el-01")  # the code on the label, any case
    started, door = await technician.expect(2)
    assert started["text"] == "Patrol of EL-01 1號客梯 (A棟大堂): 4 checklist items."
    assert door["text"] == "1/4 門機開關順暢、無異響"
    await press(technician, door, "OK")
    level = await last(technician, "2/4")
    assert level["text"] == "2/4 平層準確（誤差）: send the reading in mm (normal 0–10)."
    await technician.send("about twelve")
    assert await technician.expect_text() == "Please send the reading as a number (mm)."
    await technician.send("12")
    out_of_range, alarm = await technician.expect(2)
    assert out_of_range["text"] == "12 mm is outside the normal range 0–10: counted as abnormal."
    await press(technician, alarm, "OK")
    await last(technician, "4/4 機房溫度")
    await technician.press(door, "pt:bad:0", forge=True)  # a late tap on the first item's button
    stale = await technician.wait_for_callback_answer()
    assert stale["text"] == "This button is no longer valid. Nothing was changed."
    await technician.send("31.5")
    ask_note = await last(technician, "Any note")
    await technician.send("Car stops 12 mm above the 3rd floor.")
    ask_photos = await last(technician, "Something is abnormal: send at least one photo")
    await press(technician, ask_photos, "Done")
    assert (
        await technician.expect_text()
        == "Something is abnormal: please send at least one photo before pressing Done."
    )
    for content in (b"level-1", b"level-2", b"level-3"):
        await bot.emulator.send_photo(bot.token, technician.user_id, content, media_group_id="G7")
    assert (await technician.expect_text()).startswith("Photo received (1 photo so far)")
    await bot.emulator.send_location(bot.token, technician.user_id, 31.2304, 121.4737)
    assert await technician.expect_text() == "Location saved with the patrol."
    await press(technician, ask_photos, "Done")
    ask_severity = await last(technician, "How urgent is the repair?")
    # the elevator's maintenance contract gives 24 h to repair, whatever the urgency
    assert ask_severity["text"] == (
        "How urgent is the repair? The vendor's contract MC-2026-001 gives 24 h to repair it, "
        "whatever the urgency."
    )
    assert [label for label, _ in buttons_of(ask_severity)] == [
        "Urgent (24 h)",
        "Normal (24 h)",
        "Low (24 h)",
    ]
    await press(technician, ask_severity, "Normal (24 h)")
    recorded = await last(technician, "Patrol of EL-01 recorded.")
    assert (
        "Defect DF-2026-00001 opened (repair due by 09:00 on 27 November)" in recorded["text"]
        and "5 assets left today" in recorded["text"]
    )
    assert ask_note["text"].startswith("Any note")

    (reported,) = await vendor.expect()
    assert "photo" in reported and reported["caption"].startswith(
        "Defect DF-2026-00001 on EL-01 1號客梯 (A棟大堂):"
    )
    assert "平層準確（誤差）: 12 mm — Car stops 12 mm above the 3rd floor." in reported["caption"]
    assert "Urgency: normal, repair by 09:00 on 27 November" in reported["caption"]
    (to_manager,) = await manager.expect()
    assert "vendor 迅達電梯維保有限公司" in to_manager["caption"]

    await press(vendor, reported, "Acknowledge")
    assert (await vendor.wait_for_callback_answer())["text"] == "Defect DF-2026-00001 acknowledged."
    await press(vendor, reported, "Repaired")
    await last(vendor, "DF-2026-00001: what was repaired?")
    await vendor.send("Re-levelled the car, adjusted the encoder.")
    ask_fix_photos = await last(vendor, "Send photos of the repair")
    await bot.emulator.send_photo(bot.token, vendor.user_id, b"after-fix")
    await last(vendor, "Photo received")
    await press(vendor, ask_fix_photos, "Done")
    await last(vendor, "Defect DF-2026-00001 marked repaired")

    verify = await last(technician, "Defect DF-2026-00001 on EL-01 1號客梯 was repaired")
    await press(technician, verify, "Reject repair")
    await last(technician, "DF-2026-00001: why is the repair not acceptable?")
    await technician.send("Still 6 mm off at the 3rd floor.")
    await last(technician, "Repair of DF-2026-00001 rejected")
    rejected = await last(vendor, "The repair of defect DF-2026-00001")
    assert "Still 6 mm off at the 3rd floor." in rejected["text"]

    await press(vendor, rejected, "Repaired")
    await last(vendor, "DF-2026-00001: what was repaired?")
    await vendor.send("Replaced the levelling sensor.")
    ask_fix_photos = await last(vendor, "Send photos of the repair")
    await press(vendor, ask_fix_photos, "Skip")
    verify_again = await last(
        technician, "Defect DF-2026-00001 on EL-01 1號客梯 was repaired: Replaced"
    )
    await press(technician, verify_again, "Accept repair")
    await last(technician, "Repair of DF-2026-00001 accepted")
    await last(manager, "Defect DF-2026-00001 on EL-01 1號客梯 is repaired and verified.")

    async with bot.services.session_factory() as session:
        patrol = await session.scalar(select(Patrol))
        assert patrol.abnormal and (patrol.latitude, patrol.longitude) == (31.2304, 121.4737)
        assert len(patrol.checks) == 4
        defect = await session.scalar(select(Defect))
        assert (defect.status, defect.rejections) == ("closed", 1)
        photos = list(
            await session.scalars(select(Photo.stage).where(Photo.subject_type == "defect"))
        )
        assert sorted(photos) == ["repair", "report", "report", "report"]

    await technician.send("/defect DF-2026-00001")
    ticket = await technician.expect_text()
    album = await technician.expect(4)  # the three photos of the report and the repair's
    assert [m["caption"] for m in album] == [f"DF-2026-00001: photo {i} of 4" for i in range(1, 5)]
    assert all(m["photo"] for m in album) and len({m["media_group_id"] for m in album}) == 1
    for line in (
        "DF-2026-00001 — closed",
        "Tang Technician: defect reported:",
        "Sun Vendor: acknowledged by the vendor",
        "Sun Vendor: marked repaired: Re-levelled the car",
        "Tang Technician: repair rejected: Still 6 mm off",
        "Sun Vendor: marked repaired: Replaced the levelling sensor.",
        "Tang Technician: repair verified; closed",
    ):
        assert line in ticket, line


async def test_a_failed_item_is_named_with_that_it_failed_to_everyone_told_of_the_defect(
    bot: BotHarness,
) -> None:
    technician = await register(bot, "technician", "唐設備", language="zh-Hant")
    manager = await register(bot, "equipment_manager", "馬經理", language="zh-Hant")
    supervisor = await register(bot, "equipment_supervisor", "蘇主管", language="zh-Hant")
    vendor = await registered_vendor(bot, "孫維保", "V001", "zh-Hant")
    found = "門機開關順暢、無異響：異常——門機開關時有明顯異響"

    await technician.send("/patrol")
    await last(technician, "今天還有")
    await technician.send("EL-01")
    door = await last(technician, "1/4 門機開關順暢、無異響")
    await press(technician, door, "異常")
    await last(technician, "2/4")
    await technician.send("5mm")
    alarm = await last(technician, "3/4")
    await press(technician, alarm, "正常")
    await last(technician, "4/4")
    await technician.send("25")
    await last(technician, "本次巡視有備註嗎？")
    await technician.send("門機開關時有明顯異響")
    ask_photos = await last(technician, "有異常項目")
    await bot.emulator.send_photo(bot.token, technician.user_id, b"door")
    await last(technician, "已收到照片")
    await press(technician, ask_photos, "完成")
    urgency = await last(technician, "維修有多緊急？")
    await press(technician, urgency, "一般（24小時）")
    recorded = await last(technician, "EL-01巡視已記錄。")
    assert "已開立故障單DF-2026-00001（須於11月27日09:00前修復）" in recorded["text"]

    reported = await last(vendor, "故障DF-2026-00001：EL-01 1號客梯（A棟大堂）")
    assert reported["caption"].split("\n")[1] == found
    assert "須於11月27日09:00前修復（按合同MC-2026-001：24小時）" in reported["caption"]
    to_manager = await last(manager, "故障DF-2026-00001")
    assert to_manager["caption"].split("\n")[1] == found
    to_staff = await last(supervisor, "您負責的系統有故障DF-2026-00001")
    assert found in (to_staff.get("caption") or to_staff["text"])

    await technician.send("/defect DF-2026-00001")
    record = await last(technician, "DF-2026-00001")
    assert f"問題：{found}" in record["text"]
    assert f"報告故障：{found}" in record["text"]


async def test_a_rectification_climbs_to_the_evaluation_form_and_is_approved(
    bot: BotHarness, clock
) -> None:
    from scheduler.jobs import prompt_overdue_rectifications

    manager = await register(bot, "equipment_manager", "Ma Manager")
    engineer = await register(bot, "equipment_engineer", "Eng Engineer")
    office = await register(bot, "management_office", "Guan Office")
    vendor = await registered_vendor(bot, "Wu Vendor", "V002")
    jobs = jobs_of(bot)

    await manager.send("/rectify")
    (ask_vendor,) = await manager.expect()
    await press(manager, ask_vendor, "V002 清源水務工程公司")
    await last(manager, "What must the vendor correct?")
    await manager.send("Pump room left dirty after each service.")
    ask_due = await last(manager, "By when?")
    assert [label for label, _ in buttons_of(ask_due)] == ["3 days", "7 days", "14 days"]
    await press(manager, ask_due, "3 days")
    await last(manager, "Verbal rectification request #")
    assert (await vendor.expect_text()).startswith("Rectification request: Pump room left dirty")

    clock.advance(dt.timedelta(days=3, minutes=1))
    await prompt_overdue_rectifications(jobs)
    prompt = await last(manager, "Rectification #")
    await press(manager, prompt, "Issue written notice")
    await last(manager, "Written notice RN-2026-00001 sent to 清源水務工程公司")
    (notice,) = await vendor.expect(timeout=FORM_SECONDS)
    assert (
        notice["document"]["file_name"] == "Rectification notice (不合格項整改單)-RN-2026-00001.pdf"
    )
    assert notice["caption"].startswith(
        "Written rectification notice RN-2026-00001 (不合格項整改單)"
    )

    clock.advance(dt.timedelta(days=7, minutes=1))
    await prompt_overdue_rectifications(jobs)
    prompt = await last(
        manager, "Written notice RN-2026-00001 (清源水務工程公司) was not confirmed"
    )
    await press(manager, prompt, "Start evaluation")
    await last(manager, "RN-2026-00001 (清源水務工程公司): the engineers have been asked")

    request = await last(engineer, "Please fill in the service quality evaluation form")
    await press(engineer, request, "Fill in the form")
    await last(engineer, "Evaluation form for 清源水務工程公司 (RN-2026-00001)")
    await engineer.send("Three services in a row left the pump room dirty; no cleaning log kept.")
    await last(engineer, "Send the overall score")
    await engineer.send("150")
    assert (await engineer.expect_text()) == "Please send a score from 0 to 100."
    await engineer.send("55")
    await last(engineer, "Evaluation of RN-2026-00001 submitted")

    review = await last(manager, "Evaluation of 清源水務工程公司 (RN-2026-00001), score 55")
    forward = data_of(review, "Forward to management office")
    await manager.press(review, forward)
    await last(manager, "Evaluation of 清源水務工程公司 (RN-2026-00001) forwarded")
    await manager.press(review, forward, forge=True)  # a double tap
    assert "that step is not possible now" in (await manager.wait_for_callback_answer())["text"]

    (to_office,) = await office.expect(timeout=FORM_SECONDS)
    assert to_office["document"]["file_name"] == (
        "Subcontractor service quality evaluation (分承包方服務質量檢查評價表)-RN-2026-00001.pdf"
    )
    await press(engineer, request, "Fill in the form")  # the form is no longer waiting
    assert "that step is not possible now" in (await engineer.wait_for_callback_answer())["text"]
    await press(office, to_office, "Approve")
    await last(office, "Evaluation of 清源水務工程公司 (RN-2026-00001) approved.")
    await last(engineer, "The management office approved the evaluation")

    async with bot.services.session_factory() as session:
        rectification = await session.scalar(select(Rectification))
    assert (rectification.status, rectification.rung, rectification.evaluation_score) == (
        "approved",
        "evaluation",
        55,
    )


async def test_a_scanned_sticker_opens_the_patrol_of_its_asset(bot: BotHarness) -> None:
    technician = await register(bot, "technician", "Tang Technician")
    customer = await register(bot, "customer", "Chen Meiling", organisation="C001")

    await technician.send("/start asset_HV-01")
    started = await last(technician, "1/2 冷凍水供水溫度")
    assert (
        technician.all_bot_messages()[-2]["text"]
        == "Patrol of HV-01 中央空調冷水機組 (屋頂機房): 2 checklist items."
    )
    assert started["text"].endswith("(normal 6–9).")
    await technician.send("/start asset_XX-99")
    assert (
        await technician.expect_text()
        == "No asset has the code asset_XX-99. Type the code on its label, or choose a button."
    )

    await customer.send("/start asset_HV-01")
    assert (await customer.expect_text()).startswith(
        "This command is for equipment technician only."
    )


async def test_the_manager_scores_a_vendor_with_buttons_and_receives_the_sheet(
    bot: BotHarness, clock
) -> None:
    from procedures.kernel.clock import ManualClock
    from scheduler.jobs import request_vendor_scores
    from tests.conftest import SHANGHAI

    assert isinstance(clock, ManualClock)
    manager = await register(bot, "equipment_manager", "Ma Manager")
    vendor = await registered_vendor(bot, "Sun Vendor", "V001")
    await vendor.send("/visit")
    assert (await vendor.expect_text()).startswith("Usage: /visit ASSET [note]")
    await vendor.send("/visit WP-01")  # another vendor's pumps
    assert await vendor.expect_text() == "WP-01 is not maintained by your company."
    await vendor.send("/visit el-01 monthly service, brakes adjusted")
    assert await vendor.expect_text() == (
        "Maintenance visit to EL-01 declared; it counts once the system's staff confirm it. "
        "Confirmed visits this month: 0; promised by the contract: 2."
    )
    # nobody else answers for the elevators here: the manager confirms the visit
    ask = await last(manager, "迅達電梯維保有限公司 declares a maintenance visit to EL-01")
    await press(manager, ask, "Confirm visit")
    await last(manager, "Maintenance visit to EL-01 1號客梯 at")
    clock.set(dt.datetime(2026, 12, 1, 9, tzinfo=SHANGHAI))
    jobs = jobs_of(bot)
    await request_vendor_scores(jobs)
    requests = await manager.expect(3)
    v001 = next(m for m in requests if "迅達電梯維保有限公司" in m["text"])
    assert v001["text"] == (
        "Please score 迅達電梯維保有限公司 for 2026-11 (合格維保單位考核評分表) "
        "by the end of 5 December."
    )

    await press(manager, v001, "Score 迅達電梯維保有限公司 (V001)")
    measured = await last(manager, "1/5 Maintenance quality")
    figures = manager.all_bot_messages()[-2]["text"]
    assert figures.startswith("迅達電梯維保有限公司, 2026-11, measured by the bot:\nDefects: 0")
    assert figures.endswith(
        "Against the contracts: response promised within 1 h, late: 0; repair promised within "
        "24 h, late: 0; confirmed maintenance visits: 1, promised: 4"
    )
    for value, criterion in zip("4535", ("2/5", "3/5", "4/5", "5/5"), strict=True):
        await press(manager, measured, value)
        measured = await last(manager, criterion)
    last_button = data_of(measured, "4")
    await manager.press(measured, last_button)
    await manager.press(measured, last_button, forge=True)  # a double tap on the last criterion
    await last(manager, "Score of 迅達電梯維保有限公司 for 2026-11 recorded: 84/100.")
    (sheet,) = await manager.expect(timeout=FORM_SECONDS)
    assert sheet["document"]["file_name"] == (
        "Qualified maintenance vendor score sheet (合格維保單位考核評分表)-V001-2026-11.pdf"
    )
    printed = read_pdf(bot.emulator.files[sheet["document"]["file_id"]].content).text
    for line in (
        "Vendor 迅達電梯維保有限公司",
        "Month 2026-11",
        "Total (0–100) 84",
        "Defects raised 0",
        "Median response (min) -",
        "Maintenance visits confirmed 1",
        "Maintenance visits promised 4",
        "Response promised (h) 1",
        "Repair promised (h) 24",
    ):
        assert line in printed, line
    assert "Maintenance quality 4 " in printed and "Safety 4 " in printed


async def test_the_managers_defect_notice_raises_a_rectification_linked_to_the_defect(
    bot: BotHarness,
) -> None:
    from storage.models import User
    from tests.unit.test_patrols import draft_for, patrol

    technician = await register(bot, "technician", "Tang Technician")
    manager = await register(bot, "equipment_manager", "Ma Manager")
    vendor = await registered_vendor(bot, "Sun Vendor", "V001")
    async with bot.services.session_factory() as session:
        found_by = await session.scalar(select(User).where(User.telegram_id == technician.user_id))
    draft = await draft_for(bot.services, "EL-01", abnormal="EL-DOOR")
    draft.photo_file_ids = [bot.emulator.store_file(b"door", None, "image/jpeg").file_id]
    defect = (await patrol(bot.services, found_by, draft)).defect

    (reported,) = await vendor.expect()
    assert buttons_of(reported)[0] == ("Acknowledge", f"df:ack:{defect.id}")
    await vendor.press(reported, f"df:rectify:{defect.id}", forge=True)  # not the vendor's
    assert (await vendor.wait_for_callback_answer())["text"] == (
        "This command is for equipment manager only. Nothing was changed."
    )
    (notice,) = await manager.expect()
    assert (notice.get("text") or notice.get("caption")).startswith("Defect DF-2026-00001 on EL-01")
    assert buttons_of(notice) == [("Request rectification", f"df:rectify:{defect.id}")]
    await manager.press(notice, f"df:rectify:{defect.id + 999}", forge=True)
    assert (await manager.wait_for_callback_answer())["text"] == (
        "No defect with that number is visible to you."
    )

    await press(manager, notice, "Request rectification")
    await last(
        manager,
        "Rectification about defect DF-2026-00001, vendor 迅達電梯維保有限公司: "
        "what must the vendor correct?",
    )
    await manager.send("Door operator faults keep coming back after each service.")
    ask_due = await last(manager, "By when?")
    await press(manager, ask_due, "7 days")
    await last(manager, "Verbal rectification request #")
    assert (await vendor.expect_text()).startswith("Rectification request: Door operator faults")

    async with bot.services.session_factory() as session:
        rectification = await session.scalar(select(Rectification))
    assert (rectification.defect_id, rectification.vendor_id) == (defect.id, defect.vendor_id)
    await manager.send("/defect DF-2026-00001")
    assert (
        "Ma Manager: rectification requested from the vendor: Door operator faults"
        in await manager.expect_text()
    )


async def test_a_missed_repair_deadline_alerts_and_offers_the_manager_a_rectification(
    bot: BotHarness, clock
) -> None:
    from scheduler.jobs import sweep_deadlines
    from storage.models import User
    from tests.unit.test_patrols import draft_for, patrol

    technician = await register(bot, "technician", "Tang Technician")
    manager = await register(bot, "equipment_manager", "Ma Manager")
    vendor = await registered_vendor(bot, "Sun Vendor", "V001")
    jobs = jobs_of(bot)
    async with bot.services.session_factory() as session:
        found_by = await session.scalar(select(User).where(User.telegram_id == technician.user_id))
    draft = await draft_for(bot.services, "EL-01", abnormal="EL-DOOR")
    draft.photo_file_ids = [bot.emulator.store_file(b"door", None, "image/jpeg").file_id]
    draft.severity = "urgent"  # four hours by default; the elevator's contract gives 24 h
    defect = (await patrol(bot.services, found_by, draft)).defect
    await vendor.expect()
    await manager.expect()

    clock.advance(dt.timedelta(hours=18))
    await sweep_deadlines(jobs)
    subject = "DF-2026-00001 (asset EL-01 1號客梯, vendor 迅達電梯維保有限公司): repair"
    opens = ("Open DF-2026-00001", "find:open:DF-2026-00001")
    for chat in (vendor, technician, manager):
        assert await last(
            chat, f"Reminder: {subject} is due by 09:00 on 27 November (6 hours left)."
        )

    clock.advance(dt.timedelta(hours=6, minutes=1))
    await sweep_deadlines(jobs)
    for chat in (vendor, technician):
        alert = await last(
            chat, f"OVERDUE: {subject} was due by 09:00 on 27 November, 1 minute ago."
        )
        assert buttons_of(alert) == [opens]
    alert = await last(manager, f"OVERDUE: {subject}")
    assert buttons_of(alert) == [("Request rectification", f"df:rectify:{defect.id}"), opens]
    await press(manager, alert, "Request rectification")
    await last(
        manager,
        "Rectification about defect DF-2026-00001, vendor 迅達電梯維保有限公司: "
        "what must the vendor correct?",
    )


async def test_a_vendor_left_unscored_is_chased_with_the_management_office(
    bot: BotHarness, clock
) -> None:
    from scheduler.jobs import request_vendor_scores, sweep_deadlines
    from tests.conftest import SHANGHAI

    manager = await register(bot, "equipment_manager", "Ma Manager")
    office = await register(bot, "management_office", "Guan Office")
    jobs = jobs_of(bot)
    clock.set(dt.datetime(2026, 12, 1, 9, tzinfo=SHANGHAI))
    await request_vendor_scores(jobs)
    requests = await manager.expect(3)
    v001 = next(m for m in requests if "迅達電梯維保有限公司" in m["text"])

    # the three reminders come due in one sweep: one digest, each score a button that starts it
    clock.set(dt.datetime(2026, 12, 5, 9, tzinfo=SHANGHAI))
    await sweep_deadlines(jobs)
    (digest,) = await manager.expect(1)
    score = "monthly vendor score (合格維保單位考核評分表)"
    assert digest["text"] == (
        "3 deadlines waiting on you, 0 overdue, most urgent first:\n"
        "Monthly vendor scores\n"
        f"• V001 2026-11 (vendor 迅達電梯維保有限公司): {score}, due by the end of 5 December "
        "(15 hours left)\n"
        f"• V002 2026-11 (vendor 清源水務工程公司): {score}, due by the end of 5 December "
        "(15 hours left)\n"
        f"• V003 2026-11 (vendor 恆溫空調機電服務): {score}, due by the end of 5 December "
        "(15 hours left)"
    )
    assert [label for label, _ in buttons_of(digest)] == [
        "V001 2026-11",
        "V002 2026-11",
        "V003 2026-11",
    ]
    assert buttons_of(digest)[0][1] == buttons_of(v001)[0][1]  # the request's own button

    await press(manager, digest, "V001 2026-11")
    measured = await last(manager, "1/5 Maintenance quality")
    for value, criterion in zip("4535", ("2/5", "3/5", "4/5", "5/5"), strict=True):
        await press(manager, measured, value)
        measured = await last(manager, criterion)
    await press(manager, measured, "4")
    await last(manager, "Score of 迅達電梯維保有限公司 for 2026-11 recorded")
    await manager.expect()  # the sheet

    # the two left fall overdue together: one digest each to the manager and the office
    clock.set(dt.datetime(2026, 12, 6, 0, 1, tzinfo=SHANGHAI))
    await sweep_deadlines(jobs)
    for chat in (manager, office):
        (alerts,) = await chat.expect(1)
        assert alerts["text"] == (
            "2 deadlines waiting on you, 2 overdue, most urgent first:\n"
            "Monthly vendor scores\n"
            f"• V002 2026-11 (vendor 清源水務工程公司): {score}, 1 minute overdue\n"
            f"• V003 2026-11 (vendor 恆溫空調機電服務): {score}, 1 minute overdue"
        )
        assert [label for label, _ in buttons_of(alerts)] == ["V002 2026-11", "V003 2026-11"]
    # the office opens the list of all that waits on it
    await office.send("/todo")
    todo = await office.expect_text()
    assert todo.startswith("2 deadlines waiting on you, 2 overdue") and "V003 2026-11" in todo


async def test_the_supervisor_records_an_inspections_findings_and_its_defect_is_chased(
    bot: BotHarness, clock
) -> None:
    from core.services import load_policies
    from scheduler.jobs import chase_elevator_defects, schedule_inspections
    from scheduler.services import JobServices
    from storage.models import Inspection
    from tests.conftest import SHANGHAI

    supervisor = await register(bot, "equipment_supervisor", "Zhu Supervisor")
    vendor = await registered_vendor(bot, "Sun Vendor", "V001")
    jobs = JobServices(
        bot.services.session_factory,
        bot.services.clock,
        SHANGHAI,
        bot.services.outbox_ready,
        policies=load_policies({"INSPECTION_MONTHS": "elevator:1"}),
    )
    clock.set(dt.datetime(2026, 12, 1, 7, tzinfo=SHANGHAI))
    await schedule_inspections(jobs)
    notices = await supervisor.expect(2)
    notice = next(m for m in notices if "EL-01" in m["text"])
    assert notice["text"].startswith("Periodic inspection of EL-01 1號客梯 (A棟大堂) is due by")
    await press(supervisor, notice, "Record inspection")
    door = await last(supervisor, "1/4 門機開關順暢")
    assert supervisor.all_bot_messages()[-2]["text"] == (
        "Inspection of EL-01 1號客梯 (A棟大堂): its checklist follows, item by item."
    )
    await press(supervisor, door, "Abnormal")
    await last(supervisor, "2/4")
    await supervisor.send("5")
    alarm = await last(supervisor, "3/4")
    await press(supervisor, alarm, "OK")
    await last(supervisor, "4/4")
    await supervisor.send("28")
    await last(supervisor, "Any note")
    await supervisor.send("Door drags at the 2nd floor.")
    ask_photos = await last(supervisor, "Something is abnormal")
    await bot.emulator.send_photo(bot.token, supervisor.user_id, b"door")
    await last(supervisor, "Photo received")
    await press(supervisor, ask_photos, "Done")
    urgency = await last(supervisor, "How urgent")
    await press(supervisor, urgency, "Normal (24 h)")
    await last(
        supervisor,
        "Inspection of EL-01 for 2026-12 recorded. Defect DF-2026-00001 opened;",
    )
    reported = await last(vendor, "Defect DF-2026-00001 on EL-01")
    assert "門機開關順暢、無異響: failed — Door drags at the 2nd floor." in reported["caption"]
    await press(supervisor, notice, "Record inspection")  # recorded already
    assert (await supervisor.wait_for_callback_answer())["text"] == (
        "The inspection of EL-01 is already recorded."
    )

    clock.set(dt.datetime(2026, 12, 2, 9, tzinfo=SHANGHAI))
    await chase_elevator_defects(jobs)
    chased = await last(vendor, "Reminder: defect DF-2026-00001 on EL-01")
    assert [label for label, _ in buttons_of(chased)] == ["Repaired"]
    await last(supervisor, "Elevator defect DF-2026-00001 on EL-01 1號客梯 (A棟大堂) is still")
    async with bot.services.session_factory() as session:
        inspection = await session.scalar(select(Inspection).where(Inspection.done_at.is_not(None)))
        assert inspection.abnormal and inspection.note == "Door drags at the 2nd floor."


async def test_the_half_year_assessment_is_organised_signed_and_reported_to_the_client(
    bot: BotHarness,
) -> None:
    manager = await register(bot, "equipment_manager", "Ma Manager")
    engineer = await register(bot, "equipment_engineer", "Eng Engineer")
    client = await register(bot, "client_authority", "Ke Client")

    await manager.send("/assessment 2027-H1")
    assert await manager.expect_text() == "The half-year 2027 H1 has not begun."
    await manager.send("/assessment")  # the half that ended last: 2026 H1
    opened = await last(manager, "Vendor assessment 2026 H1 opened (open for findings)")
    assert [label for label, _ in buttons_of(opened)] == [
        "Finding: V001",
        "Finding: V002",
        "Finding: V003",
        "Sign and report",
    ]
    await press(manager, opened, "Sign and report")
    assert "has no findings yet" in (await manager.wait_for_callback_answer())["text"]

    asked = await last(engineer, "The half-year vendor assessment 2026 H1 (綜合檢查考核) is open")
    assert asked["text"] == (
        "The half-year vendor assessment 2026 H1 (綜合檢查考核) is open and is to be signed and "
        "reported by 09:00 on 26 December. Please add what you found of each vendor's work soon."
    )
    await press(engineer, asked, "Finding: V002")
    await last(engineer, "Assessment 2026 H1: what did you find of 清源水務工程公司's work?")
    await engineer.send("Pump room logs incomplete for three months.")
    await last(engineer, "Finding about 清源水務工程公司 added to the assessment.")

    await manager.send("/assessment")
    state = await last(manager, "Vendor assessment 2026 H1 (open for findings). Findings:")
    assert "• 清源水務工程公司: Pump room logs incomplete for three months." in state["text"]
    await press(manager, state, "Sign and report")
    await last(
        manager,
        "Vendor assessment 2026 H1 signed and sent to the client's competent department",
    )
    report = await last(client, "Half-year vendor assessment 2026 H1 (綜合檢查考核), signed by")
    assert report["document"]["file_name"] == "vendor-assessment-2026-H1.xlsx"

    await manager.send("/escalate V002 Pump room still not cleaned after two notices.")
    await last(manager, "Reported to the client's competent department: 清源水務工程公司 (V002).")
    notice = await last(client, "The equipment manager Ma Manager reports a matter about")
    assert notice["text"].endswith("Pump room still not cleaned after two notices.")
    await client.send("/escalate V002 x")
    assert (await client.expect_text()).startswith("This command is for equipment manager only.")


STALE_BUTTON = "This button is no longer valid. Nothing was changed."


async def test_each_patrol_step_that_moves_on_takes_the_previous_keyboard_away(
    bot: BotHarness,
) -> None:
    technician = await register(bot, "technician", "Tang Technician")
    vendor = await registered_vendor(bot, "Sun Vendor", "V001")

    await technician.send("/patrol")
    (choose,) = await technician.expect()
    await press(technician, choose, "EL-01 1號客梯")
    _, door = await technician.expect(2)
    assert buttons_of(choose) == []  # the asset is chosen: the assets are gone
    await press(technician, door, "OK")
    await last(technician, "2/4")
    assert door["text"].endswith("OK") and buttons_of(door) == []
    await technician.send("12")  # out of range: abnormal
    _, alarm = await technician.expect(2)
    await press(technician, alarm, "OK")
    await last(technician, "4/4 機房溫度")
    assert buttons_of(alarm) == []
    await technician.send("31.5")
    ask_note = await last(technician, "Any note")
    assert [label for label, _ in buttons_of(ask_note)] == ["Skip"]
    await technician.send("Car stops high at the 3rd floor.")
    ask_photos = await last(technician, "Something is abnormal: send at least one photo")
    assert buttons_of(ask_note) == []  # the note is typed: its Skip is gone
    assert [label for label, _ in buttons_of(ask_photos)] == ["Done"]  # a photo is required

    await bot.emulator.send_photo(bot.token, technician.user_id, b"level-1")
    first_ack = await last(technician, "Photo received (1 photo so far)")
    await bot.emulator.send_photo(bot.token, technician.user_id, b"level-2")
    ack = await last(technician, "Photo received (2 photos so far)")
    await bot.emulator.wait_until(lambda: buttons_of(first_ack) == [])  # one Done at a time
    assert [label for label, _ in buttons_of(ack)] == ["Done"]
    assert [label for label, _ in buttons_of(ask_photos)] == ["Done"]  # still the step
    await press(technician, ack, "Done")
    ask_severity = await last(technician, "How urgent is the repair?")
    assert buttons_of(ask_photos) == [] and buttons_of(ack) == []  # both Done buttons are gone
    urgent = data_of(ask_severity, "Urgent (24 h)")
    await press(technician, ask_severity, "Normal (24 h)")
    await last(technician, "Patrol of EL-01 recorded.")
    assert buttons_of(ask_severity) == []  # the urgency is chosen: the urgencies are gone
    await technician.press(ask_severity, urgent, forge=True)  # a copy pressed anyway
    assert (await technician.wait_for_callback_answer())["text"] == STALE_BUTTON
    async with bot.services.session_factory() as session:
        assert (await session.scalar(select(Defect))).severity == "normal"

    (reported,) = await vendor.expect()
    assert [label for label, _ in buttons_of(reported)] == ["Acknowledge", "Repaired"]
    await press(vendor, reported, "Acknowledge")
    await vendor.wait_for_callback_answer()
    await bot.emulator.wait_until(
        lambda: [label for label, _ in buttons_of(reported)] == ["Repaired"]
    )  # acknowledged once: the Repaired button stays
    await press(vendor, reported, "Repaired")
    await last(vendor, "DF-2026-00001: what was repaired?")
    await vendor.send("Re-levelled the car.")
    ask_fix_photos = await last(vendor, "Send photos of the repair")
    assert [label for label, _ in buttons_of(ask_fix_photos)] == ["Done", "Skip"]
    await press(vendor, ask_fix_photos, "Skip")
    await last(vendor, "Defect DF-2026-00001 marked repaired")
    assert buttons_of(ask_fix_photos) == []


async def test_a_normal_patrol_skips_its_photos_and_a_cancel_takes_the_buttons_away(
    bot: BotHarness,
) -> None:
    technician = await register(bot, "technician", "Tang Technician")

    await technician.send("/patrol")
    (choose,) = await technician.expect()
    await technician.send("EL-01")  # typed instead of pressed
    _, door = await technician.expect(2)
    assert buttons_of(choose) == []
    await press(technician, door, "OK")
    await last(technician, "2/4")
    await technician.send("5")
    alarm = await last(technician, "3/4")
    await press(technician, alarm, "OK")
    await last(technician, "4/4 機房溫度")
    await technician.send("25")
    ask_note = await last(technician, "Any note")
    await press(technician, ask_note, "Skip")
    ask_photos = await last(technician, "Send photos if you like")
    assert buttons_of(ask_note) == []
    assert [label for label, _ in buttons_of(ask_photos)] == ["Done", "Skip"]
    await press(technician, ask_photos, "Skip")
    await last(technician, "Patrol of EL-01 recorded: all normal.")
    assert buttons_of(ask_photos) == []

    await technician.send("/patrol")
    (choose_again,) = await technician.expect()
    assert buttons_of(choose_again) != []
    await technician.send("/cancel")
    await last(technician, "Cancelled.")
    assert buttons_of(choose_again) == []


async def test_the_monthly_score_takes_each_answered_criterions_buttons_away(
    bot: BotHarness,
) -> None:
    manager = await register(bot, "equipment_manager", "Ma Manager")
    await manager.send("/score 2026-09")
    (menu,) = await manager.expect()
    await press(manager, menu, "Score 迅達電梯維保有限公司 (V001)")
    await last(manager, "1/5 Maintenance quality")
    asked = []
    for position, value in enumerate(("4", "5", "3", "4", "5"), start=1):
        question = await last(manager, f"{position}/5")
        assert [label for label, _ in buttons_of(question)] == ["1", "2", "3", "4", "5"]
        data = data_of(question, value)
        await press(manager, question, value)
        asked.append((question, data))
        if position < 5:
            await last(manager, f"{position + 1}/5")
            assert buttons_of(question) == [] and question["text"].endswith(f": {value}")
    await last(manager, "Score of 迅達電梯維保有限公司 for 2026-09 recorded")
    assert all(buttons_of(question) == [] for question, _ in asked)
    assert buttons_of(menu) != []  # the menu stays, for the other vendors
    first, data = asked[0]
    await manager.press(first, data, forge=True)  # an answered criterion pressed again
    assert (await manager.wait_for_callback_answer())["text"] == STALE_BUTTON


async def test_a_rectification_request_takes_its_vendor_and_deadline_buttons_away(
    bot: BotHarness,
) -> None:
    manager = await register(bot, "equipment_manager", "Ma Manager")
    await manager.send("/rectify")
    (ask_vendor,) = await manager.expect()
    await press(manager, ask_vendor, "V002 清源水務工程公司")
    await last(manager, "What must the vendor correct?")
    assert buttons_of(ask_vendor) == []
    await manager.send("Pump room left dirty after each service.")
    ask_due = await last(manager, "By when?")
    await press(manager, ask_due, "7 days")
    await last(manager, "Verbal rectification request #")
    assert buttons_of(ask_due) == []

    await manager.send("/rectifications")
    line = await last(manager, "#")
    await press(manager, line, "Follow-up")
    await last(manager, "Send photos of the follow-up check")
    await bot.emulator.send_photo(bot.token, manager.user_id, b"pump-room")
    await manager.send("Cleaner than last week.")
    await last(manager, "Follow-up on #")
    async with bot.services.session_factory() as session:
        assert (await session.scalar(select(Rectification))).status == "open"


async def test_a_rectifications_reminder_takes_the_manager_to_the_follow_up(
    bot: BotHarness, clock
) -> None:
    """The manager's reminder of a vendor's rectification carries the follow-up check: pressing
    it asks for the check's photos and note, and records it."""
    from scheduler.jobs import sweep_deadlines

    manager = await register(bot, "equipment_manager", "Ma Manager")
    vendor = await registered_vendor(bot, "Wu Vendor", "V002")
    jobs = jobs_of(bot)
    await manager.send("/rectify")
    (ask_vendor,) = await manager.expect()
    await press(manager, ask_vendor, "V002 清源水務工程公司")
    await last(manager, "What must the vendor correct?")
    await manager.send("Pump room left dirty after each service.")
    await press(manager, await last(manager, "By when?"), "7 days")
    await last(manager, "Verbal rectification request #")
    assert "by 09:00 on 3 December" in await vendor.expect_text()

    clock.advance(dt.timedelta(days=5, hours=7))  # past 75 % of the week, on a working day
    await sweep_deadlines(jobs)
    reminder = await last(manager, "Reminder: #")
    assert "清源水務工程公司" in reminder["text"] and "by 09:00 on 3 December" in reminder["text"]
    assert [label for label, _ in buttons_of(reminder)] == ["Do it now"]
    await press(manager, reminder, "Do it now")
    await last(manager, "Send photos of the follow-up check")
    await manager.send("Pump room clean at today's visit.")
    await last(manager, "Follow-up on #")
