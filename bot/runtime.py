"""The composition root: builds engine, services and application from settings."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from procedures import masterdata, people
from procedures.clock import Clock, SystemClock
from storage.db import make_engine, make_session_factory, migrate
from storage.models import Organisation

from .config import Settings
from .services import Services
from .texts import Texts

logger = logging.getLogger(__name__)

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "samples"


def configure_logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    # httpx logs every request URL, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("tornado.access").setLevel(logging.WARNING)  # the emulator's request log


def build_services(settings: Settings, engine: AsyncEngine, clock: Clock | None = None) -> Services:
    return Services(
        settings=settings,
        session_factory=make_session_factory(engine),
        clock=clock or SystemClock(),
        texts=Texts(settings.timezone, settings.default_language),
    )


async def prepare_database(services: Services, engine: AsyncEngine) -> None:
    """Migrate, load the samples into an empty database, give configured admins their role."""
    await migrate(engine)
    if services.settings.load_samples:
        await load_samples_if_empty(services)
    if services.settings.admin_telegram_ids:
        async with services.unit_of_work() as uow:
            await people.ensure_admins(uow, services.settings.admin_telegram_ids)


async def load_samples_if_empty(services: Services, directory: Path = SAMPLES_DIR) -> bool:
    async with services.session_factory() as session:
        if await session.scalar(select(func.count()).select_from(Organisation)):
            return False
    for kind in masterdata.KINDS:
        path = directory / f"{kind}.csv"
        if not path.is_file():
            continue
        rows = masterdata.read_table(path.name, path.read_bytes())
        async with services.unit_of_work() as uow:
            result = await masterdata.import_rows(uow, kind, rows, actor_id=None)
        logger.info("sample %s loaded: %s records", kind, result.created)
    return True


def engine_for(settings: Settings) -> AsyncEngine:
    return make_engine(settings.database_url)
