"""P3, the half-yearly comprehensive inspection of the vendors (seed part 3: 半年一次組織有關人員
對設備供應、安裝商的工作進行綜合檢查考核,匯總上報貴方主管部門), and the equipment manager's
escalations to the client's competent department (必要時向貴方主管部門作出反映).

The equipment manager opens the assessment of a half-year (or the twice-yearly job opens the
half that just ended and reminds the manager); the people concerned (equipment engineers,
supervisors, technicians) add findings per vendor; the manager signs it, and it goes with the
six monthly score sheets (the `vendor_assessment` workbook) to the client's competent department
(client_authority), a copy to the management office.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel import roles
from procedures.kernel.calendar import half_year_before
from procedures.kernel.deadlines import meet_deadline, open_deadline
from procedures.kernel.errors import InvalidInput, NotFound, WrongState
from procedures.kernel.outbox import (
    as_deadline,
    button,
    notify_roles,
    notify_users,
    users_with_roles,
)
from procedures.kernel.text_input import MAX_TEXT, check_text, clean_text
from procedures.kernel.timeline import SUBJECT_TYPES, record_change, times_recorded
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.vendors import rules
from procedures.vendors.actions import AddAssessmentFinding, SignAssessment
from procedures.vendors.queries import vendors
from procedures.vendors.rules import (
    ASSESSMENT_LIFECYCLE,
    CONCERNED,
    FINDERS,
    MANAGERS,
    REPORTED_TO,
    AssessmentStatus,
    VendorDeadline,
)
from storage.models import Assessment, AssessmentFinding, Rectification, User, Vendor

SUBJECT = SUBJECT_TYPES[Assessment]
HALF = re.compile(r"(\d{4})-?H([12])")


def check_half(text: str) -> tuple[int, int]:
    """ "2026-H2" or "2026h2" -> (2026, 2)."""
    match = HALF.fullmatch(clean_text(text).strip().upper())
    if match is None:
        raise InvalidInput("assessment.bad_half", half=clean_text(text).strip())
    return int(match[1]), int(match[2])


def check_finding(text: str) -> str:
    return check_text(text, empty="assessment.empty_finding", limit=MAX_TEXT)


def current_half(now: dt.datetime, timezone: ZoneInfo) -> tuple[int, int]:
    local = now.astimezone(timezone)
    return local.year, 1 if local.month <= 6 else 2


def _half_start(year: int, half: int, timezone: ZoneInfo) -> dt.datetime:
    return dt.datetime(year, 1 if half == 1 else 7, 1, tzinfo=timezone)


def finding_buttons(assessment: Assessment, found: list[Vendor]) -> list[list[dict[str, object]]]:
    return [
        [
            button(
                "assessment.button.finding",
                AddAssessmentFinding(assessment_id=assessment.id, vendor_id=v.id),
                vendor=v.code,
            )
        ]
        for v in found
    ]


def manager_buttons(assessment: Assessment, found: list[Vendor]) -> list[list[dict[str, object]]]:
    """What the manager can do with an open assessment: add findings, sign and send."""
    if assessment.status != AssessmentStatus.OPEN:
        return []
    sign = button("assessment.button.sign", SignAssessment(assessment_id=assessment.id))
    return [*finding_buttons(assessment, found), [sign]]


def signing_due(assessment: Assessment) -> dict[str, str]:
    """By when the manager signs and reports the half-year's assessment (its deadline's due
    time), as its texts name it."""
    return as_deadline(rules.ASSESSMENT.due(assessment.opened_at))


async def _open(
    session: AsyncSession, year: int, half: int, now: dt.datetime, opener: User | None
) -> tuple[Assessment, bool]:
    existing = await session.scalar(
        select(Assessment).where(Assessment.year == year, Assessment.half == half)
    )
    if existing is not None:
        return existing, False
    assessment = Assessment(
        year=year,
        half=half,
        status=AssessmentStatus.OPEN,
        opened_by_id=opener.id if opener else None,
        opened_at=now,
    )
    session.add(assessment)
    await session.flush()
    label = f"{year}-H{half}"
    open_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=assessment.id,
        subject_label=label,
        rule=rules.ASSESSMENT,
        opened_at=now,
    )
    record_change(session, assessment, "opened", now, actor=opener, after={"half": label})
    found = await vendors(session)
    await notify_roles(
        session,
        CONCERNED,
        "assessment.opened",
        {"year": year, "half": half, "due_at": signing_due(assessment)},
        now=now,
        buttons=finding_buttons(assessment, found),
        dedupe_prefix=f"assessment:{assessment.id}:opened",
    )
    return assessment, True


@dataclass(frozen=True)
class AssessmentView:
    assessment: Assessment
    created: bool
    vendors: list[Vendor]
    findings: list[AssessmentFinding]


async def open_assessment(
    uow: UnitOfWork, manager: User, year: int, half: int, timezone: ZoneInfo
) -> AssessmentView:
    """The manager opens the half-year's assessment (or finds it open already); a half-year that
    has not begun cannot be assessed."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(manager.role_names, MANAGERS)
    if not 2000 <= year < 3000 or _half_start(year, half, timezone) > now:
        raise InvalidInput("assessment.future_half", year=year, half=half)
    assessment, created = await _open(session, year, half, now, manager)
    findings = await session.scalars(
        select(AssessmentFinding)
        .where(AssessmentFinding.assessment_id == assessment.id)
        .order_by(AssessmentFinding.id)
    )
    view = AssessmentView(assessment, created, await vendors(session), list(findings))
    await uow.commit()
    return view


