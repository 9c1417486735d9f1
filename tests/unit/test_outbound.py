"""An exchange's replacement (P2 4.2.7 with P1's hold): never a held or expired lot, never
more than came back, however large the number typed."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.services import Services
from procedures.kernel.errors import InvalidInput
from procedures.masterdata.outbound import check_outbound
from storage.models import Batch, Product
from tests.conftest import START

from .helpers import file


async def lots(services: Services) -> tuple[int, dict[str, int]]:
    async with services.unit_of_work() as uow:
        product_id = await uow.session.scalar(select(Product.id).where(Product.code == "P-2002"))
        added = {
            "GL2025Z01": Batch(
                product_id=product_id, lot_number="GL2025Z01", expiry_date=dt.date(2026, 11, 25)
            ),
            "GL2026C03": Batch(
                product_id=product_id, lot_number="GL2026C03", expiry_date=dt.date(2028, 3, 31)
            ),
        }
        uow.session.add_all(added.values())
        await uow.commit()
        return product_id, {number: lot.id for number, lot in added.items()}


async def refusal(
    services: Services, product_id: int, batch_id: int, quantity: int
) -> InvalidInput:
    async with services.session_factory() as session:
        with pytest.raises(InvalidInput) as refused:
            await check_outbound(
                session,
                batch_id,
                quantity,
                like_product_id=product_id,
                at_most=2,
                today=START.date(),
            )
    return refused.value


async def test_an_expired_lot_a_held_lot_and_999999_are_refused_as_replacements(
    services: Services, samples: None
) -> None:
    product_id, lot = await lots(services)
    expired = await refusal(services, product_id, lot["GL2025Z01"], 2)
    assert (expired.text_key, expired.params["lot"]) == ("outbound.expired", "GL2025Z01")
    unlimited = await refusal(services, product_id, lot["GL2026C03"], 999999)
    assert (unlimited.text_key, unlimited.params["quantity"], unlimited.params["returned"]) == (
        "outbound.more_than_returned",
        999999,
        2,
    )
    complaint = await file(services, "C003", lot="GL2026B12", product="P-2002", quantity=1)
    held = await refusal(services, product_id, lot["GL2026C03"], 2)
    assert (held.text_key, held.params) == (
        "outbound.held",
        {"lot": "GL2026C03", "complaints": [complaint.number]},
    )
