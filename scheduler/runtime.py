"""The scheduler that runs the jobs on the bot's (or its own) event loop."""

from __future__ import annotations

import datetime as dt

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.services import Runtime

from . import jobs
from .services import JobServices

# A run that starts late (a busy loop, a suspended laptop) still runs; several missed runs
# collapse into one, which is safe because every job reads what is due from the database.
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": 300, "max_instances": 1}


def scheduler_for(runtime: Runtime) -> AsyncIOScheduler:
    """The scheduler of a process: the bot's (its commits wake the outbox sender) or its own."""
    return build_scheduler(JobServices.for_runtime(runtime))


def build_scheduler(services: JobServices) -> AsyncIOScheduler:
    timezone = services.timezone
    scheduler = AsyncIOScheduler(timezone=timezone, job_defaults=JOB_DEFAULTS)
    scheduler.add_job(
        jobs.prune_bookkeeping, "interval", hours=1, args=[services], id="prune_bookkeeping"
    )
    scheduler.add_job(
        jobs.sweep_deadlines,
        "interval",
        minutes=1,
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
    scheduler.add_job(
        jobs.request_vendor_scores,
        "cron",
        day=1,
        hour=9,
        args=[services],
        id="vendor_scores",
        misfire_grace_time=24 * 3600,
    )
    # the month's consumer complaint summary and each person's record; their dedupe keys name
    # the month, so a run missed by a day still sends them once
    scheduler.add_job(
        jobs.send_consumer_complaint_summary,
        "cron",
        day=1,
        hour=8,
        args=[services],
        id="consumer_complaint_summary",
        misfire_grace_time=24 * 3600,
    )
    scheduler.add_job(
        jobs.send_personal_records,
        "cron",
        day=1,
        hour=8,
        minute=30,
        args=[services],
        id="personal_records",
        misfire_grace_time=24 * 3600,
    )
    scheduler.add_job(
        jobs.send_vendor_assessment,
        "cron",
        month="1,7",
        day=15,
        hour=10,
        args=[services],
        id="vendor_assessment",
        misfire_grace_time=24 * 3600,
    )
    scheduler.add_job(
        jobs.send_quarterly_complaint_report,
        "cron",
        month="1,4,7,10",
        day=1,
        hour=8,
        args=[services],
        id="quarterly_complaint_report",
        # a run missed by a whole day still sends the report; its dedupe key keeps it once
        misfire_grace_time=24 * 3600,
    )
    return scheduler
