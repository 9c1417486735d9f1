"""P3, the vendors' contracts and maintenance visits (seed part 3): the equipment manager checks
the vendors against the maintenance contract (設備維修保養合同) and the original purchase contract
(設備采購合同), whose promises are master data: response and repair times, visits a month.

A visit the vendor's staff declare counts only once the staff of the asset's system confirm it
(the technician verifies the result of the maintenance and checks the vendor's service, 對于維修
保養后的結果進行驗證，并對分包方的維修、保養服務質量進行檢查、驗證); a disputed visit never counts.
Visits on one local day to one asset are one visit. A month whose confirmed visits fall short of
the contract's, or can no longer reach it, is chased with the vendor and told to the equipment
manager (督促維修保養).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.equipment.actions import ConfirmVisit, DisputeVisit
from procedures.equipment.queries import contracts_in_force, find_asset, promise_for, system_staff
from procedures.equipment.rules import VENDORS, VISIT_LIFECYCLE, VISIT_VERIFIERS, VisitStatus
from procedures.kernel import roles
from procedures.kernel.calendar import local_day, month_bounds, month_of, previous_month
from procedures.kernel.errors import NotAllowed, NotFound, WrongState
from procedures.kernel.outbox import as_text, as_time, button, notify_users, users_with_roles
from procedures.kernel.text_input import optional_text
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from storage.models import EquipmentAsset, MaintenanceVisit, User

MAX_VISIT_NOTE = 1000
VISIT_STATUS_TEXTS = {
    VisitStatus.DECLARED: "visit.status.declared",
    VisitStatus.CONFIRMED: "visit.status.confirmed",
    VisitStatus.DISPUTED: "visit.status.disputed",
}
# (to the vendor's staff, to the equipment manager), by whether the month has ended
SHORTFALL_TEXTS = {
    True: ("visit.short_ended_vendor", "visit.short_ended_manager"),
    False: ("visit.short_unreachable_vendor", "visit.short_unreachable_manager"),
}


@dataclass(frozen=True)
class VisitOutcome:
    visit: MaintenanceVisit
    asset: EquipmentAsset
    # confirmed visits to the asset this month, and those its contract promises
    confirmed: int
    promised: int | None


def visit_days(visits: Iterable[MaintenanceVisit], timezone: ZoneInfo) -> set[dt.date]:
    """The local days of `visits`: two visits to one asset on one day are one visit."""
    return {local_day(visit.visited_at, timezone) for visit in visits}


async def _visits_in_month(
    session: AsyncSession, asset_id: int, period: str, timezone: ZoneInfo
) -> list[MaintenanceVisit]:
    start, end = month_bounds(period, timezone)
    rows = await session.scalars(
        select(MaintenanceVisit).where(
            MaintenanceVisit.asset_id == asset_id,
            MaintenanceVisit.visited_at >= start,
            MaintenanceVisit.visited_at < end,
        )
    )
    return list(rows)


async def promised_visits(session: AsyncSession, asset: EquipmentAsset, day: dt.date) -> int | None:
    """Visits a month the asset's maintenance contract in force on `day` promises, if any."""
    if asset.vendor_id is None:
        return None
    contracts = await contracts_in_force(session, asset.vendor_id, day, day)
    return promise_for(
        [c for c in contracts if c.kind == "maintenance"], asset.id, day, "visits_per_month"
    )


async def visit_verifiers(session: AsyncSession, asset: EquipmentAsset) -> list[User]:
    """Who may confirm or dispute a visit to `asset`: every technician and the staff of its
    system (the equipment manager when nobody answers for it), none of the vendor's staff."""
    people = {u.id: u for u in await users_with_roles(session, list(VISIT_VERIFIERS))}
    people.update((u.id, u) for u in await system_staff(session, asset.system))
    return [
        people[user_id]
        for user_id in sorted(people)
        if not is_vendor_staff(people[user_id], asset.vendor_id)
    ]


def is_vendor_staff(user: User, vendor_id: int | None) -> bool:
    return roles.VENDOR in user.role_names and vendor_id is not None and user.vendor_id == vendor_id


