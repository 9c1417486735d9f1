"""The scheduled jobs: short async functions that call procedures, one transaction each.

Each job reads what is due from the database, so a late or repeated run sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

import procedures.rules  # noqa: F401  (every deadline kind, and how its record is described)
from procedures.equipment import inspections, maintenance, patrols
from procedures.kernel import bookkeeping, daily_lists, deadlines, outbox
from procedures.kernel.working_hours import WorkingHours
from procedures.people import invitations
from procedures.vendors import rectifications

from . import periodic
from .services import JobServices

logger = logging.getLogger(__name__)
Result = TypeVar("Result")


async def _in_one_transaction(
    services: JobServices, work: Callable[[AsyncSession, dt.datetime], Awaitable[Result]]
) -> Result:
    async with services.unit_of_work() as uow:
        result = await work(uow.session, uow.clock.now())
        await uow.commit()
    return result


# A sweep works off at most SWEEP_LIMIT due deadlines, SWEEP_CHUNK to a transaction: on SQLite a
# transaction holds the one write lock, and 500 overdue deadlines in one held every user's step
# for a few hundred milliseconds; a larger backlog is worked off over the following sweeps. The
# messages of all the chunks go to the sender together at the end, folded into one digest per
# person, so the limit is what a sweep may take in time (10,000: about 15 s of work on SQLite,
# and twice as long again resting between chunks), no longer what people can read. A step that
# comes while a chunk holds SQLite's writer waits for the chunk: 50 hold it 25–45 ms, 100 twice
# as long.
SWEEP_LIMIT = 10_000
SWEEP_CHUNK = 50
# Between two chunks the sweep rests twice as long as the chunk took: chunks back to back kept
# the writer and the event loop busy for seconds, and the steps of people who wrote in then
# waited behind one chunk after another (p99 of a step beside a 2,000-deadline sweep 2.6 times
# that alone; bench/README.md). Resting, the sweep takes at most a third of them while a backlog
# lasts (half, resting as long as it worked, left the steps 1.4–1.9 times as slow on SQLite).
SWEEP_REST_PER_WORK = 2.0
# A chunk that waited long for a lock has not kept anyone out meanwhile: its rest is capped.
SWEEP_REST_MAX_SECONDS = 1.0


async def sweep_deadlines(services: JobServices) -> deadlines.SweepResult:
    """Queue due reminders and overdue alerts; the database decides what is due."""
    result = deadlines.SweepResult(reminders=0, overdue_alerts=0, messages=0)
    worked = 0.0
    for number in range(SWEEP_LIMIT // SWEEP_CHUNK):
        if number:
            await services.rest(min(worked * SWEEP_REST_PER_WORK, SWEEP_REST_MAX_SECONDS))
        began = time.monotonic()
        chunk = await _in_one_transaction(
            services,
            lambda session, now: deadlines.sweep_deadlines(
                session, now=now, limit=SWEEP_CHUNK, gather=True, hours=services.working_hours
            ),
        )
        worked = time.monotonic() - began
        result += chunk
        if chunk.checked < SWEEP_CHUNK:
            break
    # the sweep's messages, and those that waited for someone's working hours to begin
    await _in_one_transaction(services, lambda session, now: outbox.release_held(session, now=now))
    if result.messages:
        logger.info(
            "deadline sweep: %s reminders, %s overdue alerts, %s messages",
            result.reminders,
            result.overdue_alerts,
            result.messages,
        )
    return result


async def send_daily_lists(services: JobServices) -> int:
    """Every few minutes: the list of what waits on them to each person who asked for it, once
    their working day has begun, once a day (a scheduler down at the start of the day sends it
    when it runs)."""
    hours = services.working_hours or WorkingHours.of("00:00-24:00", "1-7", services.timezone)
    return await _in_one_transaction(
        services,
        lambda session, now: daily_lists.queue_daily_lists(session, now=now, hours=hours),
    )


async def send_quarterly_complaint_report(services: JobServices) -> int:
    """On the first day of a quarter: last quarter's complaint report to the quality department."""
    return await periodic.run_duty(services, periodic.QUARTERLY_REPORT)


