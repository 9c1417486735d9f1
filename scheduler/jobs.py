"""The scheduled jobs: short async functions that call procedures, one transaction each."""

from __future__ import annotations

import logging

from procedures import complaints, deadlines

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
