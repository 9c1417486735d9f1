"""The Mini App's charts, per role, with the reports' figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import Texts


async def chart_payload(
    session: AsyncSession,
    role_names: frozenset[str],
    language: str,
    texts: Texts,
    *,
    now: dt.datetime,
) -> dict[str, Any]:
    """The charts the roles read, as `GET /api/charts` answers them (the twelve months up to
    `now`, aware)."""
    return {"charts": []}
