"""One scheduler at a time runs the jobs: the leader, chosen by a PostgreSQL advisory lock.

Several scheduler processes (or bots with RUN_SCHEDULER=true) may run against one PostgreSQL;
every job asks `held()` first and only the leader runs it. The lock belongs to a connection of
its own: when the leader dies, its connection closes and the lock is free at once; a standby
takes it at its next job run (the sweep runs every minute, so within about a minute). A leader
whose connection broke finds out at its next job and steps down. On SQLite there is one
process, which is always the leader.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

# the two-key advisory lock space: (this namespace, a hash of database and schema), apart from
# the one-key space the per-chat update locks use
LOCK_NAMESPACE = 13_001
_TAKE = text(
    "SELECT pg_try_advisory_lock(:namespace,"
    " hashtext(current_database() || '.' || current_schema() || '.scheduler'))"
)
_GIVE_UP = text(
    "SELECT pg_advisory_unlock(:namespace,"
    " hashtext(current_database() || '.' || current_schema() || '.scheduler'))"
)


class LeaderLock:
    def __init__(self, engine: AsyncEngine | None) -> None:
        self._engine = (
            engine if engine is not None and engine.dialect.name == "postgresql" else None
        )
        self._connection: AsyncConnection | None = None
        # the jobs due at start ask at once: without this, each would try the lock on a
        # connection of its own, one would win, and the others would stand by for their
        # leader's own sake until their next run
        self._asking = asyncio.Lock()

    @property
    def shared(self) -> bool:
        """Whether other processes may compete (PostgreSQL)."""
        return self._engine is not None

    async def held(self) -> bool:
        """True if this process leads (taking the lead if it is free)."""
        if self._engine is None:
            return True
        async with self._asking:
            return await self._held(self._engine)

    async def _held(self, engine: AsyncEngine) -> bool:
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT 1"))
                return True
            except Exception:
                logger.warning("scheduler leadership lost with its connection; standing by")
                await self._drop()
        connection = await engine.execution_options(isolation_level="AUTOCOMMIT").connect()
        try:
            taken = await connection.scalar(_TAKE, {"namespace": LOCK_NAMESPACE})
        except Exception:
            await connection.close()
            raise
        if not taken:
            await connection.close()
            return False
        self._connection = connection
        logger.info("this process now runs the scheduled jobs (scheduler leader)")
        return True

    async def release(self) -> None:
        if self._connection is None:
            return
        try:
            await self._connection.execute(_GIVE_UP, {"namespace": LOCK_NAMESPACE})
        finally:
            await self._drop()

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except Exception:
                await connection.invalidate()
