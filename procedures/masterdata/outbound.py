"""Goods leaving the warehouse: one check for every place they leave (today an exchange's
replacement). Held goods never leave (P1 4.5/4.7: the warehouse stops the product's outbound while
a complaint holds it), nor a lot past its expiry date, nor one found nonconforming (不合格品); and a
replacement is like for like (按原品種予以調換, P2 4.2.3) and no more than came back. A refusal
names why."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.queries import holds_covering
from procedures.kernel.errors import InvalidInput, NotFound
from procedures.kernel.quantities import quantity_unit
from procedures.masterdata.queries import product_unit
from storage.models import Batch


async def why_lot_may_not_leave(
    session: AsyncSession, batch: Batch, *, today: dt.date
) -> InvalidInput | None:
    """The refusal for a lot that may not leave today, or None when it may."""
    if batch.nonconforming_since is not None:
        return InvalidInput("outbound.nonconforming", lot=batch.lot_number)
    holds = await holds_covering(session, batch.product_id, batch.id)
    if holds:
        return InvalidInput("outbound.held", lot=batch.lot_number, complaints=list(holds))
    if batch.expiry_date is not None and batch.expiry_date < today:
        return InvalidInput(
            "outbound.expired", lot=batch.lot_number, expiry=batch.expiry_date.isoformat()
        )
    return None


async def lots_that_may_leave(
    session: AsyncSession, product_id: int, *, today: dt.date
) -> list[Batch]:
    """The product's lots the warehouse may send out today, by lot number."""
    lots = await session.scalars(
        select(Batch).where(Batch.product_id == product_id).order_by(Batch.lot_number)
    )
    return [lot for lot in lots if await why_lot_may_not_leave(session, lot, today=today) is None]


async def check_outbound(
    session: AsyncSession,
    batch_id: int,
    quantity: int | None,
    *,
    like_product_id: int,
    at_most: int,
    today: dt.date,
) -> Batch:
    """The lot of which `quantity` may leave in place of goods of `like_product_id`, no more
    than `at_most` (the lot alone when `quantity` is None: the dialogue asks it next);
    InvalidInput naming why not."""
    batch = await session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("error.not_found")
    if batch.product_id != like_product_id:
        raise InvalidInput("outbound.other_product", lot=batch.lot_number)
    refusal = await why_lot_may_not_leave(session, batch, today=today)
    if refusal is not None:
        raise refusal
    if quantity is not None and quantity > at_most:
        unit = quantity_unit(await product_unit(session, product_id=like_product_id))
        raise InvalidInput(
            "outbound.more_than_returned", quantity=quantity, returned=at_most, unit=unit
        )
    return batch
