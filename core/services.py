"""What every handler and job needs, built once at start-up and handed in (no globals)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from procedures.kernel.clock import Clock, SystemClock
from procedures.kernel.policy import Policies
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.policies import SECTIONS
from storage.db import make_session_factory
from storage.files import FileStore, file_store_for

from .config import Settings, read_section


@dataclass
class Runtime:
    """The settings, the database sessions and the clock, shared by the bot and the scheduler."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    # Set after every commit (which may have queued notifications) to wake the outbox sender.
    # Keyword-only, so a process's own services can add fields after it.
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event, kw_only=True)
    # Where evidence files are kept by their hash (FILE_STORE).
    file_store: FileStore | None = field(default=None, kw_only=True)
    # The settings that change each record type's rules (procedures.policies), by section; the
    # use cases read them from their unit of work. Defaults unless the process loaded them.
    policies: Policies = field(default_factory=Policies, kw_only=True)

    def __post_init__(self) -> None:
        if self.file_store is None:
            self.file_store = file_store_for(
                self.settings.file_store,
                endpoint_url=self.settings.s3_endpoint_url,
                region=self.settings.s3_region,
            )

    @classmethod
    def on_engine(
        cls, settings: Settings, engine: AsyncEngine, clock: Clock | None = None, **parts: Any
    ) -> Self:
        """Sessions on `engine`, the system clock unless one is handed in; `parts` are the
        fields a subclass adds."""
        return cls(
            settings=settings,
            session_factory=make_session_factory(engine),
            clock=clock or SystemClock(),
            **parts,
        )

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(
            self.session_factory, self.clock, self.outbox_ready.set, policies=self.policies
        )


def load_policies(
    env: Mapping[str, str | None] | None = None, *, env_file: Path | None = Path(".env")
) -> Policies:
    """Every record type's policy section, from `env` alone or (without it) from `env_file`
    overlaid by the process environment, as the settings are; a bad value raises ConfigError
    naming its variable."""
    return Policies(read_section(section, env, env_file=env_file) for section in SECTIONS)
