"""Readable record numbers (QC-2026-00001) that are unique and never reused."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import NumberSequence

PREFIXES = frozenset({"QC", "RT", "CC", "DF", "RN"})


async def next_number(session: AsyncSession, prefix: str, year: int) -> str:
    """Take the next number in the caller's transaction; a rollback gives it back unused."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown number prefix {prefix!r}")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(NumberSequence)
        .values(prefix=prefix, year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[NumberSequence.prefix, NumberSequence.year],
            set_={"last_value": NumberSequence.last_value + 1},
        )
        .returning(NumberSequence.last_value)
    )
    value = (await session.execute(statement)).scalar_one()
    return f"{prefix}-{year}-{value:05d}"
