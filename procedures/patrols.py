"""P3, equipment patrols (seed part 3): daily check-ins, defects and their repair, missed
patrols, and the periodic inspections of the equipment supervisor.

Technicians (設備工) patrol every asset daily and record each patrol. A fault goes at once to the
maintenance vendor's staff and the equipment manager; after the repair the technician verifies
it. Response and repair times are kept for the vendor's monthly score.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ChecklistItem,
    Defect,
    EquipmentAsset,
    Inspection,
    Patrol,
    PatrolCheck,
    User,
    UserRole,
)

from . import roles
from .deadlines import meet_deadline, open_deadline
from .errors import InvalidInput, NotAllowed, NotFound, WrongState
from .numbering import next_number
from .outbox import as_time, button, notify_roles, notify_users
from .photos import add_photos
from .timeline import record_event
from .unit_of_work import UnitOfWork

TECHNICIANS = frozenset({roles.TECHNICIAN})
MAX_NOTE = 1000


def local_day(moment: dt.datetime, timezone: ZoneInfo) -> dt.date:
    return moment.astimezone(timezone).date()


def photo_attachment(file_id: str) -> dict[str, Any]:
    """An outbox attachment that re-sends a photo already on Telegram's servers."""
    return {"kind": "photo", "params": {"file_id": file_id}}


# --- what to patrol --------------------------------------------------------------------------


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


def check_reading(item: ChecklistItem, text: str) -> tuple[Decimal, bool]:
    """The reading as a number, and whether it lies in the item's normal range."""
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidInput("patrol.bad_reading", unit=item.unit or "") from None
    if not value.is_finite():
        raise InvalidInput("patrol.bad_reading", unit=item.unit or "")
    in_range = (item.low is None or value >= item.low) and (item.high is None or value <= item.high)
    return value, in_range


@dataclass
class PatrolDraft:
    """What the check-in dialogue has gathered: one answer per checklist item, then the rest."""

    asset_id: int
    answers: list[dict[str, Any]] = field(default_factory=list)  # {item_id, ok, reading}
    note: str | None = None
    photo_file_ids: list[str] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None

    @property
    def abnormal(self) -> bool:
        return any(not answer["ok"] for answer in self.answers)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PatrolDraft:
        return cls(**data)


@dataclass(frozen=True)
class PatrolOutcome:
    patrol: Patrol
    defect: Defect | None


