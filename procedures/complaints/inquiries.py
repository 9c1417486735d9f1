"""Inquiries and feedback (查詢, 情況反映, P1 4.2): answered without a hold, until quality judges
one a quality complaint, which then holds the goods and starts P1 4.4's clocks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.common import SUBJECT, load_complaint, subject_params
from procedures.complaints.handling import tell_complainant
from procedures.complaints.intake import start_complaint
from procedures.complaints.policy import ComplaintPolicy
from procedures.complaints.rules import (
    INQUIRY_ANSWERERS,
    INQUIRY_JUDGES,
    LIFECYCLE,
    ComplaintDeadline,
    ComplaintStatus,
)
from procedures.kernel import roles
from procedures.kernel.deadlines import meet_deadline
from procedures.kernel.errors import WrongState
from procedures.kernel.text_input import MAX_TEXT, check_text
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from storage.models import Complaint, Deadline, User


async def inquiry_to_answer(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> Complaint:
    """The inquiry, if `actor` may answer it now; asked before the dialogue and at commit."""
    roles.require_role(actor.role_names, INQUIRY_ANSWERERS)
    complaint = await load_complaint(session, complaint_id, lock=lock)
    if complaint.status == ComplaintStatus.ANSWERED:
        raise WrongState("complaint.inquiry_answered_already", number=complaint.number)
    if complaint.status != ComplaintStatus.INQUIRY:
        raise WrongState("complaint.not_inquiry", number=complaint.number)
    return complaint


async def answer_inquiry(uow: UnitOfWork, actor: User, complaint_id: int, text: str) -> Complaint:
    """The answer goes to the buyer's contacts and stays on the record; nothing is held."""
    session, now = uow.session, uow.clock.now()
    complaint = await inquiry_to_answer(session, actor, complaint_id, lock=True)
    answer = check_text(text, empty="complaint.empty_inquiry_answer", limit=MAX_TEXT)
    LIFECYCLE.move(complaint, ComplaintStatus.ANSWERED)
    complaint.answer, complaint.answered_at, complaint.answered_by_id = answer, now, actor.id
    record_change(
        session,
        complaint,
        "inquiry_answered",
        now,
        actor=actor,
        before={"status": ComplaintStatus.INQUIRY},
        after={"status": ComplaintStatus.ANSWERED, "answer": answer},
    )
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        kind=ComplaintDeadline.INQUIRY_ANSWER,
        now=now,
        by=actor,
    )
    await tell_complainant(
        session,
        complaint,
        "complaint.inquiry_answer",
        {**subject_params(complaint), "answer": answer},
        now,
    )
    await uow.commit()
    return complaint


@dataclass(frozen=True)
class JudgedOutcome:
    complaint: Complaint
    verify_due: dt.datetime
    opinion_due: dt.datetime


@dataclass(frozen=True)
class JudgementPreview:
    """What judging the inquiry a quality complaint would set in motion, asked before it is."""

    complaint: Complaint
    hold_scope: str | None  # product | lot; None: a product the master data does not know
    answer_due: dt.datetime | None  # the inquiry's answer, while it is still due


async def inquiry_to_judge(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> Complaint:
    """The inquiry, if `actor` may judge it a quality complaint now."""
    roles.require_role(actor.role_names, INQUIRY_JUDGES)
    complaint = await load_complaint(session, complaint_id, lock=lock)
    if complaint.received_as != "inquiry" or complaint.judged_at is not None:
        raise WrongState("complaint.already_complaint", number=complaint.number)
    return complaint


async def preview_judgement(uow: UnitOfWork, actor: User, complaint_id: int) -> JudgementPreview:
    """What the judgment would hold (by the deployment's hold scope), nothing recorded."""
    complaint = await inquiry_to_judge(uow.session, actor, complaint_id)
    scope = uow.policy(ComplaintPolicy).hold_scope if complaint.product_id else None
    if scope == "lot" and complaint.batch_id is None:
        scope = "product"
    answer_due = await answer_due_of(uow.session, complaint)
    return JudgementPreview(complaint, scope, answer_due)


async def answer_due_of(session: AsyncSession, complaint: Complaint) -> dt.datetime | None:
    """When the inquiry's answer is due, while it is."""
    due: dt.datetime | None = await session.scalar(
        select(Deadline.due_at).where(
            Deadline.subject_type == SUBJECT,
            Deadline.subject_id == complaint.id,
            Deadline.kind == ComplaintDeadline.INQUIRY_ANSWER,
            Deadline.met_at.is_(None),
        )
    )
    return due


async def judge_quality_complaint(uow: UnitOfWork, actor: User, complaint_id: int) -> JudgedOutcome:
    """Quality judges the inquiry a quality complaint: from now on it is one (4.4 在接到醫療器械
    質量投訴時), so its clocks start now, not at the inquiry's receipt, which would have had them
    run out while nobody held it to them; the goods are held and QC is asked to take it."""
    session, now = uow.session, uow.clock.now()
    complaint = await inquiry_to_judge(session, actor, complaint_id, lock=True)
    before = complaint.status
    LIFECYCLE.move(complaint, ComplaintStatus.OPEN)
    complaint.judged_at, complaint.judged_by_id = now, actor.id
    record_change(
        session,
        complaint,
        "judged_quality_complaint",
        now,
        actor=actor,
        before={"status": before},
        after={"status": ComplaintStatus.OPEN},
    )
    # an unanswered inquiry's answer is now the complaint's handling: the deadline is met
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        kind=ComplaintDeadline.INQUIRY_ANSWER,
        now=now,
        by=actor,
    )
    hold_scope = uow.policy(ComplaintPolicy).hold_scope
    verify_due, opinion_due = await start_complaint(session, complaint, hold_scope, now, now)
    await tell_complainant(
        session, complaint, "complaint.inquiry_judged", subject_params(complaint), now
    )
    await uow.commit()
    return JudgedOutcome(complaint, verify_due, opinion_due)
