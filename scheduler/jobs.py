"""The scheduled jobs: short async functions that call procedures, one transaction each."""

from __future__ import annotations

import logging

from procedures import complaints, deadlines, patrols, vendors

from .runtime import JobServices

logger = logging.getLogger(__name__)


async def sweep_deadlines(services: JobServices) -> deadlines.SweepResult:
    """Queue due reminders and overdue alerts; the database decides what is due."""
    async with services.unit_of_work() as uow:
        result = await deadlines.sweep_deadlines(uow.session, now=uow.clock.now())
        await uow.commit()
    if result.messages:
        logger.info(
            "deadline sweep: %s reminders, %s overdue alerts, %s messages",
            result.reminders,
            result.overdue_alerts,
            result.messages,
        )
    return result


async def send_quarterly_complaint_report(services: JobServices) -> int:
    """On the first day of a quarter: last quarter's complaint report to the quality department."""
    async with services.unit_of_work() as uow:
        queued = await complaints.queue_quarterly_report(
            uow.session, now=uow.clock.now(), timezone=services.timezone
        )
        await uow.commit()
    return queued


async def prompt_overdue_rectifications(services: JobServices) -> int:
    """A rectification not fixed by its deadline: prompt the manager to climb a rung."""
    async with services.unit_of_work() as uow:
        prompted = await vendors.prompt_overdue_rectifications(uow.session, now=uow.clock.now())
        await uow.commit()
    return prompted


async def remind_unpatrolled(services: JobServices) -> int:
    """At the configured hour: technicians hear which assets are still unpatrolled."""
    async with services.unit_of_work() as uow:
        queued = await patrols.remind_unpatrolled(
            uow.session, now=uow.clock.now(), timezone=services.timezone
        )
        await uow.commit()
    return queued


async def report_missed_patrols(services: JobServices) -> int:
    """In the morning: the equipment manager gets yesterday's missed patrols."""
    async with services.unit_of_work() as uow:
        queued = await patrols.report_missed_patrols(
            uow.session, now=uow.clock.now(), timezone=services.timezone
        )
        await uow.commit()
    return queued


async def schedule_inspections(services: JobServices) -> int:
    """Open this month's periodic inspections, each with its deadline."""
    async with services.unit_of_work() as uow:
        created = await patrols.schedule_inspections(
            uow.session,
            now=uow.clock.now(),
            timezone=services.timezone,
            every_months=services.inspection_months,
        )
        await uow.commit()
    return created


async def request_vendor_scores(services: JobServices) -> int:
    """On the 1st: ask the equipment manager to score each vendor for last month."""
    async with services.unit_of_work() as uow:
        queued = await vendors.request_monthly_scores(
            uow.session, now=uow.clock.now(), timezone=services.timezone
        )
        await uow.commit()
    return queued


async def send_vendor_assessment(services: JobServices) -> int:
    """Twice a year: the comprehensive vendor assessment to the management office."""
    async with services.unit_of_work() as uow:
        queued = await vendors.queue_half_year_assessment(
            uow.session, now=uow.clock.now(), timezone=services.timezone
        )
        await uow.commit()
    return queued
