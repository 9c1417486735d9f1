"""P3, periodic inspections (seed part 3): each system's periodic checks, organised by its
equipment staff (各系統設備管理人員); the elevators' by the equipment supervisor.

An inspection, its deadline and its reminders go to the staff of the asset's system
(procedures.equipment.queries): those named for it, for elevators also the equipment
supervisors, and the equipment manager when nobody answers for the system. It is recorded with
what was found: the patrol checklist of the asset's system, a note, photos, and a defect raised
from any finding the way a patrol raises one. The supervisor's chasing of the elevators'
maintenance (督促) is a daily reminder of every elevator defect the vendor has not repaired yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.equipment import queries, rules
from procedures.equipment.actions import BeginRepair, RecordInspection
from procedures.equipment.defects import check_severity, open_defect
from procedures.equipment.patrols import (
    PatrolDraft,
    checked_draft,
    describe_findings,
    draft_findings,
)
from procedures.equipment.policy import EquipmentPolicy
from procedures.equipment.rules import INSPECTORS, DefectStatus, EquipmentDeadline
from procedures.kernel import roles
from procedures.kernel.calendar import local_day, month_bounds, month_index, month_of
from procedures.kernel.deadlines import meet_deadline, open_deadline
from procedures.kernel.errors import NotAllowed, NotFound, WrongState
from procedures.kernel.outbox import (
    as_deadline,
    as_text,
    as_time,
    button,
    notify_users,
    users_with_roles,
)
from procedures.kernel.photos import add_photos
from procedures.kernel.timeline import SUBJECT_TYPES, record_change
from procedures.kernel.unit_of_work import UnitOfWork
from storage.models import (
    Defect,
    EquipmentAsset,
    Inspection,
    InspectionCheck,
    User,
)

SUBJECT = SUBJECT_TYPES[Inspection]


async def schedule_inspections(uow: UnitOfWork, *, timezone: ZoneInfo) -> int:
    """Open this period's inspections (one per asset of each system whose interval falls due
    this month, as the policy's INSPECTION_MONTHS says), each due at the end of the month, for
    the staff of the asset's system. The caller commits."""
    session, now = uow.session, uow.clock.now()
    every_months = uow.policy(EquipmentPolicy).inspection_months
    today = local_day(now, timezone)
    period = month_of(today)
    _, due = month_bounds(period, timezone)
    created = 0
    for system, months in sorted(every_months.items()):
        if months <= 0 or month_index(today) % months:
            continue
        staff = await queries.system_staff(session, system)
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
                rule=rules.INSPECTION,
                responsible_role=rules.SYSTEM_OWNERS.get(system, rules.INSPECTION.owner),
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
                    "due_at": as_deadline(due),
                },
                now=now,
                buttons=[
                    [
                        button(
                            "inspection.button.record",
                            RecordInspection(inspection_id=inspection.id),
                        )
                    ]
                ],
                dedupe_prefix=f"inspection:{inspection.id}:scheduled",
            )
            created += 1
    return created


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
        named = inspection.asset.system in await queries.systems_of(session, inspector.id)
        if not (named and inspector.role_names & rules.ROLES_WITH_SYSTEM):
            raise NotAllowed("inspection.not_your_system", asset=inspection.asset.code)
    if inspection.done_at is not None:
        raise WrongState("inspection.already_done", asset=inspection.asset.code)
    return inspection


@dataclass(frozen=True)
class InspectionOutcome:
    inspection: Inspection
    asset: EquipmentAsset
    defect: Defect | None


