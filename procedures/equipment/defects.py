"""P3, defects (seed part 3): a fault found on patrol, the vendor's repair and its verification.

The fault goes at once to the maintenance vendor's staff and the equipment manager; after the
repair the technician who found it verifies it. Response and repair times are kept for the
vendor's monthly score. The repair has a deadline (seed: the technician chases the repair,
督促維修保養) that runs until a repair is accepted: the repair hours of the vendor's contract in
force where it gives them (設備維修保養合同, 設備采購合同), else the hours of the severity the
technician gives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.equipment import rules
from procedures.equipment.actions import (
    AcceptRepair,
    AcknowledgeDefect,
    BeginRepair,
    RectifyDefect,
    RejectRepair,
)
from procedures.equipment.queries import contract_promising, contracts_in_force, system_staff
from procedures.equipment.rules import (
    DEFECT_LIFECYCLE,
    DEFECT_OVERSEERS,
    REPAIR_OVERSEERS,
    TECHNICIANS,
    DefectStatus,
    EquipmentDeadline,
)
from procedures.kernel import roles
from procedures.kernel.deadlines import meet_deadline, open_deadline
from procedures.kernel.errors import InvalidInput, NotAllowed, NotFound, WrongState
from procedures.kernel.numbering import next_number
from procedures.kernel.outbox import (
    as_deadline,
    as_text,
    as_time,
    button,
    notify_roles,
    notify_users,
    settle_notice,
    users_with_roles,
)
from procedures.kernel.photos import add_photos, photo_attachment
from procedures.kernel.separation import last_actor, require_other_person
from procedures.kernel.text_input import check_text, clean_text
from procedures.kernel.timeline import SUBJECT_TYPES, record_change
from procedures.kernel.unit_of_work import UnitOfWork
from storage.models import (
    Defect,
    EquipmentAsset,
    Patrol,
    User,
)

SUBJECT = SUBJECT_TYPES[Defect]
# one person, one seat: the vendor's staff record a repair, the technician verifies it
REPAIR_SEATS = frozenset({"repaired", "repair_verified"})


class Severity(StrEnum):
    """How soon the technician who found the fault needs it repaired."""

    URGENT = "urgent"
    NORMAL = "normal"
    LOW = "low"


SEVERITIES = tuple(Severity)


def check_severity(severity: str) -> Severity:
    if severity not in SEVERITIES:
        raise InvalidInput("defect.bad_severity")
    return Severity(severity)


@dataclass(frozen=True)
class RepairTerms:
    """How long the vendor has to repair a defect, and where that comes from: the contract in
    force that promises repair hours for the asset, else the policy's hours by severity."""

    hours: int
    contract: str | None

    def due(self, reported_at: dt.datetime) -> dt.datetime:
        return reported_at + dt.timedelta(hours=self.hours)


async def contract_repair_terms(
    session: AsyncSession, asset: EquipmentAsset, day: dt.date
) -> RepairTerms | None:
    """The repair hours the asset's vendor promised by a contract in force on local `day` (the
    asset's own before one for all its assets, maintenance before purchase), if any."""
    if asset.vendor_id is None:
        return None
    contracts = await contracts_in_force(session, asset.vendor_id, day, day)
    contract = contract_promising(contracts, asset.id, day, "repair_hours")
    if contract is None or contract.repair_hours is None:
        return None
    return RepairTerms(contract.repair_hours, contract.number)


async def repair_terms(
    session: AsyncSession,
    asset: EquipmentAsset,
    severity: str,
    repair_hours: Mapping[str, int],
    day: dt.date,
) -> RepairTerms:
    """The repair window of a defect on `asset` reported on local `day`: the vendor's contract
    where it gives repair hours, whatever the severity; otherwise the policy's hours for the
    severity."""
    return await contract_repair_terms(session, asset, day) or RepairTerms(
        repair_hours[severity], None
    )


MAX_NOTE = 1000


def check_repair_note(text: str) -> str:
    """What the vendor says was repaired, cleaned; nothing visible is no note."""
    return check_text(text, empty="defect.empty_note", limit=MAX_NOTE)


def check_reason(text: str) -> str:
    """Why the repair is rejected, cleaned; nothing visible is no reason."""
    return check_text(text, empty="defect.empty_reason", limit=MAX_NOTE)


def _defect_params(defect: Defect, asset: EquipmentAsset) -> dict[str, Any]:
    return {
        "number": defect.number,
        "asset": f"{asset.code} {asset.name}",
        "location": asset.location or "",
        "description": defect.description,
    }


