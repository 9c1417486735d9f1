"""The demo's time: a clock the local web chat can move forward, and the jobs run on it.

`make run` without a token runs the bot on a `DemoClock`: real time plus an offset that only
grows. The scheduled jobs then cannot run on APScheduler's own timer (it reads the system
clock); `DemoSchedule` runs the same jobs, with the same triggers, on the demo clock. Every
second it runs what fell due; when the clock is moved forward it steps through every fire time
in between, in order, with the clock set to each one, so a sweep, the 17:00 patrol reminder,
the 1st-of-month scores and the quarterly report happen as they would have in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger

from core.services import Runtime
from procedures.kernel.clock import Clock, SystemClock

from .runtime import build_scheduler
from .services import JobServices

logger = logging.getLogger(__name__)

# Jobs that run every minute are stepped at most once an hour of demo time crossed (and at the
# end): a jump of a month stays quick, and deadlines (whole hours here) still fall in order.
FINEST_STEP = dt.timedelta(hours=1)
TICK_SECONDS = 1.0


class DemoClock:
    """Real time plus an offset that only grows; the offset is kept in a file, if given, so a
    restarted demo does not go back in time."""

    def __init__(self, offset_file: Path | None = None, system: Clock | None = None) -> None:
        self._system = system or SystemClock()
        self._file = offset_file
        self._offset = dt.timedelta()
        if offset_file is not None and offset_file.is_file():
            with contextlib.suppress(ValueError):
                self._offset = dt.timedelta(seconds=float(offset_file.read_text().strip()))

    def now(self) -> dt.datetime:
        return self._system.now() + self._offset

    def move_to(self, moment: dt.datetime) -> None:
        """Move forward to `moment`; a moment already past leaves the clock where it is."""
        if moment.tzinfo is None:
            raise ValueError("DemoClock needs a timezone-aware moment")
        ahead = moment - self.now()
        if ahead <= dt.timedelta():
            return
        self._offset += ahead
        if self._file is not None:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            self._file.write_text(f"{self._offset.total_seconds():.3f}\n")


@dataclass
class _Job:
    name: str
    trigger: Any
    run: Callable[[], Awaitable[Any]]
    last: dt.datetime  # the last fire time run (or the start)

    def fire_times(self, until: dt.datetime) -> list[dt.datetime]:
        """The fire times after `last` up to `until`, each as this job's trigger would fire."""
        times = []
        if isinstance(self.trigger, IntervalTrigger):
            step = max(self.trigger.interval, min(FINEST_STEP, until - self.last))
            moment = self.last + step
            while moment <= until:
                times.append(moment)
                moment += step
            return times  # what is left of a step runs at the next tick
        cursor = self.last + dt.timedelta(microseconds=1)
        while True:
            moment = self.trigger.get_next_fire_time(None, cursor)
            if moment is None or moment > until:
                return times
            times.append(moment)
            cursor = moment + dt.timedelta(microseconds=1)


class DemoSchedule:
    """The scheduler's jobs on the demo clock; `start`/`shutdown` as the bot's background jobs."""

    def __init__(
        self, clock: DemoClock, jobs: list[tuple[str, Any, Callable[[], Awaitable[Any]]]]
    ) -> None:
        """`jobs`: (name, APScheduler trigger, the job to run) each."""
        self.clock = clock
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        start = clock.now()
        self._jobs = [_Job(name, trigger, run, start) for name, trigger, run in jobs]

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> DemoSchedule:
        """The jobs of `scheduler_for(runtime)`, with their triggers, on the runtime's clock."""
        clock = runtime.clock
        assert isinstance(clock, DemoClock), "the demo schedule runs on a DemoClock"
        template = build_scheduler(JobServices.for_runtime(runtime))  # never started
        return cls(
            clock,
            [(job.id, job.trigger, _bound(job.func, job.args)) for job in template.get_jobs()],
        )

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick())

    def shutdown(self, wait: bool = True) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _tick(self) -> None:
        # the database is the truth: the first sweep, a minute in, catches up on what fell due
        # while the demo was stopped
        while True:
            try:
                await self.run_due()
            except Exception:
                logger.exception("a demo job failed")
            await asyncio.sleep(TICK_SECONDS)

    async def run_due(self) -> int:
        """Run what has fallen due by now; return how many runs."""
        return await self.advance_to(self.clock.now())

    async def advance_to(self, target: dt.datetime) -> int:
        """Move the clock to `target`, running every job at each of its fire times on the way,
        in order, with the clock set to that time."""
        async with self._lock:
            due = sorted(
                (moment, index, job)
                for index, job in enumerate(self._jobs)
                for moment in job.fire_times(target)
            )
            for moment, _, job in due:
                self.clock.move_to(moment)
                job.last = moment
                try:
                    await job.run()
                except Exception:
                    logger.exception("demo run of %s at %s failed", job.name, moment)
            self.clock.move_to(target)
            return len(due)


def _bound(func: Callable[..., Awaitable[Any]], args: Any) -> Callable[[], Awaitable[Any]]:
    return lambda: func(*args)
