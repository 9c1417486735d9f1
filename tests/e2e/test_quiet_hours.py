"""Quiet hours end to end: at 06:00 a routine reminder waits for the working day while an urgent
one (a hold to lift) arrives at once; at 08:30 the routine one arrives; a person who sets their
own hours with /hours gets theirs when those begin."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from procedures.complaints.rules import HOLD_LIFT, ON_SITE_VERIFICATION
from procedures.kernel import deadlines
from procedures.kernel.working_hours import WorkingHours
from scheduler.jobs import send_daily_lists, sweep_deadlines
from tests.conftest import SHANGHAI

from .conftest import BotHarness, buttons_of, register
from .test_patrols import jobs_of


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


async def test_a_routine_reminder_waits_for_the_working_day_and_an_urgent_one_goes_at_once(
    bot: BotHarness, clock
) -> None:
    qc = await register(bot, "quality", "Qiu QC")
    early = await register(bot, "quality", "Zao Early")
    warehouse = await register(bot, "warehouse", "Wu Warehouse")
    await early.send("/hours 06:00-15:00")
    assert await early.expect_text() == (
        "Done: routine reminders now arrive on working days between 06:00-15:00."
    )
    await early.send("/hours 25:00")
    assert "is not a time span" in await early.expect_text()
    hours = WorkingHours.of_settings(bot.services.settings)
    jobs = replace(jobs_of(bot), working_hours=hours)

    # opened Thursday 09:00, due Friday 13:00: both reminded at 75 %, Friday 06:00
    clock.set(local(26, 9))
    async with bot.services.unit_of_work() as uow:
        for rule, number in ((ON_SITE_VERIFICATION, 1), (HOLD_LIFT, 2)):
            deadlines.open_deadline(
                uow.session,
                rule=rule,
                subject_type="complaint",
                subject_id=number,
                subject_label=f"QC-2026-{number:05d}",
                opened_at=uow.clock.now(),
                due_at=local(27, 13),
            )
        await uow.commit()

    clock.set(local(27, 6))
    await sweep_deadlines(jobs)
    lift = await warehouse.expect_text()
    assert lift == (
        "Reminder: QC-2026-00002: lifting the shipment hold is due by 13:00 on 27 November "
        "(7 hours left)."
    )
    assert (await early.expect_text()).startswith("Reminder: QC-2026-00001: on-site")
    await bot.settled()
    assert [m for m in qc.all_bot_messages() if "Reminder" in (m.get("text") or "")] == []

    clock.set(local(27, 8, 30))
    await sweep_deadlines(jobs)
    (reminder,) = await qc.expect(1)
    # how long is left, as of its delivery
    assert reminder["text"] == (
        "Reminder: QC-2026-00001: on-site verification is due by 13:00 on 27 November (4 hours left)."
    )
    assert buttons_of(reminder) == []  # the complaint is not on file here: nothing to open

    # the list of what waits on me, at the start of each working day once asked for
    await qc.send("/todo on")
    assert (await qc.expect_text()).startswith("Done: at the start of each working day")
    clock.set(local(30, 8, 30))  # Monday
    await send_daily_lists(jobs)
    daily = await qc.expect_text()
    assert daily.startswith("Good morning! Here is what waits on you today")
    assert "• QC-2026-00001: on-site verification, 2 days 19 hours overdue" in daily
    await send_daily_lists(jobs)
    await bot.settled()
    assert sum("Good morning" in (m.get("text") or "") for m in qc.all_bot_messages()) == 1
