"""Reading equipment records for reports: the assets, and the patrols of a span of days."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import EquipmentAsset, Patrol


async def asset_count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(EquipmentAsset)) or 0


async def assets_patrolled_by_day(
    session: AsyncSession, first: dt.date, last: dt.date
) -> dict[dt.date, int]:
    """For each day from `first` to `last` (inclusive) with a patrol: how many assets were
    patrolled that day."""
    rows = await session.execute(
        select(Patrol.patrol_date, func.count(func.distinct(Patrol.asset_id)))
        .where(Patrol.patrol_date >= first, Patrol.patrol_date <= last)
        .group_by(Patrol.patrol_date)
    )
    return dict(rows.all())
