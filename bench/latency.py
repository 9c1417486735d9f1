"""Latency: reply times of 50 users stepping through complaints, alone and while a big ledger
export and a sweep of many overdue deadlines run in the same bot process.

`python -m bench latency [--full]`: 10,000 complaints in the ledger and 2,000 overdue
deadlines (--full: 100,000 and 10,000). The bot is `python -m bot` polling the emulator, with
its scheduler sweeping every second (chunks of 50 deadlines, resting between them, as in
production). The emulator's flood limits and the bot's own rate limiter are lifted, so the
figures are the bot's work, not Telegram's pace. Prints p50/p99 alone (a), beside the ledger
alone (b1), beside the sweep alone (b2: then waits until all are alerted) and beside both
(b3), each p99 against (a) (the aim: no more than 1.5 times), and the p50 of the Submit step
alone, the heaviest of the seven (the p99's tail is mostly its); also the memory of the bot and
of its rendering worker after the exports. BENCH_DATABASE_URL adds PostgreSQL.
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
    Timings,
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


async def ledger_delivered(emulator: BotApiEmulator, chat: int, began: float, seen: int = 0) -> str:
    """How long until the ledger arrived, or what came instead: a message after the first
    `seen` of the chat (a scheduled report, such as the last quarter's at start, is no ledger)."""

    def outcome() -> str | None:
        for message in emulator.bot_messages(TOKEN, chat)[seen:]:
            name = message.get("document", {}).get("file_name", "")
            if name.startswith("complaint-ledger-"):
                return f"arrived after {time.perf_counter() - began:.1f} s"
            if "went wrong" in message.get("text", "") or "could not be prepared" in message.get(
                "text", ""
            ):
                return f"failed after {time.perf_counter() - began:.1f} s (an error message)"
        return None

    return await emulator.wait_until(outcome, timeout=900)


async def swept(url: str, timeout: float = 1800) -> None:
    """Wait until every overdue deadline is alerted. (Their alerts are delivered later, at one
    message a second to each of the three quality users, as Telegram allows a chat.)"""
    for _ in range(int(timeout)):
        if not await open_deadlines(url):
            return
        await asyncio.sleep(1)


def _p(timings: Timings, q: float) -> float:
    return percentile(timings.latencies, q) * 1000


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
            phases: list[tuple[str, Timings, str, str]] = []
            try:
                await bot.start()
                users = list(range(7_000_000, 7_000_000 + USERS))
                await register(url, emulator, users, "customer")
                await register(url, emulator, QUALITY, "quality")
                await dialogues(emulator, TOKEN, users, 1)  # warm-up, and the template row
                copied = await copy_complaints(url, complaints)
                before = rss_mib(bot.pid)
                _, alone = await dialogues(emulator, TOKEN, users, 1)
                phases.append(("(a) alone", alone, load(), ""))

                async def ledger(chat: int) -> asyncio.Task[str]:
                    seen = len(emulator.bot_messages(TOKEN, chat))
                    await emulator.send_text(TOKEN, chat, "/ledger")
                    return asyncio.create_task(
                        ledger_delivered(emulator, chat, time.perf_counter(), seen)
                    )

                # The ledger alone: rendered in the worker process while the users step.
                export = await ledger(QUALITY[0])
                _, busy = await dialogues(emulator, TOKEN, users, 1)
                phases.append(("(b1) beside the ledger", busy, load(), f"ledger {await export}"))

                # The sweep alone, then wait for its alerts to be delivered.
                await overdue_deadlines(url, overdue)
                began = time.perf_counter()
                _, busy = await dialogues(emulator, TOKEN, users, 1)
                alerted = overdue - await open_deadlines(url)
                note = f"{alerted:,} of {overdue:,} alerted by the end of the dialogues"
                at_load = load()
                await swept(url)
                note += f"; all alerted {time.perf_counter() - began:.0f} s after the insert"
                phases.append(("(b2) beside the sweep", busy, at_load, note))

                # Both at once.
                await overdue_deadlines(url, overdue)
                export = await ledger(QUALITY[1])
                _, busy = await dialogues(emulator, TOKEN, users, 1)
                at_load = load()
                alerted = overdue - await open_deadlines(url)
                note = f"{alerted:,} of {overdue:,} alerted by the end of the dialogues"
                phases.append(("(b3) beside both", busy, at_load, f"{note}; ledger {await export}"))
                after = rss_mib(bot.pid)
                worker = [rss_mib(child) for child in children_of(bot.pid)]
            finally:
                await bot.stop()
    p99a = _p(alone, 0.99)
    lines = [
        f"[{backend}] latency, {USERS} users x 7 steps, ledger of {complaints + 2 * USERS:,} "
        f"rows ({complaints:,} copied in {copied:.1f} s), {overdue:,} overdue:"
    ]
    for name, timings, at_load, note in phases:
        p50, p99 = _p(timings, 0.5), _p(timings, 0.99)
        submit = percentile(timings.submits, 0.5) * 1000 if timings.submits else 0.0
        lines.append(
            f"  {name}: p50 {p50:.0f} ms, p99 {p99:.0f} ms, p99/(a) {p99 / p99a:.2f}, "
            f"p50 of the Submit step {submit:.0f} ms, "
            f"failed {timings.errors} ({at_load}){'; ' + note if note else ''}"
        )
    lines.append(
        f"  aims: p99 < 1000 ms and <= 1.5x (a); bot memory {before[0]:.0f} MiB before, "
        f"{after[0]:.0f} MiB after (peak {after[1]:.0f} MiB); rendering worker: "
        + (", ".join(f"{now:.0f} MiB (peak {peak:.0f} MiB)" for now, peak in worker) or "none")
    )
    print("\n".join(lines), flush=True)


async def run(full: bool) -> None:
    for backend in backends():
        await latency(backend, 100_000 if full else 10_000, 10_000 if full else 2_000)
