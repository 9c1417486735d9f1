"""P2, the after-sales head's monthly duties on consumer complaints: the month's summary and
analysis, with the improvement proposals it asks for (改善辦法和方案, 4.3.4), and the month's
after-sales information handed to the business head (匯總后交經營部負責人, 4.4).

On the 1st the after-sales head receives last month's summary with two buttons: *Improvement
proposals* and *Send to the business head*. The month's record (`ConsumerMonthlyReview`) is made
once, and each duty opens a deadline that the head's act meets. The seed gives the hand-over to
the head, so the business head gets the summary from the head, naming who sent it, not from the
scheduler. The proposals are kept and shown with the next month's summary, beside the figures
they were meant to change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.consumer_complaints import rules
from procedures.consumer_complaints.actions import ForwardSummary, ProposeImprovements
from procedures.consumer_complaints.policy import ConsumerComplaintPolicy
from procedures.consumer_complaints.rules import (
    SUMMARY_HEADS,
    SUMMARY_RECEIVERS,
    MonthlyReviewDeadline,
)
from procedures.kernel import roles
from procedures.kernel.calendar import month_bounds, previous_month
from procedures.kernel.deadlines import meet_deadline, open_deadline
from procedures.kernel.errors import NotFound, WrongState
from procedures.kernel.outbox import (
    as_deadline,
    as_text,
    as_time,
    button,
    notify_roles,
    users_with_roles,
)
from procedures.kernel.text_input import MAX_TEXT, check_text, cut_text
from procedures.kernel.timeline import record_event
from procedures.kernel.unit_of_work import UnitOfWork
from storage.models import ConsumerMonthlyReview, User

SUBJECT = "consumer_monthly_review"
DOCUMENT = "consumer_complaint_monthly"  # the summary workbook's document and report kind
# the earlier month's proposals as the summary's caption quotes them (a caption holds 1024
# characters); the workbook holds them whole
QUOTED_PROPOSALS = 400


def month_before(period: str, timezone: ZoneInfo) -> str:
    return previous_month(month_bounds(period, timezone)[0], timezone)


async def _name(session: AsyncSession, user_id: int | None) -> str:
    person = await session.get(User, user_id) if user_id else None
    return person.full_name if person else ""


async def review_of(
    session: AsyncSession, period: str, *, lock: bool = False
) -> ConsumerMonthlyReview | None:
    query = select(ConsumerMonthlyReview).where(ConsumerMonthlyReview.period == period)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def _earlier_proposals(
    session: AsyncSession, period: str, timezone: ZoneInfo
) -> dict[str, Any]:
    """The month before's proposals, as the summary's caption quotes them."""
    earlier = month_before(period, timezone)
    review = await review_of(session, earlier)
    if review is None or review.proposals is None:
        return as_text("consumer.summary_no_earlier_proposals", period=earlier)
    return as_text(
        "consumer.summary_earlier_proposals",
        period=earlier,
        head=await _name(session, review.proposed_by_id),
        proposals=cut_text(review.proposals, QUOTED_PROPOSALS),
    )


async def queue_monthly_summary(uow: UnitOfWork, *, timezone: ZoneInfo) -> int:
    """On the 1st: last month's summary and analysis to the after-sales head, with last month's
    proposals and the two duties' buttons; the month's record and its deadlines are made once,
    and a second run sends nothing. The caller commits."""
    session, now = uow.session, uow.clock.now()
    period = previous_month(now, timezone)
    policy = uow.policy(ConsumerComplaintPolicy)
    review = await review_of(session, period)
    if review is None:
        review = ConsumerMonthlyReview(period=period, requested_at=now)
        session.add(review)
        await session.flush()
        for rule, window in (
            (rules.PROPOSALS, policy.proposals_within),
            (rules.FORWARDED, policy.forward_within),
        ):
            open_deadline(
                session,
                rule=rule,
                subject_type=SUBJECT,
                subject_id=review.id,
                subject_label=period,
                opened_at=now,
                due_at=now + window,
            )
        record_event(session, subject_type=SUBJECT, subject_id=review.id, action="sent", at=now)
    queued = await notify_roles(
        session,
        sorted(SUMMARY_HEADS),
        "consumer.summary_ready",
        {
            "period": period,
            "proposals_due": as_deadline(review.requested_at + policy.proposals_within),
            "forward_due": as_deadline(review.requested_at + policy.forward_within),
            "earlier": await _earlier_proposals(session, period, timezone),
        },
        now=now,
        attachment={"kind": DOCUMENT, "params": {"period": period}},
        buttons=[
            [button("consumer.button.propose", ProposeImprovements(period=period))],
            [button("consumer.button.forward", ForwardSummary(period=period))],
        ],
        dedupe_prefix=f"report:consumer-complaints:{period}",
    )
    return len(queued)


async def _review_for_head(
    session: AsyncSession, actor: User, period: str, *, lock: bool
) -> ConsumerMonthlyReview:
    roles.require_role(actor.role_names, SUMMARY_HEADS)
    review = await review_of(session, period, lock=lock)
    if review is None:
        raise NotFound("consumer.review_not_found", period=period)
    return review


async def review_for_proposals(
    session: AsyncSession, actor: User, period: str, *, lock: bool = False
) -> ConsumerMonthlyReview:
    """The month's record, if `actor` may write its proposals now (before the dialogue asks,
    and again, locking the row, when they are stored): once a month."""
    review = await _review_for_head(session, actor, period, lock=lock)
    if review.proposals is not None:
        raise WrongState(
            "consumer.proposals_already",
            period=period,
            head=await _name(session, review.proposed_by_id),
            at=as_time(review.proposed_at) if review.proposed_at else "",
        )
    return review


def check_proposals(text: str) -> str:
    return check_text(text, empty="consumer.empty_proposals", limit=MAX_TEXT)


async def record_proposals(
    uow: UnitOfWork, actor: User, period: str, text: str
) -> ConsumerMonthlyReview:
    """Keep the head's improvement proposals for the month (who, when); the deadline is met.
    If the summary has already gone to the business head, the proposals follow it."""
    session, now = uow.session, uow.clock.now()
    review = await review_for_proposals(session, actor, period, lock=True)
    review.proposals = check_proposals(text)
    review.proposed_by_id, review.proposed_at = actor.id, now
    await _step_taken(
        session,
        review,
        MonthlyReviewDeadline.PROPOSALS,
        "proposals",
        now,
        actor,
        after={"proposals": review.proposals},
    )
    if review.forwarded_at is not None:
        await notify_roles(
            session,
            SUMMARY_RECEIVERS,
            "consumer.proposals_for_business",
            {"period": period, "head": actor.full_name, "proposals": review.proposals},
            now=now,
            dedupe_prefix=f"report:consumer-complaints:{period}:proposals",
        )
    await uow.commit()
    return review


async def forward_summary(uow: UnitOfWork, actor: User, period: str) -> ConsumerMonthlyReview:
    """The head passes the month's summary on to the business head (4.4), once: the business
    head receives the workbook naming who sent it; the deadline is met."""
    session, now = uow.session, uow.clock.now()
    review = await _review_for_head(session, actor, period, lock=True)
    if review.forwarded_at is not None:
        raise WrongState(
            "consumer.summary_already_forwarded",
            period=period,
            head=await _name(session, review.forwarded_by_id),
            at=as_time(review.forwarded_at),
        )
    if not await users_with_roles(session, SUMMARY_RECEIVERS):
        raise WrongState("consumer.no_business_head")
    review.forwarded_by_id, review.forwarded_at = actor.id, now
    await _step_taken(session, review, MonthlyReviewDeadline.FORWARDED, "forwarded", now, actor)
    await notify_roles(
        session,
        SUMMARY_RECEIVERS,
        "consumer.summary_forwarded",
        {"period": period, "head": actor.full_name},
        now=now,
        attachment={"kind": DOCUMENT, "params": {"period": period}},
        dedupe_prefix=f"report:consumer-complaints:{period}:forwarded",
    )
    await uow.commit()
    return review


async def _step_taken(
    session: AsyncSession,
    review: ConsumerMonthlyReview,
    deadline: MonthlyReviewDeadline,
    action: str,
    now: dt.datetime,
    actor: User,
    after: dict[str, Any] | None = None,
) -> None:
    """The head took one of the month's steps: its deadline met in their name, on the record."""
    await meet_deadline(
        session, subject_type=SUBJECT, subject_id=review.id, kind=deadline, now=now, by=actor
    )
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=review.id,
        action=action,
        at=now,
        actor_id=actor.id,
        after=after,
    )
