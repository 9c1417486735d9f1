"""Reading vendors' records for the chat: the vendors, one vendor, the rectifications still
under way."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.vendors.rules import RectificationStatus
from storage.models import Rectification as Rectification
from storage.models import Vendor as Vendor


async def vendor(session: AsyncSession, vendor_id: int) -> Vendor | None:
    """One vendor, or None."""
    return await session.get(Vendor, vendor_id)


async def vendors(session: AsyncSession) -> list[Vendor]:
    return list(await session.scalars(select(Vendor).order_by(Vendor.code)))


# the statuses in which the ladder still asks something of someone
ACTIVE_STATUSES = (
    RectificationStatus.OPEN,
    RectificationStatus.EVALUATING,
    RectificationStatus.FORM_SUBMITTED,
    RectificationStatus.REVIEWED,
)


async def open_rectifications(session: AsyncSession) -> list[Rectification]:
    rows = await session.scalars(
        select(Rectification)
        .where(Rectification.status.in_(ACTIVE_STATUSES))
        .order_by(Rectification.raised_at)
    )
    found = list(rows)
    for rectification in found:
        await session.refresh(rectification, ["vendor"])
    return found
