"""The database a process starts on: engine, migrations, samples and configured admins."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from procedures.masterdata import importing, table
from procedures.people import users
from storage.db import make_engine, migrate
from storage.models import DeploymentMode, Organisation, User

from .config import Settings
from .demo import demo_telegram_ids
from .services import Runtime

logger = logging.getLogger(__name__)

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "samples"


def engine_for(settings: Settings) -> AsyncEngine:
    return make_engine(settings.database_url)


class DatabaseUnavailable(Exception):
    """The database could not be reached or opened at start-up; the message is one line."""


# waits between start-up attempts: a database that is starting, locked or briefly unreachable
# gets about a minute and a half before the process gives up
STARTUP_BACKOFF = (1, 2, 4, 8, 15, 30, 30)


async def migrate_when_reachable(
    engine: AsyncEngine,
    *,
    backoff: tuple[float, ...] = STARTUP_BACKOFF,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """Bring the schema up to date, retrying while the database is locked, missing or down."""
    for attempt in range(len(backoff) + 1):
        try:
            await migrate(engine)
            return
        except (OperationalError, DBAPIError, OSError) as error:
            reason = _one_line(error)
            if attempt == len(backoff):
                raise DatabaseUnavailable(
                    f"the database cannot be used after {attempt + 1} attempts: {reason}"
                ) from None
            logger.warning(
                "database not ready (%s); retrying in %s s (%s of %s)",
                reason,
                backoff[attempt],
                attempt + 1,
                len(backoff) + 1,
            )
            await sleep(backoff[attempt])


def _one_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"[:300]


async def prepare_database(
    runtime: Runtime, engine: AsyncEngine, *, starting_bot: bool = False
) -> None:
    """Migrate, load the samples into an empty database, give configured admins their role.
    `starting_bot`: the bot itself starts, so its mode (token or demo) is checked and recorded
    before anything is written."""
    if starting_bot and runtime.settings.uses_emulator:
        await refuse_a_database_not_the_demos(engine)  # before a migration changes it
    await migrate_when_reachable(engine)
    if starting_bot:
        await record_deployment_mode(runtime)
    if runtime.settings.load_samples:
        await load_samples_if_empty(runtime)
    if runtime.settings.admin_telegram_ids:
        async with runtime.unit_of_work() as uow:
            await users.ensure_admins(uow, runtime.settings.admin_telegram_ids)


async def load_samples_if_empty(runtime: Runtime, directory: Path = SAMPLES_DIR) -> bool:
    async with runtime.session_factory() as session:
        if await session.scalar(select(func.count()).select_from(Organisation)):
            return False
    for kind in table.KINDS:
        path = directory / f"{kind}.csv"
        if not path.is_file():
            continue
        rows = table.read_table(path.name, path.read_bytes())
        async with runtime.unit_of_work() as uow:
            result = await importing.import_rows(uow, kind, rows, actor_id=None)
        logger.info("sample %s loaded: %s records", kind, result.created)
    return True


# --- the demo beside a real database -----------------------------------------------------------

TELEGRAM, DEMO = "telegram", "demo"


class DemoRefused(Exception):
    """Without BOT_TOKEN the bot would run the demo on a database that is not the demo's; the
    message is one line, saying why and how to proceed."""


USED_WITH_TOKEN = (
    "this database was run with a BOT_TOKEN: without one the bot starts the local demo and will "
    "not touch it; set BOT_TOKEN to run it, or point DATABASE_URL at another database for the demo"
)


def _people_not_the_demos(count: int) -> str:
    who = "person who is" if count == 1 else "people who are"
    return (
        f"this database holds {count} {who} not the demo's: without BOT_TOKEN the bot starts the "
        "local demo and will not touch it; set BOT_TOKEN to run it, or point DATABASE_URL at "
        "another database for the demo"
    )


async def refuse_a_database_not_the_demos(engine: AsyncEngine) -> None:
    """The demo's check on the database as it is, before it is migrated: a database of an older
    schema must not be changed by a demo that then refuses it. A database not reachable yet is
    checked after the migration's retries (`record_deployment_mode`)."""

    def refusal(connection: Connection) -> str | None:
        tables = set(inspect(connection).get_table_names())
        if DeploymentMode.__tablename__ in tables:
            modes = connection.scalars(select(DeploymentMode.mode)).all()
            if TELEGRAM in modes:
                return USED_WITH_TOKEN
            if modes:
                return None
        if User.__tablename__ not in tables:
            return None
        others = connection.scalar(
            select(func.count())
            .select_from(User)
            .where(User.telegram_id.not_in(demo_telegram_ids()))
        )
        return _people_not_the_demos(others) if others else None

    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(refusal)
    except (OperationalError, DBAPIError, OSError):
        return
    if found is not None:
        raise DemoRefused(found)


async def record_deployment_mode(runtime: Runtime) -> None:
    """Remember that this database is run with a token, or let the demo (no token) have it only
    if it is the demo's: never started with a token, and, where nothing was recorded yet (a
    database older than the record), holding no one but the demo's people. The demo would
    otherwise write its accounts into a real database and hand its people's pending messages to
    the local emulator, where no one ever reads them."""
    try:
        await _record_deployment_mode(runtime)
    except IntegrityError:
        # several workers starting on a new database at once: another recorded the mode
        # between this one's look and its write; checked again against theirs
        await _record_deployment_mode(runtime)


async def _record_deployment_mode(runtime: Runtime) -> None:
    mode = DEMO if runtime.settings.uses_emulator else TELEGRAM
    async with runtime.unit_of_work() as uow:
        session = uow.session
        recorded = await session.scalar(select(DeploymentMode).order_by(DeploymentMode.id))
        if mode == DEMO and recorded is not None and recorded.mode == TELEGRAM:
            raise DemoRefused(USED_WITH_TOKEN)
        if mode == DEMO and recorded is None:
            others = await session.scalar(
                select(func.count())
                .select_from(User)
                .where(User.telegram_id.not_in(demo_telegram_ids()))
            )
            if others:
                raise DemoRefused(_people_not_the_demos(others))
        now = uow.clock.now()
        if recorded is None:
            session.add(DeploymentMode(id=1, mode=mode, recorded_at=now))
        elif recorded.mode != mode:  # a demo database put into service: it is Telegram's now
            recorded.mode, recorded.recorded_at = mode, now
        await uow.commit()
