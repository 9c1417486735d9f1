"""Reading consumer complaints for the chat: the record as handlers read it, and the product
and lot a draft names."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Batch, ConsumerComplaint, Product

__all__ = ["ConsumerComplaint", "goods_names", "product_exists"]


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
