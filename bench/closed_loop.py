"""Closed loop: N users each send their next step as soon as the last was answered, for a
fixed time, through the real bot and then through the bare echo bot on the same emulator.

`python -m bench closedloop [--full]`: 40 users for 20 s each bot (--full: 60 s), limits
lifted (the emulator's flood limits and both bots' rate limiters). Unlike `intake`, which
times a fixed batch of dialogues and so ends in a tail of the slowest users, this counts the
steps answered in a steady state: the rate at which a waiting user gets through. Prints
updates a second for each bot, p50/p99 of a step, and the ratio. BENCH_DATABASE_URL adds
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from .common import backends, database, load, percentile
from .live import (
    LIFTED,
    LIFTED_ENV,
    STEPS,
    Process,
    Stepper,
    Timings,
    bot_env,
    dialogues,
    emulator_with,
    register,
)

USERS = 40
BOT, ECHO = "830001:bench", "830002:echo"


async def closed_loop(emulator, token: str, users: list[int], seconds: float, echo: bool):
    """Every user steps (a complaint's seven steps, or seven echoes) until `seconds` have
    passed; only the steps answered within the window count."""
    timings = Timings()
    stop_at = time.perf_counter() + seconds

    async def one(user_id: int) -> None:
        stepper = Stepper(emulator, token, user_id, timings)
        while time.perf_counter() < stop_at:
            try:
                await (stepper.echoes(STEPS) if echo else stepper.complaint())
            except (AssertionError, IndexError, TimeoutError):
                timings.errors += 1

    began = time.perf_counter()
    tasks = [asyncio.create_task(one(u)) for u in users]
    await asyncio.sleep(seconds)
    answered = len(timings.latencies)
    elapsed = time.perf_counter() - began
    latencies = list(timings.latencies)
    await asyncio.gather(*tasks)  # let the dialogues under way finish, uncounted
    return answered / elapsed, latencies, timings.errors


async def measure(backend: str, seconds: float) -> float:
    async with database(backend, "closedloop") as url, emulator_with(LIFTED) as emulator:
        with tempfile.TemporaryDirectory() as folder:
            bot = Process(
                "bot",
                bot_env(
                    emulator, BOT, url, LOAD_SAMPLES="true", RUN_SCHEDULER="false", **LIFTED_ENV
                ),
                Path(folder) / "bot.log",
            )
            echo = Process(
                "bench.echo_bot",
                bot_env(emulator, ECHO, url, **LIFTED_ENV),
                Path(folder) / "echo.log",
            )
            try:
                await bot.start()
                await echo.start()
                users = list(range(6_100_000, 6_100_000 + USERS))
                await register(url, emulator, users, "customer")
                await dialogues(emulator, BOT, users, 1)  # warm-up, unmeasured
                await dialogues(emulator, ECHO, users, 1, echo=True)
                print(
                    f"[{backend}] closed loop, {USERS} users, {seconds:.0f} s each, limits lifted:",
                    flush=True,
                )
                rates = []
                for label, token, is_echo in (
                    ("after-sales bot", BOT, False),
                    ("echo bot       ", ECHO, True),
                ):
                    rate, latencies, errors = await closed_loop(
                        emulator, token, users, seconds, is_echo
                    )
                    rates.append(rate)
                    print(
                        f"  {label}: {rate:.1f} updates/s, p50 "
                        f"{percentile(latencies, 0.5) * 1000:.0f} ms, p99 "
                        f"{percentile(latencies, 0.99) * 1000:.0f} ms, failed {errors} "
                        f"({load()})",
                        flush=True,
                    )
            finally:
                await bot.stop()
                await echo.stop()
    ratio = rates[0] / rates[1]
    print(f"  ratio after-sales/echo: {ratio:.2f} (aim >= 0.3)", flush=True)
    return ratio


async def run(full: bool) -> None:
    for backend in backends():
        await measure(backend, 60 if full else 20)
