"""P2, consumer complaints (seed part 2, 4.3): judged by after-sales, decided by the business head
when after-sales cannot resolve them, answered through after-sales.

After-sales judges whether a complaint stands (4.3.1): not standing, a polite answer goes back;
standing, an apology and a remedy (4.3.2: return, exchange, a discount, or mail the goods back
for an exchange); unresolved, the business department (經營部) decides and after-sales gives the
answer, keeping the whole service in its hands. Goods that come back for a quality problem go
through QC as every return does (4.3.3 -> 4.2.6): the consumer complaint names the return that
takes them (`link_return`) once the returns procedure starts it. The first answer and the
business head's decision each have a deadline, with the sweep's reminders and alerts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.consumer_complaints import rules
from procedures.consumer_complaints.actions import (
    AnswerConsumerComplaint,
    DecideConsumerComplaint,
)
from procedures.consumer_complaints.common import (
    CAUSES,
    DECISION_VERDICTS,
    GOODS_BACK,
    REMEDIES,
    SUBJECT,
    Verdict,
    _params,
    check_answer,
    load_consumer_complaint,
)
from procedures.consumer_complaints.intake import _open
from procedures.consumer_complaints.policy import ConsumerComplaintPolicy
from procedures.consumer_complaints.rules import (
    DECIDERS,
    FILING_STAFF,
    GOODS_BACK_READERS,
    JUDGES,
    LIFECYCLE,
    ConsumerComplaintStatus,
    ConsumerDeadline,
)
from procedures.kernel import roles
from procedures.kernel.deadlines import meet_deadline
from procedures.kernel.errors import InvalidInput, WrongState
from procedures.kernel.outbox import as_deadline, as_text, button, notify_roles, notify_users
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from storage.models import ConsumerComplaint, User


async def complaint_for_judgement(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> ConsumerComplaint:
    """The complaint, if `actor` may judge it now (before the dialogue, and again, locking the
    row, when the judgement is recorded)."""
    roles.require_role(actor.role_names, JUDGES)
    consumer_complaint = await load_consumer_complaint(session, complaint_id, lock=lock)
    LIFECYCLE.require(consumer_complaint, ConsumerComplaintStatus.OPEN)
    return consumer_complaint


def _check_cause(cause: str) -> None:
    if cause not in CAUSES:
        raise InvalidInput("consumer.incomplete")


def _check_remedy(remedy: str | None) -> str:
    if remedy not in REMEDIES:
        raise InvalidInput("consumer.incomplete")
    return remedy


@dataclass(frozen=True)
class AnswerOutcome:
    """What happened to an answer: whether it reached the consumer in the chat (else after-sales
    gives it by phone, at the contact recorded)."""

    complaint: ConsumerComplaint
    reached_consumer: bool


def _judge(
    consumer_complaint: ConsumerComplaint,
    actor: User,
    verdict: Verdict,
    cause: str,
    now: dt.datetime,
) -> None:
    consumer_complaint.verdict, consumer_complaint.cause = verdict, cause
    consumer_complaint.judged_by_id, consumer_complaint.judged_at = actor.id, now


async def answer_not_standing(
    uow: UnitOfWork, actor: User, complaint_id: int, *, cause: str, answer: str
) -> AnswerOutcome:
    """The complaint does not stand: a polite answer goes back (以溫和的態度婉轉答復), recorded."""
    session, now = uow.session, uow.clock.now()
    consumer_complaint = await complaint_for_judgement(session, actor, complaint_id, lock=True)
    _check_cause(cause)
    answer = check_answer(answer)
    _judge(consumer_complaint, actor, Verdict.NOT_STANDING, cause, now)
    reached = await _close_with_answer(
        session,
        consumer_complaint,
        actor,
        answer,
        "consumer.answer_not_standing",
        ConsumerDeadline.FIRST_ANSWER,
        now,
    )
    await uow.commit()
    return AnswerOutcome(consumer_complaint, reached)


async def agree_remedy(
    uow: UnitOfWork, actor: User, complaint_id: int, *, cause: str, remedy: str, answer: str
) -> AnswerOutcome:
    """The complaint stands: an apology and the remedy agreed go back; goods that come back are
    announced to QC, who inspect them as every return."""
    session, now = uow.session, uow.clock.now()
    consumer_complaint = await complaint_for_judgement(session, actor, complaint_id, lock=True)
    _check_cause(cause)
    consumer_complaint.remedy = _check_remedy(remedy)
    answer = check_answer(answer)
    _judge(consumer_complaint, actor, Verdict.STANDING, cause, now)
    reached = await _close_with_answer(
        session,
        consumer_complaint,
        actor,
        answer,
        "consumer.answer_standing",
        ConsumerDeadline.FIRST_ANSWER,
        now,
    )
    await _announce_goods_back(session, consumer_complaint, now)
    await uow.commit()
    return AnswerOutcome(consumer_complaint, reached)


@dataclass(frozen=True)
class EscalationOutcome:
    complaint: ConsumerComplaint
    decision_due: dt.datetime
    reached_consumer: bool


async def escalate_to_business_head(
    uow: UnitOfWork,
    actor: User,
    complaint_id: int,
    *,
    cause: str,
    note: str,
) -> EscalationOutcome:
    """After-sales cannot resolve it: the business head decides by a deadline; the consumer is
    told the answer will follow (the first answer, given in time or late)."""
    session, now = uow.session, uow.clock.now()
    consumer_complaint = await complaint_for_judgement(session, actor, complaint_id, lock=True)
    _check_cause(cause)
    note = check_answer(note)
    _judge(consumer_complaint, actor, Verdict.UNRESOLVED, cause, now)
    consumer_complaint.judgement_note = note
    LIFECYCLE.move(consumer_complaint, ConsumerComplaintStatus.ESCALATED)
    record_change(
        session,
        consumer_complaint,
        "escalated",
        now,
        actor=actor,
        before={"status": ConsumerComplaintStatus.OPEN},
        after={"status": consumer_complaint.status, "cause": cause, "note": note},
    )
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=consumer_complaint.id,
        kind=ConsumerDeadline.FIRST_ANSWER,
        now=now,
        by=actor,
    )
    due = now + uow.policy(ConsumerComplaintPolicy).decision_within
    _open(session, consumer_complaint, rules.DECISION, now, due)
    reached = await _tell_consumer(
        session,
        consumer_complaint,
        "consumer.answer_escalated",
        {"number": consumer_complaint.number},
        now,
    )
    await notify_roles(
        session,
        sorted(DECIDERS),
        "consumer.escalated_to_business",
        {
            **_params(consumer_complaint),
            "description": consumer_complaint.description,
            "cause": as_text(f"consumer.cause.{cause}"),
            "note": note,
            "judge": actor.full_name,
            "due_at": as_deadline(due),
        },
        now=now,
        buttons=[
            [button("consumer.button.decide", DecideConsumerComplaint(consumer_complaint.id))]
        ],
        dedupe_prefix=f"cc:{consumer_complaint.id}:escalated",
    )
    await uow.commit()
    return EscalationOutcome(consumer_complaint, due, reached)


# --- the business head's decision and after-sales' answer ----------------------------------


async def complaint_for_decision(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> ConsumerComplaint:
    roles.require_role(actor.role_names, DECIDERS)
    consumer_complaint = await load_consumer_complaint(session, complaint_id, lock=lock)
    LIFECYCLE.require(consumer_complaint, ConsumerComplaintStatus.ESCALATED)
    return consumer_complaint


@dataclass(frozen=True)
class DecisionOutcome:
    complaint: ConsumerComplaint
    answer_due: dt.datetime


async def decide(
    uow: UnitOfWork,
    actor: User,
    complaint_id: int,
    *,
    verdict: str,
    remedy: str | None,
    decision: str,
) -> DecisionOutcome:
    """The business head decides (經營部研究處理方法): whether it stands and, if so, the remedy;
    after-sales is to give the answer by a deadline."""
    session, now = uow.session, uow.clock.now()
    consumer_complaint = await complaint_for_decision(session, actor, complaint_id, lock=True)
    if verdict not in DECISION_VERDICTS:
        raise InvalidInput("consumer.incomplete")
    consumer_complaint.remedy = _check_remedy(remedy) if verdict == Verdict.STANDING else None
    consumer_complaint.decision_verdict, consumer_complaint.decision = (
        verdict,
        check_answer(decision),
    )
    consumer_complaint.decided_by_id, consumer_complaint.decided_at = actor.id, now
    LIFECYCLE.move(consumer_complaint, ConsumerComplaintStatus.DECIDED)
    record_change(
        session,
        consumer_complaint,
        "decided",
        now,
        actor=actor,
        before={"status": ConsumerComplaintStatus.ESCALATED},
        after={
            "status": consumer_complaint.status,
            "verdict": verdict,
            "remedy": consumer_complaint.remedy,
            "decision": consumer_complaint.decision,
        },
    )
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=consumer_complaint.id,
        kind=ConsumerDeadline.DECISION,
        now=now,
        by=actor,
    )
    due = now + uow.policy(ConsumerComplaintPolicy).answer_within
    _open(session, consumer_complaint, rules.FINAL_ANSWER, now, due)
    await notify_roles(
        session,
        [roles.AFTER_SALES],
        "consumer.decided_for_after_sales",
        {
            **_params(consumer_complaint),
            "verdict": as_text(f"consumer.verdict.{verdict}"),
            "remedy": _remedy_line(consumer_complaint),
            "decision": consumer_complaint.decision,
            "head": actor.full_name,
            "due_at": as_deadline(due),
        },
        now=now,
        buttons=[
            [button("consumer.button.answer", AnswerConsumerComplaint(consumer_complaint.id))]
        ],
        dedupe_prefix=f"cc:{consumer_complaint.id}:decided",
    )
    await uow.commit()
    return DecisionOutcome(consumer_complaint, due)


async def complaint_for_answer(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> ConsumerComplaint:
    roles.require_role(actor.role_names, JUDGES)
    consumer_complaint = await load_consumer_complaint(session, complaint_id, lock=lock)
    LIFECYCLE.require(consumer_complaint, ConsumerComplaintStatus.DECIDED)
    return consumer_complaint


async def answer_after_decision(
    uow: UnitOfWork, actor: User, complaint_id: int, answer: str
) -> AnswerOutcome:
    """After-sales gives the consumer the business head's decision (售后服務科負責服務的全過程)."""
    session, now = uow.session, uow.clock.now()
    consumer_complaint = await complaint_for_answer(session, actor, complaint_id, lock=True)
    answer = check_answer(answer)
    reached = await _close_with_answer(
        session,
        consumer_complaint,
        actor,
        answer,
        "consumer.answer_final",
        ConsumerDeadline.FINAL_ANSWER,
        now,
    )
    await _announce_goods_back(session, consumer_complaint, now)
    await uow.commit()
    return AnswerOutcome(consumer_complaint, reached)