async def record_patrol(
    uow: UnitOfWork, technician: User, draft: PatrolDraft, timezone: ZoneInfo
) -> PatrolOutcome:
    """Store the check-in; anything abnormal opens a defect the vendor and manager hear of."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(technician.role_names, TECHNICIANS)
    asset = await session.get(EquipmentAsset, draft.asset_id)
    if asset is None:
        raise NotFound("patrol.unknown_asset", code=str(draft.asset_id))
    await session.refresh(asset, ["vendor"])
    items = {item.id: item for item in await checklist_for(session, asset.system)}
    if {a["item_id"] for a in draft.answers} != set(items):
        raise InvalidInput("patrol.incomplete")
    if draft.abnormal and not draft.photo_file_ids:
        raise InvalidInput("patrol.photo_required")
    note = (draft.note or "").strip()[:MAX_NOTE] or None

    patrol = Patrol(
        asset_id=asset.id,
        technician_id=technician.id,
        patrol_date=local_day(now, timezone),
        recorded_at=now,
        abnormal=draft.abnormal,
        note=note,
        latitude=draft.latitude,
        longitude=draft.longitude,
        checks=[
            PatrolCheck(
                item_id=a["item_id"],
                ok=a["ok"],
                reading=Decimal(a["reading"]) if a.get("reading") is not None else None,
            )
            for a in draft.answers
        ],
    )
    session.add(patrol)
    await session.flush()
    add_photos(session, "patrol", patrol.id, "patrol", draft.photo_file_ids, technician, now)
    record_event(
        session,
        subject_type="patrol",
        subject_id=patrol.id,
        action="recorded",
        actor_id=technician.id,
        at=now,
        after={
            "asset": asset.code,
            "abnormal": draft.abnormal,
            "photos": len(draft.photo_file_ids),
            "location": [draft.latitude, draft.longitude] if draft.latitude is not None else None,
        },
    )
    defect = None
    if draft.abnormal:
        findings = []
        for answer in draft.answers:
            if not answer["ok"]:
                item = items[answer["item_id"]]
                reading = (
                    f" {answer['reading']} {item.unit or ''}".rstrip()
                    if answer.get("reading") is not None
                    else ""
                )
                findings.append(f"{item.label}{reading}")
        description = "; ".join(findings) + (f". {note}" if note else "")
        defect = await _open_defect(
            session, asset, patrol, technician, description, draft.photo_file_ids, now
        )
    await uow.commit()
    return PatrolOutcome(patrol, defect)


async def vendor_staff(session: AsyncSession, vendor_id: int | None) -> list[User]:
    if vendor_id is None:
        return []
    rows = await session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == roles.VENDOR, User.vendor_id == vendor_id, User.active.is_(True))
        .order_by(User.id)
    )
    return list(rows)


def _defect_params(defect: Defect, asset: EquipmentAsset) -> dict[str, Any]:
    return {
        "number": defect.number,
        "asset": f"{asset.code} {asset.name}",
        "location": asset.location or "",
        "description": defect.description,
    }


async def _open_defect(
    session: AsyncSession,
    asset: EquipmentAsset,
    patrol: Patrol,
    technician: User,
    description: str,
    photo_file_ids: list[str],
    now: dt.datetime,
) -> Defect:
    defect = Defect(
        number=await next_number(session, "DF", now.year),
        status="open",
        asset_id=asset.id,
        vendor_id=asset.vendor_id,
        patrol_id=patrol.id,
        description=description,
        reported_by_id=technician.id,
        reported_at=now,
        rejections=0,
    )
    session.add(defect)
    await session.flush()
    add_photos(session, "defect", defect.id, "report", photo_file_ids, technician, now)
    record_event(
        session,
        subject_type="defect",
        subject_id=defect.id,
        action="reported",
        actor_id=technician.id,
        at=now,
        after={"asset": asset.code, "description": description, "patrol_id": patrol.id},
    )
    params = _defect_params(defect, asset)
    attachment = photo_attachment(photo_file_ids[0]) if photo_file_ids else None
    await notify_users(
        session,
        await vendor_staff(session, asset.vendor_id),
        "defect.reported",
        params,
        now=now,
        buttons=[
            [
                button("defect.button.acknowledge", f"df:ack:{defect.id}"),
                button("defect.button.repaired", f"df:fix:{defect.id}"),
            ]
        ],
        attachment=attachment,
        dedupe_prefix=f"defect:{defect.id}:vendor",
    )
    await notify_roles(
        session,
        [roles.EQUIPMENT_MANAGER],
        "defect.reported_manager",
        {**params, "vendor": asset.vendor.name if asset.vendor else "-"},
        now=now,
        attachment=attachment,
        dedupe_prefix=f"defect:{defect.id}:manager",
    )
    return defect


async def _load_defect(session: AsyncSession, defect_id: int, *, lock: bool = True) -> Defect:
    query = select(Defect).where(Defect.id == defect_id)
    defect = await session.scalar(query.with_for_update() if lock else query)
    if defect is None:
        raise NotFound("defect.not_found")
    await session.refresh(defect, ["asset"])
    return defect


def _check_vendor(actor: User, defect: Defect) -> None:
    roles.require_role(actor.role_names, frozenset({roles.VENDOR}))
    if actor.vendor_id is None or actor.vendor_id != defect.vendor_id:
        raise NotAllowed("defect.not_your_vendor", number=defect.number)


async def acknowledge_defect(uow: UnitOfWork, vendor_user: User, defect_id: int) -> Defect:
    """The vendor has seen the fault: the response time stops here."""
    session, now = uow.session, uow.clock.now()
    defect = await _load_defect(session, defect_id)
    _check_vendor(vendor_user, defect)
    if defect.acknowledged_at is not None or defect.status != "open":
        raise WrongState("defect.already_acknowledged", number=defect.number)
    defect.acknowledged_at, defect.status = now, "acknowledged"
    record_event(
        session,
        subject_type="defect",
        subject_id=defect.id,
        action="acknowledged",
        actor_id=vendor_user.id,
        at=now,
        before={"status": "open"},
        after={"status": "acknowledged"},
    )
    await uow.commit()
    return defect


async def record_repair(
    uow: UnitOfWork, vendor_user: User, defect_id: int, note: str, photo_file_ids: list[str]
) -> Defect:
    """The vendor marks the fault repaired; the technician who found it is asked to verify."""
    session, now = uow.session, uow.clock.now()
    defect = await defect_for_repair(session, vendor_user, defect_id, lock=True)
    note = note.strip()
    if not note:
        raise InvalidInput("defect.empty_note")
    before = defect.status
    defect.acknowledged_at = defect.acknowledged_at or now
    defect.status, defect.repaired_at, defect.repair_note = "repaired", now, note[:MAX_NOTE]
    add_photos(session, "defect", defect.id, "repair", photo_file_ids, vendor_user, now)
    record_event(
        session,
        subject_type="defect",
        subject_id=defect.id,
        action="repaired",
        actor_id=vendor_user.id,
        at=now,
        before={"status": before},
        after={"status": "repaired", "note": defect.repair_note, "photos": len(photo_file_ids)},
    )
    reporter = await session.get(User, defect.reported_by_id)
    await notify_users(
        session,
        [reporter] if reporter else [],
        "defect.verify_repair",
        {**_defect_params(defect, defect.asset), "note": defect.repair_note},
        now=now,
        buttons=[
            [
                button("defect.button.accept", f"df:accept:{defect.id}"),
                button("defect.button.reject", f"df:reject:{defect.id}"),
            ]
        ],
        attachment=photo_attachment(photo_file_ids[0]) if photo_file_ids else None,
        dedupe_prefix=f"defect:{defect.id}:verify:{defect.rejections}",
    )
    await uow.commit()
    return defect


async def verify_repair(
    uow: UnitOfWork, technician: User, defect_id: int, *, accept: bool, reason: str = ""
) -> Defect:
    """Accept closes the defect; reject reopens it with the reason, and the vendor is told."""
    session, now = uow.session, uow.clock.now()
    defect = await defect_for_verification(session, technician, defect_id, lock=True)
    if accept:
        defect.status, defect.closed_at = "closed", now
        record_event(
            session,
            subject_type="defect",
            subject_id=defect.id,
            action="verified",
            actor_id=technician.id,
            at=now,
            before={"status": "repaired"},
            after={"status": "closed"},
        )
        await notify_roles(
            session,
            [roles.EQUIPMENT_MANAGER],
            "defect.closed",
            _defect_params(defect, defect.asset),
            now=now,
            dedupe_prefix=f"defect:{defect.id}:closed",
        )
    else:
        reason = reason.strip()
        if not reason:
            raise InvalidInput("defect.empty_reason")
        defect.status, defect.rejections = "open", defect.rejections + 1
        record_event(
            session,
            subject_type="defect",
            subject_id=defect.id,
            action="rejected",
            actor_id=technician.id,
            at=now,
            before={"status": "repaired"},
            after={"status": "open", "reason": reason, "rejections": defect.rejections},
        )
        params = {**_defect_params(defect, defect.asset), "reason": reason}
        await notify_users(
            session,
            await vendor_staff(session, defect.vendor_id),
            "defect.rejected",
            params,
            now=now,
            buttons=[[button("defect.button.repaired", f"df:fix:{defect.id}")]],
            dedupe_prefix=f"defect:{defect.id}:rejected:{defect.rejections}",
        )
        await notify_roles(
            session,
            [roles.EQUIPMENT_MANAGER],
            "defect.rejected",
            params,
            now=now,
            dedupe_prefix=f"defect:{defect.id}:rejected-manager:{defect.rejections}",
        )
    await uow.commit()
    return defect


async def defect_for_repair(
    session: AsyncSession, vendor_user: User, defect_id: int, *, lock: bool = False
) -> Defect:
    """The defect, if `vendor_user` may mark it repaired now: asked before the dialogue starts,
    and again (locking the row) when the repair is recorded."""
    defect = await _load_defect(session, defect_id, lock=lock)
    _check_vendor(vendor_user, defect)
    if defect.status not in ("open", "acknowledged"):
        raise WrongState("defect.not_open", number=defect.number)
    return defect


async def defect_for_verification(
    session: AsyncSession, technician: User, defect_id: int, *, lock: bool = False
) -> Defect:
    """The defect, if `technician` may accept or reject its repair now (before the dialogue,
    and again, locking the row, when the verdict is recorded)."""
    roles.require_role(technician.role_names, TECHNICIANS)
    defect = await _load_defect(session, defect_id, lock=lock)
    if defect.status != "repaired":
        raise WrongState("defect.not_repaired", number=defect.number)
    return defect


async def defect_for_viewer(session: AsyncSession, viewer: User, number: str) -> Defect:
    """The defect, if `viewer` may see it: equipment staff any, a vendor's staff their own."""
    defect = await session.scalar(select(Defect).where(Defect.number == number.strip().upper()))
    own_vendor_only = viewer.role_names <= {roles.VENDOR}
    if defect is None or (own_vendor_only and viewer.vendor_id != defect.vendor_id):
        raise NotFound("defect.not_found")
    await session.refresh(defect, ["asset"])
    return defect


