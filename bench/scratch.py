"""A PostgreSQL schema of its own for a benchmark, dropped afterwards."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from sqlalchemy import text

from storage.db import make_engine


@contextlib.asynccontextmanager
async def scratch_schema(url: str, label: str) -> AsyncIterator[str]:
    schema = f"bench_{label}_{os.getpid()}"
    admin = make_engine(url)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
