"""P2, returns and exchanges (seed part 2): so far, the return a nonconforming complaint starts."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Complaint, ReturnLine, ReturnRequest, Shipment

from .numbering import next_number
from .timeline import SUBJECT_TYPES, record_change


class ReturnReason(StrEnum):
    QUALITY = "quality"
    UNSALABLE = "unsalable"


class ReturnStatus(StrEnum):
    REQUESTED = "requested"


SUBJECT = SUBJECT_TYPES[ReturnRequest]


async def start_quality_return(
    session: AsyncSession, complaint: Complaint, now: dt.datetime, *, goods_on_hold: bool
) -> ReturnRequest:
    """A return for the complained quantity, priced at what the buyer paid for the batch; the
    complaint records on its own timeline that the return started. `goods_on_hold` (the
    caller asked the hold) is kept on the return: goods coming back under a shipment hold are
    booked in as held, never as stock to ship."""
    if complaint.product_id is None:
        raise ValueError("a return needs a product of the master data")
    totals = (
        await session.execute(
            select(func.sum(Shipment.amount), func.sum(Shipment.quantity)).where(
                Shipment.organisation_id == complaint.organisation_id,
                Shipment.batch_id == complaint.batch_id,
            )
        )
    ).one()
    amount_paid, quantity_bought = totals
    unit_price = Decimal(amount_paid) / quantity_bought if quantity_bought else Decimal(0)
    amount = (unit_price * complaint.quantity).quantize(Decimal("0.01"), ROUND_HALF_UP)
    request = ReturnRequest(
        number=await next_number(session, "RT", now.year),
        organisation_id=complaint.organisation_id,
        reason=ReturnReason.QUALITY,
        status=ReturnStatus.REQUESTED,
        complaint_id=complaint.id,
        created_at=now,
        lines=[
            ReturnLine(
                product_id=complaint.product_id,
                batch_id=complaint.batch_id,
                quantity=complaint.quantity,
                amount=amount,
            )
        ],
    )
    session.add(request)
    await session.flush()
    record_change(
        session,
        request,
        "created",
        now,
        after={
            "number": request.number,
            "complaint": complaint.number,
            "quantity": complaint.quantity,
            "amount": str(amount),
            "goods_on_hold": goods_on_hold,
        },
    )
    return request
