"""Intake: complaint dialogues a second through the real bot, against a bare echo bot.

`python -m bench intake [--full]`: 50 users file 1 complaint each (--full: 4) through
`python -m bot`, and send as many updates to a python-telegram-bot echo bot on the same
emulator, in the same run; once with the flood limits lifted (the bot's own cost) and once
with Telegram's (30 a second, 1 a second per chat). Prints updates a second, the ratio to the
echo bot's (limits lifted: the fastest of three runs of each) and p50/p99 of the replies.
BENCH_DATABASE_URL adds PostgreSQL.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from emulator.server import FloodLimits

from .common import backends, database, load, percentile
from .live import LIFTED, LIFTED_ENV, STEPS, Process, bot_env, dialogues, emulator_with, register

USERS = 50
# On a small shared machine a process runs the same work at one of two paces, the CPU of an
# update doubling at the slower (the echo bot's rate moved by two to one between runs:
# bench/README.md, issue 25's third round): each bot runs this many times and the ratio is
# taken between their fastest runs.
RUNS = 3


def line(label: str, users: int, each: int, elapsed: float, timings, load_now: str) -> float:
    rate = users * each * STEPS / elapsed
    p50 = percentile(timings.latencies, 0.5) * 1000
    p99 = percentile(timings.latencies, 0.99) * 1000
    print(
        f"  {label}: {users * each} dialogues ({users * each * STEPS} updates) in {elapsed:.1f} s, "
        f"{rate:.1f} updates/s ({rate / STEPS:.2f} dialogues/s), p50 {p50:.0f} ms, "
        f"p99 {p99:.0f} ms, failed {timings.errors} ({load_now})",
        flush=True,
    )
    return rate


async def intake(
    backend: str, limits: FloodLimits, pace: str, each: int, workers: int = 1
) -> float:
    # both bots' rate limiters (the same class, from the same settings) lifted with the flood
    # limits, or at Telegram's pace with them
    lifted = LIFTED_ENV if limits is LIFTED else {}
    async with database(backend, "intake") as url, emulator_with(limits) as emulator:
        with tempfile.TemporaryDirectory() as folder:
            bots = [
                Process(
                    "bot",
                    bot_env(
                        emulator,
                        "810001:bench",
                        url,
                        LOAD_SAMPLES="true",
                        RUN_SCHEDULER="false",
                        **lifted,
                    ),
                    Path(folder) / f"bot{i}.log",
                )
                for i in range(workers)
            ]
            echo = Process(
                "bench.echo_bot",
                bot_env(emulator, "810002:echo", url, **lifted),
                Path(folder) / "echo.log",
            )
            try:
                for process in bots:
                    await process.start()
                await echo.start()
                users = list(range(6_000_000, 6_000_000 + USERS))
                await register(url, emulator, users, "customer")
                # one dialogue each first, unmeasured: connections, caches, the first number
                await dialogues(emulator, "810001:bench", users, 1)
                await dialogues(emulator, "810002:echo", users, 1, echo=True)
                print(f"[{backend}] intake, {pace}, {workers} worker(s):", flush=True)
                # with the limits lifted each bot runs RUNS times and its fastest counts;
                # at Telegram's pace the pace is the limit, and once is enough
                runs = RUNS if limits is LIFTED else 1

                async def fastest(label: str, token: str, echo: bool) -> float:
                    best = 0.0
                    for _ in range(runs):
                        elapsed, timings = await dialogues(emulator, token, users, each, echo=echo)
                        best = max(best, line(label, USERS, each, elapsed, timings, load()))
                    return best

                bot_rate = await fastest("after-sales bot", "810001:bench", False)
                echo_rate = await fastest("echo bot       ", "810002:echo", True)
            finally:
                for process in [*bots, echo]:
                    await process.stop()
    ratio = bot_rate / echo_rate
    aim = 0.5 if limits is LIFTED else 0.95
    print(f"  ratio after-sales/echo: {ratio:.2f} (aim >= {aim})", flush=True)
    return bot_rate


async def run(full: bool) -> None:
    each = 4 if full else 1
    for backend in backends():
        await intake(backend, LIFTED, "flood limits lifted", each)
        await intake(backend, FloodLimits(), "Telegram's pace", each)
