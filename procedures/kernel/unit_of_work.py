"""One transaction per use case: rolls back unless `commit()` is called.

A use case run on its own (a job, an import, a test) gets a session and a transaction of its
own. A use case run while the bot handles a Telegram update joins the update's transaction as a
savepoint: its `commit()` keeps its changes, a failure undoes only them, and the update's
transaction commits them together with the dialogue's new state and the update's id. So a step
and its record are written together or not at all.

The unit of work also carries the process's policy: the settings that change a record type's
rules, read by the use case as `uow.policy(ReturnPolicy)` (its defaults when none was loaded).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction, async_sessionmaker

from procedures.kernel.clock import Clock
from procedures.kernel.policy import Policies, PolicySection

Section = TypeVar("Section", bound=PolicySection)


class UnitOfWork:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        on_commit: Callable[[], None] | None = None,
        *,
        within: AsyncSession | None = None,
        policies: Policies | None = None,
    ) -> None:
        self._session_factory = session_factory
        self.clock = clock
        # Told after every commit, so the outbox sender need not wait for its next poll.
        self._on_commit = on_commit
        self._within = within
        self._savepoint: AsyncSessionTransaction | None = None
        self.policies = policies if policies is not None else Policies()
        self.session: AsyncSession

    def policy(self, section: type[Section]) -> Section:
        """The process's settings for one record type's rules."""
        return self.policies.of(section)

    async def __aenter__(self) -> UnitOfWork:
        if self._within is not None:
            self.session = self._within
            self._savepoint = await self.session.begin_nested()
        else:
            self.session = self._session_factory()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._savepoint is not None:
            if self._savepoint.is_active:
                await self._savepoint.rollback()
            return
        # Closing rolls back whatever was not committed. (An explicit rollback would also expire
        # the objects the use case returns, which callers still read after the block.)
        await self.session.close()

    async def commit(self) -> None:
        if self._savepoint is not None:
            await self.session.flush()
            await self._savepoint.commit()
            return  # the update's transaction commits, and wakes the sender, at its end
        await self.session.commit()
        if self._on_commit is not None:
            self._on_commit()
