"""Two buyers of one organisation filing returns of one lot at once: what is left to return is
counted under a lock on the organisation, so the second is counted after the first and refused
when the two together would return more than was shipped (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.services import Services
from procedures.kernel.errors import InvalidInput
from procedures.returns import intake
from procedures.returns.intake import ReturnDraft
from storage.models import ReturnLine, ReturnRequest, User
from tests.conftest import SHANGHAI

from .helpers import customer_of, ids

# C003 was shipped 60 of lot GL2026B12; a quality return has no exchange ratio to stop it first.
SHIPPED = 60


async def test_two_buyers_filing_at_once_cannot_return_more_than_was_shipped(
    services: Services, samples: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    organisation_id, _, batch_id = await ids(services, "C003", "P-2002", "GL2026B12")
    buyers = [await customer_of(services, "C003") for _ in range(2)]

    # Each filing waits, once it has counted what was returned so far, until the other has
    # counted too (or a second has passed: the other is then waiting for the lock): without a
    # lock both would count nothing returned yet and both be filed.
    counted = 0
    both_counted = asyncio.Event()
    real_returned_quantity = intake.returned_quantity

    async def returned_quantity_then_meet(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal counted
        returned = await real_returned_quantity(*args, **kwargs)
        counted += 1
        if counted >= 2:
            both_counted.set()
        try:
            await asyncio.wait_for(both_counted.wait(), timeout=1)
        except TimeoutError:
            pass
        return returned

    monkeypatch.setattr(intake, "returned_quantity", returned_quantity_then_meet)

    async def file_40(buyer: User) -> ReturnRequest:
        draft = ReturnDraft(
            organisation_id, "quality", lines=[{"batch_id": batch_id, "quantity": 40}]
        )
        async with services.unit_of_work() as uow:
            filed = await intake.file_return(
                uow, await uow.session.get(User, buyer.id), draft, timezone=SHANGHAI
            )
        return filed.request

    outcomes = await asyncio.gather(*(file_40(buyer) for buyer in buyers), return_exceptions=True)
    filed = [o for o in outcomes if isinstance(o, ReturnRequest)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(filed) == 1 and len(refused) == 1, outcomes
    assert isinstance(refused[0], InvalidInput)
    assert refused[0].text_key == "return.quantity_over_left"
    assert refused[0].params == {"quantity": 40, "shipped": SHIPPED, "returned": 40, "left": 20}
    async with services.session_factory() as session:
        returned = await session.scalar(
            select(func.sum(ReturnLine.quantity)).where(ReturnLine.batch_id == batch_id)
        )
        requests = await session.scalar(select(func.count()).select_from(ReturnRequest))
    assert (returned, requests) == (40, 1)
