"""P3 end to end: the vendor's maintenance visits confirmed or disputed by the system's staff,
a month short of the contract's visits chased with the vendor and told to the manager, and a
defect's repair deadline taken from the vendor's contract."""

from __future__ import annotations

import datetime as dt

from procedures.kernel.clock import ManualClock
from scheduler.jobs import chase_visit_shortfalls
from tests.conftest import SHANGHAI

from .conftest import BotHarness, buttons_of, register
from .test_complaints import press
from .test_patrols import jobs_of, last, registered_vendor
from .test_returns import text_with, with_button


async def test_a_visit_counts_once_the_systems_staff_confirm_it_and_a_short_month_is_chased(
    bot: BotHarness, clock: ManualClock
) -> None:
    technician = await register(bot, "technician", "Tian Technician")
    supervisor = await register(bot, "equipment_supervisor", "Zhu Supervisor")
    manager = await register(bot, "equipment_manager", "Ma Manager")
    vendor = await registered_vendor(bot, "Sun Vendor", "V001")

    await vendor.send("/visit el-01 monthly service")
    assert await vendor.expect_text() == (
        "Maintenance visit to EL-01 declared; it counts once the system's staff confirm it. "
        "Confirmed visits this month: 0; promised by the contract: 2."
    )
    notice = await with_button(bot, technician, "Confirm visit")
    assert notice["text"] == (
        "迅達電梯維保有限公司 declares a maintenance visit to EL-01 1號客梯 (A棟大堂) at "
        "2026-11-26 09:00. Note: monthly service\nPlease check the maintenance and confirm the "
        "visit, or dispute it: a disputed visit does not count."
    )
    assert [label for label, _ in buttons_of(notice)] == ["Confirm visit", "Dispute"]
    late_copy = await with_button(bot, supervisor, "Confirm visit")
    confirm_data = buttons_of(notice)[0][1]

    # the vendor's own staff cannot confirm their visit, even with a forged button
    await vendor.press(vendor.all_bot_messages()[-1], confirm_data, forge=True)
    assert (await vendor.wait_for_callback_answer())["text"] == (
        "The maintenance visit to EL-01 was declared by your own company: someone else verifies it."
    )

    await press(technician, notice, "Confirm visit")
    assert await text_with(bot, technician, "confirmed: it counts") == (
        "Maintenance visit to EL-01 1號客梯 at 2026-11-26 09:00 confirmed: it counts towards "
        "the contract."
    )
    assert buttons_of(technician.all_bot_messages()[-1]) == []
    assert await text_with(bot, vendor, "was confirmed by") == (
        "Your maintenance visit to EL-01 1號客梯 at 2026-11-26 09:00 was confirmed by Tian "
        "Technician: it counts towards the contract."
    )
    await press(supervisor, late_copy, "Dispute")  # a moment late: it is confirmed already
    assert (await supervisor.wait_for_callback_answer())["text"] == (
        "The maintenance visit to EL-01 is already verified (confirmed)."
    )

    await vendor.send("/visit EL-02")
    await text_with(bot, vendor, "Maintenance visit to EL-02 declared")
    second = await last(supervisor, "迅達電梯維保有限公司 declares a maintenance visit to EL-02")
    await press(supervisor, second, "Dispute")
    assert await text_with(bot, supervisor, "disputed: it does not count") == (
        "Maintenance visit to EL-02 2號貨梯 at 2026-11-26 09:00 disputed: it does not count. "
        "The vendor and the equipment manager have been told."
    )
    assert await text_with(bot, manager, "was disputed by") == (
        "The maintenance visit 迅達電梯維保有限公司 declared to EL-02 2號貨梯 at 2026-11-26 09:00 "
        "was disputed by Zhu Supervisor: it does not count. Note: -"
    )
    await text_with(bot, vendor, "was disputed by Zhu Supervisor")

    # the last day of November: EL-02 has no confirmed visit and cannot make two in one day
    # (October, before these visits, had none confirmed either: its verdict comes too)
    clock.set(dt.datetime(2026, 11, 30, 9, 15, tzinfo=SHANGHAI))
    await chase_visit_shortfalls(jobs_of(bot))
    assert await text_with(bot, vendor, "Reminder (督促): the maintenance contract") == (
        "Reminder (督促): the maintenance contract promises 2 visits a month to EL-02 2號貨梯. "
        "2026-11 has 0 confirmed visits so far and the days left cannot make up the rest. "
        "Please arrange the maintenance."
    )
    assert await text_with(bot, manager, "can no longer make") == (
        "迅達電梯維保有限公司 can no longer make the 2 visits a month its maintenance contract "
        "promises to EL-02 2號貨梯 in 2026-11: 0 confirmed visits so far. The vendor has been "
        "chased."
    )

    # the month has ended: EL-01 had one confirmed visit of the two promised
    clock.set(dt.datetime(2026, 12, 1, 9, 15, tzinfo=SHANGHAI))
    await chase_visit_shortfalls(jobs_of(bot))
    assert await text_with(bot, vendor, "in 2026-11 your company made 1") == (
        "Reminder (督促): in 2026-11 your company made 1 confirmed visit to EL-01 1號客梯, fewer "
        "than the 2 a month the maintenance contract promises. Please make up the maintenance."
    )
    assert await text_with(bot, manager, "to EL-01 1號客梯 in 2026-11") == (
        "迅達電梯維保有限公司 made 1 confirmed visit to EL-01 1號客梯 in 2026-11, fewer than the 2 "
        "a month its maintenance contract promises. The vendor has been chased."
    )
    await text_with(bot, vendor, "in 2026-11 your company made 0 confirmed visits to EL-02")
    before = len(vendor.all_bot_messages())
    await chase_visit_shortfalls(jobs_of(bot))  # run again: nothing twice
    await bot.settled()
    assert len(vendor.all_bot_messages()) == before


