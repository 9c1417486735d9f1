"""One transaction per use case: rolls back unless `commit()` is called."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import ProcessedUpdate

from .clock import Clock


class DuplicateUpdate(Exception):
    """The update's effect was committed before: this delivery must change nothing."""


class UnitOfWork:
    """Opens a session; `commit()` also records the Telegram update that caused the change.

    Recording the update id in the same transaction as its effect is what makes a redelivered
    update harmless: the gate sees the id and drops the update.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        update_id: int | None = None,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self.clock = clock
        self.update_id = update_id
        # Told after every commit, so the outbox sender need not wait for its next poll.
        self._on_commit = on_commit
        self.session: AsyncSession

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Closing rolls back whatever was not committed. (An explicit rollback would also expire
        # the objects the use case returns, which callers still read after the block.)
        await self.session.close()

    async def commit(self) -> None:
        if self.update_id is not None:
            if await self.session.get(ProcessedUpdate, self.update_id) is not None:
                raise DuplicateUpdate(self.update_id)
            # On a race the primary key refuses the second insert and the commit fails whole.
            self.session.add(
                ProcessedUpdate(update_id=self.update_id, processed_at=self.clock.now())
            )
            self.update_id = None
        await self.session.commit()
        if self._on_commit is not None:
            self._on_commit()
