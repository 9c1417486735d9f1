"""Latency: reply times of 50 users stepping through complaints, alone and while a big ledger
export and a sweep of many overdue deadlines run in the same bot process.

`python -m bench latency [--full]`: 10,000 complaints in the ledger and 2,000 overdue
deadlines (--full: 100,000 and 10,000). The bot is `python -m bot` polling the emulator, with
its scheduler sweeping every second (500 deadlines a sweep, as in production, so 10,000 take
twenty sweeps). The emulator's flood limits and the bot's own rate limiter are lifted, so the
figures are the bot's work, not Telegram's pace. Prints p50/p99 alone (a) and with the
background work (b) and p99 b/a; also the memory of the bot and of its rendering worker after
the export. BENCH_DATABASE_URL adds PostgreSQL.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from emulator.server import BotApiEmulator

from .common import backends, database, load, percentile
from .live import (
    LIFTED,
    LIFTED_ENV,
    Process,
    bot_env,
    children_of,
    copy_complaints,
    dialogues,
    emulator_with,
    open_deadlines,
    overdue_deadlines,
    register,
    rss_mib,
)

USERS = 50
TOKEN = "820001:bench"
QUALITY = [7_100_000 + i for i in range(3)]


async def ledger_delivered(emulator: BotApiEmulator, chat: int, began: float) -> str:
    """How long until the ledger arrived, or what came instead."""

    def outcome() -> str | None:
        for message in emulator.bot_messages(TOKEN, chat):
            if "document" in message:
                return f"arrived after {time.perf_counter() - began:.1f} s"
            if "went wrong" in message.get("text", "") or "could not be prepared" in message.get(
                "text", ""
            ):
                return f"failed after {time.perf_counter() - began:.1f} s (an error message)"
        return None

    return await emulator.wait_until(outcome, timeout=900)


async def latency(backend: str, complaints: int, overdue: int) -> None:
    async with database(backend, "latency") as url, emulator_with(LIFTED) as emulator:
        with tempfile.TemporaryDirectory() as folder:
            bot = Process(
                "bot",
                bot_env(
                    emulator,
                    TOKEN,
                    url,
                    LOAD_SAMPLES="true",
                    SWEEP_INTERVAL_SECONDS="1",
                    **LIFTED_ENV,
                ),
                Path(folder) / "bot.log",
            )
            try:
                await bot.start()
                users = list(range(7_000_000, 7_000_000 + USERS))
                await register(url, emulator, users, "customer")
                await register(url, emulator, QUALITY, "quality")
                await dialogues(emulator, TOKEN, users, 1)  # warm-up, and the template row
                copied = await copy_complaints(url, complaints)
                before = rss_mib(bot.pid)
                _, alone = await dialogues(emulator, TOKEN, users, 1)
                load_a = load()

                await overdue_deadlines(url, overdue)
                began = time.perf_counter()
                await emulator.send_text(TOKEN, QUALITY[0], "/ledger")
                export = asyncio.create_task(ledger_delivered(emulator, QUALITY[0], began))
                _, busy = await dialogues(emulator, TOKEN, users, 1)
                stepped = time.perf_counter() - began
                load_b = load()
                left = await open_deadlines(url)
                export_took = await export
                after = rss_mib(bot.pid)
                worker = [rss_mib(child) for child in children_of(bot.pid)]
            finally:
                await bot.stop()
    p50a, p99a = (percentile(alone.latencies, q) * 1000 for q in (0.5, 0.99))
    p50b, p99b = (percentile(busy.latencies, q) * 1000 for q in (0.5, 0.99))
    print(
        f"[{backend}] latency, {USERS} users x 7 steps ({complaints:,} complaints copied in "
        f"{copied:.1f} s):\n"
        f"  (a) alone: p50 {p50a:.0f} ms, p99 {p99a:.0f} ms, failed {alone.errors} ({load_a})\n"
        f"  (b) with ledger export of {complaints + 2 * USERS:,} rows and {overdue:,} overdue: "
        f"p50 {p50b:.0f} ms, p99 {p99b:.0f} ms, failed {busy.errors} ({load_b})\n"
        f"  p99 b/a = {p99b / p99a:.2f} (aim < 2; p99 aim < 1000 ms); dialogues took "
        f"{stepped:.1f} s, the ledger {export_took}, {overdue - left:,} of "
        f"{overdue:,} deadlines alerted by the end of the dialogues\n"
        f"  bot memory: {before[0]:.0f} MiB before, {after[0]:.0f} MiB after (peak "
        f"{after[1]:.0f} MiB) with {complaints:,} complaints; rendering worker: "
        + (", ".join(f"{now:.0f} MiB (peak {peak:.0f} MiB)" for now, peak in worker) or "none"),
        flush=True,
    )


async def run(full: bool) -> None:
    for backend in backends():
        await latency(backend, 100_000 if full else 10_000, 10_000 if full else 2_000)
