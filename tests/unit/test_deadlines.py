"""Deadline reminders at 75 % (or the rule's share) while one can still act on them, overdue
alerts to the role and its head, repeated daily, once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from enum import StrEnum

import pytest
from sqlalchemy import inspect, select

from bot.services import Services
from procedures.complaints.rules import ON_SITE_VERIFICATION
from procedures.kernel import deadlines
from procedures.kernel.clock import ManualClock
from procedures.kernel.rules import DeadlineRule
from storage.models import Complaint, Deadline, TimelineEvent

from .helpers import file, make_user, outbox_rows

HOUR = dt.timedelta(hours=1)


async def open_verification(services: Services, hours: int = 24) -> int:
    async with services.unit_of_work() as uow:
        now = uow.clock.now()
        deadline = deadlines.open_deadline(
            uow.session,
            subject_type="complaint",
            subject_id=7,
            subject_label="QC-2026-00007",
            rule=ON_SITE_VERIFICATION,
            opened_at=now,
            due_at=now + dt.timedelta(hours=hours),
        )
        await uow.commit()
        return deadline.id


async def meet_verification(services: Services) -> Deadline | None:
    async with services.unit_of_work() as uow:
        deadline = await deadlines.meet_deadline(
            uow.session,
            subject_type="complaint",
            subject_id=7,
            kind="on_site_verification",
            now=uow.clock.now(),
        )
        await uow.commit()
        return deadline


async def sweep(services: Services) -> deadlines.SweepResult:
    async with services.unit_of_work() as uow:
        result = await deadlines.sweep_deadlines(uow.session, now=uow.clock.now())
        await uow.commit()
        return result


async def test_reminder_comes_when_three_quarters_of_the_window_has_passed(
    services: Services, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    await open_verification(services, hours=24)

    clock.advance(18 * HOUR - dt.timedelta(minutes=1))
    assert (await sweep(services)).messages == 0
    clock.advance(dt.timedelta(minutes=1))
    result = await sweep(services)

    assert result.reminders == 1
    (row,) = await outbox_rows(services)
    assert row.user_id == qc.id and row.text_key == "deadline.reminder"
    assert row.params["subject"] == "QC-2026-00007"
    assert row.params["kind"] == {"$text": "deadline.kind.on_site_verification"}


async def test_overdue_alert_goes_to_the_role_and_its_head_and_repeats_daily(
    services: Services, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    head = await make_user(services, "quality_head")
    await make_user(services, "warehouse")  # not responsible: hears nothing
    await open_verification(services, hours=24)

    clock.advance(24 * HOUR)
    result = await sweep(services)
    assert result.overdue_alerts == 1
    alerts = await outbox_rows(services, text_key="deadline.overdue")
    assert {row.user_id for row in alerts} == {qc.id, head.id}
    assert {row.params["days_overdue"] for row in alerts} == {0}

    clock.advance(23 * HOUR)
    assert (await sweep(services)).messages == 0
    clock.advance(HOUR)
    assert (await sweep(services)).overdue_alerts == 1
    alerts = await outbox_rows(services, text_key="deadline.overdue")
    assert sorted(row.params["days_overdue"] for row in alerts) == [0, 0, 1, 1]

    async with services.session_factory() as session:
        events = list(
            await session.scalars(
                select(TimelineEvent).where(
                    TimelineEvent.subject_type == "complaint",
                    TimelineEvent.action == "deadline_overdue",
                )
            )
        )
    assert [e.after["alert"] for e in events] == [0, 1]


async def test_sweeping_twice_or_after_a_missed_hour_sends_each_message_once(
    services: Services, clock: ManualClock
) -> None:
    await make_user(services, "quality")
    await make_user(services, "quality_head")
    await open_verification(services, hours=4)

    clock.advance(3 * HOUR)  # the 75 % mark
    await sweep(services)
    await sweep(services)
    assert len(await outbox_rows(services, text_key="deadline.reminder")) == 1

    # the process was down from before the due time until an hour after it
    clock.advance(2 * HOUR)
    first = await sweep(services)
    second = await sweep(services)
    assert first.overdue_alerts == 1 and second.messages == 0
    assert len(await outbox_rows(services, text_key="deadline.overdue")) == 2  # qc and head


async def test_a_sweep_after_the_due_time_skips_the_stale_reminder(
    services: Services, clock: ManualClock
) -> None:
    await make_user(services, "quality")
    await open_verification(services, hours=24)
    clock.advance(3 * 24 * HOUR + HOUR)  # down for three days: two full days past due

    result = await sweep(services)

    assert result.reminders == 0 and result.overdue_alerts == 1
    (alert,) = await outbox_rows(services)
    assert alert.text_key == "deadline.overdue" and alert.params["days_overdue"] == 2


async def test_a_met_deadline_is_silent_and_a_late_one_stays_marked_late(
    services: Services, clock: ManualClock
) -> None:
    await make_user(services, "quality")
    await open_verification(services, hours=24)
    clock.advance(2 * HOUR)
    met = await meet_verification(services)
    assert met is not None and met.met_late is False
    clock.advance(30 * 24 * HOUR)
    assert (await sweep(services)).messages == 0

    await open_verification(services, hours=24)
    clock.advance(25 * HOUR)
    late = await meet_verification(services)
    assert late is not None and late.met_late is True
    async with services.session_factory() as session:
        stored = await session.get(Deadline, late.id)
        assert stored.met_at == clock.now() and stored.met_at > stored.due_at


async def test_a_reminder_with_less_than_half_its_lead_left_is_dropped_for_the_alert(
    services: Services, clock: ManualClock
) -> None:
    """Reminder at 18 h of 24 (6 h lead): a sweep at 21 h 01 (the scheduler was down) finds
    under 3 h left; it sends nothing, and at the due time the alert comes alone."""
    await make_user(services, "quality")
    await open_verification(services, hours=24)

    clock.advance(21 * HOUR + dt.timedelta(minutes=1))
    assert (await sweep(services)).messages == 0
    clock.advance(3 * HOUR)
    result = await sweep(services)

    assert result.reminders == 0 and result.overdue_alerts == 1
    assert [row.text_key for row in await outbox_rows(services)] == ["deadline.overdue"]


async def test_a_reminder_in_time_and_the_alert_never_come_in_one_sweep(
    services: Services, clock: ManualClock
) -> None:
    await make_user(services, "quality")
    await open_verification(services, hours=24)

    clock.advance(20 * HOUR)  # 4 h of the 6 h lead left: still worth it
    first = await sweep(services)
    clock.advance(4 * HOUR)
    second = await sweep(services)

    assert (first.reminders, first.overdue_alerts) == (1, 0)
    assert (second.reminders, second.overdue_alerts) == (0, 1)


class ShareKind(StrEnum):
    SHARE = "test"


@pytest.fixture
def half_way() -> Iterator[DeadlineRule]:
    """A kind reminded half-way through its window, known to the engine for one test only."""
    yield DeadlineRule(ShareKind.SHARE, "quality", window=10 * HOUR, remind_share=0.5)
    DeadlineRule.registry.pop(ShareKind.SHARE)


async def test_a_rule_sets_its_own_share_of_the_window_for_the_reminder(
    services: Services, clock: ManualClock, half_way: DeadlineRule
) -> None:
    await make_user(services, "quality")
    async with services.unit_of_work() as uow:
        deadline = deadlines.open_deadline(
            uow.session,
            rule=half_way,
            subject_type="complaint",
            subject_id=8,
            subject_label="QC-2026-00008",
            opened_at=uow.clock.now(),
        )
        await uow.commit()
    assert deadline.remind_at == clock.now() + 5 * HOUR

    clock.advance(5 * HOUR - dt.timedelta(minutes=1))
    assert (await sweep(services)).reminders == 0
    clock.advance(dt.timedelta(minutes=1))
    assert (await sweep(services)).reminders == 1


def test_a_rule_refuses_a_reminder_share_outside_the_window() -> None:
    with pytest.raises(ValueError, match="inside the window"):
        DeadlineRule(ShareKind.SHARE, "quality", window=HOUR, remind_share=1.0)


async def test_a_deadline_whose_notice_cannot_be_made_holds_back_no_other(
    services: Services, samples: None, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A record number the buttons refuse (one imported by hand, say) fails its own deadlines'
    notices, which are passed over for an hour and logged; every other deadline is alerted."""
    await make_user(services, "quality")
    good = await file(services)
    async with services.unit_of_work() as uow:
        source = await uow.session.get(Complaint, good.id)
        fields = {a.key: getattr(source, a.key) for a in inspect(Complaint).column_attrs}
        bad = Complaint(**{**fields, "id": None, "number": "BQ-1"})
        uow.session.add(bad)
        await uow.session.flush()
        now = uow.clock.now()
        deadlines.open_deadline(
            uow.session,
            subject_type="complaint",
            subject_id=bad.id,
            subject_label="BQ-1",
            rule=ON_SITE_VERIFICATION,
            opened_at=now,
            due_at=now + 24 * HOUR,
        )
        await uow.commit()

    clock.advance(30 * 24 * HOUR)
    result = await sweep(services)

    overdue = await outbox_rows(services, text_key="deadline.overdue")
    alerted = {row.params["subject"] for row in overdue}
    assert good.number in alerted and "BQ-1" not in alerted
    assert result.overdue_alerts >= 1
    assert "could not be announced" in caplog.text
    async with services.session_factory() as session:
        held = list(
            await session.scalars(
                select(Deadline).where(
                    Deadline.subject_type == "complaint",
                    Deadline.subject_id == bad.id,
                    Deadline.met_at.is_(None),
                )
            )
        )
    assert held and all(d.alert_count == 0 for d in held)
    assert {d.next_check_at for d in held} == {clock.now() + deadlines.UNANNOUNCEABLE_RETRY}
