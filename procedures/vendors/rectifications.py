"""P3, the rectification ladder (seed part 3) for a vendor's nonconforming service.

A nonconforming service gets a verbal rectification request with a deadline. Not fixed by then:
a written notice (不合格項整改單, RN-YYYY-NNNNN) with a new deadline, followed up until it
conforms. Still not: the equipment engineer fills the subcontractor service quality evaluation
form (分承包方服務質量檢查評價表), the equipment manager reviews it and the management office
(管理處) approves or returns it.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel import roles
from procedures.kernel.deadlines import meet_deadline, open_deadline
from procedures.kernel.errors import InvalidInput, NotFound, WrongState
from procedures.kernel.numbering import next_number
from procedures.kernel.outbox import (
    as_deadline,
    button,
    notify_roles,
    notify_users,
    users_with_roles,
)
from procedures.kernel.photos import add_photos
from procedures.kernel.text_input import MAX_TEXT, check_text, clean_text
from procedures.kernel.timeline import SUBJECT_TYPES, record_change, times_recorded
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.vendors import rules
from procedures.vendors.actions import (
    ApproveEvaluation,
    BeginEvaluationForm,
    ConfirmConforming,
    ForwardEvaluation,
    IssueWrittenNotice,
    ReportRectified,
    ReturnEvaluation,
    SendEvaluationBack,
    StartEvaluation,
)
from procedures.vendors.rules import (
    ENGINEERS,
    FOLLOWERS,
    MANAGERS,
    OFFICE,
    RECTIFICATION_LIFECYCLE,
    RectificationStatus,
    VendorDeadline,
)
from storage.models import Defect, Rectification, User, Vendor

SUBJECT = SUBJECT_TYPES[Rectification]
WRITTEN_NOTICE_DAYS = 7


class RectificationRung(StrEnum):
    """The ladder's rungs, in the order they are climbed."""

    VERBAL = "verbal"
    WRITTEN = "written"
    EVALUATION = "evaluation"


RUNGS = tuple(RectificationRung)


def _label(rectification: Rectification) -> str:
    return rectification.number or f"#{rectification.id}"


def _params(rectification: Rectification) -> dict[str, Any]:
    return {
        "label": _label(rectification),
        "vendor": rectification.vendor.name,
        "description": rectification.description,
        "due_at": as_deadline(rectification.due_at),
    }


async def _load(
    session: AsyncSession, rectification_id: int, *, lock: bool = True
) -> Rectification:
    query = select(Rectification).where(Rectification.id == rectification_id)
    rectification = await session.scalar(query.with_for_update() if lock else query)
    if rectification is None:
        raise NotFound("rectification.not_found")
    await session.refresh(rectification, ["vendor"])
    return rectification


def _expect(
    rectification: Rectification,
    *statuses: RectificationStatus,
    rung: RectificationRung | None = None,
) -> None:
    RECTIFICATION_LIFECYCLE.require(rectification, *statuses)
    if rung is not None and rectification.rung != rung:
        raise RECTIFICATION_LIFECYCLE.refusal(rectification)


def _event(
    session: AsyncSession,
    rectification: Rectification,
    action: str,
    now: dt.datetime,
    *,
    actor: User,
    **after: Any,
) -> None:
    """Every rectification event also records the rung and status it left the record at."""
    record_change(
        session,
        rectification,
        action,
        now,
        actor=actor,
        after={"rung": rectification.rung, "status": rectification.status, **after},
    )


# --- what the manager, engineer and office type ----------------------------------------------


def check_description(text: str) -> str:
    """What must be corrected, cleaned; nothing visible is no description."""
    return check_text(text, empty="rectification.empty_description", limit=MAX_TEXT)


def check_follow_up(text: str) -> str:
    """A follow-up check's note, cleaned."""
    return check_text(text, empty="rectification.empty_note", limit=MAX_TEXT)


def check_findings(text: str) -> str:
    """The evaluation form's findings, cleaned."""
    return check_text(text, empty="rectification.empty_evaluation", limit=MAX_TEXT)


# --- the ladder ------------------------------------------------------------------------------


async def defect_for_rectification(session: AsyncSession, manager: User, defect_id: int) -> Defect:
    """The defect a rectification may be raised about by `manager`: asked before the dialogue
    starts, and again when the request is recorded. Its vendor is the one asked to rectify."""
    roles.require_role(manager.role_names, MANAGERS)
    defect = await session.get(Defect, defect_id)
    if defect is None:
        raise NotFound("defect.not_found")
    if defect.vendor_id is None:
        raise WrongState("rectification.defect_without_vendor", number=defect.number)
    return defect


