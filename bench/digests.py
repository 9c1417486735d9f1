"""Digests: 10,000 deadlines falling overdue at once for three people (two QC, their head).

`python -m bench.digests [COUNT] [--deliver-seconds S]` (default 10,000 and 120 s; SQLite, and
PostgreSQL with BENCH_DATABASE_URL). The scheduler's sweep job runs as it does every minute (the
clock moves a minute between runs) until no deadline is left unalerted; after each run the
outbox sender delivers to the emulator with Telegram's flood limits on (1 a second a chat, 30
overall) until nothing is pending or S seconds have passed. Prints, per person, the messages a
sweep sent them (Telegram messages, not outbox rows: a digest carries many rows); how long
until the last of them was delivered, counting a minute between sweeps (estimated from the rate
reached when S ran out); and that every deadline reached each person: every outbox row marked
sent, three per deadline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from collections import Counter

from sqlalchemy import func, select
from telegram import Bot

from bot.runtime.outbox_sender import OutboxSender, Pacing
from bot.services import build_services
from core.config import Settings
from emulator.server import BotApiEmulator, FloodLimits
from procedures.complaints.rules import ON_SITE_VERIFICATION
from procedures.kernel import deadlines
from procedures.kernel.clock import ManualClock
from scheduler import jobs
from scheduler.services import JobServices
from storage.db import make_engine
from storage.models import Deadline, OutboxMessage, User, UserRole

from .common import backends, database, load

START = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
PEOPLE = (("quality", 9_100_001), ("quality", 9_100_002), ("quality_head", 9_100_003))
MINUTE = 60.0


async def seed(services, count: int) -> None:
    async with services.unit_of_work() as uow:
        for role, telegram_id in PEOPLE:
            uow.session.add(
                User(
                    telegram_id=telegram_id,
                    full_name=f"{role} {telegram_id}",
                    language="zh-Hant",
                    active=True,
                    created_at=START,
                    roles=[UserRole(role=role)],
                )
            )
        for i in range(count):
            deadlines.open_deadline(
                uow.session,
                subject_type="complaint",
                subject_id=i + 1,
                subject_label=f"QC-2026-{i + 1:05d}",
                rule=ON_SITE_VERIFICATION,
                opened_at=START,
                due_at=START + dt.timedelta(hours=24, minutes=i % 60),
            )
        await uow.commit()


async def messages_by_chat(services) -> Counter[int]:
    """Telegram messages each chat has received so far (a digest's rows share one)."""
    async with services.session_factory() as session:
        rows = await session.execute(
            select(OutboxMessage.chat_id, OutboxMessage.telegram_message_id)
            .where(OutboxMessage.status == "sent")
            .distinct()
        )
        return Counter(chat_id for chat_id, _ in rows)


async def sent_rows(services) -> int:
    async with services.session_factory() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "sent")
            )
            or 0
        )


async def alerted(services) -> int:
    async with services.session_factory() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Deadline).where(Deadline.alert_count > 0)
            )
            or 0
        )


async def pending(services) -> int:
    async with services.session_factory() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != "sent")
            )
            or 0
        )


async def run(backend: str, count: int, deliver_seconds: float) -> None:
    async with database(backend, "digests") as url:
        engine = make_engine(url)
        clock = ManualClock(START)
        services = build_services(Settings(), engine, clock)
        await seed(services, count)
        emulator = BotApiEmulator(flood_limits=FloodLimits())
        await emulator.start()
        for _, telegram_id in PEOPLE:
            emulator.add_user(telegram_id, str(telegram_id))
        token = "9100:bench"
        bot = Bot(token, base_url=emulator.base_url)
        await bot.initialize()
        sender = OutboxSender(services, bot, pacing=Pacing())
        job = JobServices(services.session_factory, clock, services.settings.timezone)

        clock.set(START + dt.timedelta(hours=26))  # every one of them overdue
        per_sweep: list[Counter[int]] = []
        queued: list[int] = []  # outbox rows a person got from each sweep
        sweep_seconds = deliver_total = 0.0
        estimate = None
        before = Counter[int]()
        while True:
            began = time.perf_counter()
            result = await jobs.sweep_deadlines(job)
            sweep_seconds += time.perf_counter() - began
            if result.checked == 0:
                break
            queued.append(await pending(services) // len(PEOPLE))
            began = time.perf_counter()
            rows_before = await sent_rows(services)
            while await pending(services) and time.perf_counter() - began < deliver_seconds:
                if not (await sender.deliver_due()).sent:
                    await asyncio.sleep(sender.next_chat_ready_in() or 0.05)
            spent = time.perf_counter() - began
            deliver_total += spent
            now_sent = await messages_by_chat(services)
            per_sweep.append(now_sent - before)
            before = now_sent
            left = await pending(services)
            if left:  # delivery cut short: the rest at the rate reached, one row a message
                rate = (await sent_rows(services) - rows_before) / spent
                unswept = count - await alerted(services)
                rest = left + len(PEOPLE) * unswept
                sweeps_left = -(-unswept // jobs.SWEEP_LIMIT)
                estimate = max(rest / max(rate, 1e-9), sweeps_left * MINUTE)
                break
            clock.advance(dt.timedelta(minutes=1))

        async with services.session_factory() as session:
            unalerted = await session.scalar(
                select(func.count()).select_from(Deadline).where(Deadline.alert_count == 0)
            )
            rows = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "sent")
            )
        await bot.shutdown()
        await emulator.stop()
        await engine.dispose()

    most = max((max(c.values(), default=0) for c in per_sweep), default=0)
    sweeps = len(per_sweep)
    total = sum(sum(c.values()) for c in per_sweep) / len(PEOPLE)
    until_last = (sweeps - 1) * MINUTE + sweep_seconds + deliver_total + (estimate or 0)
    print(
        f"[{backend}] {count:,} overdue at once, 3 people: {sweeps} sweep(s) "
        f"({sweep_seconds:.1f} s of sweeping), {max(queued, default=0):,} outbox rows a "
        f"person a sweep, at most {most} Telegram message(s) a person a sweep delivered, "
        f"{total:,.0f} a person in all"
        + (" before delivery was cut short" if estimate else "")
        + f"; last delivered after {until_last:,.0f} s"
        + (f" (estimated: {estimate:,.0f} s more at the rate reached)" if estimate else "")
        + f"; deadlines unalerted {unalerted}, outbox rows sent {rows:,} of {3 * count:,} "
        f"({load()})",
        flush=True,
    )


def main() -> int:
    args = sys.argv[1:]
    deliver_seconds = 120.0
    if "--deliver-seconds" in args:
        at = args.index("--deliver-seconds")
        deliver_seconds = float(args[at + 1])
        del args[at : at + 2]
    count = int(args[0]) if args else 10_000
    for backend in backends():
        asyncio.run(run(backend, count, deliver_seconds))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TZ", "UTC")
    sys.exit(main())