def _remedy_line(consumer_complaint: ConsumerComplaint) -> Any:
    if consumer_complaint.remedy is None:
        return ""
    return as_text(
        "consumer.remedy_line", remedy=as_text(f"consumer.remedy.{consumer_complaint.remedy}")
    )


async def _close_with_answer(
    session: AsyncSession,
    consumer_complaint: ConsumerComplaint,
    actor: User,
    answer: str,
    key: str,
    deadline_kind: ConsumerDeadline,
    now: dt.datetime,
) -> bool:
    before = consumer_complaint.status
    consumer_complaint.answer, consumer_complaint.answered_by_id, consumer_complaint.answered_at = (
        answer,
        actor.id,
        now,
    )
    LIFECYCLE.move(consumer_complaint, ConsumerComplaintStatus.CLOSED)
    record_change(
        session,
        consumer_complaint,
        "answered",
        now,
        actor=actor,
        before={"status": before},
        after={
            "status": consumer_complaint.status,
            "verdict": consumer_complaint.final_verdict,
            "cause": consumer_complaint.cause,
            "remedy": consumer_complaint.remedy,
            "answer": answer,
        },
    )
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=consumer_complaint.id,
        kind=deadline_kind,
        now=now,
        by=actor,
    )
    return await _tell_consumer(
        session,
        consumer_complaint,
        key,
        {
            "number": consumer_complaint.number,
            "answer": answer,
            "remedy": _remedy_line(consumer_complaint),
        },
        now,
    )


