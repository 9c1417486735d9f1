"""What every handler and job needs, built once at start-up and handed in (no globals)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from procedures.clock import Clock
from procedures.unit_of_work import UnitOfWork

from .config import Settings
from .texts import Texts


@dataclass
class Services:
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    texts: Texts
    # Set after every commit (which may have queued notifications) to wake the outbox sender.
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.clock, self.outbox_ready.set)