# --- missed patrols --------------------------------------------------------------------------


async def remind_unpatrolled(session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo) -> int:
    """At the configured hour: technicians hear which assets are still unpatrolled today."""
    day = local_day(now, timezone)
    missing = await assets_to_patrol(session, day)
    if not missing:
        return 0
    queued = await notify_roles(
        session,
        [roles.TECHNICIAN],
        "patrol.reminder",
        {"count": len(missing), "assets": ", ".join(a.code for a in missing)},
        now=now,
        dedupe_prefix=f"patrol:reminder:{day.isoformat()}",
    )
    return len(queued)


async def report_missed_patrols(
    session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo
) -> int:
    """Next morning: the equipment manager gets the list of what was not patrolled yesterday."""
    yesterday = local_day(now, timezone) - dt.timedelta(days=1)
    missing = await assets_to_patrol(session, yesterday)
    if not missing:
        return 0
    queued = await notify_roles(
        session,
        [roles.EQUIPMENT_MANAGER],
        "patrol.missed",
        {
            "date": yesterday.isoformat(),
            "count": len(missing),
            "assets": "\n".join(f"{a.code} {a.name} ({a.location or '-'})" for a in missing),
        },
        now=now,
        dedupe_prefix=f"patrol:missed:{yesterday.isoformat()}",
    )
    return len(queued)


