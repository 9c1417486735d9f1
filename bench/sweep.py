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

from procedures.complaints.rules import ON_SITE_VERIFICATION
from procedures.kernel import deadlines
from storage.db import make_session_factory
from storage.models import Deadline, User, UserRole

from .common import backends, database, load, open_engine

START = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
NOW = START + dt.timedelta(hours=200)
DUE = 100
REPEATS = 5
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
                rule=ON_SITE_VERIFICATION,
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


async def sweep_again(engine: AsyncEngine) -> float:
    """One sweep of the due deadlines, which are then made due again (their messages gone)."""
    elapsed, _ = await one_sweep(engine)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE deadlines SET next_check_at = remind_at, alert_count = 0, "
                "alerted_at = NULL WHERE alert_count > 0"
            )
        )
        await connection.execute(text("DELETE FROM outbox"))
    return elapsed


async def few_against_many(backend: str, many: int) -> None:
    """Two databases, 1,000 and `many` open deadlines, DUE of them due in each; sweeps taken
    in turn, one here, one there, five times: the medians and their ratio (the machine is
    shared, and one sweep varies by more than the ratio looked for)."""
    async with database(backend, "few") as few_url, database(backend, "many") as many_url:
        few, lots = open_engine(few_url), open_engine(many_url)
        built = {}
        for engine, count in ((few, 1_000), (lots, many)):
            await quality_staff(engine)
            built[count] = await open_many(engine, DUE, count - DUE)
        await sweep_again(few)  # warm-up: the first sweep in a process pays for imports
        times: dict[int, list[float]] = {1_000: [], many: []}
        for _ in range(REPEATS):
            times[1_000].append(await sweep_again(few))
            times[many].append(await sweep_again(lots))
        await few.dispose()
        await lots.dispose()
    median = {count: sorted(t)[REPEATS // 2] for count, t in times.items()}
    for count in (1_000, many):
        print(
            f"[{backend}] sweep, {count:,} open, {DUE} due ({DUE * 3} messages): "
            f"{median[count] * 1000:.0f} ms, median of {REPEATS} (built in {built[count]:.1f} s)"
        )
    print(
        f"[{backend}] ratio {many:,} open / 1,000 open: {median[many] / median[1_000]:.2f} "
        f"(aim < 1.5; {load()})",
        flush=True,
    )


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
    for backend in backends():
        await few_against_many(backend, 1_000_000 if full else 100_000)
        await overdue_at_once(backend, 10_000 if full else 2_000)
