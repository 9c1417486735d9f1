"""Quiet hours: a routine reminder waits for its recipient's working hours (the deployment's, or
their own), an urgent one and every overdue alert go at once, and a reminder that would only
arrive when it is too late to act on is dropped."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.services import Services
from procedures.complaints.rules import HOLD_LIFT, ON_SITE_VERIFICATION
from procedures.kernel import daily_lists, deadlines, outbox
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import InvalidInput
from procedures.kernel.rules import DeadlineRule
from procedures.kernel.working_hours import WorkingHours, parse_span
from procedures.people import users
from storage.models import User
from tests.conftest import SHANGHAI

from .helpers import make_user, outbox_rows

HOURS = WorkingHours.of("08:30-18:00", "1-5", SHANGHAI)


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def test_the_next_working_moment_skips_the_night_and_the_weekend() -> None:
    assert HOURS.next_open(local(26, 10)) == local(26, 10)  # a Thursday morning: now
    assert HOURS.next_open(local(26, 7)) == local(26, 8, 30)
    assert HOURS.next_open(local(27, 18)) == local(30, 8, 30)  # Friday evening: Monday
    assert HOURS.next_open(local(28, 12)) == local(30, 8, 30)  # Saturday
    assert HOURS.for_person("07:00-15:00").next_open(local(27, 7, 5)) == local(27, 7, 5)


@pytest.mark.parametrize("typed", ["9-5", "18:00-08:30", "25:00-26:00", "08:30"])
def test_a_span_that_is_not_one_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_span(typed)


def test_a_span_typed_with_full_width_colons_is_understood() -> None:
    assert parse_span("9：00–17：30") == (
        dt.time(9),
        dt.time(17, 30),
    )


async def open_due(
    services: Services, rule: DeadlineRule, subject_id: int, due: dt.datetime
) -> None:
    async with services.unit_of_work() as uow:
        deadlines.open_deadline(
            uow.session,
            rule=rule,
            subject_type="complaint",
            subject_id=subject_id,
            subject_label=f"QC-2026-{subject_id:05d}",
            opened_at=uow.clock.now(),
            due_at=due,
        )
        await uow.commit()


async def sweep(services: Services) -> None:
    async with services.unit_of_work() as uow:
        now = uow.clock.now()
        await deadlines.sweep_deadlines(uow.session, now=now, hours=HOURS)
        await outbox.release_held(uow.session, now=now)
        await uow.commit()


async def test_a_routine_reminder_waits_for_the_morning_and_an_urgent_one_goes_at_once(
    services: Services, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    warehouse = await make_user(services, "warehouse")
    clock.set(local(26, 9))
    # opened Thursday 09:00, due Friday 13:00: reminded at 75 %, Friday 06:00
    await open_due(services, ON_SITE_VERIFICATION, 1, local(27, 13))
    await open_due(services, HOLD_LIFT, 2, local(27, 13))

    clock.set(local(27, 6))
    await sweep(services)
    (held,) = await outbox_rows(services, user_id=qc.id, text_key="deadline.reminder")
    assert (held.status, held.next_attempt_at) == ("held", local(27, 8, 30))
    (urgent,) = await outbox_rows(services, user_id=warehouse.id, text_key="deadline.reminder")
    assert urgent.status == "pending"

    clock.set(local(27, 8, 29))
    await sweep(services)
    assert (await outbox_rows(services, id=held.id))[0].status == "held"
    clock.set(local(27, 8, 30))
    await sweep(services)
    assert (await outbox_rows(services, id=held.id))[0].status == "pending"


async def test_a_person_s_own_hours_bring_their_reminders_earlier(
    services: Services, clock: ManualClock
) -> None:
    early = await make_user(services, "quality")
    late = await make_user(services, "quality")
    async with services.unit_of_work() as uow:
        stored = await uow.session.get(User, early.id)
        assert await users.set_working_hours(uow, stored, "06:00-15:00") == "06:00-15:00"
    clock.set(local(26, 9))
    await open_due(services, ON_SITE_VERIFICATION, 1, local(27, 13))

    clock.set(local(27, 6))
    await sweep(services)
    statuses = {
        row.user_id: row.status for row in await outbox_rows(services, text_key="deadline.reminder")
    }
    assert statuses == {early.id: "pending", late.id: "held"}


async def test_a_reminder_that_would_wait_past_the_time_to_act_is_dropped_for_the_alert(
    services: Services, clock: ManualClock
) -> None:
    """Due Friday 04:00, reminded Thursday 21:00: the morning is after the deadline. The
    reminder is not held; the overdue alert comes at 04:00, at night, as alerts do."""
    await make_user(services, "quality")
    clock.set(local(26, 0))
    await open_due(services, ON_SITE_VERIFICATION, 1, local(27, 4))

    clock.set(local(26, 21))
    await sweep(services)
    assert await outbox_rows(services, text_key="deadline.reminder") == []
    clock.set(local(27, 4))
    await sweep(services)
    (alert,) = await outbox_rows(services, text_key="deadline.overdue")
    assert alert.status == "pending"
    clock.set(local(27, 8, 30))
    await sweep(services)
    assert await outbox_rows(services, text_key="deadline.reminder") == []


async def test_setting_hours_back_to_the_company_s_and_refusing_nonsense(
    services: Services,
) -> None:
    person = await make_user(services, "quality")
    async with services.unit_of_work() as uow:
        stored = await uow.session.get(User, person.id)
        await users.set_working_hours(uow, stored, "9:00-17:30")
    async with services.unit_of_work() as uow:
        stored = await uow.session.get(User, person.id)
        assert stored.working_hours == "09:00-17:30"
        with pytest.raises(InvalidInput):
            await users.set_working_hours(uow, stored, "all day")
    async with services.unit_of_work() as uow:
        stored = await uow.session.get(User, person.id)
        assert await users.set_working_hours(uow, stored, "default") is None
    async with services.session_factory() as session:
        assert (await session.get(User, person.id)).working_hours is None


async def daily(services: Services) -> int:
    async with services.unit_of_work() as uow:
        queued = await daily_lists.queue_daily_lists(uow.session, now=uow.clock.now(), hours=HOURS)
        await uow.commit()
        return queued


async def test_the_daily_list_comes_once_a_working_day_after_the_hours_begin(
    services: Services, clock: ManualClock
) -> None:
    asked = await make_user(services, "quality")
    await make_user(services, "quality")  # did not ask: gets none
    async with services.unit_of_work() as uow:
        await users.set_daily_list(uow, await uow.session.get(User, asked.id), True)
    clock.set(local(26, 9))
    await open_due(services, ON_SITE_VERIFICATION, 1, local(27, 13))

    clock.set(local(27, 8, 29))  # Friday, before the day begins
    assert await daily(services) == 0
    clock.set(local(27, 10))  # the scheduler was down at 08:30: it sends the list now
    assert await daily(services) == 1
    clock.set(local(27, 10, 5))
    assert await daily(services) == 0  # never twice a day
    (row,) = await outbox_rows(services, text_key="deadline.todo.daily")
    assert row.user_id == asked.id
    assert [item["number"] for item in row.params["items"]] == ["QC-2026-00001"]

    clock.set(local(28, 9))  # Saturday: no working day
    assert await daily(services) == 0
    clock.set(local(30, 8, 30))  # Monday: the overdue one again
    assert await daily(services) == 1
    (_, monday) = await outbox_rows(services, text_key="deadline.todo.daily")
    assert monday.params["items"][0]["overdue"] is True
