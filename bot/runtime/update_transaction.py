"""One database transaction per Telegram update: its effect, its dialogue state, its id.

Everything an update changes is committed at once, after the handlers ran: the records a use
case wrote (each use case a savepoint inside), the conversation state and scratch data the
persistence writes, and the update's id in `processed_updates`. A kill at any point leaves
either all of it or none of it; an update delivered again finds its id and changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import typing
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar

from sqlalchemy import Table, bindparam, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import statements_on_the_loop, writer_turn
from storage.models import ProcessedUpdate

_current: ContextVar[AsyncSession | None] = ContextVar("update_session", default=None)


def current_session() -> AsyncSession | None:
    """The session of the update being handled, or None outside an update."""
    return _current.get()


@contextlib.asynccontextmanager
async def update_session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Open the update's session and make it the current one until the block ends."""
    turn = writer_turn(session_factory)
    async with turn or contextlib.nullcontext():
        async with session_factory() as session:
            token = _current.set(session)
            try:
                with statements_on_the_loop():
                    yield session
            finally:
                _current.reset(token)


@contextlib.asynccontextmanager
async def session_in_update(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[AsyncSession, bool]]:
    """The current update's session (not closed here), else a new one; and whether it is new,
    in which case the caller commits what it wrote."""
    session = current_session()
    if session is not None:
        yield session, False
        return
    async with session_factory() as own:
        yield own, True


_AFTER_COMMIT = "after_commit"


def after_commit(callback: Callable[[], None]) -> None:
    """Call `callback` once the current update's transaction is committed (dropped if it rolls
    back); outside an update, at once."""
    session = current_session()
    if session is None:
        callback()
        return
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def committed(session: AsyncSession) -> None:
    """The update's transaction is committed: what waited for it goes now."""
    for callback in session.info.pop(_AFTER_COMMIT, []):
        callback()


async def claim_update(
    session: AsyncSession, update_id: int, now: dt.datetime, keys: list[tuple[str, int]]
) -> bool:
    """Write the update's id into its transaction, first thing, in one statement; False when
    the id is there already (its effect is committed: a redelivery changes nothing). A read at
    the start and a write at the end were two.

    On PostgreSQL the same statement first takes the chat's turn across processes: one update
    of a chat (and of a user, `keys`) at a time, an advisory lock on each id held until the
    transaction ends; a second process handling the same update waits for the first one's
    transaction, and then finds the id or takes it. Chat and user ids share one key space on
    purpose (a private chat's id is its user's id, group ids are negative), taken in ascending
    order, so two updates that share both never wait on each other crosswise. Within a process
    the update processor already gives them turns; on SQLite one process is the rule."""
    if session.get_bind().dialect.name == "postgresql":
        turns = sorted({identifier for _, identifier in keys})
        claimed = await session.execute(
            _CLAIM_ON_POSTGRESQL, {"update_id": update_id, "now": now, "keys": turns}
        )
        return claimed.first() is not None
    claimed = await session.execute(_CLAIM_ON_SQLITE, {"update_id": update_id, "now": now})
    return claimed.first() is not None


# Built once: every update runs one of them, and a statement used again keeps its cache key.
_processed = typing.cast(Table, ProcessedUpdate.__table__)
_CLAIM_ON_POSTGRESQL = text(
    "INSERT INTO processed_updates (update_id, processed_at) "
    "SELECT :update_id, :now FROM (SELECT count(pg_advisory_xact_lock(key)) "
    "FROM (SELECT unnest(CAST(:keys AS BIGINT[])) AS key ORDER BY 1) AS ordered) "
    "AS turn ON CONFLICT DO NOTHING RETURNING update_id"
).bindparams(bindparam("now", type_=_processed.c.processed_at.type))
_CLAIM_ON_SQLITE = (
    sqlite.insert(_processed)
    .values(update_id=bindparam("update_id"), processed_at=bindparam("now"))
    .on_conflict_do_nothing()
    .returning(_processed.c.update_id)
)
