"""Reading consumer complaints for the chat: the record as handlers read it, and the product
and lot a draft names.

Reading consumer complaints for their monthly summary: a month's complaints, whether each was
first answered in time, and the after-sales head's proposals and hand-over of the months shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from procedures.consumer_complaints.common import SUBJECT
from procedures.consumer_complaints.rules import STAFF_VIEWERS, ConsumerDeadline
from procedures.kernel import roles
from procedures.kernel.errors import NotFound
from procedures.kernel.rules import met_in_time

# the rows these queries return, named here for the reports that format them
from storage.models import (
    Batch,
    ConsumerComplaint,
    ConsumerMonthlyReview,
    Deadline,
    Product,
    User,
)

__all__ = [
    "ConsumerComplaint",
    "complaints_of_consumer",
    "consumer_complaint_for_viewer",
    "goods_names",
    "product_exists",
]


def may_see(viewer: User, consumer_complaint: ConsumerComplaint) -> bool:
    """Staff who handle consumer complaints see every one; a consumer sees their own."""
    if viewer.role_names & STAFF_VIEWERS:
        return True
    own = consumer_complaint.consumer_id is not None and consumer_complaint.consumer_id == viewer.id
    return roles.CONSUMER in viewer.role_names and own


async def consumer_complaint_for_viewer(
    session: AsyncSession, viewer: User, number: str
) -> ConsumerComplaint:
    """The consumer complaint numbered `number` if `viewer` may see it; else NotFound, as for a
    number that does not exist."""
    found = await session.scalar(
        select(ConsumerComplaint).where(ConsumerComplaint.number == number.strip().upper())
    )
    if found is None or not may_see(viewer, found):
        raise NotFound("consumer.not_found")
    return found


async def product_exists(session: AsyncSession, product_id: int) -> bool:
    """Whether the master data has the product (a pressed product button may be forged)."""
    return await session.get(Product, product_id) is not None


async def goods_names(
    session: AsyncSession, product_id: int | None, batch_id: int | None
) -> tuple[str | None, str | None]:
    """The name of the product and the number of the lot a draft holds by id (None: none)."""
    product = await session.get(Product, product_id) if product_id else None
    batch = await session.get(Batch, batch_id) if batch_id else None
    return (product.name if product else None, batch.lot_number if batch else None)


async def complaints_of_month(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> tuple[list[ConsumerComplaint], dict[int, bool | None]]:
    """The consumer complaints received in [start, end), oldest first, and by complaint whether
    its first answer was given in time (True), late (False), or neither yet or waived (None)."""
    complaints = list(
        await session.scalars(
            select(ConsumerComplaint)
            .where(ConsumerComplaint.received_at >= start, ConsumerComplaint.received_at < end)
            .options(selectinload(ConsumerComplaint.product))
            .order_by(ConsumerComplaint.received_at, ConsumerComplaint.id)
        )
    )
    deadlines: dict[int, Deadline] = {}
    if complaints:
        for deadline in await session.scalars(
            select(Deadline).where(
                Deadline.subject_type == SUBJECT,
                Deadline.kind == ConsumerDeadline.FIRST_ANSWER,
                Deadline.subject_id.in_([c.id for c in complaints]),
            )
        ):
            deadlines[deadline.subject_id] = deadline
    return complaints, {c.id: met_in_time(deadlines.get(c.id)) for c in complaints}


async def complaints_of_consumer(
    session: AsyncSession, consumer_id: int
) -> list[ConsumerComplaint]:
    """The complaints a consumer filed or was recorded for, newest first, with their products."""
    return list(
        await session.scalars(
            select(ConsumerComplaint)
            .where(ConsumerComplaint.consumer_id == consumer_id)
            .options(selectinload(ConsumerComplaint.product))
            .order_by(ConsumerComplaint.received_at.desc(), ConsumerComplaint.id.desc())
        )
    )


@dataclass(frozen=True)
class MonthlyReview:
    """A month's improvement proposals (4.3.4) and its hand-over to the business head (4.4), as
    the summary shows them: who and when, or None where not done."""

    period: str
    proposals: str | None
    proposed_by: str | None
    proposed_at: dt.datetime | None
    forwarded_by: str | None
    forwarded_at: dt.datetime | None


async def monthly_reviews(session: AsyncSession, periods: Sequence[str]) -> list[MonthlyReview]:
    """The months' records, in the order of `periods`; a month without one is left out."""
    found = {
        review.period: review
        for review in await session.scalars(
            select(ConsumerMonthlyReview).where(ConsumerMonthlyReview.period.in_(list(periods)))
        )
    }
    people = [r.proposed_by_id for r in found.values()] + [
        r.forwarded_by_id for r in found.values()
    ]
    wanted = [p for p in people if p is not None]
    names: dict[int, str] = {}
    if wanted:
        rows = await session.execute(select(User.id, User.full_name).where(User.id.in_(wanted)))
        names = {user_id: name for user_id, name in rows}
    return [
        MonthlyReview(
            period=period,
            proposals=review.proposals,
            proposed_by=names.get(review.proposed_by_id) if review.proposed_by_id else None,
            proposed_at=review.proposed_at,
            forwarded_by=names.get(review.forwarded_by_id) if review.forwarded_by_id else None,
            forwarded_at=review.forwarded_at,
        )
        for period in periods
        if (review := found.get(period)) is not None
    ]


async def consumer_complaint(session: AsyncSession, complaint_id: int) -> ConsumerComplaint | None:
    """One consumer complaint with its product and lot, or None (its record form's rendering)."""
    found = await session.get(ConsumerComplaint, complaint_id)
    if found is not None:
        await session.refresh(found, ["product", "batch"])
    return found
