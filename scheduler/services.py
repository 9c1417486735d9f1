"""What the jobs need: sessions, the clock, and the schedule from the record types' policies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.services import Runtime
from procedures.equipment.policy import EquipmentPolicy
from procedures.kernel.clock import Clock
from procedures.kernel.policy import Policies
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.kernel.working_hours import WorkingHours


@dataclass
class JobServices:
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    timezone: ZoneInfo
    outbox_ready: asyncio.Event | None = field(default=None)
    sweep_interval_seconds: int = 60
    # when routine reminders may reach people; None: at any hour
    working_hours: WorkingHours | None = None
    # the record types' policies as the process loaded them (else their defaults)
    policies: Policies = field(default_factory=Policies)
    # how a long job rests between two of its transactions (tests record the rests instead)
    rest: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> JobServices:
        """What the jobs need from a process's runtime: its settings and policies."""
        settings = runtime.settings
        return cls(
            runtime.session_factory,
            runtime.clock,
            settings.timezone,
            runtime.outbox_ready,
            sweep_interval_seconds=settings.sweep_interval_seconds,
            working_hours=WorkingHours.of_settings(settings),
            policies=runtime.policies,
        )

    @property
    def patrol_reminder_hour(self) -> int:
        return self.policies.of(EquipmentPolicy).patrol_reminder_hour

    def unit_of_work(self) -> UnitOfWork:
        wake = self.outbox_ready.set if self.outbox_ready is not None else None
        return UnitOfWork(self.session_factory, self.clock, on_commit=wake, policies=self.policies)