async def record_inspection(
    uow: UnitOfWork,
    inspector: User,
    inspection_id: int,
    draft: PatrolDraft,
    timezone: ZoneInfo,
) -> InspectionOutcome:
    """Store what the inspection found (checklist, note, photos, location); anything abnormal
    opens a defect, due for repair as a patrol's is (the contract's hours, else the severity's),
    that the vendor, the manager and the system's staff hear of."""
    session, now = uow.session, uow.clock.now()
    inspection = await inspection_for_recording(session, inspector, inspection_id, lock=True)
    asset = inspection.asset
    if draft.asset_id != asset.id:
        raise WrongState("inspection.other_asset", asset=asset.code)
    await session.refresh(asset, ["vendor"])
    items, note = await checked_draft(session, asset, draft)
    inspection.done_at, inspection.done_by_id = now, inspector.id
    inspection.note, inspection.abnormal = note, draft.abnormal
    inspection.latitude, inspection.longitude = draft.latitude, draft.longitude
    inspection.checks.extend(InspectionCheck(**check) for check in draft.checks())
    add_photos(session, SUBJECT, inspection.id, "inspection", draft.photo_file_ids, inspector, now)
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=inspection.id,
        kind=EquipmentDeadline.INSPECTION,
        now=now,
        by=inspector,
    )
    record_change(
        session,
        inspection,
        "done",
        now,
        actor=inspector,
        after={
            "asset": asset.code,
            "abnormal": draft.abnormal,
            "note": note,
            "photos": len(draft.photo_file_ids),
        },
    )
    defect = None
    if draft.abnormal:
        defect = await open_defect(
            session,
            asset,
            None,
            inspector,
            describe_findings(items, draft, note),
            draft.photo_file_ids,
            now,
            severity=check_severity(draft.severity),
            repair_hours=uow.policy(EquipmentPolicy).repair_hours,
            day=local_day(now, timezone),
            inspection_id=inspection.id,
            findings=draft_findings(items, draft, note),
        )
    await uow.commit()
    return InspectionOutcome(inspection, asset, defect)


# --- chasing the elevators' maintenance (督促) ------------------------------------------------

CHASED_SYSTEM = "elevator"
# what the vendor still owes: a repair (a repaired defect waits for the technician instead)
AWAITING_REPAIR = (DefectStatus.OPEN, DefectStatus.ACKNOWLEDGED)


async def chase_elevator_defects(
    session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo
) -> int:
    """Daily: each elevator defect reported before today and not yet repaired is chased, the
    staff of the elevators reminded and the vendor's staff asked again, once per defect a day."""
    today = local_day(now, timezone)
    start_of_day = dt.datetime.combine(today, dt.time(), tzinfo=timezone)
    open_defects = list(
        await session.scalars(
            select(Defect)
            .join(EquipmentAsset, EquipmentAsset.id == Defect.asset_id)
            .where(
                EquipmentAsset.system == CHASED_SYSTEM,
                Defect.status.in_(list(AWAITING_REPAIR)),
                Defect.reported_at < start_of_day,
            )
            .order_by(Defect.id)
        )
    )
    if not open_defects:
        return 0
    staff = await queries.system_staff(session, CHASED_SYSTEM)
    queued = 0
    for defect in open_defects:
        await session.refresh(defect, ["asset"])
        params = {
            "number": defect.number,
            "asset": f"{defect.asset.code} {defect.asset.name}",
            "location": defect.asset.location or "",
            "description": await queries.defect_findings(session, defect),
            "reported_at": as_time(defect.reported_at),
            "status": as_text(f"defect.status.{defect.status}"),
        }
        key = f"defect:{defect.id}:chase:{today.isoformat()}"
        sent = await notify_users(
            session, staff, "defect.chase", params, now=now, dedupe_prefix=f"{key}:staff"
        )
        sent += await notify_users(
            session,
            await users_with_roles(session, [roles.VENDOR], vendor_ids=[defect.vendor_id]),
            "defect.chase_vendor",
            params,
            now=now,
            buttons=[[button("defect.button.repaired", BeginRepair(defect_id=defect.id))]],
            dedupe_prefix=f"{key}:vendor",
        )
        if sent:
            record_change(session, defect, "chased", now, after={"date": today.isoformat()})
            queued += len(sent)
    return queued
