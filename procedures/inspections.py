"""P3, periodic inspections (seed part 3): the equipment supervisor's checks of each system."""

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

from . import roles
from .actions import InspectionDone
from .calendar import local_day, month_bounds, month_index, month_of
from .deadlines import meet_deadline, open_deadline
from .errors import NotFound, WrongState
from .outbox import as_time, button, notify_roles
from .timeline import SUBJECT_TYPES, record_change
from .unit_of_work import UnitOfWork

SUBJECT = SUBJECT_TYPES[Inspection]


async def schedule_inspections(
    session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo, every_months: dict[str, int]
) -> int:
    """Open this period's inspections (one per asset of each system whose interval falls due
    this month), each due at the end of the month, for the equipment supervisor."""
    today = local_day(now, timezone)
    period = month_of(today)
    _, due = month_bounds(period, timezone)
    created = 0
    for system, months in sorted(every_months.items()):
        if months <= 0 or month_index(today) % months:
            continue
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
                responsible_role=roles.EQUIPMENT_SUPERVISOR,
                opened_at=now,
                due_at=due,
            )
            record_change(
                session, inspection, "scheduled", now, after={"asset": asset.code, "period": period}
            )
            await notify_roles(
                session,
                [roles.EQUIPMENT_SUPERVISOR],
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


async def record_inspection(uow: UnitOfWork, supervisor: User, inspection_id: int) -> Inspection:
    session, now = uow.session, uow.clock.now()
    roles.require_role(supervisor.role_names, frozenset({roles.EQUIPMENT_SUPERVISOR}))
    inspection = await session.scalar(
        select(Inspection).where(Inspection.id == inspection_id).with_for_update()
    )
    if inspection is None:
        raise NotFound("inspection.not_found")
    await session.refresh(inspection, ["asset"])
    if inspection.done_at is not None:
        raise WrongState("inspection.already_done", asset=inspection.asset.code)
    inspection.done_at, inspection.done_by_id = now, supervisor.id
    await meet_deadline(
        session, subject_type=SUBJECT, subject_id=inspection.id, kind="inspection", now=now
    )
    record_change(
        session, inspection, "done", now, actor=supervisor, after={"asset": inspection.asset.code}
    )
    await uow.commit()
    return inspection
