"""The database a process starts on: engine, migrations, samples and configured admins."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from procedures import masterdata, people
from storage.db import make_engine, migrate
from storage.models import Organisation

from .config import Settings
from .services import Runtime

logger = logging.getLogger(__name__)

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "samples"


def engine_for(settings: Settings) -> AsyncEngine:
    return make_engine(settings.database_url)


async def prepare_database(runtime: Runtime, engine: AsyncEngine) -> None:
    """Migrate, load the samples into an empty database, give configured admins their role."""
    await migrate(engine)
    if runtime.settings.load_samples:
        await load_samples_if_empty(runtime)
    if runtime.settings.admin_telegram_ids:
        async with runtime.unit_of_work() as uow:
            await people.ensure_admins(uow, runtime.settings.admin_telegram_ids)


async def load_samples_if_empty(runtime: Runtime, directory: Path = SAMPLES_DIR) -> bool:
    async with runtime.session_factory() as session:
        if await session.scalar(select(func.count()).select_from(Organisation)):
            return False
    for kind in masterdata.KINDS:
        path = directory / f"{kind}.csv"
        if not path.is_file():
            continue
        rows = masterdata.read_table(path.name, path.read_bytes())
        async with runtime.unit_of_work() as uow:
            result = await masterdata.import_rows(uow, kind, rows, actor_id=None)
        logger.info("sample %s loaded: %s records", kind, result.created)
    return True
