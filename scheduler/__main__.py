"""`python -m scheduler`: run the scheduled jobs in a process of their own.

For a deployment that splits them from the bot: set RUN_SCHEDULER=false for the bot process.
The jobs only read and write the database; the bot's outbox sender delivers what they queue.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from core.config import ConfigError, load_settings
from core.database import DatabaseUnavailable, engine_for, migrate_when_reachable
from core.logging import configure_logging
from core.services import Runtime, load_policies

from .runtime import scheduler_for

logger = logging.getLogger("scheduler")


async def run() -> None:
    settings = load_settings()
    policies = load_policies()
    configure_logging(settings.log_level, secrets=[settings.bot_token])
    engine = engine_for(settings)
    await migrate_when_reachable(engine)
    scheduler = scheduler_for(Runtime.on_engine(settings, engine, policies=policies))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    scheduler.start()
    logger.info("scheduler running: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    await stop.wait()
    scheduler.shutdown(wait=False)
    await scheduler.release_leadership()
    await engine.dispose()


def main() -> int:
    try:
        asyncio.run(run())
    except DatabaseUnavailable as error:
        print(f"database error: {error}", file=sys.stderr)
        return 1
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
