"""Sweep: one sweep over few and over very many open deadlines with the same number due, and
10,000 deadlines overdue at once with the cost of one alert.

`python -m bench sweep [--full]`: 1,000 against 100,000 open deadlines (--full: 1,000,000) with
100 of them due, and 2,000 overdue at once (--full: 10,000); BENCH_DATABASE_URL adds PostgreSQL.
The many open deadlines are written with one INSERT … SELECT from a row the ORM wrote.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from procedures import deadlines
from storage.db import make_session_factory
from storage.models import Deadline, User, UserRole

from .common import backends, database, load, open_engine

START = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
NOW = START + dt.timedelta(hours=200)
DUE = 100
COLUMNS = (
    "subject_type, subject_id, subject_label, kind, responsible_role, system, opened_at, due_at, "
    "remind_at, next_check_at, alert_count"
)


async def quality_staff(engine: AsyncEngine) -> None:
    async with make_session_factory(engine)() as session:
        for i, role in enumerate(("quality", "quality", "quality_head")):
            session.add(
                User(
                    telegram_id=9_000_000 + i,
                    full_name=f"QC {i}",
                    active=True,
                    created_at=START,
                    roles=[UserRole(role=role)],
                )
            )
        await session.commit()


async def open_many(engine: AsyncEngine, due: int, not_due: int) -> float:
    """`due` overdue deadlines through the ORM, and `not_due` more (due in a year) copied from
    one of them in a single INSERT … SELECT; returns the seconds it took."""
    began = time.perf_counter()
    async with make_session_factory(engine)() as session:
        for i in range(due + 1):
            late = i < due
            deadlines.open_deadline(
                session,
                subject_type="complaint",
                subject_id=i + 1,
                subject_label=f"QC-2026-{i + 1:05d}",
                kind="on_site_verification",
                responsible_role="quality",
                opened_at=START,
                due_at=START + dt.timedelta(hours=24 + i % 48 if late else 24 * 365),
            )
        await session.commit()
        template = await session.scalar(select(func.max(Deadline.id)))
    if not_due > 1:
        numbers = (
            "generate_series(1, :count) AS n(i)"
            if engine.dialect.name == "postgresql"
            else "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
            "WHERE i < :count) SELECT i FROM s) AS n"
        )
        copy = COLUMNS.replace("subject_id", "subject_id + n.i").replace(
            "subject_type,", "d.subject_type,"
        )
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    f"INSERT INTO deadlines ({COLUMNS}) SELECT {copy} "
                    f"FROM deadlines AS d, {numbers} WHERE d.id = :template"
                ),
                {"count": not_due - 1, "template": template},
            )
            await connection.execute(text("ANALYZE deadlines"))  # as autovacuum would
    return time.perf_counter() - began


async def one_sweep(engine: AsyncEngine, limit: int = 500) -> tuple[float, deadlines.SweepResult]:
    async with make_session_factory(engine)() as session:
        began = time.perf_counter()
        result = await deadlines.sweep_deadlines(session, now=NOW, limit=limit)
        await session.commit()
        return time.perf_counter() - began, result


async def sweep_with_open(backend: str, open_count: int, quiet: bool = False) -> float:
    async with database(backend, "sweep") as url:
        engine = open_engine(url)
        await quality_staff(engine)
        built = await open_many(engine, DUE, open_count - DUE)
        elapsed, result = await one_sweep(engine)
        await engine.dispose()
    if quiet:
        return elapsed
    print(
        f"[{backend}] sweep, {open_count:,} open, {DUE} due ({result.messages} messages): "
        f"{elapsed * 1000:.0f} ms (built in {built:.1f} s; {load()})",
        flush=True,
    )
    return elapsed


async def overdue_at_once(backend: str, count: int) -> None:
    async with database(backend, "overdue") as url:
        engine = open_engine(url)
        await quality_staff(engine)
        await open_many(engine, count, 0)
        elapsed, result = await one_sweep(engine, limit=count)
        await engine.dispose()
    print(
        f"[{backend}] sweep, {result.overdue_alerts:,} overdue at once ({result.messages:,} "
        f"outbox rows): {elapsed:.2f} s, {elapsed / result.overdue_alerts * 1000:.2f} ms an alert, "
        f"{elapsed / result.messages * 1000:.3f} ms an outbox row ({load()})",
        flush=True,
    )


async def run(full: bool) -> None:
    many = 1_000_000 if full else 100_000
    for backend in backends():
        await sweep_with_open(backend, 1_000, quiet=True)  # warm-up: the first sweep pays imports
        few_time = await sweep_with_open(backend, 1_000)
        many_time = await sweep_with_open(backend, many)
        print(
            f"[{backend}] ratio {many:,} open / 1,000 open: {many_time / few_time:.2f} (aim < 1.5)"
        )
        await overdue_at_once(backend, 10_000 if full else 2_000)
