"""P3, the vendors' contracts and maintenance visits (seed part 3): the equipment manager checks
the vendors against the maintenance contract (設備維修保養合同) and the original purchase contract
(設備采購合同), whose promises are master data: response and repair times, visits a month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.equipment.queries import find_asset
from procedures.equipment.rules import VENDORS
from procedures.kernel import roles
from procedures.kernel.calendar import local_day, month_bounds, month_of
from procedures.kernel.errors import NotAllowed
from procedures.kernel.text_input import optional_text
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from storage.models import Contract, Defect, EquipmentAsset, MaintenanceVisit, User

MAX_VISIT_NOTE = 1000


async def contracts_in_force(
    session: AsyncSession, vendor_id: int, first_day: dt.date, last_day: dt.date
) -> list[Contract]:
    """The vendor's contracts in force on any day from `first_day` to `last_day`."""
    rows = await session.scalars(
        select(Contract)
        .where(
            Contract.vendor_id == vendor_id,
            Contract.starts_on <= last_day,
            Contract.ends_on >= first_day,
        )
        .order_by(Contract.id)
    )
    return list(rows)


def promise_for(
    contracts: Sequence[Contract], asset_id: int, day: dt.date, measure: str
) -> int | None:
    """The hours promised for `measure` (response_hours, repair_hours) on the asset that day: the
    asset's own contract before one for all the vendor's assets, maintenance before purchase."""
    applicable = [
        c
        for c in contracts
        if c.starts_on <= day <= c.ends_on
        and c.asset_id in (asset_id, None)
        and getattr(c, measure) is not None
    ]
    applicable.sort(key=lambda c: (c.asset_id is None, c.kind != "maintenance"))
    return getattr(applicable[0], measure) if applicable else None


async def contract_figures(
    session: AsyncSession,
    vendor_id: int,
    period: str,
    timezone: ZoneInfo,
    defects: Sequence[Defect],
) -> dict[str, Any]:
    """What happened in the month against what the contracts promised: responses and repairs
    slower than promised (one still awaited at the month's end counts from then), and the
    maintenance visits done against those promised."""
    start, end = month_bounds(period, timezone)
    first_day, last_day = local_day(start, timezone), local_day(end, timezone) - dt.timedelta(1)
    contracts = await contracts_in_force(session, vendor_id, first_day, last_day)

    def late(measure: str, done: str) -> int:
        count = 0
        for defect in defects:
            hours = promise_for(
                contracts, defect.asset_id, local_day(defect.reported_at, timezone), measure
            )
            taken = (getattr(defect, done) or end) - defect.reported_at
            count += hours is not None and taken > dt.timedelta(hours=hours)
        return count

    def strictest(measure: str) -> int | None:
        return min((getattr(c, measure) for c in contracts if getattr(c, measure)), default=None)

    visits = await session.scalar(
        select(func.count())
        .select_from(MaintenanceVisit)
        .where(
            MaintenanceVisit.vendor_id == vendor_id,
            MaintenanceVisit.visited_at >= start,
            MaintenanceVisit.visited_at < end,
        )
    )
    promised_visits = [
        c.visits_per_month for c in contracts if c.kind == "maintenance" and c.visits_per_month
    ]
    return {
        "promised_response_hours": strictest("response_hours"),
        "late_responses": late("response_hours", "acknowledged_at"),
        "promised_repair_hours": strictest("repair_hours"),
        "late_repairs": late("repair_hours", "repaired_at"),
        "visits": visits or 0,
        "promised_visits": sum(promised_visits) if promised_visits else None,
    }


@dataclass(frozen=True)
class VisitOutcome:
    visit: MaintenanceVisit
    asset: EquipmentAsset
    # visits to the asset this month, this one included, and those its contract promises
    this_month: int
    promised: int | None


async def record_visit(
    uow: UnitOfWork, vendor_user: User, asset_code: str, note: str | None, timezone: ZoneInfo
) -> VisitOutcome:
    """The vendor's staff record a maintenance visit to one of their vendor's assets."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(vendor_user.role_names, VENDORS)
    asset = await find_asset(session, asset_code)
    if vendor_user.vendor_id is None or asset.vendor_id != vendor_user.vendor_id:
        raise NotAllowed("visit.not_your_asset", code=asset.code)
    visit = MaintenanceVisit(
        asset_id=asset.id,
        vendor_id=asset.vendor_id,
        visited_by_id=vendor_user.id,
        visited_at=now,
        note=optional_text(note, limit=MAX_VISIT_NOTE),
    )
    session.add(visit)
    await session.flush()
    record_change(
        session,
        visit,
        "recorded",
        now,
        actor=vendor_user,
        after={"asset": asset.code, "note": visit.note},
    )
    start, end = month_bounds(month_of(local_day(now, timezone)), timezone)
    this_month = await session.scalar(
        select(func.count())
        .select_from(MaintenanceVisit)
        .where(
            MaintenanceVisit.asset_id == asset.id,
            MaintenanceVisit.visited_at >= start,
            MaintenanceVisit.visited_at < end,
        )
    )
    today = local_day(now, timezone)
    contracts = await contracts_in_force(session, asset.vendor_id, today, today)
    promised = promise_for(
        [c for c in contracts if c.kind == "maintenance"], asset.id, today, "visits_per_month"
    )
    await uow.commit()
    return VisitOutcome(visit, asset, this_month or 0, promised)
