"""Two buyers of one organisation filing returns of one lot at once: what is left to return is
counted under a lock on the organisation, so the second is counted after the first and refused
when the two together would return more than was shipped (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.services import Services
from procedures.kernel.errors import InvalidInput, WrongState
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


async def test_a_special_case_whose_lot_was_taken_meanwhile_is_not_approved_over_the_shipment(
    services: Services, samples: None
) -> None:
    """A request refused over its ratio does not count while the leader decides; another buyer's
    return of the same lot meanwhile leaves too little for it, and the leader's approval is
    refused with the figures instead of returning more than was shipped."""
    from procedures.returns import review
    from procedures.returns.rules import ReturnStatus

    from .helpers import act, make_user

    organisation_id, _, batch_id = await ids(services, "C003", "P-2002", "GL2026B12")
    after_sales = await make_user(services, "after_sales")
    leader = await make_user(services, "company_leader")

    async def file(quantity: int, reason: str) -> ReturnRequest:
        buyer = await customer_of(services, "C003")
        lines = [{"batch_id": batch_id, "quantity": quantity}]
        draft = ReturnDraft(organisation_id, reason, lines=lines)
        return (await act(services, intake.file_return, buyer, draft, timezone=SHANGHAI)).request

    special = await file(4, "unsalable")  # over the 5 % ratio: refused, to the leader
    await act(services, review.forward_to_leader, after_sales, special.id)
    await file(58, "quality")
    with pytest.raises(WrongState) as refusal:
        await act(
            services, review.decide_special_case, leader, special.id, "approve", timezone=SHANGHAI
        )
    assert refusal.value.text_key == "return.special_case_over_left"
    assert refusal.value.params == {
        "number": special.number,
        "lot": "GL2026B12",
        "quantity": 4,
        "returned": 58,
        "left": 2,
    }
    async with services.session_factory() as session:
        kept = await session.get(ReturnRequest, special.id)
    assert kept.status == ReturnStatus.SPECIAL_CASE and kept.leader_decision is None
