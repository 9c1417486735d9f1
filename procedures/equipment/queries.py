"""Reading equipment records for the chat: the assets to patrol, an asset by id or by its label's
code, a system's checklist and one of its items, every asset's code and name."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel.errors import NotFound
from storage.models import ChecklistItem as ChecklistItem
from storage.models import EquipmentAsset as EquipmentAsset
from storage.models import Patrol


async def asset(session: AsyncSession, asset_id: int) -> EquipmentAsset | None:
    """One asset, or None."""
    return await session.get(EquipmentAsset, asset_id)


async def checklist_item(session: AsyncSession, item_id: int) -> ChecklistItem | None:
    """One item of a system's patrol checklist, or None."""
    return await session.get(ChecklistItem, item_id)


async def assets_to_patrol(session: AsyncSession, day: dt.date) -> list[EquipmentAsset]:
    """Assets nobody has patrolled on `day` (the team shares every asset)."""
    done = select(Patrol.asset_id).where(Patrol.patrol_date == day)
    rows = await session.scalars(
        select(EquipmentAsset).where(EquipmentAsset.id.not_in(done)).order_by(EquipmentAsset.code)
    )
    return list(rows)


async def find_asset(session: AsyncSession, code: str) -> EquipmentAsset:
    """The asset whose label or QR sticker reads `code`."""
    wanted = code.strip().upper()
    if wanted.startswith("ASSET_"):
        wanted = wanted.removeprefix("ASSET_")
    asset = await session.scalar(select(EquipmentAsset).where(EquipmentAsset.code == wanted))
    if asset is None:
        raise NotFound("patrol.unknown_asset", code=code.strip())
    return asset


async def checklist_for(session: AsyncSession, system: str) -> list[ChecklistItem]:
    rows = await session.scalars(
        select(ChecklistItem)
        .where(ChecklistItem.system == system)
        .order_by(ChecklistItem.position, ChecklistItem.code)
    )
    return list(rows)


async def asset_labels(session: AsyncSession) -> list[tuple[str, str]]:
    """Every asset's code and name, by code: what its QR sticker shows."""
    rows = await session.execute(
        select(EquipmentAsset.code, EquipmentAsset.name).order_by(EquipmentAsset.code)
    )
    return [(code, name) for code, name in rows.all()]
