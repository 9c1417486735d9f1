"""Reading consumer complaints for the chat: the record as handlers read it, and the product
and lot a draft names.

Reading consumer complaints for their monthly summary: a month's complaints, and whether each
was first answered in time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from procedures.consumer_complaints.common import SUBJECT
from procedures.consumer_complaints.rules import ConsumerDeadline
from procedures.kernel.rules import met_in_time

# the rows these queries return, named here for the reports that format them
from storage.models import Batch, ConsumerComplaint, Deadline, Product

__all__ = ["ConsumerComplaint", "complaints_of_consumer", "goods_names", "product_exists"]


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
