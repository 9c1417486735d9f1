"""The periodic duties: each month's, quarter's and half-year's duty done once for its period.

A duty is done in one transaction with the row that records it (`PeriodicDuty`, unique on kind
and period): a scheduler that was down at the duty's hour does it when it starts, one that
crashes half-way leaves neither the row nor the duty's messages, and of two schedulers (a
leadership hand-over) the second's insert waits for the first's commit and then fails, so it
sends nothing. Only the latest period that ended is made up: the procedures' duties work on
"last month" (quarter, half-year) as seen from now, and a month's score request opened months
late would be overdue at once; an earlier month stays open to `/score 2026-10` and the
half-year's score report shows it missing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from procedures import personal_records
from procedures.complaints import queries as complaint_queries
from procedures.consumer_complaints import monthly as consumer_monthly
from procedures.kernel.calendar import period_bounds, recent_periods
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.returns import queries as return_queries
from procedures.vendors import assessments
from procedures.vendors import scores as vendor_scores
from storage.models import PeriodicDuty

from .services import JobServices

logger = logging.getLogger(__name__)

DutyWork = Callable[[UnitOfWork, dt.datetime, ZoneInfo], Awaitable[int]]


@dataclass(frozen=True)
class Duty:
    kind: str
    period_kind: str  # "month", "quarter" or "half"
    # how long after its period ends the duty falls due (the 1st at 08:00: hours=8)
    after_end: dt.timedelta
    work: DutyWork

    def period(self, now: dt.datetime, timezone: ZoneInfo) -> str:
        """The latest period that ended before `now`: the one the duty's work reads."""
        return recent_periods(self.period_kind, now, timezone, 1)[0]

    def due_at(self, period: str, timezone: ZoneInfo) -> dt.datetime:
        return period_bounds(period, timezone)[1] + self.after_end


async def _vendor_scores(uow: UnitOfWork, now: dt.datetime, timezone: ZoneInfo) -> int:
    return await vendor_scores.request_monthly_scores(uow, timezone=timezone)


async def _consumer_summary(uow: UnitOfWork, now: dt.datetime, timezone: ZoneInfo) -> int:
    return await consumer_monthly.queue_monthly_summary(uow, timezone=timezone)


async def _personal_records(uow: UnitOfWork, now: dt.datetime, timezone: ZoneInfo) -> int:
    return await personal_records.queue_personal_records(uow.session, now=now, timezone=timezone)


async def _return_statistics(uow: UnitOfWork, now: dt.datetime, timezone: ZoneInfo) -> int:
    return await return_queries.queue_monthly_statistics(uow.session, now=now, timezone=timezone)


async def _quarterly_report(uow: UnitOfWork, now: dt.datetime, timezone: ZoneInfo) -> int:
    return await complaint_queries.queue_quarterly_report(uow.session, now=now, timezone=timezone)


async def _vendor_assessment(uow: UnitOfWork, now: dt.datetime, timezone: ZoneInfo) -> int:
    return await assessments.open_half_year_assessment(uow.session, now=now, timezone=timezone)


HOUR = dt.timedelta(hours=1)
VENDOR_SCORES = Duty("vendor_scores", "month", 9 * HOUR, _vendor_scores)
CONSUMER_SUMMARY = Duty("consumer_complaint_summary", "month", 8 * HOUR, _consumer_summary)
PERSONAL_RECORDS = Duty("personal_records", "month", 8.5 * HOUR, _personal_records)
RETURN_STATISTICS = Duty("monthly_return_statistics", "month", 8 * HOUR, _return_statistics)
QUARTERLY_REPORT = Duty("quarterly_complaint_report", "quarter", 8 * HOUR, _quarterly_report)
VENDOR_ASSESSMENT = Duty(  # the 15th of January and July at 10:00
    "vendor_assessment", "half", dt.timedelta(days=14, hours=10), _vendor_assessment
)

DUTIES = (
    QUARTERLY_REPORT,
    RETURN_STATISTICS,
    CONSUMER_SUMMARY,
    PERSONAL_RECORDS,
    VENDOR_SCORES,
    VENDOR_ASSESSMENT,
)


async def done_of(services: JobServices, periods: set[str]) -> set[tuple[str, str]]:
    """Which duties were done for these periods, as (kind, period)."""
    async with services.unit_of_work() as uow:
        rows = await uow.session.execute(
            select(PeriodicDuty.kind, PeriodicDuty.period).where(
                PeriodicDuty.period.in_(sorted(periods))
            )
        )
        return {(kind, period) for kind, period in rows}


async def run_duty(services: JobServices, duty: Duty, expected: str | None = None) -> int:
    """Do the duty for the latest period that ended, unless it was done (or that period is no
    longer `expected`); the messages queued."""
    async with services.unit_of_work() as uow:
        now = uow.clock.now()
        period = duty.period(now, services.timezone)
        if expected is not None and period != expected:
            return 0  # a period ended meanwhile; the next run sees it
        claimed = await uow.session.scalar(
            select(PeriodicDuty.id).where(
                PeriodicDuty.kind == duty.kind, PeriodicDuty.period == period
            )
        )
        if claimed is not None:
            return 0
        try:
            # the claim first: a second scheduler's insert waits here for this commit
            uow.session.add(PeriodicDuty(kind=duty.kind, period=period, done_at=now))
            await uow.session.flush()
            queued = await duty.work(uow, now, services.timezone)
            await uow.commit()
        except IntegrityError:
            logger.info("%s for %s was done by another scheduler", duty.kind, period)
            return 0
    logger.info("%s for %s done: %s messages", duty.kind, period, queued)
    return queued


async def run_due_duties(services: JobServices) -> dict[str, int]:
    """Every duty whose latest period's hour has come and which is not done yet; a scheduler
    that starts (or takes the lead) at any time makes up what it missed."""
    now, zone = services.clock.now(), services.timezone
    latest = [(duty, duty.period(now, zone)) for duty in DUTIES]
    due = [(duty, period) for duty, period in latest if now >= duty.due_at(period, zone)]
    if not due:
        return {}
    # one read for all of them: the job runs every few minutes, and hourly through a demo jump
    done = await done_of(services, {period for _, period in due})
    ran: dict[str, int] = {}
    for duty, period in due:
        if (duty.kind, period) in done:
            continue
        try:
            ran[duty.kind] = await run_duty(services, duty, period)
        except Exception:
            # one failing duty does not hold up the others; it is tried again at the next run
            logger.exception("%s for %s failed", duty.kind, period)
    return ran