async def open_half_year_assessment(
    session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo
) -> int:
    """Twice a year: open the assessment of the half that ended and remind the manager to
    organise it; the caller commits. Returns the messages queued."""
    year, half = half_year_before(now, timezone)
    assessment, _ = await _open(session, year, half, now, None)
    if assessment.status != AssessmentStatus.OPEN:
        return 0
    queued = await notify_roles(
        session,
        [roles.EQUIPMENT_MANAGER],
        "assessment.organise",
        {"year": year, "half": half, "due_at": signing_due(assessment)},
        now=now,
        buttons=manager_buttons(assessment, await vendors(session)),
        dedupe_prefix=f"assessment:{assessment.id}:organise",
    )
    return len(queued)


async def _load(session: AsyncSession, assessment_id: int, *, lock: bool) -> Assessment:
    query = select(Assessment).where(Assessment.id == assessment_id)
    assessment = await session.scalar(query.with_for_update() if lock else query)
    if assessment is None:
        raise NotFound("assessment.not_found")
    return assessment


def _expect_open(assessment: Assessment) -> None:
    ASSESSMENT_LIFECYCLE.require(assessment, AssessmentStatus.OPEN)


async def assessment_for_finding(
    session: AsyncSession, user: User, assessment_id: int, vendor_id: int, *, lock: bool = False
) -> tuple[Assessment, Vendor]:
    """The open assessment and the vendor, if `user` may add a finding now (asked before the
    dialogue and again, locking the row, when the finding is stored)."""
    roles.require_role(user.role_names, FINDERS)
    assessment = await _load(session, assessment_id, lock=lock)
    _expect_open(assessment)
    vendor = await session.get(Vendor, vendor_id)
    if vendor is None:
        raise NotFound("rectification.unknown_vendor")
    return assessment, vendor


async def add_finding(
    uow: UnitOfWork, user: User, assessment_id: int, vendor_id: int, text: str
) -> AssessmentFinding:
    session, now = uow.session, uow.clock.now()
    assessment, vendor = await assessment_for_finding(
        session, user, assessment_id, vendor_id, lock=True
    )
    finding = AssessmentFinding(
        assessment_id=assessment.id,
        vendor_id=vendor.id,
        text=check_finding(text),
        added_by_id=user.id,
        added_at=now,
    )
    session.add(finding)
    await session.flush()
    await session.refresh(finding, ["vendor"])
    record_change(
        session,
        assessment,
        "finding_added",
        now,
        actor=user,
        after={"vendor": vendor.code, "finding": finding.text},
    )
    await uow.commit()
    return finding