async def _tell_consumer(
    session: AsyncSession,
    consumer_complaint: ConsumerComplaint,
    key: str,
    params: dict[str, Any],
    now: dt.datetime,
) -> bool:
    """A message to the consumer in the chat, kept on the record; False when they filed by
    phone (or left), and after-sales answers at the contact recorded."""
    consumer = (
        await session.get(User, consumer_complaint.consumer_id)
        if consumer_complaint.consumer_id
        else None
    )
    reached = consumer is not None and consumer.active
    if reached:
        assert consumer is not None
        await notify_users(
            session,
            [consumer],
            key,
            params,
            now=now,
            dedupe_prefix=f"cc:{consumer_complaint.id}:{key}",
        )
    record_change(
        session,
        consumer_complaint,
        "reply_to_consumer",
        now,
        after={"text_key": key, "in_chat": reached},
    )
    return reached


async def _announce_goods_back(
    session: AsyncSession, consumer_complaint: ConsumerComplaint, now: dt.datetime
) -> None:
    """Goods coming back (return, exchange, mail back) are inspected by QC as every return
    (4.3.3 -> 4.2.6); the return that takes them is named on the complaint (`link_return`)."""
    if consumer_complaint.remedy not in GOODS_BACK:
        return
    await notify_roles(
        session,
        list(GOODS_BACK_READERS),
        "consumer.goods_coming_back",
        {
            **_params(consumer_complaint),
            "remedy": as_text(f"consumer.remedy.{consumer_complaint.remedy}"),
        },
        now=now,
        dedupe_prefix=f"cc:{consumer_complaint.id}:goods-back",
    )
    record_change(
        session,
        consumer_complaint,
        "goods_coming_back",
        now,
        after={"remedy": consumer_complaint.remedy},
    )
    _open(session, consumer_complaint, rules.RETURN_FILED, now, rules.RETURN_FILED.due(now))


