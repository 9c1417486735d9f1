"""One database transaction per Telegram update: its effect, its dialogue state, its id.

Everything an update changes is committed at once, after the handlers ran: the records a use
case wrote (each use case a savepoint inside), the conversation state and scratch data the
persistence writes, and the update's id in `processed_updates`. A kill at any point leaves
either all of it or none of it; an update delivered again finds its id and changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
    async with session_factory() as session:
        token = _current.set(session)
        try:
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


async def already_processed(session: AsyncSession, update_id: int) -> bool:
    return await session.get(ProcessedUpdate, update_id) is not None


def mark_processed(session: AsyncSession, update_id: int, now: dt.datetime) -> None:
    # On a race (two processes) the primary key refuses the second and its commit fails whole.
    session.add(ProcessedUpdate(update_id=update_id, processed_at=now))