@dataclass(frozen=True)
class SignedAssessment:
    assessment: Assessment
    findings: int
    authorities: int  # client_authority users it was sent to


async def sign_assessment(uow: UnitOfWork, manager: User, assessment_id: int) -> SignedAssessment:
    """The manager signs the assessment; it goes, with the monthly sheets, to the client's
    competent department and the management office. Findings are required: the seed asks for
    an inspection of the vendors' work, not only the average of their monthly scores."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(manager.role_names, MANAGERS)
    assessment = await _load(session, assessment_id, lock=True)
    _expect_open(assessment)
    findings = await session.scalar(
        select(func.count())
        .select_from(AssessmentFinding)
        .where(AssessmentFinding.assessment_id == assessment.id)
    )
    if not findings:
        raise WrongState("assessment.no_findings", year=assessment.year, half=assessment.half)
    ASSESSMENT_LIFECYCLE.move(assessment, AssessmentStatus.SIGNED)
    assessment.signed_by_id, assessment.signed_at = manager.id, now
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=assessment.id,
        kind=VendorDeadline.ASSESSMENT,
        now=now,
        by=manager,
    )
    record_change(
        session,
        assessment,
        "signed",
        now,
        actor=manager,
        before={"status": AssessmentStatus.OPEN},
        after={"status": AssessmentStatus.SIGNED, "findings": findings},
    )
    recipients = await users_with_roles(session, [*REPORTED_TO, roles.EQUIPMENT_MANAGER])
    await notify_users(
        session,
        recipients,
        "assessment.report",
        {
            "year": assessment.year,
            "half": assessment.half,
            "findings": findings,
            "manager": manager.full_name,
        },
        now=now,
        attachment={
            "kind": "vendor_assessment",
            "params": {"year": assessment.year, "half": assessment.half},
        },
        dedupe_prefix=f"assessment:{assessment.id}:report",
    )
    authorities = sum(roles.CLIENT_AUTHORITY in user.role_names for user in recipients)
    await uow.commit()
    return SignedAssessment(assessment, findings, authorities)


# --- escalation to the client's competent department ------------------------------------------


@dataclass(frozen=True)
class Escalation:
    vendor: Vendor
    subject: str  # the vendor's code or the rectification's number
    authorities: int


async def escalate(uow: UnitOfWork, manager: User, target: str, text: str) -> Escalation:
    """必要時向貴方主管部門作出反映: the manager reports a vendor matter, about a vendor (its
    code) or a rectification (its RN-… number), to the client's competent department; it is
    recorded on that vendor's or rectification's timeline."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(manager.role_names, MANAGERS)
    wanted = clean_text(target).strip().upper()
    text = check_text(text, empty="escalation.empty", limit=MAX_TEXT)
    rectification = await session.scalar(
        select(Rectification).where(Rectification.number == wanted)
    )
    record: Rectification | Vendor
    if rectification is not None:
        await session.refresh(rectification, ["vendor"])
        record, vendor, subject = rectification, rectification.vendor, wanted
    else:
        found = await session.scalar(select(Vendor).where(func.upper(Vendor.code) == wanted))
        if found is None:
            raise NotFound("escalation.unknown_target", target=clean_text(target).strip())
        record, vendor, subject = found, found, found.code
    record_change(session, record, "escalated", now, actor=manager, after={"text": text})
    authorities = await users_with_roles(session, [roles.CLIENT_AUTHORITY])
    # each escalation is one message: keyed by its round on the record's timeline
    round_ = await times_recorded(session, record, "escalated")
    await notify_users(
        session,
        authorities,
        "escalation.notice",
        {"vendor": vendor.name, "subject": subject, "text": text, "manager": manager.full_name},
        now=now,
        dedupe_prefix=f"escalation:{SUBJECT_TYPES[type(record)]}:{record.id}:{round_}",
    )
    await uow.commit()
    return Escalation(vendor, subject, len(authorities))
