"""Small factories for unit tests: users with roles, outbox rows, complaints at each step."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select

from bot.services import Services
from procedures.complaints import handling, intake
from procedures.complaints.intake import ComplaintDraft
from storage.models import Batch, Organisation, OutboxMessage, Product, User, UserRole
from tests.conftest import SHANGHAI

_telegram_ids = itertools.count(5_000_001)


async def make_user(
    services: Services, *roles: str, name: str = "", language: str | None = None
) -> User:
    telegram_id = next(_telegram_ids)
    async with services.unit_of_work() as uow:
        user = User(
            telegram_id=telegram_id,
            full_name=name or f"User {telegram_id}",
            language=language,
            active=True,
            created_at=uow.clock.now(),
            roles=[UserRole(role=role) for role in roles],
        )
        uow.session.add(user)
        await uow.commit()
    return user


async def outbox_rows(services: Services, **filters: Any) -> list[OutboxMessage]:
    async with services.session_factory() as session:
        return list(
            await session.scalars(
                select(OutboxMessage).filter_by(**filters).order_by(OutboxMessage.id)
            )
        )


async def ids(
    services: Services, organisation: str, product: str, lot: str
) -> tuple[int, int, int]:
    async with services.session_factory() as session:
        organisation_id = await session.scalar(
            select(Organisation.id).where(Organisation.code == organisation)
        )
        product_id = await session.scalar(select(Product.id).where(Product.code == product))
        batch_id = await session.scalar(
            select(Batch.id).where(Batch.product_id == product_id, Batch.lot_number == lot)
        )
    return organisation_id, product_id, batch_id


async def customer_of(services: Services, organisation: str) -> User:
    user = await make_user(services, "customer", language="en")
    async with services.unit_of_work() as uow:
        stored = await uow.session.get(User, user.id)
        stored.organisation_id = await uow.session.scalar(
            select(Organisation.id).where(Organisation.code == organisation)
        )
        await uow.commit()
    return stored


async def file(
    services: Services,
    organisation: str = "C001",
    lot: str = "L20260301",
    quantity: int = 10,
    product: str = "P-1001",
    description: str = "leaks",
):
    organisation_id, product_id, batch_id = await ids(services, organisation, product, lot)
    filer = await customer_of(services, organisation)
    draft = ComplaintDraft(
        organisation_id=organisation_id,
        complainant_name="Chen",
        product_id=product_id,
        batch_id=batch_id,
        quantity=quantity,
        description=description,
    )
    async with services.unit_of_work() as uow:
        return (
            await intake.file_complaint(uow, await uow.session.get(User, filer.id), draft)
        ).complaint


async def act(services: Services, procedure, user: User, *args, **kwargs):
    async with services.unit_of_work() as uow:
        return await procedure(uow, await uow.session.get(User, user.id), *args, **kwargs)


async def verify(services: Services, qc: User, complaint_id: int, result: str):
    return await act(
        services,
        handling.record_verification,
        qc,
        complaint_id,
        result=result,
        on_site=True,
        notes="checked",
        timezone=SHANGHAI,
    )


async def book_in_return(services: Services, return_id: int) -> None:
    """Carry an unsalable exchange inside its ratio from after-sales' review to booking in, each
    step by a person of its role."""
    from procedures.returns import goods, review
    from procedures.returns.goods import Inspection
    from tests.conftest import SHANGHAI

    people = {
        role: await make_user(services, role)
        for role in (
            "finance",
            "after_sales",
            "business_head",
            "after_sales_head",
            "driver",
            "quality",
            "warehouse",
        )
    }
    await act(services, review.finance_agrees, people["finance"], return_id)
    await act(services, review.sign_return, people["after_sales"], return_id)
    await act(
        services, review.approve_return, people["business_head"], return_id, timezone=SHANGHAI
    )
    await act(services, review.countersign_return, people["after_sales_head"], return_id)
    await act(
        services, goods.issue_transport_order, people["after_sales_head"], return_id, "貨運北站"
    )
    await act(services, goods.confirm_pick_up, people["driver"], return_id)
    await act(services, goods.confirm_delivery, people["driver"], return_id)
    await act(
        services, goods.record_inspection, people["quality"], return_id, Inspection("undamaged")
    )
    await act(services, goods.book_in, people["warehouse"], return_id, timezone=SHANGHAI)
