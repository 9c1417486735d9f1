"""P3, equipment patrols (seed part 3): the technicians' daily check-ins and missed patrols.

Technicians (設備工) patrol every asset daily and record each patrol. Anything abnormal opens a
defect (procedures.equipment.defects) that goes at once to the maintenance vendor's staff and the
equipment manager.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.equipment.defects import (
    MAX_NOTE,
    Severity,
    check_severity,
    open_defect,
    repair_terms,
)
from procedures.equipment.policy import EquipmentPolicy
from procedures.equipment.queries import assets_to_patrol, checklist_for, findings
from procedures.equipment.rules import TECHNICIANS
from procedures.kernel import roles
from procedures.kernel.calendar import local_day
from procedures.kernel.errors import InvalidInput, NotFound
from procedures.kernel.outbox import as_list, as_text, notify_roles
from procedures.kernel.photos import add_photos
from procedures.kernel.text_input import is_chinese, number_and_unit, optional_text, same_unit
from procedures.kernel.timeline import SUBJECT_TYPES, record_change
from procedures.kernel.unit_of_work import UnitOfWork
from storage.models import (
    ChecklistItem,
    Defect,
    EquipmentAsset,
    Patrol,
    PatrolCheck,
    User,
)

SUBJECT = SUBJECT_TYPES[Patrol]

# --- what to patrol --------------------------------------------------------------------------


# patrol_checks.reading is Numeric(12, 3): under 10^9, kept to the thousandth
READING_PLACES = Decimal("0.001")
READING_LIMIT = Decimal("999999999.999")


def check_reading(item: ChecklistItem, text: str) -> tuple[Decimal, bool]:
    """The reading as a number the column holds (rounded to the thousandth; full-width digits, a
    decimal comma and the item's own unit after the number are read: `15mm`, `31.5 ℃`), and
    whether it lies in the item's normal range. Another unit is refused, naming the item's."""
    unit = item.unit or ""
    typed, typed_unit = number_and_unit(text)
    if typed_unit and not same_unit(typed_unit, unit):
        raise InvalidInput("patrol.wrong_unit", unit=unit or "—")
    try:
        value = Decimal(typed)
    except InvalidOperation:
        raise InvalidInput("patrol.bad_reading", unit=unit) from None
    if not value.is_finite():
        raise InvalidInput("patrol.bad_reading", unit=unit)
    if value.adjusted() >= 9:  # before rounding, which a huge exponent would overflow
        raise InvalidInput("patrol.reading_out_of_range", limit=str(READING_LIMIT), unit=unit)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if exponent < -3:
        value = value.quantize(READING_PLACES)
    elif exponent > 0:  # 1e2 reads 100, not 1E+2
        value = value.quantize(Decimal(1))
    if abs(value) > READING_LIMIT:
        raise InvalidInput("patrol.reading_out_of_range", limit=str(READING_LIMIT), unit=unit)
    if value.is_zero():
        value = abs(value)  # -0 reads 0
    in_range = (item.low is None or value >= item.low) and (item.high is None or value <= item.high)
    return value, in_range


def check_note(text: str | None) -> str | None:
    """The patrol's note, cleaned; none if nothing visible was typed."""
    return optional_text(text, limit=MAX_NOTE)


@dataclass
class PatrolDraft:
    """What the check-in dialogue has gathered: one answer per checklist item, then the rest."""

    asset_id: int
    answers: list[dict[str, Any]] = field(default_factory=list)  # {item_id, ok, reading}
    note: str | None = None
    photo_file_ids: list[str] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    # asked only when something is abnormal: how soon the defect must be repaired
    severity: str = Severity.NORMAL

    @property
    def abnormal(self) -> bool:
        return any(not answer["ok"] for answer in self.answers)

    def checks(self) -> list[dict[str, Any]]:
        """The answers as the columns of a patrol's or an inspection's check rows."""
        return [
            {
                "item_id": a["item_id"],
                "ok": a["ok"],
                "reading": Decimal(a["reading"]) if a.get("reading") is not None else None,
            }
            for a in self.answers
        ]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PatrolDraft:
        return cls(**data)


async def checked_draft(
    session: AsyncSession, asset: EquipmentAsset, draft: PatrolDraft
) -> tuple[dict[int, ChecklistItem], str | None]:
    """The checklist items of the asset's system, once the draft answers each of them and brings
    a photo of anything abnormal, and the cleaned note: a patrol's and an inspection's check."""
    items = {item.id: item for item in await checklist_for(session, asset.system)}
    if {a["item_id"] for a in draft.answers} != set(items):
        raise InvalidInput("patrol.incomplete")
    if draft.abnormal and not draft.photo_file_ids:
        raise InvalidInput("patrol.photo_required")
    return items, check_note(draft.note)


def describe_findings(items: dict[int, ChecklistItem], draft: PatrolDraft, note: str | None) -> str:
    """The defect's description: each abnormal item (with its reading), then the note.

    The labels come from master data, so the description is in their language: Chinese labels
    get Chinese punctuation (`平層準確（誤差）：15mm；…——備註`), others English
    (`Level 15 mm; … — note`).
    Kept on the defect for search and the ledgers; notices and the record say it in the
    reader's words (`draft_findings`).
    """
    findings = []
    for answer in draft.answers:
        if not answer["ok"]:
            item = items[answer["item_id"]]
            chinese = is_chinese(item.label)
            reading = answer.get("reading")
            if reading is None:
                findings.append(item.label)
            elif chinese:
                findings.append(f"{item.label}：{reading}{item.unit or ''}")
            else:
                findings.append(f"{item.label} {reading} {item.unit or ''}".rstrip())
    text = ("；" if is_chinese("".join(findings)) else "; ").join(findings)
    if note:
        text += "——" if is_chinese(text) else " — "
        text += note
    return text


def draft_findings(items: dict[int, ChecklistItem], draft: PatrolDraft, note: str | None) -> Any:
    """The draft's findings in the reader's words (`queries.findings`), for the notices."""
    checks = ((c["item_id"], c["ok"], c["reading"]) for c in draft.checks())
    return findings(items, checks, note)


@dataclass(frozen=True)
class PatrolOutcome:
    patrol: Patrol
    defect: Defect | None
    asset: EquipmentAsset
    # assets nobody has patrolled yet on the patrol's day, this one excluded
    remaining: int
    # when the defect's repair is due, if one was opened
    repair_due_at: dt.datetime | None = None


async def record_patrol(
    uow: UnitOfWork,
    technician: User,
    draft: PatrolDraft,
    timezone: ZoneInfo,
) -> PatrolOutcome:
    """Store the check-in; anything abnormal opens a defect the vendor and manager hear of,
    due for repair within the contract's repair hours, else those of the severity given."""
    session, now = uow.session, uow.clock.now()
    repair_hours = uow.policy(EquipmentPolicy).repair_hours
    roles.require_role(technician.role_names, TECHNICIANS)
    asset = await session.get(EquipmentAsset, draft.asset_id)
    if asset is None:
        raise NotFound("patrol.unknown_asset", code=str(draft.asset_id))
    await session.refresh(asset, ["vendor"])
    items, note = await checked_draft(session, asset, draft)
    severity = check_severity(draft.severity)

    patrol = Patrol(
        asset_id=asset.id,
        technician_id=technician.id,
        patrol_date=local_day(now, timezone),
        recorded_at=now,
        abnormal=draft.abnormal,
        note=note,
        latitude=draft.latitude,
        longitude=draft.longitude,
        checks=[PatrolCheck(**check) for check in draft.checks()],
    )
    session.add(patrol)
    await session.flush()
    add_photos(session, SUBJECT, patrol.id, "patrol", draft.photo_file_ids, technician, now)
    record_change(
        session,
        patrol,
        "recorded",
        now,
        actor=technician,
        after={
            "asset": asset.code,
            "abnormal": draft.abnormal,
            "photos": len(draft.photo_file_ids),
            "location": [draft.latitude, draft.longitude] if draft.latitude is not None else None,
        },
    )
    defect = None
    if draft.abnormal:
        defect = await open_defect(
            session,
            asset,
            patrol,
            technician,
            describe_findings(items, draft, note),
            draft.photo_file_ids,
            now,
            findings=draft_findings(items, draft, note),
            severity=severity,
            repair_hours=repair_hours,
            day=patrol.patrol_date,
        )
    due = (
        (await repair_terms(session, asset, severity, repair_hours, patrol.patrol_date)).due(now)
        if defect is not None
        else None
    )
    remaining = len(await assets_to_patrol(session, patrol.patrol_date))
    await uow.commit()
    return PatrolOutcome(patrol, defect, asset, remaining, due)


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
        {"count": len(missing), "assets": [a.code for a in missing]},
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
            "assets": as_list(
                [
                    as_text("patrol.asset_at", code=a.code, name=a.name, location=a.location or "—")
                    for a in missing
                ],
                "lines",
            ),
        },
        now=now,
        dedupe_prefix=f"patrol:missed:{yesterday.isoformat()}",
    )
    return len(queued)