async def open_defect(
    session: AsyncSession,
    asset: EquipmentAsset,
    patrol: Patrol | None,
    technician: User,
    description: str,
    photo_file_ids: list[str],
    now: dt.datetime,
    *,
    repair_hours: Mapping[str, int],
    day: dt.date,
    severity: Severity = Severity.NORMAL,
    inspection_id: int | None = None,
    findings: Any = None,
) -> Defect:
    """A fault found on patrol (or, with `inspection_id`, on a periodic inspection) on local
    `day`, with its repair deadline (`repair_terms`: the contract's repair hours, else by
    severity): the vendor's staff, the equipment manager and the staff of the asset's system are
    told, the notice naming the contract whose hours it took, and `findings` (in the reader's
    words: `queries.findings`) rather than the stored description.

    The deadline is met only when a repair is accepted: a rejected repair keeps the same one,
    as the seed chases the repair until it is done."""
    defect = Defect(
        number=await next_number(session, "DF", now.year),
        status=DefectStatus.OPEN,
        asset_id=asset.id,
        vendor_id=asset.vendor_id,
        patrol_id=patrol.id if patrol else None,
        inspection_id=inspection_id,
        description=description,
        reported_by_id=technician.id,
        reported_at=now,
        rejections=0,
        severity=severity,
    )
    session.add(defect)
    await session.flush()
    terms = await repair_terms(session, asset, severity, repair_hours, day)
    due_at = terms.due(now)
    open_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=defect.id,
        subject_label=f"{defect.number} {asset.code}",
        # narrowed to the defect's own vendor, with its reporter and the manager: see
        # procedures.equipment.rules
        rule=rules.REPAIR,
        opened_at=now,
        due_at=due_at,
    )
    add_photos(session, SUBJECT, defect.id, "report", photo_file_ids, technician, now)
    record_change(
        session,
        defect,
        "reported",
        now,
        actor=technician,
        after={
            "asset": asset.code,
            "description": description,
            "patrol_id": patrol.id if patrol else None,
            "inspection_id": inspection_id,
            "severity": severity,
            "repair_due": due_at.isoformat(),
            "repair_hours": terms.hours,
            "contract": terms.contract,
        },
    )
    params = {
        **_defect_params(defect, asset),
        "description": findings if findings is not None else description,
        "severity": as_text(f"defect.severity.{severity}"),
        "due_at": as_deadline(due_at),
        "window": as_text("defect.window.contract", contract=terms.contract, hours=terms.hours)
        if terms.contract
        else as_text("defect.window.severity", hours=terms.hours),
    }
    attachment = photo_attachment(photo_file_ids[0]) if photo_file_ids else None
    await notify_users(
        session,
        await users_with_roles(session, [roles.VENDOR], vendor_ids=[asset.vendor_id]),
        "defect.reported",
        params,
        now=now,
        buttons=[
            [
                button("defect.button.acknowledge", AcknowledgeDefect(defect_id=defect.id)),
                button("defect.button.repaired", BeginRepair(defect_id=defect.id)),
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
        buttons=[[button("defect.button.rectify", RectifyDefect(defect_id=defect.id))]]
        if asset.vendor_id is not None
        else None,
        attachment=attachment,
        dedupe_prefix=f"defect:{defect.id}:manager",
    )
    # the system's own staff too (the manager, told above, is not told twice)
    staff = await system_staff(session, asset.system, fallback=False)
    await notify_users(
        session,
        [user for user in staff if roles.EQUIPMENT_MANAGER not in user.role_names],
        "defect.reported_staff",
        {**params, "vendor": asset.vendor.name if asset.vendor else "-"},
        now=now,
        attachment=attachment,
        dedupe_prefix=f"defect:{defect.id}:staff",
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
    if defect.acknowledged_at is not None or defect.status != DefectStatus.OPEN:
        raise WrongState("defect.already_acknowledged", number=defect.number)
    DEFECT_LIFECYCLE.move(defect, DefectStatus.ACKNOWLEDGED)
    defect.acknowledged_at = now
    record_change(
        session,
        defect,
        "acknowledged",
        now,
        actor=vendor_user,
        before={"status": DefectStatus.OPEN},
        after={"status": DefectStatus.ACKNOWLEDGED},
    )
    # every copy of the vendor's notice says who acknowledged it; 已維修 stays
    await settle_notice(
        session,
        [f"defect:{defect.id}:vendor"],
        "notice.done",
        {
            "by": vendor_user.full_name,
            "at": as_time(now),
            "step": as_text("notice.step.acknowledge"),
        },
        now=now,
        buttons=[[button("defect.button.repaired", BeginRepair(defect_id=defect.id))]],
        leave_pressed=False,
    )
    await uow.commit()
    return defect


async def record_repair(
    uow: UnitOfWork, vendor_user: User, defect_id: int, note: str, photo_file_ids: list[str]
) -> Defect:
    """The vendor marks the fault repaired; the technician who found it is asked to verify."""
    session, now = uow.session, uow.clock.now()
    defect = await defect_for_repair(session, vendor_user, defect_id, lock=True)
    note = check_repair_note(note)
    before = defect.status
    defect.acknowledged_at = defect.acknowledged_at or now
    DEFECT_LIFECYCLE.move(defect, DefectStatus.REPAIRED)
    defect.repaired_at, defect.repair_note = now, note
    add_photos(session, SUBJECT, defect.id, "repair", photo_file_ids, vendor_user, now)
    record_change(
        session,
        defect,
        "repaired",
        now,
        actor=vendor_user,
        before={"status": before},
        after={
            "status": DefectStatus.REPAIRED,
            "note": defect.repair_note,
            "photos": len(photo_file_ids),
        },
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
                button("defect.button.accept", AcceptRepair(defect_id=defect.id)),
                button("defect.button.reject", RejectRepair(defect_id=defect.id)),
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
        DEFECT_LIFECYCLE.move(defect, DefectStatus.CLOSED)
        defect.closed_at = now
        record_change(
            session,
            defect,
            "verified",
            now,
            actor=technician,
            before={"status": DefectStatus.REPAIRED},
            after={"status": DefectStatus.CLOSED},
        )
        await meet_deadline(
            session,
            subject_type=SUBJECT,
            subject_id=defect.id,
            kind=EquipmentDeadline.REPAIR,
            now=now,
        )
        await notify_roles(
            session,
            [roles.EQUIPMENT_MANAGER],
            "defect.closed",
            _defect_params(defect, defect.asset),
            now=now,
            dedupe_prefix=f"defect:{defect.id}:closed",
        )
        # the vendor's staff did the repair: they hear it was accepted and the defect closed
        await notify_users(
            session,
            await users_with_roles(session, [roles.VENDOR], vendor_ids=[defect.vendor_id]),
            "defect.accepted",
            _defect_params(defect, defect.asset),
            now=now,
            dedupe_prefix=f"defect:{defect.id}:accepted",
        )
    else:
        reason = check_reason(reason)
        DEFECT_LIFECYCLE.move(defect, DefectStatus.OPEN)
        defect.rejections += 1
        record_change(
            session,
            defect,
            "rejected",
            now,
            actor=technician,
            before={"status": DefectStatus.REPAIRED},
            after={"status": DefectStatus.OPEN, "reason": reason, "rejections": defect.rejections},
        )
        params = {**_defect_params(defect, defect.asset), "reason": reason}
        await notify_users(
            session,
            await users_with_roles(session, [roles.VENDOR], vendor_ids=[defect.vendor_id]),
            "defect.rejected",
            params,
            now=now,
            buttons=[[button("defect.button.repaired", BeginRepair(defect_id=defect.id))]],
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
    if defect.status not in (DefectStatus.OPEN, DefectStatus.ACKNOWLEDGED):
        raise WrongState("defect.not_open", number=defect.number)
    return defect


async def defect_for_verification(
    session: AsyncSession, technician: User, defect_id: int, *, lock: bool = False
) -> Defect:
    """The defect, if `technician` may accept or reject its repair now (before the dialogue,
    and again, locking the row, when the verdict is recorded): the technician who reported it,
    or the equipment supervisor or manager, may."""
    roles.require_role(technician.role_names, TECHNICIANS | REPAIR_OVERSEERS)
    defect = await _load_defect(session, defect_id, lock=lock)
    if technician.id != defect.reported_by_id and not technician.role_names & REPAIR_OVERSEERS:
        raise NotAllowed("defect.not_your_report", number=defect.number)
    if defect.status != DefectStatus.REPAIRED:
        raise WrongState("defect.not_repaired", number=defect.number)
    # one person, one seat: whoever recorded the repair for the vendor does not verify it
    repaired_by = await last_actor(session, SUBJECT, defect.id, "repaired")
    require_other_person(
        defect.number, "repair_verified", technician.id, [("repaired", repaired_by)], REPAIR_SEATS
    )
    return defect


async def defect_for_viewer(session: AsyncSession, viewer: User, number: str) -> Defect:
    """The defect, if `viewer` may see it, else NotFound (a vendor learns nothing of others').

    A holder of a DEFECT_OVERSEERS role (technician, equipment engineer, supervisor or manager,
    management office, admin) sees every defect. A vendor's staff who hold none of those see
    only the defects of their own vendor, whatever other role (a customer's, say) they hold
    besides. Anyone else sees none."""
    wanted = clean_text(number).strip().upper()
    defect = await session.scalar(select(Defect).where(Defect.number == wanted))
    if defect is None or not may_see_defect(viewer, defect):
        raise NotFound("defect.not_found")
    await session.refresh(defect, ["asset"])
    return defect


def may_see_defect(viewer: User, defect: Defect) -> bool:
    """See `defect_for_viewer`."""
    if viewer.role_names & DEFECT_OVERSEERS:
        return True
    own_vendor = viewer.vendor_id is not None and viewer.vendor_id == defect.vendor_id
    return roles.VENDOR in viewer.role_names and own_vendor
