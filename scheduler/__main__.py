"""`python -m scheduler`: run the scheduled jobs in a process of their own.

For a deployment that splits them from the bot: set RUN_SCHEDULER=false for the bot process.
The jobs only read and write the database; the bot's outbox sender delivers what they queue.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.config import ConfigError, load_settings
from bot.runtime import configure_logging, engine_for
from procedures.clock import SystemClock
from storage.db import make_session_factory, migrate

from .runtime import JobServices, build_scheduler

logger = logging.getLogger("scheduler")


async def run() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    engine = engine_for(settings)
    await migrate(engine)
    services = JobServices.for_settings(settings, make_session_factory(engine), SystemClock())
    scheduler = build_scheduler(services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    scheduler.start()
    logger.info("scheduler running: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    await stop.wait()
    scheduler.shutdown(wait=False)
    await engine.dispose()


def main() -> int:
    try:
        asyncio.run(run())
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
