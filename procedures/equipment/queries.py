"""Reading equipment records for the chat: an asset, a checklist item."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChecklistItem as ChecklistItem
from storage.models import EquipmentAsset as EquipmentAsset


async def asset(session: AsyncSession, asset_id: int) -> EquipmentAsset | None:
    """One asset, or None."""
    return await session.get(EquipmentAsset, asset_id)


async def checklist_item(session: AsyncSession, item_id: int) -> ChecklistItem | None:
    """One item of a system's patrol checklist, or None."""
    return await session.get(ChecklistItem, item_id)
