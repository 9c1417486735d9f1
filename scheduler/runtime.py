"""The scheduler that runs the jobs on the bot's (or its own) event loop."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.services import Runtime

from . import jobs
from .leader import LeaderLock
from .services import JobServices

logger = logging.getLogger(__name__)

# A run that starts late (a busy loop, a suspended laptop) still runs; several missed runs
# collapse into one, which is safe because every job reads what is due from the database.
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": 300, "max_instances": 1}
PERIODIC_DUTY_MINUTES = 5


class JobScheduler(AsyncIOScheduler):
    """The AsyncIOScheduler whose jobs run only while this process leads (scheduler.leader)."""

    def __init__(self, leader: LeaderLock, **options: Any) -> None:
        super().__init__(**options)
        self.leader = leader

    async def release_leadership(self) -> None:
        """After shutdown: let a standby take over at once."""
        await self.leader.release()


def leader_only(
    leader: LeaderLock, job: Callable[[JobServices], Awaitable[Any]]
) -> Callable[[JobServices], Awaitable[Any]]:
    @functools.wraps(job)
    async def run(services: JobServices) -> Any:
        if not await leader.held():
            return None  # another process leads; this one stands by
        return await job(services)

    return run


def scheduler_for(runtime: Runtime) -> JobScheduler:
    """The scheduler of a process: the bot's (its commits wake the outbox sender) or its own."""
    return build_scheduler(JobServices.for_runtime(runtime))


def build_scheduler(services: JobServices, leader: LeaderLock | None = None) -> JobScheduler:
    timezone = services.timezone
    if leader is None:
        leader = LeaderLock(services.session_factory.kw.get("bind"))
    scheduler = JobScheduler(leader, timezone=timezone, job_defaults=JOB_DEFAULTS)
    add_job = scheduler.add_job

    def add_leader_job(job: Callable[[JobServices], Awaitable[Any]], *args: Any, **kw: Any) -> Any:
        return add_job(leader_only(leader, job), *args, **kw)

    scheduler.add_job = add_leader_job
    scheduler.add_job(
        jobs.prune_bookkeeping, "interval", hours=1, args=[services], id="prune_bookkeeping"
    )
    scheduler.add_job(
        jobs.sweep_deadlines,
        "interval",
        seconds=services.sweep_interval_seconds,
        args=[services],
        id="deadline_sweep",
        # first run at once: catch up on whatever fell due while the process was down
        next_run_time=dt.datetime.now(timezone),
    )
    scheduler.add_job(
        jobs.prompt_overdue_rectifications,
        "interval",
        minutes=1,
        args=[services],
        id="rectification_prompts",
        next_run_time=dt.datetime.now(timezone),
    )
    scheduler.add_job(
        jobs.remind_unpatrolled,
        "cron",
        hour=services.patrol_reminder_hour,
        args=[services],
        id="patrol_reminder",
    )
    scheduler.add_job(
        jobs.report_missed_patrols, "cron", hour=8, args=[services], id="missed_patrols"
    )
    # daily, so a month's inspections are opened even if the 1st was missed; idempotent
    scheduler.add_job(
        jobs.schedule_inspections,
        "cron",
        hour=7,
        args=[services],
        id="inspections",
        misfire_grace_time=12 * 3600,
    )
    scheduler.add_job(
        jobs.chase_elevator_defects,
        "cron",
        hour=9,
        args=[services],
        id="elevator_defect_chase",
        misfire_grace_time=12 * 3600,
    )
    # daily: the dedupe keys name the asset and month, so each shortfall is chased once
    scheduler.add_job(
        jobs.chase_visit_shortfalls,
        "cron",
        hour=9,
        minute=15,
        args=[services],
        id="visit_shortfall_chase",
        misfire_grace_time=12 * 3600,
    )
    # each person's list at the start of their working day, once a day (scheduler.jobs)
    scheduler.add_job(
        jobs.send_daily_lists,
        "interval",
        minutes=PERIODIC_DUTY_MINUTES,
        args=[services],
        id="daily_lists",
        next_run_time=dt.datetime.now(timezone),
    )
    # the monthly, quarterly and half-year duties: each is a record of its period, so this
    # runs what fell due and was not done, at once on start (or on taking the lead) and then
    # every few minutes; a duty's hour is kept in scheduler.periodic
    scheduler.add_job(
        jobs.do_periodic_duties,
        "interval",
        minutes=PERIODIC_DUTY_MINUTES,
        args=[services],
        id="periodic_duties",
        next_run_time=dt.datetime.now(timezone),
    )
    scheduler.add_job = add_job
    return scheduler