async def test_a_defect_on_a_contracted_asset_is_due_within_the_contracts_repair_hours(
    bot: BotHarness,
) -> None:
    technician = await register(bot, "technician", "Tang Technician")
    manager = await register(bot, "equipment_manager", "Ma Manager")
    vendor = await registered_vendor(bot, "Sun Vendor", "V001")

    await technician.send("/patrol")
    await technician.expect()
    await technician.send("EL-01")
    _, door = await technician.expect(2)
    await press(technician, door, "Abnormal")
    await technician.send("5")
    alarm = await last(technician, "3/4")
    await press(technician, alarm, "OK")
    await last(technician, "4/4")
    await technician.send("28")
    await last(technician, "Any note")
    await technician.send("Door grinds.")
    ask_photos = await last(technician, "Something is abnormal")
    await bot.emulator.send_photo(bot.token, technician.user_id, b"door")
    await last(technician, "Photo received")
    await press(technician, ask_photos, "Done")
    urgency = await last(technician, "How urgent")
    # the elevator's maintenance contract gives 24 h, not the 168 h of a low urgency
    assert urgency["text"] == (
        "How urgent is the repair? The vendor's contract MC-2026-001 gives 24 h to repair it, "
        "whatever the urgency."
    )
    assert [label for label, _ in buttons_of(urgency)] == [
        "Urgent (24 h)",
        "Normal (24 h)",
        "Low (24 h)",
    ]
    await press(technician, urgency, "Low (24 h)")
    recorded = await last(technician, "Patrol of EL-01 recorded.")
    assert "(repair due by 09:00 on 27 November)" in recorded["text"]
    reported = await last(vendor, "Defect DF-2026-00001 on EL-01")
    assert (
        "Urgency: low, repair by 09:00 on 27 November (contract MC-2026-001: 24 h)."
        in reported["caption"]
    )
    to_manager = await last(manager, "Defect DF-2026-00001 on EL-01")
    assert "repair by 09:00 on 27 November (contract MC-2026-001: 24 h)." in to_manager["caption"]
