"""The demo's clock and schedule: moving the clock runs every job at each of its fire times on
the way, in order, with the clock showing that time; and the emulator's ids survive a restart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from emulator.ids import PersistentCounter
from procedures.kernel.clock import ManualClock
from scheduler.demo import DemoClock, DemoSchedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)  # a Monday


def demo_with(clock: DemoClock, runs: list[tuple[str, dt.datetime]]) -> DemoSchedule:
    def job(name: str):  # type: ignore[no-untyped-def]
        async def run() -> None:
            runs.append((name, clock.now().astimezone(SHANGHAI)))

        return run

    return DemoSchedule(
        clock,
        [
            ("sweep", IntervalTrigger(minutes=1, timezone=SHANGHAI), job("sweep")),
            ("patrol_reminder", CronTrigger(hour=17, timezone=SHANGHAI), job("patrol_reminder")),
            ("scores", CronTrigger(day=1, hour=9, timezone=SHANGHAI), job("scores")),
        ],
    )


async def test_a_day_forward_runs_the_17_00_reminder_at_17_00_and_sweeps_hourly() -> None:
    clock = DemoClock(system=ManualClock(START))
    runs: list[tuple[str, dt.datetime]] = []
    demo = demo_with(clock, runs)

    await demo.advance_to(START + dt.timedelta(days=1))

    assert ("patrol_reminder", START.replace(hour=17)) in runs
    sweeps = [at for name, at in runs if name == "sweep"]
    assert len(sweeps) == 24 and sweeps[0] == START + dt.timedelta(hours=1)
    assert [at for _, at in runs] == sorted(at for _, at in runs)  # in the order of time
    assert clock.now() == START + dt.timedelta(days=1)


async def test_crossing_the_first_of_the_month_runs_the_monthly_job_once() -> None:
    clock = DemoClock(system=ManualClock(START))
    runs: list[tuple[str, dt.datetime]] = []
    demo = demo_with(clock, runs)

    await demo.advance_to(dt.datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI))
    await demo.advance_to(dt.datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI))

    assert [at for name, at in runs if name == "scores"] == [
        dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
    ]


async def test_with_real_time_passing_a_minute_sweep_runs_every_minute() -> None:
    system = ManualClock(START)
    clock = DemoClock(system=system)
    runs: list[tuple[str, dt.datetime]] = []
    demo = demo_with(clock, runs)

    for _ in range(3):
        system.advance(dt.timedelta(seconds=61))
        await demo.run_due()

    assert [name for name, _ in runs] == ["sweep", "sweep", "sweep"]


def test_the_demo_clock_only_moves_forward_and_keeps_its_offset(tmp_path: Path) -> None:
    system = ManualClock(START)
    clock = DemoClock(tmp_path / "demo-clock", system=system)
    clock.move_to(START + dt.timedelta(days=2))
    clock.move_to(START)  # the past: nothing changes
    assert clock.now() == START + dt.timedelta(days=2)

    restarted = DemoClock(tmp_path / "demo-clock", system=system)
    assert restarted.now() == START + dt.timedelta(days=2)


def test_emulator_ids_continue_above_every_id_given_before_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "emulator-ids"
    first = PersistentCounter(path, block=10)
    given = [next(first) for _ in range(25)]
    assert given == list(range(1, 26))

    after_restart = PersistentCounter(path, block=10)
    assert next(after_restart) > max(given)