async def raise_rectification(
    uow: UnitOfWork,
    manager: User,
    vendor_id: int,
    description: str,
    due_at: dt.datetime,
    defect_id: int | None = None,
) -> Rectification:
    """Rung 1: the verbal rectification request, recorded, the vendor's staff told."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(manager.role_names, MANAGERS)
    vendor = await session.get(Vendor, vendor_id)
    if vendor is None:
        raise NotFound("rectification.unknown_vendor")
    description = check_description(description)
    if due_at <= now:
        raise InvalidInput("rectification.due_in_past")
    defect = None
    if defect_id is not None:
        defect = await defect_for_rectification(session, manager, defect_id)
        if defect.vendor_id != vendor.id:
            raise InvalidInput("rectification.defect_of_other_vendor", number=defect.number)
    rectification = Rectification(
        vendor_id=vendor.id,
        defect_id=defect_id,
        description=description,
        rung=RectificationRung.VERBAL,
        status=RectificationStatus.OPEN,
        due_at=due_at,
        raised_by_id=manager.id,
        raised_at=now,
    )
    session.add(rectification)
    await session.flush()
    await session.refresh(rectification, ["vendor"])
    open_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=rectification.id,
        subject_label=_label(rectification),
        rule=rules.RECTIFICATION,
        opened_at=now,
        due_at=due_at,
    )
    _event(
        session,
        rectification,
        "verbal_request",
        now,
        actor=manager,
        description=description,
        due_at=due_at.isoformat(),
        defect_id=defect_id,
        defect=defect.number if defect else None,
    )
    if defect is not None:  # the defect's own timeline points to the request it caused
        record_change(
            session,
            defect,
            "rectification_requested",
            now,
            actor=manager,
            after={"rectification_id": rectification.id, "description": description},
        )
    await notify_users(
        session,
        await users_with_roles(session, [roles.VENDOR], vendor_ids=[vendor.id]),
        "rectification.verbal",
        _params(rectification),
        now=now,
        buttons=[[button("rectification.button.done", ReportRectified(rectification.id))]],
        dedupe_prefix=f"rectification:{rectification.id}:verbal",
    )
    await uow.commit()
    return rectification


async def prompt_overdue_rectifications(session: AsyncSession, *, now: dt.datetime) -> int:
    """A request not confirmed fixed by its deadline: prompt the manager to climb a rung."""
    overdue = await session.scalars(
        select(Rectification)
        .where(
            Rectification.status == RectificationStatus.OPEN,
            Rectification.due_at <= now,
            (Rectification.prompted_rung.is_(None))
            | (Rectification.prompted_rung != Rectification.rung),
        )
        .with_for_update(skip_locked=True)
    )
    prompted = 0
    for rectification in list(overdue):
        await session.refresh(rectification, ["vendor"])
        if rectification.rung == RectificationRung.VERBAL:
            key, climb = (
                "rectification.prompt_written",
                button("rectification.button.write", IssueWrittenNotice(rectification.id)),
            )
        else:
            key, climb = (
                "rectification.prompt_evaluation",
                button("rectification.button.evaluate", StartEvaluation(rectification.id)),
            )
        await notify_roles(
            session,
            [roles.EQUIPMENT_MANAGER],
            key,
            _params(rectification),
            now=now,
            buttons=[
                [
                    climb,
                    button("rectification.button.conforms", ConfirmConforming(rectification.id)),
                ]
            ],
            dedupe_prefix=f"rectification:{rectification.id}:prompt:{rectification.rung}",
        )
        rectification.prompted_rung = rectification.rung
        prompted += 1
    return prompted


async def confirm_conforming(
    uow: UnitOfWork, manager: User, rectification_id: int
) -> Rectification:
    """The manager confirms the service now conforms: the ladder ends here."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(manager.role_names, MANAGERS)
    rectification = await _load(session, rectification_id)
    _expect(rectification, RectificationStatus.OPEN)
    RECTIFICATION_LIFECYCLE.move(rectification, RectificationStatus.CONFORMING)
    rectification.conformed_at = now
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=rectification.id,
        kind=VendorDeadline.RECTIFICATION,
        now=now,
        by=manager,
    )
    _event(session, rectification, "conforming", now, actor=manager)
    await notify_users(
        session,
        await users_with_roles(session, [roles.VENDOR], vendor_ids=[rectification.vendor_id]),
        "rectification.closed",
        _params(rectification),
        now=now,
        dedupe_prefix=f"rectification:{rectification.id}:closed",
    )
    await uow.commit()
    return rectification


