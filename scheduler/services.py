"""What the jobs need: sessions, the clock and the schedule's settings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.services import Runtime
from procedures.kernel.clock import Clock
from procedures.kernel.unit_of_work import UnitOfWork


@dataclass
class JobServices:
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    timezone: ZoneInfo
    outbox_ready: asyncio.Event | None = field(default=None)
    patrol_reminder_hour: int = 17
    inspection_months: dict[str, int] = field(default_factory=lambda: {"elevator": 1})
    score_due_day: int = 5
    sweep_interval_seconds: int = 60

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> JobServices:
        """What the jobs need from a process's runtime, with the schedule from its settings."""
        settings = runtime.settings
        return cls(
            runtime.session_factory,
            runtime.clock,
            settings.timezone,
            runtime.outbox_ready,
            patrol_reminder_hour=settings.patrol_reminder_hour,
            inspection_months=settings.inspection_months,
            score_due_day=settings.score_due_day,
            sweep_interval_seconds=settings.sweep_interval_seconds,
        )

    def unit_of_work(self) -> UnitOfWork:
        wake = self.outbox_ready.set if self.outbox_ready is not None else None
        return UnitOfWork(self.session_factory, self.clock, on_commit=wake)
