"""`python -m bench [SUBCOMMAND] [--full]`: measure and print the figures bench/README.md records.

Subcommands, each runnable alone, with small sizes unless --full is given:
  basics    start-up, idle memory, sweep of 10,000 open deadlines, outbox delivery (the default
            of `make bench`, with all the others)
  sweep     one sweep over 1,000 and 100,000 (--full: 1,000,000) open deadlines, and many
            overdue at once
  intake    complaint dialogues a second against a bare echo bot, limits lifted and at
            Telegram's pace
  closedloop N users each sending their next step when answered, against the echo bot
  latency   reply p50/p99 of 50 users alone and beside a ledger export and a sweep
  resources start-up, idle memory, two workers' intake against one's on PostgreSQL
  quarterly the quarterly complaint report at 10,000 and 100,000 complaints (python -m
            bench.quarterly)
  fanout    a stop-sales notice to 3,000 buyers (python -m bench.fanout)
  miniapp   the Mini App's lists with 10,000 (--full: 100,000) complaints on file
BENCH_DATABASE_URL=postgresql+asyncpg://... adds PostgreSQL (a schema or database of its own).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text
from telegram import Bot

from bench import quarterly
from bot.runtime.outbox_sender import OutboxSender
from bot.services import build_services
from core.config import Settings
from emulator.server import BotApiEmulator, FloodLimits
from procedures.complaints.rules import ON_SITE_VERIFICATION
from procedures.kernel import deadlines
from procedures.kernel.clock import ManualClock
from procedures.kernel.outbox import notify_users
from storage.db import make_engine, migrate
from storage.models import User, UserRole

from .scratch import scratch_schema

ROOT = Path(__file__).resolve().parent.parent
START = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)


def startup_and_idle_memory() -> None:
    """Start `python -m bot` on a new SQLite file and the emulator; time it and read its RSS."""
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.db",
            "EMULATOR_PORT": "0",
            "BOT_TOKEN": "",
        }
        began = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            if "Application started" in line:
                break
        started = time.perf_counter() - began
        time.sleep(10)  # idle: polling, sweeping once, sender waiting
        status = Path(f"/proc/{process.pid}/status").read_text()
        rss_kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        process.terminate()
        process.wait(timeout=30)
    load = f"load {os.getloadavg()[0]:.1f}"
    print(
        f"start-up (new SQLite database, migrations, samples, emulator): {started:.2f} s ({load})"
    )
    print(f"idle memory of the bot process (RSS after 10 s): {rss_kib / 1024:.1f} MiB")


async def sweep_and_outbox(
    url: str, deadline_count: int, message_count: int, search_path: str | None = None
) -> None:
    connect_args = {"server_settings": {"search_path": search_path}} if search_path else {}
    engine = make_engine(url, connect_args=connect_args)
    await migrate(engine)
    clock = ManualClock(START)
    services = build_services(Settings(), engine, clock)

    async with services.unit_of_work() as uow:
        users = [
            User(
                telegram_id=9_000_000 + i,
                full_name=f"QC {i}",
                active=True,
                created_at=START,
                roles=[UserRole(role="quality")],
            )
            for i in range(3)
        ]
        uow.session.add_all(users)
        for i in range(deadline_count):
            deadlines.open_deadline(
                uow.session,
                subject_type="complaint",
                subject_id=i,
                subject_label=f"QC-2026-{i:05d}",
                rule=ON_SITE_VERIFICATION,
                opened_at=START,
                due_at=START + dt.timedelta(hours=24 + i % 48),
            )
        await uow.commit()

    clock.set(START + dt.timedelta(hours=6))
    async with services.unit_of_work() as uow:
        began = time.perf_counter()
        await deadlines.sweep_deadlines(uow.session, now=clock.now(), limit=deadline_count)
        await uow.commit()
        idle_sweep = time.perf_counter() - began

    clock.set(START + dt.timedelta(hours=200))
    async with services.unit_of_work() as uow:
        began = time.perf_counter()
        result = await deadlines.sweep_deadlines(uow.session, now=clock.now(), limit=deadline_count)
        await uow.commit()
        busy_sweep = time.perf_counter() - began
    print(
        f"[{engine.dialect.name}] sweep over {deadline_count} open deadlines, none due: "
        f"{idle_sweep * 1000:.1f} ms"
    )
    print(
        f"[{engine.dialect.name}] sweep alerting {result.overdue_alerts} overdue deadlines "
        f"({result.messages} outbox rows): {busy_sweep:.2f} s"
    )

    emulator = BotApiEmulator(
        flood_limits=FloodLimits(
            overall_per_second=1e9, overall_burst=1e9, chat_per_second=1e9, chat_burst=1e9
        )
    )
    await emulator.start()
    for user in users:
        emulator.add_user(user.telegram_id, user.full_name)
    async with services.session_factory() as session:
        await session.execute(text("DELETE FROM outbox"))  # start from an empty outbox
        await session.commit()
    async with services.unit_of_work() as uow:
        merged = [await uow.session.merge(u) for u in users]
        for i in range(message_count):
            await notify_users(
                uow.session,
                [merged[i % 3]],
                "deadline.reminder",
                {"subject": f"QC-{i}", "kind": "x", "due_at": "y"},
                now=clock.now(),
            )
        await uow.commit()
    bot = Bot("1:bench", base_url=emulator.base_url)
    await bot.initialize()
    sender = OutboxSender(services, bot)
    began = time.perf_counter()
    report = await sender.deliver_due()
    elapsed = time.perf_counter() - began
    print(
        f"[{engine.dialect.name}] outbox delivery of {report.sent} messages to the emulator "
        f"(no flood limit): {elapsed:.2f} s, {report.sent / elapsed:.0f} messages/s"
    )
    await bot.shutdown()
    await emulator.stop()
    await engine.dispose()


async def on_scratch_schema(url: str, deadline_count: int, message_count: int) -> None:
    """Run on PostgreSQL in a schema of its own, dropped afterwards."""
    async with scratch_schema(url, "sweep") as schema:
        await sweep_and_outbox(url, deadline_count, message_count, search_path=schema)


def basics() -> None:
    startup_and_idle_memory()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(sweep_and_outbox(f"sqlite+aiosqlite:///{folder}/bench.db", 10_000, 1_000))
    if url := os.environ.get("BENCH_DATABASE_URL"):
        asyncio.run(on_scratch_schema(url, 10_000, 1_000))


async def two_workers(full: bool) -> None:
    """Intake with one bot process and with two on one PostgreSQL, limits lifted."""
    from .intake import intake
    from .live import LIFTED

    each = 4 if full else 1
    one = await intake("postgresql", LIFTED, "flood limits lifted", each, workers=1)
    two = await intake("postgresql", LIFTED, "flood limits lifted", each, workers=2)
    print(f"[postgresql] two workers / one worker, updates a second: {two / one:.2f}")


def main(argv: list[str] | None = None) -> int:
    from . import closed_loop, fanout, intake, latency, miniapp, sweep

    args = sys.argv[1:] if argv is None else argv
    full = "--full" in args
    names = [a for a in args if not a.startswith("--")] or [
        "basics",
        "sweep",
        "intake",
        "latency",
        "resources",
        "quarterly",
    ]
    print(f"{dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores", flush=True)
    for name in names:
        print(f"== {name}{' (full size)' if full else ''}", flush=True)
        if name == "basics":
            basics()
        elif name == "sweep":
            asyncio.run(sweep.run(full))
        elif name == "intake":
            asyncio.run(intake.run(full))
        elif name == "closedloop":
            asyncio.run(closed_loop.run(full))
        elif name == "latency":
            asyncio.run(latency.run(full))
        elif name == "resources":
            startup_and_idle_memory()
            if os.environ.get("BENCH_DATABASE_URL"):
                asyncio.run(two_workers(full))
        elif name == "quarterly":
            quarterly.main()
        elif name == "miniapp":
            asyncio.run(miniapp.run(full))
        elif name == "fanout":
            sys.argv = [sys.argv[0]] + (["3000"] if full else ["300"])
            fanout.main()
        else:
            print(__doc__)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
