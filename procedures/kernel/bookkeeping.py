"""Bookkeeping that must not grow for ever: the ids of updates handled."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate

# Telegram keeps an undelivered update for 24 hours, and may reuse ids after a week without
# updates: an id is remembered long enough to catch every redelivery, and no longer.
REDELIVERY_WINDOW = dt.timedelta(days=2)


async def prune_bookkeeping(session: AsyncSession, *, now: dt.datetime) -> int:
    """Forget update ids past the redelivery window."""
    forgotten = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < now - REDELIVERY_WINDOW)
    )
    return forgotten.rowcount or 0  # type: ignore[attr-defined]
