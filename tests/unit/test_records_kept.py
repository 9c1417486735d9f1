"""Records an inspector relies on cannot be deleted, truncated or have their facts rewritten."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from bot.services import Services, build_services
from storage.app_role import application_role_sql
from storage.db import make_engine
from storage.models import Complaint

from .helpers import file

KEPT = r"records are kept|append-only"


async def refused(services: Services, statement) -> None:  # type: ignore[no-untyped-def]
    async with services.session_factory() as session:
        with pytest.raises(DBAPIError, match=KEPT):
            await session.execute(statement if not isinstance(statement, str) else text(statement))
            await session.commit()


async def test_a_complaint_cannot_be_deleted_nor_its_facts_rewritten(
    services: Services, samples: None
) -> None:
    complaint = await file(services, "C001", quantity=12, description="leaks")
    await refused(services, delete(Complaint))
    await refused(services, update(Complaint).values(description="nothing happened"))
    await refused(services, update(Complaint).values(quantity=1))
    # its handling still moves on
    async with services.session_factory() as session:
        await session.execute(update(Complaint).values(status="investigating"))
        await session.commit()
        stored = await session.get(Complaint, complaint.id)
        assert (stored.description, stored.quantity, stored.status) == (
            "leaks",
            12,
            "investigating",
        )


async def test_the_timeline_cannot_be_replaced_or_truncated(
    services: Services, samples: None
) -> None:
    await file(services, "C001")
    async with services.session_factory() as session:
        dialect = session.bind.dialect.name
        first = (await session.execute(text("SELECT id, at FROM timeline_events"))).first()
    if dialect == "sqlite":
        await refused(
            services,
            "INSERT OR REPLACE INTO timeline_events (id, subject_type, subject_id, action, at) "
            f"VALUES ({first.id}, 'complaint', 1, 'forged', '{first.at}')",
        )
        await refused(
            services,
            "INSERT OR REPLACE INTO complaints SELECT * FROM complaints",
        )
    else:
        await refused(services, "TRUNCATE timeline_events")
        await refused(services, "TRUNCATE complaints CASCADE")
    async with services.session_factory() as session:
        actions = list(await session.scalars(text("SELECT action FROM timeline_events")))
    assert "forged" not in actions and "filed" in actions


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL roles")
async def test_the_documented_postgresql_role_runs_the_bot_but_cannot_erase_records(
    services: Services, samples: None
) -> None:
    async with services.session_factory() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        schema = await session.scalar(text("SELECT current_schema()"))
    role = f"bot_{uuid.uuid4().hex[:8]}"
    owner = make_engine(os.environ["TEST_DATABASE_URL"])
    async with owner.begin() as connection:
        await connection.execute(text(f'CREATE ROLE "{role}"'))
        for statement in application_role_sql(role, schema):
            await connection.execute(text(statement))
    restricted = make_engine(
        os.environ["TEST_DATABASE_URL"],
        connect_args={"server_settings": {"search_path": schema, "role": role}},
    )
    try:
        as_role = build_services(services.settings, restricted, services.clock)
        complaint = await file(as_role, "C001")  # the use cases work as the role
        assert complaint.number.startswith("QC-")
        for statement in (
            "TRUNCATE timeline_events",
            "TRUNCATE outbox",
            "DELETE FROM complaints",
            "DELETE FROM timeline_events",
        ):
            async with as_role.session_factory() as session:
                with pytest.raises(DBAPIError, match=r"permission denied|records are kept"):
                    await session.execute(text(statement))
                    await session.commit()
    finally:
        await restricted.dispose()
        async with owner.begin() as connection:
            await connection.execute(text(f'DROP OWNED BY "{role}"'))
            await connection.execute(text(f'DROP ROLE "{role}"'))
        await owner.dispose()
