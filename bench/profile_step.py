"""A dialogue step's CPU in the bot process, repeatable on a busy machine.

`python -m bench.profile_step [OUT.prof]` (BENCH_BACKENDS=postgresql with BENCH_DATABASE_URL for
PostgreSQL): 50 users file one complaint each, unmeasured; then 20 of them one more each, one
user after another (140 updates), and all 50 one more at once (350 updates), each time with the
bot process's CPU time (user and system, all its threads, from /proc) read before and after;
then 20 one after another again under cProfile (the event loop's thread), whose statistics go
to OUT.<backend>.prof and whose top functions are printed. One user at a time does the same work
a step whatever the load (no fetch brings back updates still being handled), so its CPU time and
its calls compare before and after a change on a shared machine; at once, a slower bot has more
updates in flight, each fetch decodes them again, and the CPU an update grows with the load.

`CALLGRIND=1` counts the bot's instructions (valgrind's callgrind, all threads) over 5 users
one after another instead; `CALLGRIND=echo` counts both the bot's and the echo bot's over the
same 20 users at once, as `bench intake` sends them, and prints their ratio.
"""

from __future__ import annotations

import asyncio
import os
import pstats
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path

from .common import backends, database, load
from .live import (
    LIFTED,
    LIFTED_ENV,
    ROOT,
    STEPS,
    Process,
    bot_env,
    dialogues,
    emulator_with,
    register,
)

USERS = 50
SEQUENTIAL = 20  # users who file one after another


def cpu_seconds(pid: int) -> float:
    """User and system time of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def api_calls(calls: list[tuple[float, str, int]], updates: int) -> str:
    """The bot's Bot API calls an update, by method."""
    methods = Counter(method for _, method, _ in calls)
    listed = ", ".join(f"{m} {n / updates:.2f}" for m, n in methods.most_common())
    return f"Bot API calls an update: {listed}"