async def send_monthly_return_statistics(services: JobServices) -> int:
    """On the first day of a month: last month's return statistics to business and finance."""
    return await periodic.run_duty(services, periodic.RETURN_STATISTICS)


async def prompt_overdue_rectifications(services: JobServices) -> int:
    """A rectification not fixed by its deadline: prompt the manager to climb a rung."""
    return await _in_one_transaction(
        services,
        lambda session, now: rectifications.prompt_overdue_rectifications(session, now=now),
    )


async def remind_unpatrolled(services: JobServices) -> int:
    """At the configured hour: technicians hear which assets are still unpatrolled."""
    return await _in_one_transaction(
        services,
        lambda session, now: patrols.remind_unpatrolled(
            session, now=now, timezone=services.timezone
        ),
    )


async def report_missed_patrols(services: JobServices) -> int:
    """In the morning: the equipment manager gets yesterday's missed patrols."""
    return await _in_one_transaction(
        services,
        lambda session, now: patrols.report_missed_patrols(
            session, now=now, timezone=services.timezone
        ),
    )


async def schedule_inspections(services: JobServices) -> int:
    """Open this month's periodic inspections, each with its deadline."""
    async with services.unit_of_work() as uow:
        created = await inspections.schedule_inspections(uow, timezone=services.timezone)
        await uow.commit()
    return created


async def chase_elevator_defects(services: JobServices) -> int:
    """Daily: elevator defects still awaiting repair are chased with the vendor (督促)."""
    return await _in_one_transaction(
        services,
        lambda session, now: inspections.chase_elevator_defects(
            session, now=now, timezone=services.timezone
        ),
    )


async def request_vendor_scores(services: JobServices) -> int:
    """On the 1st: ask the equipment manager to score each vendor for last month, by a deadline."""
    return await periodic.run_duty(services, periodic.VENDOR_SCORES)


async def send_vendor_assessment(services: JobServices) -> int:
    """Twice a year: open the half-year's vendor assessment and remind the manager to organise
    it; the signed assessment goes to the client's competent department."""
    return await periodic.run_duty(services, periodic.VENDOR_ASSESSMENT)


async def send_consumer_complaint_summary(services: JobServices) -> int:
    """On the 1st: last month's consumer complaint summary and analysis to the after-sales head,
    who is asked for the improvement proposals and to pass it on to the business head."""
    return await periodic.run_duty(services, periodic.CONSUMER_SUMMARY)


async def send_personal_records(services: JobServices) -> int:
    """On the 1st: each department head gets last month's record of their people."""
    return await periodic.run_duty(services, periodic.PERSONAL_RECORDS)


async def prune_bookkeeping(services: JobServices) -> int:
    """Hourly: forget update ids past Telegram's redelivery window, and old failed codes."""

    async def prune(session: AsyncSession, now: dt.datetime) -> int:
        await invitations.prune_failed_redemptions(session, now=now)
        return await bookkeeping.prune_bookkeeping(session, now=now)

    return await _in_one_transaction(services, prune)


async def chase_visit_shortfalls(services: JobServices) -> int:
    """Daily: a month whose confirmed maintenance visits fall short of the contract's (or can no
    longer reach it) is chased with the vendor and told to the equipment manager (督促)."""
    return await _in_one_transaction(
        services,
        lambda session, now: maintenance.chase_visit_shortfalls(
            session, now=now, timezone=services.timezone
        ),
    )


async def do_periodic_duties(services: JobServices) -> dict[str, int]:
    """Every few minutes: each monthly, quarterly and half-year duty whose hour has come and
    which is not yet done for its period (scheduler.periodic); a scheduler that was down makes
    it up when it starts."""
    return await periodic.run_due_duties(services)
