"""Reading vendors' records for the chat: a vendor, and the records its readers name."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Rectification as Rectification
from storage.models import Vendor as Vendor


async def vendor(session: AsyncSession, vendor_id: int) -> Vendor | None:
    """One vendor, or None."""
    return await session.get(Vendor, vendor_id)
