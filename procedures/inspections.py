"""P3, periodic inspections (seed part 3): each system's periodic checks, organised by its
equipment staff (各系統設備管理人員); the elevators' by the equipment supervisor.

An inspection, its deadline and its reminders go to the staff of the asset's system
(procedures.systems): those named for it, for elevators also the equipment supervisors, and the
equipment manager when nobody answers for the system.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    EquipmentAsset,
    Inspection,
    User,
)

from . import roles, systems
from .actions import InspectionDone
from .calendar import local_day, month_bounds, month_index, month_of
from .deadlines import meet_deadline, open_deadline
from .errors import NotAllowed, NotFound, WrongState
from .outbox import as_time, button, notify_users
from .timeline import SUBJECT_TYPES, record_change
from .unit_of_work import UnitOfWork

SUBJECT = SUBJECT_TYPES[Inspection]


async def schedule_inspections(
    session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo, every_months: dict[str, int]
) -> int:
    """Open this period's inspections (one per asset of each system whose interval falls due
    this month), each due at the end of the month, for the staff of the asset's system."""
    today = local_day(now, timezone)
    period = month_of(today)
    _, due = month_bounds(period, timezone)
    created = 0
    for system, months in sorted(every_months.items()):
        if months <= 0 or month_index(today) % months:
            continue
        staff = await systems.system_staff(session, system)
        assets = await session.scalars(
            select(EquipmentAsset)
            .where(EquipmentAsset.system == system)
            .order_by(EquipmentAsset.code)
        )
        for asset in assets:
            exists = await session.scalar(
                select(Inspection.id).where(
                    Inspection.asset_id == asset.id, Inspection.period == period
                )
            )
            if exists:
                continue
            inspection = Inspection(asset_id=asset.id, period=period, due_at=due)
            session.add(inspection)
            await session.flush()
            open_deadline(
                session,
                subject_type=SUBJECT,
                subject_id=inspection.id,
                subject_label=f"{asset.code} {period}",
                kind="inspection",
                responsible_role=systems.SYSTEM_OWNERS.get(system, roles.EQUIPMENT_ENGINEER),
                opened_at=now,
                due_at=due,
                system=system,
            )
            record_change(
                session, inspection, "scheduled", now, after={"asset": asset.code, "period": period}
            )
            await notify_users(
                session,
                staff,
                "inspection.scheduled",
                {
                    "asset": f"{asset.code} {asset.name}",
                    "location": asset.location or "",
                    "due_at": as_time(due),
                },
                now=now,
                buttons=[
                    [button("inspection.button.done", InspectionDone(inspection_id=inspection.id))]
                ],
                dedupe_prefix=f"inspection:{inspection.id}:scheduled",
            )
            created += 1
    return created


# who may record any system's inspection; the staff named for a system may record its own
INSPECTORS = frozenset({roles.EQUIPMENT_SUPERVISOR, roles.EQUIPMENT_MANAGER})


async def inspection_for_recording(
    session: AsyncSession, inspector: User, inspection_id: int, *, lock: bool = False
) -> Inspection:
    """The inspection, if `inspector` may record it now: asked before the dialogue starts and
    again, locking the row, when it is recorded. The equipment supervisor or manager may record
    any; an engineer or supervisor named for the asset's system, that system's."""
    query = select(Inspection).where(Inspection.id == inspection_id)
    inspection = await session.scalar(query.with_for_update() if lock else query)
    if inspection is None:
        raise NotFound("inspection.not_found")
    await session.refresh(inspection, ["asset"])
    if not inspector.role_names & INSPECTORS:
        named = inspection.asset.system in await systems.systems_of(session, inspector.id)
        if not (named and inspector.role_names & systems.ROLES_WITH_SYSTEM):
            raise NotAllowed("inspection.not_your_system", asset=inspection.asset.code)
    if inspection.done_at is not None:
        raise WrongState("inspection.already_done", asset=inspection.asset.code)
    return inspection


async def record_inspection(uow: UnitOfWork, supervisor: User, inspection_id: int) -> Inspection:
    session, now = uow.session, uow.clock.now()
    inspection = await inspection_for_recording(session, supervisor, inspection_id, lock=True)
    inspection.done_at, inspection.done_by_id = now, supervisor.id
    await meet_deadline(
        session, subject_type=SUBJECT, subject_id=inspection.id, kind="inspection", now=now
    )
    record_change(
        session, inspection, "done", now, actor=supervisor, after={"asset": inspection.asset.code}
    )
    await uow.commit()
    return inspection
