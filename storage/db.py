"""Engine and session set-up for SQLite and PostgreSQL, and migrating to the newest schema."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sqlite3
import weakref
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiosqlite
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import EMPTY_DICT

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "after_sales_read_only"


_Outcome = tuple[Any, list[Any] | None, int, int | None]

# SQLite has one writer, and every transaction here takes the write lock at BEGIN (IMMEDIATE).
# The updates of one process queue for it here, first come first served, rather than in
# SQLite's busy handler, which polls with growing sleeps and gives up after its timeout when
# many wait at once. (Jobs still take the lock in the busy handler: bench/README.md, issue 25's
# fourth round, says why.)
_writer_turns: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()


def writer_turn(session_factory: async_sessionmaker[AsyncSession]) -> asyncio.Lock | None:
    """The lock this process's updates take turns on for the factory's SQLite database (held for
    a whole transaction; not reentrant); None on PostgreSQL, where writers run side by side."""
    engine = session_factory.kw.get("bind")
    if engine is None or engine.dialect.name != "sqlite":
        return None
    key = engine.sync_engine
    if key not in _writer_turns:
        _writer_turns[key] = asyncio.Lock()
    return _writer_turns[key]


# The task in whose `statements_on_the_loop` block the code runs: there, a statement of a
# transaction that holds SQLite's write lock already runs on the event loop's thread, not
# aiosqlite's. A task, not a flag, as a task started inside the block inherits the variable.
_on_the_loop: ContextVar[asyncio.Task[Any] | None] = ContextVar(
    "sqlite_statements_on_the_loop", default=None
)


@contextlib.contextmanager
def statements_on_the_loop() -> Iterator[None]:
    """Run the block's SQLite statements on the event loop once their transaction has begun.

    A trip to aiosqlite's thread and back is a hand-off of the interpreter's lock and two
    wake-ups, dearer than the short statement it carries, and a dialogue step makes a dozen.
    Once BEGIN IMMEDIATE holds the write lock (BEGIN itself still goes to the thread, as it may
    wait for another process's writer), a statement has nothing left to wait for: readers never
    block in WAL mode, and no other writer can start. COMMIT still goes to the thread, since it
    writes the log to disk. The block is one update's transaction, which holds the process's
    writer turn: a long statement in it (a search over many records) holds up the loop's other
    work while it runs, as the other updates wait for the writer anyway; reports render in
    sessions of their own, outside it, and keep the thread."""
    token = _on_the_loop.set(asyncio.current_task())
    try:
        yield
    finally:
        _on_the_loop.reset(token)


def in_writer_turn() -> bool:
    """Whether the running code is inside an update's transaction, which holds the process's
    writer turn (taking it again there would wait for itself)."""
    task = _on_the_loop.get()
    return task is not None and task is asyncio.current_task()


def _run_statement(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> _Outcome:
    """On aiosqlite's thread: a statement from cursor to closed cursor, rows and all."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class _OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A statement in one trip to aiosqlite's thread instead of four (open a cursor, execute,
    fetch, close): each trip is a hand-off between threads and a wake-up of the event loop,
    and the four were most of what a dialogue step spent on SQLite besides SQLAlchemy."""

    __slots__ = ("_outcome",)

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome: _Outcome = (None, None, -1, None)

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[2]

    @property
    def lastrowid(self) -> Any:
        return self._outcome[3]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        mutex = self._adapt_connection._execute_mutex
        driver: sqlite3.Connection = connection._conn
        if in_writer_turn() and not mutex.locked() and driver.in_transaction:
            self._outcome = _run_statement(driver, operation, parameters, many)
        else:
            async with mutex:
                self._outcome = await connection._execute(  # type: ignore[no-untyped-call]
                    _run_statement, driver, operation, parameters, many
                )
        rows = self._outcome[1]
        self._rows = collections.deque(rows) if rows is not None else collections.deque()

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        await self._run(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        return None  # the cursor was closed on aiosqlite's thread

    def close(self) -> None:
        self._rows.clear()


class _OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = _OneHopCursor  # type: ignore[assignment]


class _OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite as SQLAlchemy adapts it, but with statements in one trip each."""

    def connect(self, *arg: Any, **kw: Any) -> _OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return _OneHopConnection(self, adapted._connection)


def make_engine(url: str, **engine_kwargs: Any) -> AsyncEngine:
    """Create the async engine; on SQLite turn on WAL, foreign keys and immediate transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, **engine_kwargs)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_driver_name() == "aiosqlite":
        engine_kwargs.setdefault("module", _OneHopDBAPI(aiosqlite, sqlite3))
        # `statements_on_the_loop` uses a connection from the event loop's thread as well as
        # from aiosqlite's, never both at once (the adapter's mutex, one session a connection)
        engine_kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
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
