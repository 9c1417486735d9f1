"""The scheduler carries every periodic job of the procedures, each safe to run late or twice."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import event, func, select

from bot.services import Services
from core.services import load_policies
from procedures.complaints.rules import ON_SITE_VERIFICATION
from procedures.kernel import deadlines
from procedures.kernel.clock import ManualClock
from scheduler import jobs
from scheduler.runtime import build_scheduler
from scheduler.services import JobServices
from storage.models import Deadline
from tests.conftest import SHANGHAI

from .helpers import make_user, outbox_rows


def job_services(services: Services) -> JobServices:
    return JobServices(
        services.session_factory,
        services.clock,
        SHANGHAI,
        policies=load_policies({"PATROL_REMINDER_HOUR": "17", "INSPECTION_MONTHS": "elevator:1"}),
    )


async def test_every_job_is_scheduled_with_coalescing_and_a_grace_time(services: Services) -> None:
    scheduler = build_scheduler(job_services(services))
    scheduler.start(paused=True)  # job defaults apply once the scheduler runs
    scheduled = {job.id: job for job in scheduler.get_jobs()}
    scheduler.shutdown(wait=False)
    assert set(scheduled) == {
        "deadline_sweep",
        "rectification_prompts",
        "patrol_reminder",
        "missed_patrols",
        "inspections",
        "elevator_defect_chase",
        "visit_shortfall_chase",
        "periodic_duties",
        "daily_lists",
        "prune_bookkeeping",
    }
    assert isinstance(scheduled["deadline_sweep"].trigger, IntervalTrigger)
    reminder = scheduled["patrol_reminder"].trigger
    assert isinstance(reminder, CronTrigger) and str(reminder.fields[5]) == "17"
    assert str(reminder.timezone) == "Asia/Shanghai"
    for job in scheduled.values():
        assert job.coalesce is True and job.misfire_grace_time >= 300 and job.max_instances == 1


async def test_a_job_run_twice_queues_its_messages_once(
    services: Services, samples: None, clock: ManualClock
) -> None:
    await make_user(services, "technician")
    clock.set(dt.datetime(2026, 11, 26, 17, 0, tzinfo=SHANGHAI))
    assert await jobs.remind_unpatrolled(job_services(services)) == 1
    assert await jobs.remind_unpatrolled(job_services(services)) == 0
    assert len(await outbox_rows(services, text_key="patrol.reminder")) == 1


async def test_update_ids_are_remembered_for_the_redelivery_window_only(
    services: Services, clock: ManualClock
) -> None:
    from procedures.kernel.bookkeeping import REDELIVERY_WINDOW
    from storage.models import ProcessedUpdate

    async with services.unit_of_work() as uow:
        uow.session.add(ProcessedUpdate(update_id=1, processed_at=clock.now()))
        await uow.commit()
    clock.advance(REDELIVERY_WINDOW - dt.timedelta(minutes=1))
    async with services.unit_of_work() as uow:
        uow.session.add(ProcessedUpdate(update_id=2, processed_at=clock.now()))
        await uow.commit()
    clock.advance(dt.timedelta(minutes=2))
    assert await jobs.prune_bookkeeping(job_services(services)) == 1
    async with services.session_factory() as session:
        assert await session.get(ProcessedUpdate, 1) is None
        assert await session.get(ProcessedUpdate, 2) is not None


async def test_a_sweep_works_off_a_backlog_in_short_transactions_up_to_its_limit(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each transaction takes at most SWEEP_CHUNK deadlines (on SQLite it holds the one write
    lock meanwhile); one sweep takes at most SWEEP_LIMIT (here 500, to keep the test short),
    and the next one the rest; the messages of a sweep go to the sender together at its end,
    in one more short transaction. Between two chunks the sweep rests twice as long as the chunk
    took, so that people's steps get the writer and the event loop in between."""
    monkeypatch.setattr(jobs, "SWEEP_LIMIT", 500)
    qc = await make_user(services, "quality")
    async with services.unit_of_work() as uow:
        now = uow.clock.now()
        for number in range(jobs.SWEEP_LIMIT + 130):
            deadlines.open_deadline(
                uow.session,
                subject_type="complaint",
                subject_id=number + 1,
                subject_label=f"QC-2026-{number + 1:05d}",
                rule=ON_SITE_VERIFICATION,
                opened_at=now,
                due_at=now + dt.timedelta(hours=1),
            )
        await uow.commit()
    clock.advance(dt.timedelta(hours=2))

    commits = 0

    def count(_connection: object) -> None:
        nonlocal commits
        commits += 1

    rests: list[tuple[int, float]] = []  # (commits so far, seconds)

    async def rest(seconds: float) -> None:
        rests.append((commits, seconds))

    resting = dataclasses.replace(job_services(services), rest=rest)
    engine = services.session_factory.kw["bind"].sync_engine
    event.listen(engine, "commit", count)
    try:
        first = await jobs.sweep_deadlines(resting)
        first_commits, commits = commits, 0
        first_rests, rests = rests, []
        second = await jobs.sweep_deadlines(resting)
    finally:
        event.remove(engine, "commit", count)

    first_chunks = jobs.SWEEP_LIMIT // jobs.SWEEP_CHUNK
    second_chunks = -(-130 // jobs.SWEEP_CHUNK)  # the last one short
    assert (first.overdue_alerts, first_commits) == (jobs.SWEEP_LIMIT, first_chunks + 1)
    assert (second.overdue_alerts, commits) == (130, second_chunks + 1)
    # a rest after each chunk that another follows, in proportion to what the chunk took
    assert [after for after, _ in first_rests] == list(range(1, first_chunks))
    assert [after for after, _ in rests] == list(range(1, second_chunks))
    assert all(0 < seconds <= jobs.SWEEP_REST_MAX_SECONDS for _, seconds in first_rests + rests)
    rows = await outbox_rows(services, user_id=qc.id)
    assert len(rows) == jobs.SWEEP_LIMIT + 130
    assert {row.status for row in rows} == {"pending"}  # none held back once the sweep is over
    async with services.session_factory() as session:
        unalerted = await session.scalar(
            select(func.count()).select_from(Deadline).where(Deadline.alert_count == 0)
        )
    assert unalerted == 0