def _visit_params(visit: MaintenanceVisit, asset: EquipmentAsset) -> dict[str, object]:
    return {
        "asset": f"{asset.code} {asset.name}",
        "location": asset.location or "",
        "vendor": asset.vendor.name if asset.vendor else "-",
        "visited_at": as_time(visit.visited_at),
        "note": visit.note or "-",
    }


async def record_visit(
    uow: UnitOfWork, vendor_user: User, asset_code: str, note: str | None, timezone: ZoneInfo
) -> VisitOutcome:
    """The vendor's staff declare a maintenance visit to one of their vendor's assets; the
    system's staff are asked to confirm or dispute it."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(vendor_user.role_names, VENDORS)
    asset = await find_asset(session, asset_code)
    if vendor_user.vendor_id is None or asset.vendor_id != vendor_user.vendor_id:
        raise NotAllowed("visit.not_your_asset", code=asset.code)
    await session.refresh(asset, ["vendor"])
    visit = MaintenanceVisit(
        asset_id=asset.id,
        vendor_id=asset.vendor_id,
        visited_by_id=vendor_user.id,
        visited_at=now,
        note=optional_text(note, limit=MAX_VISIT_NOTE),
        status=VisitStatus.DECLARED,
    )
    session.add(visit)
    await session.flush()
    record_change(
        session,
        visit,
        "recorded",
        now,
        actor=vendor_user,
        after={"asset": asset.code, "note": visit.note, "status": VisitStatus.DECLARED},
    )
    await notify_users(
        session,
        [u for u in await visit_verifiers(session, asset) if u.id != vendor_user.id],
        "visit.verify",
        _visit_params(visit, asset),
        now=now,
        buttons=[
            [
                button("visit.button.confirm", ConfirmVisit(visit_id=visit.id)),
                button("visit.button.dispute", DisputeVisit(visit_id=visit.id)),
            ]
        ],
        dedupe_prefix=f"visit:{visit.id}:verify",
    )
    today = local_day(now, timezone)
    visits = await _visits_in_month(session, asset.id, month_of(today), timezone)
    confirmed = visit_days((v for v in visits if v.status == VisitStatus.CONFIRMED), timezone)
    promised = await promised_visits(session, asset, today)
    await uow.commit()
    return VisitOutcome(visit, asset, len(confirmed), promised)


async def verify_visit(
    uow: UnitOfWork, verifier: User, visit_id: int, *, confirm: bool
) -> tuple[MaintenanceVisit, EquipmentAsset]:
    """The system's staff confirm the declared visit (it counts) or dispute it (it does not);
    the vendor's staff hear which, and the equipment manager of a dispute."""
    session, now = uow.session, uow.clock.now()
    query = select(MaintenanceVisit).where(MaintenanceVisit.id == visit_id)
    visit = await session.scalar(query.with_for_update())
    if visit is None:
        raise NotFound("visit.not_found")
    await session.refresh(visit, ["asset"])
    asset = visit.asset
    await session.refresh(asset, ["vendor"])
    # one person, one seat: who declared the visit, or works for its vendor, never verifies it
    if verifier.id == visit.visited_by_id or is_vendor_staff(verifier, visit.vendor_id):
        raise NotAllowed("visit.own_visit", asset=asset.code)
    if verifier.id not in {u.id for u in await visit_verifiers(session, asset)}:
        raise NotAllowed("visit.not_your_system", asset=asset.code)
    if visit.status != VisitStatus.DECLARED:
        raise WrongState(
            "visit.already_verified",
            asset=asset.code,
            status=as_text(VISIT_STATUS_TEXTS[VisitStatus(visit.status)]),
        )
    target = VisitStatus.CONFIRMED if confirm else VisitStatus.DISPUTED
    VISIT_LIFECYCLE.move(visit, target)
    visit.verified_by_id, visit.verified_at = verifier.id, now
    record_change(
        session,
        visit,
        target,
        now,
        actor=verifier,
        before={"status": VisitStatus.DECLARED},
        after={"status": target},
    )
    params = {**_visit_params(visit, asset), "by": verifier.full_name or "-"}
    await notify_users(
        session,
        await users_with_roles(session, [roles.VENDOR], vendor_ids=[visit.vendor_id]),
        "visit.confirmed" if confirm else "visit.disputed",
        params,
        now=now,
        dedupe_prefix=f"visit:{visit.id}:{target}",
    )
    if target == VisitStatus.DISPUTED:
        managers = await users_with_roles(session, [roles.EQUIPMENT_MANAGER])
        await notify_users(
            session,
            [u for u in managers if u.id != verifier.id],
            "visit.disputed_manager",
            params,
            now=now,
            dedupe_prefix=f"visit:{visit.id}:disputed-manager",
        )
    await uow.commit()
    return visit, asset


