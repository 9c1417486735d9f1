"""On SQLite the process's writers take turns in the process, first come first served."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.update_transaction import update_session
from bot.services import Services
from procedures.kernel.unit_of_work import UnitOfWork
from storage.models import ProcessedUpdate


async def test_a_jobs_transaction_waits_its_turn_behind_an_updates_and_both_are_kept(
    services: Services, engine: AsyncEngine
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's writers run side by side")
    now = services.clock.now()
    began = asyncio.Event()

    async def sweep_chunk() -> None:
        async with UnitOfWork(services.session_factory, services.clock) as uow:
            began.set()
            uow.session.add(ProcessedUpdate(update_id=2, processed_at=now))
            await uow.commit()

    async with update_session(services.session_factory) as session:
        session.add(ProcessedUpdate(update_id=1, processed_at=now))
        await session.flush()  # the update holds SQLite's write lock
        chunk = asyncio.create_task(sweep_chunk())
        for _ in range(20):
            await asyncio.sleep(0)
        # queued in the process, not polling in SQLite's busy handler (whose sleeps go on
        # after the lock is free, and which gives up after its timeout)
        assert not began.is_set()
        await session.commit()
    await chunk

    async with services.session_factory() as session:
        kept = await session.scalars(select(ProcessedUpdate.update_id).order_by("update_id"))
        assert list(kept) == [1, 2]


async def test_a_unit_of_work_opened_inside_an_update_does_not_wait_for_the_updates_own_turn(
    services: Services,
) -> None:
    async with update_session(services.session_factory):
        # a use case that opened a transaction of its own here would wait for ever for the
        # turn its own update holds; it is let through (SQLite's busy timeout bounds it)
        async with asyncio.timeout(5):
            async with UnitOfWork(services.session_factory, services.clock) as uow:
                assert uow.session is not None