def written(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


async def wait_for(path: Path) -> None:
    for _ in range(600):
        if written(path):
            await asyncio.sleep(0.5)  # written in full
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no profile at {path}")


async def sample(pid: int, out: Path) -> asyncio.subprocess.Process | None:
    """py-spy sampling every thread of the bot, when PYSPY names its program: a second view
    without cProfile's cost per call, written as collapsed stacks beside the profile."""
    program = os.environ.get("PYSPY")
    if not program:
        return None
    sampler = await asyncio.create_subprocess_exec(
        program,
        "record",
        "--pid",
        str(pid),
        "--rate",
        "250",
        "--format",
        "raw",
        "--output",
        str(out.with_suffix(".stacks")),
        "--threads",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.sleep(1)  # attached
    return sampler


class UnderCallgrind(Process):
    """The bot under valgrind's callgrind, counting instructions only while switched on."""

    out: Path = Path("callgrind.out")

    async def start(self, ready: str = "Application started", timeout: float = 900) -> None:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={self.out}",
            sys.executable,
            "-m",
            self.module,
        ]
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *command, cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        for _ in range(int(timeout * 10)):
            if ready in self.log.read_text(errors="replace"):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the bot did not start under valgrind: see {self.log}")

    async def instrument(self, on: bool) -> None:
        control = await asyncio.create_subprocess_exec(
            "callgrind_control",
            "-i",
            "on" if on else "off",
            str(self.pid),
            stdout=asyncio.subprocess.DEVNULL,
        )
        await control.wait()


def instructions(out: Path) -> int:
    """The instructions callgrind counted (its `totals:` line; `summary:` is 0 when counting
    was switched on later)."""
    for line in out.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise ValueError(f"no totals in {out}")


async def count_instructions(backend: str, out: Path) -> None:
    """`CALLGRIND=1`: a few users, one after another, with callgrind counting: the
    instructions a step costs (every thread, the interpreter's own work included), the same
    from run to run whatever the load."""
    users_counted = int(os.environ.get("CALLGRIND_USERS", "5"))
    async with database(backend, "callgrind") as url, emulator_with(LIFTED) as emulator:
        with tempfile.TemporaryDirectory() as folder:
            bot = UnderCallgrind(
                "bot",
                bot_env(
                    emulator,
                    "810001:bench",
                    url,
                    LOAD_SAMPLES="true",
                    RUN_SCHEDULER="false",
                    **LIFTED_ENV,
                ),
                Path(folder) / "bot.log",
            )
            bot.out = out.with_suffix(".callgrind")
            try:
                await bot.start()
                users = list(range(6_000_000, 6_000_000 + users_counted * 2))
                await register(url, emulator, users, "customer")
                for user in users[users_counted:]:  # warm-up, not counted
                    await dialogues(emulator, "810001:bench", [user], 1)
                await bot.instrument(True)
                for user in users[:users_counted]:
                    await dialogues(emulator, "810001:bench", [user], 1)
                await bot.instrument(False)
            finally:
                await bot.stop()
    counted = instructions(bot.out)
    updates = users_counted * STEPS
    print(
        f"[{backend}] callgrind, {updates} updates one at a time: {counted:,} instructions, "
        f"{counted / updates / 1e6:.1f} million an update",
        flush=True,
    )


async def profile(backend: str, out: Path) -> None:
    async with database(backend, "profile") as url, emulator_with(LIFTED) as emulator:
        with tempfile.TemporaryDirectory() as folder:
            bot = Process(
                "bench.profiled_bot",
                bot_env(
                    emulator,
                    "810001:bench",
                    url,
                    LOAD_SAMPLES="true",
                    RUN_SCHEDULER="false",
                    PROFILE_OUT=str(out),
                    **LIFTED_ENV,
                ),
                Path(folder) / "bot.log",
            )
            try:
                await bot.start()
                users = list(range(6_000_000, 6_000_000 + USERS))
                await register(url, emulator, users, "customer")
                await dialogues(emulator, "810001:bench", users, 1)
                # one user at a time: the same work for every step whatever the load, as
                # no fetch brings back updates still being handled
                updates = SEQUENTIAL * STEPS
                calls = emulator.bot("810001:bench").call_log
                called_before = len(calls)
                began = cpu_seconds(bot.pid)
                for user in users[:SEQUENTIAL]:
                    await dialogues(emulator, "810001:bench", [user], 1)
                used = cpu_seconds(bot.pid) - began
                print(f"[{backend}] {api_calls(calls[called_before:], updates)}", flush=True)
                print(
                    f"[{backend}] {updates} updates one at a time: bot CPU {used:.2f} s, "
                    f"{used / updates * 1000:.2f} ms an update ({load()})",
                    flush=True,
                )
                # all users at once, as `bench intake` sends them
                sampler = await sample(bot.pid, out)
                called_before = len(calls)
                began = cpu_seconds(bot.pid)
                elapsed, timings = await dialogues(emulator, "810001:bench", users, 1)
                used = cpu_seconds(bot.pid) - began
                if sampler is not None:
                    sampler.send_signal(signal.SIGINT)
                    await sampler.wait()
                print(
                    f"[{backend}] {USERS * STEPS} updates, {USERS} users at once: bot CPU "
                    f"{used:.2f} s, {used / (USERS * STEPS) * 1000:.2f} ms an update; wall "
                    f"{elapsed:.1f} s, failed {timings.errors} ({load()})",
                    flush=True,
                )
                print(f"[{backend}] {api_calls(calls[called_before:], USERS * STEPS)}", flush=True)
                await asyncio.to_thread(out.unlink, missing_ok=True)
                os.kill(bot.pid, signal.SIGUSR1)
                for user in users[:SEQUENTIAL]:
                    await dialogues(emulator, "810001:bench", [user], 1)
                os.kill(bot.pid, signal.SIGUSR2)
                await wait_for(out)
            finally:
                await bot.stop()
    stats = pstats.Stats(str(out))
    print(
        f"[{backend}] profiled, one at a time: {stats.total_calls} calls, "
        f"{stats.total_calls / (SEQUENTIAL * STEPS):.0f} an update, "
        f"{stats.total_tt:.2f} s of the thread's CPU (cProfile's own cost included)",
        flush=True,
    )
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(45)


async def compare_instructions(backend: str, out: Path) -> None:
    """`CALLGRIND=echo`: the after-sales bot and the echo bot under callgrind, the same users
    all at once (as `bench intake` sends them): their instructions an update and the ratio, the
    yardstick of intake's aim without the pace a shared machine happens to run at."""
    users_counted = int(os.environ.get("CALLGRIND_USERS", "20"))
    counted: dict[str, float] = {}
    async with database(backend, "callgrind") as url, emulator_with(LIFTED) as emulator:
        users = list(range(6_000_000, 6_000_000 + users_counted))
        for label, module, token, echo in [
            ("after-sales bot", "bot", "810001:bench", False),
            ("echo bot", "bench.echo_bot", "810002:echo", True),
        ]:
            with tempfile.TemporaryDirectory() as folder:
                env = {"RUN_SCHEDULER": "false", **LIFTED_ENV}
                if not echo:
                    env["LOAD_SAMPLES"] = "true"
                bot = UnderCallgrind(
                    module, bot_env(emulator, token, url, **env), Path(folder) / "bot.log"
                )
                bot.out = out.with_suffix(f".{module}.callgrind")
                try:
                    await bot.start()
                    if not echo:  # once the bot has seeded the customers' organisation
                        await register(url, emulator, users, "customer")
                    await dialogues(emulator, token, users, 1, echo=echo)  # warm-up
                    await bot.instrument(True)
                    _, timings = await dialogues(emulator, token, users, 1, echo=echo)
                    await bot.instrument(False)
                finally:
                    await bot.stop()
            updates = users_counted * STEPS
            counted[label] = instructions(bot.out) / updates
            print(
                f"[{backend}] callgrind, {label}, {updates} updates from {users_counted} users "
                f"at once: {counted[label] / 1e6:.1f} million instructions an update, "
                f"failed {timings.errors}",
                flush=True,
            )
    ratio = counted["echo bot"] / counted["after-sales bot"]
    print(f"[{backend}] echo/after-sales instructions an update: {ratio:.2f} (intake's aim 0.5)")


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "step.prof").resolve()
    mode = os.environ.get("CALLGRIND")
    measure = compare_instructions if mode == "echo" else count_instructions if mode else profile
    for backend in backends():
        asyncio.run(measure(backend, out.with_suffix(f".{backend}.prof")))


if __name__ == "__main__":
    main()
