"""P3, the vendors' contracts and maintenance visits (seed part 3): the equipment manager checks
the vendors against the maintenance contract (設備維修保養合同) and the original purchase contract
(設備采購合同), whose promises are master data: response and repair times, visits a month.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from procedures.equipment.patrols import find_asset
from procedures.equipment.queries import contracts_in_force, promise_for
from procedures.equipment.rules import VENDORS
from procedures.kernel import roles
from procedures.kernel.calendar import local_day, month_bounds, month_of
from procedures.kernel.errors import NotAllowed
from procedures.kernel.text_input import optional_text
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from storage.models import EquipmentAsset, MaintenanceVisit, User

MAX_VISIT_NOTE = 1000


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
