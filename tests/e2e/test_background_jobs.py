"""`python -m bot` runs the scheduler on the bot's event loop, unless RUN_SCHEDULER=false."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.__main__ import background_jobs_for
from bot.app import build_application, start_background_work, stop_background_work
from bot.services import Services
from core.config import Settings
from emulator.server import BotApiEmulator


async def test_the_bot_starts_and_stops_the_scheduler_it_is_handed(
    services: Services, emulator: BotApiEmulator
) -> None:
    application = build_application(
        services,
        "960001:background-token",
        base_url=emulator.base_url,
        background_jobs=background_jobs_for(Settings(run_scheduler=True)),
    )
    await application.initialize()
    await start_background_work(application)
    scheduler = application.background_jobs
    assert isinstance(scheduler, AsyncIOScheduler)
    assert scheduler.running
    assert "deadline_sweep" in {job.id for job in scheduler.get_jobs()}
    await stop_background_work(application)
    assert application.background_jobs is None
    await application.shutdown()


def test_with_run_scheduler_off_the_bot_leaves_the_jobs_to_their_own_process() -> None:
    assert background_jobs_for(Settings(run_scheduler=False)) is None
