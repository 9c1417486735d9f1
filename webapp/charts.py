"""The Mini App's charts, per role, with the reports' figures."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import Texts


async def chart_payload(
    session: AsyncSession, role_names: frozenset[str], language: str, texts: Texts
) -> dict[str, Any]:
    """The charts the roles read, as `GET /api/charts` answers them."""
    return {"charts": []}