async def add_follow_up(
    uow: UnitOfWork, actor: User, rectification_id: int, note: str, photo_file_ids: list[str]
) -> Rectification:
    """A follow-up check (跟蹤檢查) with its evidence, on any open rung."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, FOLLOWERS)
    rectification = await _load(session, rectification_id)
    _expect(rectification, RectificationStatus.OPEN, RectificationStatus.EVALUATING)
    note = check_follow_up(note)
    add_photos(session, SUBJECT, rectification.id, "follow_up", photo_file_ids, actor, now)
    _event(
        session, rectification, "follow_up", now, actor=actor, note=note, photos=len(photo_file_ids)
    )
    await uow.commit()
    return rectification


async def issue_written_notice(
    uow: UnitOfWork, manager: User, rectification_id: int, days: int = WRITTEN_NOTICE_DAYS
) -> Rectification:
    """Rung 2: the written notice RN-YYYY-NNNNN, sent to the vendor as a document, new deadline."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(manager.role_names, MANAGERS)
    rectification = await _load(session, rectification_id)
    _expect(rectification, RectificationStatus.OPEN, rung=RectificationRung.VERBAL)
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=rectification.id,
        kind=VendorDeadline.RECTIFICATION,
        now=now,
        by=manager,
    )
    rectification.number = await next_number(session, "RN", now.year)
    rectification.rung, rectification.written_at = RectificationRung.WRITTEN, now
    rectification.due_at = now + dt.timedelta(days=days)
    open_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=rectification.id,
        subject_label=rectification.number,
        rule=rules.RECTIFICATION,
        opened_at=now,
        due_at=rectification.due_at,
    )
    _event(
        session,
        rectification,
        "written_notice",
        now,
        actor=manager,
        number=rectification.number,
        due_at=rectification.due_at.isoformat(),
    )
    notice = {"kind": "rectification_notice", "params": {"id": rectification.id}}
    await notify_users(
        session,
        await users_with_roles(session, [roles.VENDOR], vendor_ids=[rectification.vendor_id]),
        "rectification.written",
        _params(rectification),
        now=now,
        attachment=notice,
        buttons=[[button("rectification.button.done", ReportRectified(rectification.id))]],
        dedupe_prefix=f"rectification:{rectification.id}:written",
    )
    await notify_roles(
        session,
        [roles.EQUIPMENT_MANAGER],
        "rectification.written_copy",
        _params(rectification),
        now=now,
        attachment=notice,
        dedupe_prefix=f"rectification:{rectification.id}:written-copy",
    )
    await uow.commit()
    return rectification


