"""What the benchmarks share: the load average beside each figure, and a database per backend."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import make_engine, migrate


def load() -> str:
    """The 1-minute load average: the machine is shared, every figure carries it."""
    return f"load {os.getloadavg()[0]:.1f}"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def backends() -> list[str]:
    """SQLite always; PostgreSQL when BENCH_DATABASE_URL names a server. BENCH_BACKENDS
    (for example `postgresql`) keeps only the ones it names."""
    found = ["sqlite"] + (["postgresql"] if os.environ.get("BENCH_DATABASE_URL") else [])
    wanted = os.environ.get("BENCH_BACKENDS")
    return [b for b in found if b in wanted.split(",")] if wanted else found


@contextlib.asynccontextmanager
async def database(backend: str, label: str) -> AsyncIterator[str]:
    """The URL of a new, migrated database, removed afterwards. On PostgreSQL a database of its
    own on BENCH_DATABASE_URL's server (a bot process cannot be given a schema by URL)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{folder}/bench.db"
            engine = make_engine(url)
            await migrate(engine)
            await engine.dispose()
            yield url
        return
    server = make_url(os.environ["BENCH_DATABASE_URL"])
    name = f"bench_{label}_{os.getpid()}"
    admin = make_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        await migrate(engine)
        await engine.dispose()
        yield url
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


def open_engine(url: str) -> AsyncEngine:
    return make_engine(url)