# --- periodic inspections --------------------------------------------------------------------


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


async def schedule_inspections(
    session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo, every_months: dict[str, int]
) -> int:
    """Open this period's inspections (one per asset of each system whose interval falls due
    this month), each due at the end of the month, for the equipment supervisor."""
    today = local_day(now, timezone)
    period = f"{today.year:04d}-{today.month:02d}"
    first_of_next = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    due = dt.datetime.combine(first_of_next, dt.time(), tzinfo=timezone).astimezone(dt.UTC)
    created = 0
    for system, months in sorted(every_months.items()):
        if months <= 0 or _month_index(today) % months:
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
                subject_type="inspection",
                subject_id=inspection.id,
                subject_label=f"{asset.code} {period}",
                kind="inspection",
                responsible_role=roles.EQUIPMENT_SUPERVISOR,
                opened_at=now,
                due_at=due,
            )
            record_event(
                session,
                subject_type="inspection",
                subject_id=inspection.id,
                action="scheduled",
                at=now,
                after={"asset": asset.code, "period": period},
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
                buttons=[[button("inspection.button.done", f"in:done:{inspection.id}")]],
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
        session, subject_type="inspection", subject_id=inspection.id, kind="inspection", now=now
    )
    record_event(
        session,
        subject_type="inspection",
        subject_id=inspection.id,
        action="done",
        actor_id=supervisor.id,
        at=now,
        after={"asset": inspection.asset.code},
    )
    await uow.commit()
    return inspection
