"""Fan-out: a stop-sales notice to 3,000 buyers at Telegram's pace, and with paid broadcast.

`python -m bench.fanout [COUNT]`; BENCH_DATABASE_URL adds PostgreSQL (a scratch schema).
Prints the achieved rate against the limit (30 a second, 1,000 with paid broadcast) and the
429s the emulator (Telegram's flood limits on) answered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import tempfile
import time

from telegram import Bot

from bot.runtime.outbox_sender import OutboxSender, Pacing
from bot.services import build_services
from core.config import Settings
from emulator.server import BotApiEmulator, FloodLimits
from procedures.kernel.clock import ManualClock
from procedures.kernel.outbox import notify_users
from storage.db import make_engine, migrate
from storage.models import User, UserRole

from .scratch import scratch_schema

START = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)


async def fan_out(url: str, count: int, paid: bool, search_path: str | None = None) -> None:
    connect_args = {"server_settings": {"search_path": search_path}} if search_path else {}
    engine = make_engine(url, connect_args=connect_args)
    await migrate(engine)
    services = build_services(Settings(), engine, ManualClock(START))
    emulator = BotApiEmulator(flood_limits=FloodLimits())
    await emulator.start()
    base = 20_000_000 if paid else 10_000_000
    async with services.unit_of_work() as uow:
        buyers = [
            User(
                telegram_id=base + i,
                full_name=f"Buyer {i}",
                language="en",
                active=True,
                created_at=START,
                roles=[UserRole(role="customer")],
            )
            for i in range(count)
        ]
        uow.session.add_all(buyers)
        await uow.session.flush()
        await notify_users(
            uow.session,
            buyers,
            "complaint.suspend_sales",
            {"number": "QC-2026-00001", "product": "Syringe 5ml", "lot": "L20260301"},
            now=START,
            dedupe_prefix=f"bench:{base}:suspend",
        )
        await uow.commit()
    for buyer in buyers:
        emulator.add_user(buyer.telegram_id, buyer.full_name)
    token = f"{base // 1000}:bench"
    bot = Bot(token, base_url=emulator.base_url)
    await bot.initialize()
    sender = OutboxSender(services, bot, pacing=Pacing(), paid_broadcast=paid)
    began = time.perf_counter()
    sent = 0
    while sent < count:
        sent += (await sender.deliver_due()).sent
        if sent < count:
            await asyncio.sleep(sender.next_chat_ready_in() or 0.05)
    elapsed = time.perf_counter() - began
    statuses = [s for _, m, s in emulator.bot(token).call_log if m == "sendmessage"]
    limit = 1000 if paid else 30
    rate = sent / elapsed
    print(
        f"[{engine.dialect.name}] fan-out to {count} buyers"
        f"{' (paid broadcast)' if paid else ''}: {elapsed:.1f} s, {rate:.1f}/s, "
        f"achieved/{limit} = {rate / limit:.2f}, 429s {statuses.count(429)}",
        flush=True,
    )
    await bot.shutdown()
    await emulator.stop()
    await engine.dispose()


async def on_postgres(url: str, count: int, paid: bool) -> None:
    async with scratch_schema(url, f"fanout{int(paid)}") as schema:
        await fan_out(url, count, paid, search_path=schema)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    for paid in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(fan_out(f"sqlite+aiosqlite:///{folder}/bench.db", count, paid))
        if url := os.environ.get("BENCH_DATABASE_URL"):
            asyncio.run(on_postgres(url, count, paid))
    return 0


if __name__ == "__main__":
    sys.exit(main())
