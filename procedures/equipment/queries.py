"""The read side of the equipment procedure: the assets to patrol, an asset by id or by its
label's code, a system's checklist and its items; who answers for a system; and what the vendors'
contracts promised against what they did.

Each equipment system's staff (各系統設備管理人員, seed part 3) hear of its defects, inspections
and their deadlines. A user is named for a system through their invitation
(`/invite equipment_engineer elevator`). The staff of a system are the users named for it, plus,
for elevators, the equipment supervisors (the seed gives them the elevators' inspections and the
chasing of their maintenance); a system nobody answers for falls back to the equipment manager,
so nothing goes unheard.

Reading equipment records for reports: the assets, the patrols of a span of days, and the
defects reported in a span of time with how long their repairs took (the vendors' monthly score
sheets and the Mini App's charts read them alike).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.equipment.rules import (
    FALLBACK_ROLE,
    ROLES_WITH_SYSTEM,
    SYSTEM_OWNERS,
    VisitStatus,
)
from procedures.kernel.calendar import local_day, month_bounds
from procedures.kernel.deadlines import answer_for_systems
from procedures.kernel.errors import NotFound
from procedures.kernel.outbox import as_list, as_text, users_with_roles
from storage.models import ChecklistItem as ChecklistItem
from storage.models import (
    Contract,
    Defect,
    Inspection,
    MaintenanceVisit,
    Patrol,
    User,
    UserRole,
    UserSystem,
)
from storage.models import EquipmentAsset as EquipmentAsset


async def asset(session: AsyncSession, asset_id: int) -> EquipmentAsset | None:
    """One asset, or None."""
    return await session.get(EquipmentAsset, asset_id)


async def checklist_item(session: AsyncSession, item_id: int) -> ChecklistItem | None:
    """One item of a system's patrol checklist, or None."""
    return await session.get(ChecklistItem, item_id)


def findings(
    items: Mapping[int, ChecklistItem],
    checks: Iterable[tuple[int, bool, Decimal | None]],
    note: str | None,
) -> dict[str, Any]:
    """What a patrol or an inspection found, as the reader's words: each failed item named with
    that it failed (`門機開關順暢、無異響：異常`), a reading out of range with its value, then
    the note (`…——門機開關時有明顯異響`)."""
    found: list[Any] = []
    for item_id, ok, reading in checks:
        if ok:
            continue
        item = items[item_id]
        if reading is None:
            found.append(as_text("defect.finding_failed", label=item.label))
        else:
            found.append(
                as_text(
                    "defect.finding_reading",
                    label=item.label,
                    reading=f"{reading.normalize():f}",
                    unit=item.unit or "",
                )
            )
    listed = as_list(found, "clauses")
    if note:
        return as_text("defect.findings_noted", findings=listed, note=note)
    return as_text("defect.findings", findings=listed)


async def defect_findings(session: AsyncSession, defect: Defect) -> Any:
    """The defect's findings in the reader's words (`findings`), from the checks of the patrol
    or inspection that raised it; its stored description if it has neither."""
    source: Patrol | Inspection | None = None
    if defect.patrol_id is not None:
        source = await session.get(Patrol, defect.patrol_id)
    elif defect.inspection_id is not None:
        source = await session.get(Inspection, defect.inspection_id)
    if source is None or not source.checks:
        return defect.description
    items = {
        item.id: item
        for item in await session.scalars(
            select(ChecklistItem).where(ChecklistItem.id.in_([c.item_id for c in source.checks]))
        )
    }
    return findings(items, ((c.item_id, c.ok, c.reading) for c in source.checks), source.note)


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


def contract_promising(
    contracts: Sequence[Contract], asset_id: int, day: dt.date, measure: str
) -> Contract | None:
    """The contract whose `measure` (response_hours, repair_hours, visits_per_month) holds for
    the asset that day: the asset's own contract before one for all the vendor's assets,
    maintenance before purchase."""
    applicable = [
        c
        for c in contracts
        if c.starts_on <= day <= c.ends_on
        and c.asset_id in (asset_id, None)
        and getattr(c, measure) is not None
    ]
    applicable.sort(key=lambda c: (c.asset_id is None, c.kind != "maintenance"))
    return applicable[0] if applicable else None