# --- chasing the visits a month (督促) --------------------------------------------------------


@dataclass(frozen=True)
class VisitShortfall:
    asset: EquipmentAsset
    period: str
    promised: int
    confirmed: int
    # the month has ended (else it can no longer reach the promise)
    ended: bool


async def visit_shortfalls(
    session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo
) -> list[VisitShortfall]:
    """Last month's assets whose confirmed visits fell short of their maintenance contract, and
    this month's that can no longer reach it: with one visit a day at most, the days left
    (today's included) and the visits still awaiting verification could not make it up."""
    today = local_day(now, timezone)
    this_month, last_month = month_of(today), previous_month(now, timezone)
    _, this_end = month_bounds(this_month, timezone)
    last_day = local_day(this_end - dt.timedelta(microseconds=1), timezone)
    days_left = {today + dt.timedelta(days=n) for n in range((last_day - today).days + 1)}
    assets = await session.scalars(
        select(EquipmentAsset)
        .where(EquipmentAsset.vendor_id.is_not(None))
        .order_by(EquipmentAsset.code)
    )
    found = []
    for asset in list(assets):
        for period, ended in ((last_month, True), (this_month, False)):
            _, end = month_bounds(period, timezone)
            promised = await promised_visits(
                session, asset, local_day(end - dt.timedelta(microseconds=1), timezone)
            )
            if not promised:
                continue
            visits = await _visits_in_month(session, asset.id, period, timezone)
            confirmed = visit_days(
                (v for v in visits if v.status == VisitStatus.CONFIRMED), timezone
            )
            if ended:
                short = len(confirmed) < promised
            else:
                awaiting = visit_days(
                    (v for v in visits if v.status == VisitStatus.DECLARED), timezone
                )
                short = len(confirmed | awaiting | days_left) < promised
            if short:
                found.append(VisitShortfall(asset, period, promised, len(confirmed), ended))
    return found


async def chase_visit_shortfalls(
    session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo
) -> int:
    """Daily: each shortfall (see `visit_shortfalls`) is chased with the vendor's staff and told
    to the equipment manager, once per asset and month for each of its two moments."""
    queued = 0
    managers = await users_with_roles(session, [roles.EQUIPMENT_MANAGER])
    for shortfall in await visit_shortfalls(session, now=now, timezone=timezone):
        asset = shortfall.asset
        await session.refresh(asset, ["vendor"])
        moment = "ended" if shortfall.ended else "unreachable"
        to_vendor, to_manager = SHORTFALL_TEXTS[shortfall.ended]
        params = {
            "asset": f"{asset.code} {asset.name}",
            "vendor": asset.vendor.name if asset.vendor else "-",
            "period": shortfall.period,
            "promised": shortfall.promised,
            "confirmed": shortfall.confirmed,
        }
        key = f"visits:{asset.id}:{shortfall.period}:{moment}"
        sent = await notify_users(
            session,
            await users_with_roles(session, [roles.VENDOR], vendor_ids=[asset.vendor_id]),
            to_vendor,
            params,
            now=now,
            dedupe_prefix=f"{key}:vendor",
        )
        sent += await notify_users(
            session,
            managers,
            to_manager,
            params,
            now=now,
            dedupe_prefix=f"{key}:manager",
        )
        queued += len(sent)
    return queued
