"""Storage guarantees: append-only timeline, numbers never reused, SQLite settings, UTC times."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from bot.services import Services
from procedures.kernel.numbering import next_number
from procedures.kernel.timeline import events_of, record_event
from storage.models import TimelineEvent


async def test_timeline_events_can_be_added_but_never_changed_or_deleted(
    services: Services,
) -> None:
    async with services.unit_of_work() as uow:
        record_event(
            uow.session,
            subject_type="complaint",
            subject_id=1,
            action="filed",
            at=uow.clock.now(),
            after={"status": "open"},
        )
        await uow.commit()
    for statement in (
        update(TimelineEvent).values(action="forged"),
        delete(TimelineEvent),
    ):
        async with services.session_factory() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(statement)
                await session.commit()
    async with services.session_factory() as session:
        (event,) = await events_of(session, "complaint", 1)
        assert event.action == "filed" and event.at == services.clock.now()
        assert event.at.tzinfo is dt.UTC


async def test_numbers_count_per_prefix_and_year_and_a_rollback_reuses_none_taken(
    services: Services,
) -> None:
    async with services.unit_of_work() as uow:
        taken = [await next_number(uow.session, "QC", 2026) for _ in range(3)]
        taken.append(await next_number(uow.session, "RT", 2026))
        taken.append(await next_number(uow.session, "QC", 2027))
        await uow.commit()
    assert taken == [
        "QC-2026-00001",
        "QC-2026-00002",
        "QC-2026-00003",
        "RT-2026-00001",
        "QC-2027-00001",
    ]
    async with services.unit_of_work() as uow:
        assert await next_number(uow.session, "QC", 2026) == "QC-2026-00004"
        # not committed: the number goes back unused, so no gap appears in the ledger
    async with services.unit_of_work() as uow:
        assert await next_number(uow.session, "QC", 2026) == "QC-2026-00004"
        await uow.commit()


async def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(
    services: Services,
) -> None:
    async with services.session_factory() as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("SQLite settings")
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() == 10_000


async def test_the_migrations_build_exactly_the_schema_the_models_describe(
    services: Services,
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    def differences(connection) -> list:  # type: ignore[no-untyped-def]
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with services.session_factory() as session:
        connection = await session.connection()
        assert await connection.run_sync(differences) == []


async def test_the_newest_migration_can_be_undone_and_redone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    from storage.db import alembic_config, make_engine, migrate

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/roundtrip.db")
    await migrate(engine)

    def downgrade_one(connection) -> None:  # type: ignore[no-untyped-def]
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")

    async with engine.begin() as connection:
        await connection.run_sync(downgrade_one)
    await migrate(engine)
    async with engine.connect() as connection:
        version = (
            await connection.execute(text("SELECT version_num FROM alembic_version"))
        ).scalar()
    await engine.dispose()
    from alembic.script import ScriptDirectory

    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_migrating_a_database_that_holds_complaints_keeps_them_and_their_holds(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """SQLite rebuilds the complaints table to change a column; rows that refer to it must
    survive, which needs foreign keys off during the migration (storage.db.migrate)."""
    from storage.db import make_engine, migrate

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/kept.db")
    await migrate(engine, "0008")
    moment = "'2026-01-01 00:00:00'"
    async with engine.begin() as connection:
        for statement in (
            "INSERT INTO organisations (id, code, name, kind, locality) "
            "VALUES (1, 'C1', 'c', 'customer', 'local')",
            "INSERT INTO products (id, code, name) VALUES (1, 'P1', 'p')",
            "INSERT INTO batches (id, product_id, lot_number) VALUES (1, 1, 'L1')",
            "INSERT INTO users (id, telegram_id, full_name, active, created_at) "
            f"VALUES (1, 5, 'u', 1, {moment})",
            "INSERT INTO complaints (id, number, status, organisation_id, product_id, batch_id, "
            "quantity, description, channel, locality, complainant_name, filed_by_id, "
            f"received_at) VALUES (1, 'QC-2026-00001', 'open', 1, 1, 1, 3, 'd', 'chat', "
            f"'local', 'n', 1, {moment})",
            "INSERT INTO batch_holds (id, batch_id, complaint_id, placed_at, nonconforming) "
            f"VALUES (1, 1, 1, {moment}, 0)",
        ):
            await connection.execute(text(statement))
    await migrate(engine)
    async with engine.connect() as connection:
        holds = (
            await connection.execute(text("SELECT scope, product_id, batch_id FROM batch_holds"))
        ).all()
        complaints = (await connection.execute(text("SELECT number FROM complaints"))).all()
        foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
    await engine.dispose()
    assert holds == [("lot", 1, 1)] and complaints == [("QC-2026-00001",)]
    assert foreign_keys == 1
