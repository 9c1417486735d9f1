"""Engine and session set-up for SQLite and PostgreSQL, and migrating to the newest schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "after_sales_read_only"


def make_engine(url: str, **engine_kwargs: Any) -> AsyncEngine:
    """Create the async engine; on SQLite turn on WAL, foreign keys and immediate transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, **engine_kwargs)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **engine_kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below), so the driver must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")  # per connection, so on every connect
        # INSERT OR REPLACE deletes the row it replaces; only with this do the triggers that
        # keep records (migration 0008) see that delete and refuse it
        cursor.execute("PRAGMA recursive_triggers=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes fails with SQLITE_BUSY instead of
        # waiting; taking the write lock up front makes the busy timeout apply. A session
        # that only reads (read_only_sessions) takes no lock and waits for no writer (WAL).
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def read_only_sessions(
    session_factory: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """Sessions for reading only, e.g. rendering a large report: on SQLite they hold no write
    lock meanwhile, so writers go on; on PostgreSQL they are ordinary sessions."""
    engine = session_factory.kw["bind"]
    return async_sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` on the engine's database."""

    def upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(upgrade)
        return
    # SQLite changes a column by rebuilding its table (Alembic's batch mode): copy, drop the
    # old table, rename the copy. With foreign keys enforced, dropping a table other rows refer
    # to fails, so, as SQLite's own procedure for schema changes says, they are switched off
    # outside the transaction (a PRAGMA inside one is ignored) and checked before it commits.
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None  # an open connection's
        await driver.execute("PRAGMA foreign_keys=OFF")
        try:
            async with connection.begin():
                await connection.run_sync(upgrade)
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"the migration left rows without their parent: {broken}")
        finally:
            await driver.execute("PRAGMA foreign_keys=ON")
