"""Reading vendors' records for the chat: the vendors, one vendor, the rectifications still
under way.

Reading vendors' records for their documents and reports: a rectification, a monthly score,
the scores of a half-year and its assessment, vendors' names.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from procedures.kernel.errors import NotFound
from procedures.vendors.rules import RECTIFICATION_READERS, RectificationStatus

# the rows these queries return, named here for the reports that format them
from storage.models import Assessment as Assessment
from storage.models import Rectification as Rectification
from storage.models import User
from storage.models import Vendor as Vendor
from storage.models import VendorScore as VendorScore


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


async def vendor_names(session: AsyncSession, vendor_ids: list[int]) -> dict[int, str]:
    if not vendor_ids:
        return {}
    rows = await session.execute(select(Vendor.id, Vendor.name).where(Vendor.id.in_(vendor_ids)))
    return dict(rows.all())


async def rectification(session: AsyncSession, rectification_id: int) -> Rectification | None:
    """One rectification with its vendor, or None."""
    found = await session.get(Rectification, rectification_id)
    if found is not None:
        await session.refresh(found, ["vendor"])
    return found


async def rectification_for_viewer(
    session: AsyncSession, viewer: User, number: str
) -> Rectification:
    """The rectification numbered `number` if `viewer` reads rectification notices; else
    NotFound, as for a number that does not exist."""
    found = await session.scalar(
        select(Rectification).where(Rectification.number == number.strip().upper())
    )
    if found is None or not viewer.role_names & RECTIFICATION_READERS:
        raise NotFound("rectification.not_found")
    return found


async def vendor_score(session: AsyncSession, score_id: int) -> VendorScore | None:
    """One vendor's monthly score with its vendor, or None."""
    found = await session.get(VendorScore, score_id)
    if found is not None:
        await session.refresh(found, ["vendor"])
    return found


async def scores_of_periods(session: AsyncSession, periods: list[str]) -> list[VendorScore]:
    """Every vendor's scores of these months (YYYY-MM), each with its vendor."""
    return list(
        await session.scalars(
            select(VendorScore)
            .where(VendorScore.period.in_(periods))
            .options(selectinload(VendorScore.vendor))
        )
    )


async def score_totals(session: AsyncSession, periods: list[str]) -> dict[int, dict[str, int]]:
    """Each vendor's total by month, for these months: vendor id -> {period: total}."""
    totals: dict[int, dict[str, int]] = {}
    for vendor_id, period, total in await session.execute(
        select(VendorScore.vendor_id, VendorScore.period, VendorScore.total).where(
            VendorScore.period.in_(periods)
        )
    ):
        totals.setdefault(vendor_id, {})[period] = total
    return totals


async def assessment_of(session: AsyncSession, year: int, half: int) -> Assessment | None:
    """The half-year's assessment (with its findings), if one was opened."""
    return await session.scalar(
        select(Assessment).where(Assessment.year == year, Assessment.half == half)
    )