def _expect_goods_back(consumer_complaint: ConsumerComplaint) -> None:
    """Its remedy brings goods back, and no return takes them yet."""
    if consumer_complaint.remedy not in GOODS_BACK:
        raise WrongState("consumer.no_goods_back", number=consumer_complaint.number)
    if consumer_complaint.return_number is not None:
        raise WrongState("consumer.return_already_linked", number=consumer_complaint.number)


async def complaint_for_return(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> ConsumerComplaint:
    """The complaint, if `actor` (after-sales) may file the return that takes its goods back
    now: its remedy brings goods back and no return is named on it yet."""
    roles.require_role(actor.role_names, FILING_STAFF)
    consumer_complaint = await load_consumer_complaint(session, complaint_id, lock=lock)
    _expect_goods_back(consumer_complaint)
    return consumer_complaint


async def link_return(
    session: AsyncSession,
    complaint_id: int,
    return_number: str,
    now: dt.datetime,
    *,
    quality_return: bool,
) -> ConsumerComplaint:
    """The hand-off to the returns procedure: the return RT-… that takes this complaint's goods
    is named on it, once; goods of a complaint about the product's quality go the quality way
    (4.3.3 -> 4.2.6), so only a quality return takes them. Called by the returns procedure in
    its own unit of work."""
    consumer_complaint = await load_consumer_complaint(session, complaint_id, lock=True)
    _expect_goods_back(consumer_complaint)
    if consumer_complaint.cause == "quality" and not quality_return:
        raise WrongState("consumer.return_must_be_quality", number=consumer_complaint.number)
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=consumer_complaint.id,
        kind=ConsumerDeadline.RETURN_FILED,
        now=now,
    )
    consumer_complaint.return_number = return_number
    record_change(
        session, consumer_complaint, "return_linked", now, after={"return_number": return_number}
    )
    return consumer_complaint