async def escalate_to_evaluation(
    uow: UnitOfWork, manager: User, rectification_id: int
) -> Rectification:
    """Rung 3: the written notice did not work; the engineer is asked for the evaluation form."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(manager.role_names, MANAGERS)
    rectification = await _load(session, rectification_id)
    _expect(rectification, RectificationStatus.OPEN, rung=RectificationRung.WRITTEN)
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=rectification.id,
        kind=VendorDeadline.RECTIFICATION,
        now=now,
        by=manager,
    )
    RECTIFICATION_LIFECYCLE.move(rectification, RectificationStatus.EVALUATING)
    rectification.rung = RectificationRung.EVALUATION
    _event(session, rectification, "evaluation_requested", now, actor=manager)
    await notify_roles(
        session,
        [roles.EQUIPMENT_ENGINEER],
        "rectification.evaluation_requested",
        _params(rectification),
        now=now,
        buttons=[[button("rectification.button.fill_form", BeginEvaluationForm(rectification.id))]],
        dedupe_prefix=f"rectification:{rectification.id}:evaluate",
    )
    await uow.commit()
    return rectification


async def rectification_for_form(
    session: AsyncSession, engineer: User, rectification_id: int, *, lock: bool = False
) -> Rectification:
    """The rectification, if `engineer` may fill its evaluation form now (before the dialogue,
    and again, locking the row, when the form is submitted)."""
    roles.require_role(engineer.role_names, ENGINEERS)
    rectification = await _load(session, rectification_id, lock=lock)
    _expect(rectification, RectificationStatus.EVALUATING)
    return rectification


def check_score(text: str) -> int:
    try:
        score = int(clean_text(text).strip())
    except ValueError:
        raise InvalidInput("rectification.bad_score") from None
    if not 0 <= score <= 100:
        raise InvalidInput("rectification.bad_score")
    return score


async def submit_evaluation(
    uow: UnitOfWork, engineer: User, rectification_id: int, findings: str, score: int
) -> Rectification:
    """分承包方服務質量檢查評價表, filled by the engineer; the manager reviews it."""
    session, now = uow.session, uow.clock.now()
    rectification = await rectification_for_form(session, engineer, rectification_id, lock=True)
    findings = check_findings(findings)
    rectification.evaluation, rectification.evaluation_score = findings, score
    rectification.evaluated_by_id, rectification.evaluated_at = engineer.id, now
    RECTIFICATION_LIFECYCLE.move(rectification, RectificationStatus.FORM_SUBMITTED)
    _event(
        session,
        rectification,
        "evaluation_submitted",
        now,
        actor=engineer,
        findings=findings,
        score=score,
    )
    submission = await times_recorded(session, rectification, "evaluation_submitted")
    await notify_roles(
        session,
        [roles.EQUIPMENT_MANAGER],
        "rectification.review_form",
        {**_params(rectification), "findings": findings, "score": score},
        now=now,
        buttons=[
            [
                button("rectification.button.forward", ForwardEvaluation(rectification.id)),
                button("rectification.button.back", SendEvaluationBack(rectification.id)),
            ]
        ],
        dedupe_prefix=f"rectification:{rectification.id}:review:{submission}",
    )
    await uow.commit()
    return rectification


async def review_evaluation(
    uow: UnitOfWork, manager: User, rectification_id: int, *, forward: bool
) -> Rectification:
    """The manager reviews the form: forward it to the management office, or send it back."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(manager.role_names, MANAGERS)
    rectification = await _load(session, rectification_id)
    _expect(rectification, RectificationStatus.FORM_SUBMITTED)
    if forward:
        RECTIFICATION_LIFECYCLE.move(rectification, RectificationStatus.REVIEWED)
        rectification.reviewed_by_id, rectification.reviewed_at = manager.id, now
        _event(session, rectification, "evaluation_reviewed", now, actor=manager)
        review = await times_recorded(session, rectification, "evaluation_reviewed")
        await notify_roles(
            session,
            [roles.MANAGEMENT_OFFICE],
            "rectification.approve_form",
            {
                **_params(rectification),
                "findings": rectification.evaluation,
                "score": rectification.evaluation_score,
            },
            now=now,
            buttons=[
                [
                    button("rectification.button.approve", ApproveEvaluation(rectification.id)),
                    button("rectification.button.return", ReturnEvaluation(rectification.id)),
                ]
            ],
            attachment={"kind": "evaluation_form", "params": {"id": rectification.id}},
            dedupe_prefix=f"rectification:{rectification.id}:approve:{review}",
        )
    else:
        await _back_to_engineer(session, rectification, manager, now, "evaluation_sent_back")
    await uow.commit()
    return rectification


async def decide_evaluation(
    uow: UnitOfWork, office: User, rectification_id: int, *, approve: bool
) -> Rectification:
    """The management office approves the evaluation (the ladder ends) or returns it."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(office.role_names, OFFICE)
    rectification = await _load(session, rectification_id)
    _expect(rectification, RectificationStatus.REVIEWED)
    if approve:
        RECTIFICATION_LIFECYCLE.move(rectification, RectificationStatus.APPROVED)
        rectification.decided_by_id, rectification.decided_at = office.id, now
        _event(session, rectification, "evaluation_approved", now, actor=office)
        await notify_roles(
            session,
            [roles.EQUIPMENT_MANAGER, roles.EQUIPMENT_ENGINEER],
            "rectification.approved",
            _params(rectification),
            now=now,
            dedupe_prefix=f"rectification:{rectification.id}:approved",
        )
    else:
        await _back_to_engineer(session, rectification, office, now, "evaluation_returned")
    await uow.commit()
    return rectification


async def _back_to_engineer(
    session: AsyncSession, rectification: Rectification, actor: User, now: dt.datetime, action: str
) -> None:
    RECTIFICATION_LIFECYCLE.move(rectification, RectificationStatus.EVALUATING)
    rectification.reviewed_by_id = rectification.reviewed_at = None
    _event(session, rectification, action, now, actor=actor)
    round_ = await times_recorded(session, rectification, action)
    await notify_roles(
        session,
        [roles.EQUIPMENT_ENGINEER],
        "rectification.form_returned",
        _params(rectification),
        now=now,
        buttons=[[button("rectification.button.fill_form", BeginEvaluationForm(rectification.id))]],
        dedupe_prefix=f"rectification:{rectification.id}:{action}:{round_}",
    )