def promise_for(
    contracts: Sequence[Contract], asset_id: int, day: dt.date, measure: str
) -> int | None:
    """What `contract_promising` promises for `measure`, if any contract does."""
    contract = contract_promising(contracts, asset_id, day, measure)
    return getattr(contract, measure) if contract is not None else None


async def contract_figures(
    session: AsyncSession,
    vendor_id: int,
    period: str,
    timezone: ZoneInfo,
    defects: Sequence[Defect],
) -> dict[str, Any]:
    """What happened in the month against what the contracts promised: responses and repairs
    slower than promised (one still awaited at the month's end counts from then), and the
    confirmed maintenance visits against those promised."""
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

    # only visits the system's staff confirmed count, one an asset a day (as the chase counts)
    confirmed = await session.execute(
        select(MaintenanceVisit.asset_id, MaintenanceVisit.visited_at).where(
            MaintenanceVisit.vendor_id == vendor_id,
            MaintenanceVisit.status == VisitStatus.CONFIRMED,
            MaintenanceVisit.visited_at >= start,
            MaintenanceVisit.visited_at < end,
        )
    )
    visits = len({(asset_id, local_day(at, timezone)) for asset_id, at in confirmed.all()})
    promised_visits = [
        c.visits_per_month for c in contracts if c.kind == "maintenance" and c.visits_per_month
    ]
    return {
        "promised_response_hours": strictest("response_hours"),
        "late_responses": late("response_hours", "acknowledged_at"),
        "promised_repair_hours": strictest("repair_hours"),
        "late_repairs": late("repair_hours", "repaired_at"),
        "visits": visits,
        "promised_visits": sum(promised_visits) if promised_visits else None,
    }


async def named_staff(session: AsyncSession, system: str) -> list[User]:
    """The active users named for `system`, holding a role that may be named for one."""
    rows = await session.scalars(
        select(User)
        .join(UserSystem, UserSystem.user_id == User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            UserSystem.system == system,
            UserRole.role.in_(list(ROLES_WITH_SYSTEM)),
            User.active.is_(True),
        )
        .distinct()
        .order_by(User.id)
    )
    return list(rows)


async def system_staff(session: AsyncSession, system: str, *, fallback: bool = True) -> list[User]:
    """Who answers for `system`: its named staff and its owner by the seed (elevators: the
    equipment supervisors); with `fallback`, the equipment managers when that is nobody."""
    staff = {user.id: user for user in await named_staff(session, system)}
    if owner := SYSTEM_OWNERS.get(system):
        staff.update((user.id, user) for user in await users_with_roles(session, [owner]))
    if not staff and fallback:
        staff.update((user.id, user) for user in await users_with_roles(session, [FALLBACK_ROLE]))
    return [staff[user_id] for user_id in sorted(staff)]


# a deadline about one system reaches its staff in place of the responsible role
answer_for_systems(system_staff)


async def systems_of(session: AsyncSession, user_id: int) -> list[str]:
    rows = await session.scalars(
        select(UserSystem.system).where(UserSystem.user_id == user_id).order_by(UserSystem.system)
    )
    return list(rows)


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


async def defects_reported(
    session: AsyncSession,
    start: dt.datetime,
    end: dt.datetime,
    *,
    vendor_id: int | None = None,
) -> list[Defect]:
    """The defects reported in [start, end) against a vendor (this one, with `vendor_id`),
    oldest first."""
    query = (
        select(Defect)
        .where(Defect.reported_at >= start, Defect.reported_at < end, Defect.vendor_id.is_not(None))
        .order_by(Defect.reported_at, Defect.id)
    )
    if vendor_id is not None:
        query = query.where(Defect.vendor_id == vendor_id)
    return list(await session.scalars(query))


def minutes_between(start: dt.datetime, end: dt.datetime) -> int:
    return round((end - start).total_seconds() / 60)


def repair_minutes(defect: Defect) -> int | None:
    """How long the vendor took to repair the defect, from its report to the repair, in whole
    minutes; None while it is not repaired."""
    if defect.repaired_at is None:
        return None
    return minutes_between(defect.reported_at, defect.repaired_at)
