"""The read side of the master data: who was shipped which products and lots, and how much,
and the products and lots named as people type them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel.errors import InvalidInput, NotFound
from procedures.kernel.text_input import lookup_key
from storage.models import Batch as Batch
from storage.models import Organisation as Organisation
from storage.models import Product as Product
from storage.models import Shipment


async def customer_organisations(session: AsyncSession) -> list[Organisation]:
    rows = await session.scalars(
        select(Organisation).where(Organisation.kind == "customer").order_by(Organisation.code)
    )
    return list(rows)


async def shipped_products(session: AsyncSession, organisation_id: int) -> list[Product]:
    """Products the organisation was shipped, which are the ones it can complain about."""
    rows = await session.scalars(
        select(Product)
        .join(Batch, Batch.product_id == Product.id)
        .join(Shipment, Shipment.batch_id == Batch.id)
        .where(Shipment.organisation_id == organisation_id)
        .distinct()
        .order_by(Product.code)
    )
    return list(rows)


async def shipped_batches(
    session: AsyncSession, organisation_id: int, product_id: int
) -> list[Batch]:
    rows = await session.scalars(
        select(Batch)
        .join(Shipment, Shipment.batch_id == Batch.id)
        .where(Shipment.organisation_id == organisation_id, Batch.product_id == product_id)
        .distinct()
        .order_by(Batch.lot_number)
    )
    return list(rows)


def _named(candidates: list[Product], text: str) -> tuple[list[Product], list[Product]]:
    """The products whose code or name is the text, and those whose name contains it, compared
    as `lookup_key` reads them (full-width ＡＢ１ as AB1, without case or surrounding spaces)."""
    wanted = lookup_key(text)
    exact = [p for p in candidates if wanted in (lookup_key(p.code), lookup_key(p.name))]
    partial = [p for p in candidates if wanted and wanted in lookup_key(p.name)]
    return exact, partial


async def find_shipped_product(session: AsyncSession, organisation_id: int, text: str) -> Product:
    """The product named by code or (part of) its name among those shipped to the buyer."""
    candidates = await shipped_products(session, organisation_id)
    exact, partial = _named(candidates, text)
    matches = exact or partial
    if len(matches) != 1:
        raise NotFound("complaint.product_not_shipped", text=text.strip())
    return matches[0]


async def find_shipped_batch(
    session: AsyncSession, organisation_id: int, product_id: int, lot_number: str
) -> Batch:
    for batch in await shipped_batches(session, organisation_id, product_id):
        if lookup_key(batch.lot_number) == lookup_key(lot_number):
            return batch
    raise InvalidInput("complaint.batch_not_shipped", lot=lot_number.strip())


async def find_product(session: AsyncSession, text: str) -> Product | None:
    """A product of the master data named by its code, name or a part of the name that only
    it has; None when none is, which staff may then record as typed."""
    candidates = list(await session.scalars(select(Product).order_by(Product.code)))
    exact, partial = _named(candidates, text)
    matches = exact or partial
    return matches[0] if len(matches) == 1 else None


async def find_batch(session: AsyncSession, product_id: int, lot_number: str) -> Batch | None:
    """The product's lot of this number in the master data, whoever it was shipped to."""
    wanted = lookup_key(lot_number)
    for batch in await session.scalars(select(Batch).where(Batch.product_id == product_id)):
        if lookup_key(batch.lot_number) == wanted:
            return batch
    return None


async def shipped_quantity(session: AsyncSession, organisation_id: int, batch_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Shipment.quantity), 0)).where(
            Shipment.organisation_id == organisation_id, Shipment.batch_id == batch_id
        )
    )
    return int(total or 0)


async def product_unit(
    session: AsyncSession, *, product_id: int | None = None, batch_id: int | None = None
) -> str | None:
    """The unit the product is counted in (盒, 箱), if the master data has it."""
    if batch_id is not None:
        batch = await session.get(Batch, batch_id)
        product_id = batch.product_id if batch is not None else None
    product = await session.get(Product, product_id) if product_id is not None else None
    return product.unit if product is not None and product.unit else None
