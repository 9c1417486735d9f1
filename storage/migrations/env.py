"""Alembic environment: runs on a connection handed in by storage.db.migrate, or on DATABASE_URL."""

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from storage.models import Base

target_metadata = Base.metadata


def run_on_connection(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url(url: str) -> None:
    from storage.db import make_engine

    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(run_on_connection)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_on_connection(connection)
else:
    # `alembic` from the command line (e.g. `alembic revision --autogenerate`)
    asyncio.run(run_from_url(os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///data/bot.db")))
