"""Without BOT_TOKEN the bot runs the local demo, and only on the demo's own database: one run
with a token, or people other than the demo's, and it refuses in one line, writing nothing and
sending nobody's pending messages to the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text

from bot.__main__ import main
from bot.services import Services, build_services
from core.config import Settings
from core.database import (
    DEMO,
    TELEGRAM,
    DemoRefused,
    prepare_database,
    record_deployment_mode,
)
from core.demo import demo_telegram_ids, enrol_demo_people
from procedures.kernel.clock import ManualClock
from storage.db import make_engine
from storage.models import DeploymentMode, OutboxMessage, User

NOW = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)
REAL_TELEGRAM_ID = 812_345_678


def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


async def start(url: str, *, token: str | None, starting_bot: bool = True) -> None:
    """What the bot's start does to the database, with or without a token."""
    engine = make_engine(url)
    try:
        settings = Settings(bot_token=token, database_url=url)
        runtime = build_services(settings, engine, ManualClock(NOW))
        await prepare_database(runtime, engine, starting_bot=starting_bot)
    finally:
        await engine.dispose()


async def add_real_user_with_pending_message(url: str) -> None:
    engine = make_engine(url)
    try:
        runtime = build_services(Settings(database_url=url), engine, ManualClock(NOW))
        async with runtime.unit_of_work() as uow:
            user = User(telegram_id=REAL_TELEGRAM_ID, full_name="Real Buyer", created_at=NOW)
            uow.session.add(user)
            await uow.session.flush()
            uow.session.add(
                OutboxMessage(
                    user_id=user.id,
                    chat_id=REAL_TELEGRAM_ID,
                    text_key="start.welcome",
                    params={},
                    created_at=NOW,
                    next_attempt_at=NOW,
                )
            )
            await uow.commit()
    finally:
        await engine.dispose()


async def contents(url: str) -> tuple[list[int], list[str], list[str]]:
    """Who has an account, the outbox's statuses, and the recorded modes."""
    engine = make_engine(url)
    try:
        runtime = build_services(Settings(database_url=url), engine, ManualClock(NOW))
        async with runtime.session_factory() as session:
            people = list(await session.scalars(select(User.telegram_id).order_by(User.id)))
            statuses = list(await session.scalars(select(OutboxMessage.status)))
            modes = list(await session.scalars(select(DeploymentMode.mode)))
            return people, statuses, modes
    finally:
        await engine.dispose()


def run_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str
) -> tuple[int, str]:
    """`python -m bot` as `.env.example` ships it: BOT_TOKEN empty; the exit code and stderr."""
    monkeypatch.chdir(tmp_path)  # no .env of the working copy
    monkeypatch.setenv("BOT_TOKEN", "")
    monkeypatch.setenv("DATABASE_URL", database_url(tmp_path))
    monkeypatch.setenv("EMULATOR_PORT", "0")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["run"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("load_samples", ["true", "false"])
def test_the_demo_refuses_a_database_run_with_a_token_and_touches_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    load_samples: str,
) -> None:
    url = database_url(tmp_path)
    asyncio.run(start(url, token="1:real-token"))
    asyncio.run(add_real_user_with_pending_message(url))
    before = asyncio.run(contents(url))
    assert before == ([REAL_TELEGRAM_ID], ["pending"], [TELEGRAM])

    code, err = run_demo(tmp_path, monkeypatch, capsys, LOAD_SAMPLES=load_samples)

    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "run with a BOT_TOKEN" in err and "set BOT_TOKEN" in err and "DATABASE_URL" in err
    assert asyncio.run(contents(url)) == before  # no demo account, the message still pending


async def schema_of(url: str) -> tuple[list[str], bool]:
    """The database's migration revisions, and whether it has the mode's table."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            revisions = list(
                await connection.scalars(text("SELECT version_num FROM alembic_version"))
            )
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
            return revisions, "deployment_mode" in tables
    finally:
        await engine.dispose()


async def as_before_the_mode_was_recorded(url: str) -> None:
    """The database as a bot of the previous release left it: without the mode table nor the
    tables of the migrations after it, at the revision before."""
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            for table in ("periodic_duties", "deployment_mode"):
                await connection.execute(text(f"DROP TABLE {table}"))
            for index in (  # 0023's
                "ix_complaints_received_at_id",
                "ix_returns_created_at_id",
                "ix_consumer_complaints_received_at_id",
                "ix_defects_reported_at_id",
                "ix_rectifications_raised_at_id",
                "ix_deadlines_open_subject_due",
            ):
                await connection.execute(text(f"DROP INDEX {index}"))
            for column in ("working_hours", "daily_list"):  # 0022's
                await connection.execute(text(f"ALTER TABLE users DROP COLUMN {column}"))
            await connection.execute(
                text("UPDATE alembic_version SET version_num = '0020_return_receipt'")
            )
    finally:
        await engine.dispose()


def test_the_demo_refuses_an_older_database_holding_other_people_without_migrating_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database from before the mode was recorded: its people say it is not the demo's, and
    the demo leaves its schema as it found it."""
    url = database_url(tmp_path)
    asyncio.run(start(url, token="1:real-token"))
    asyncio.run(add_real_user_with_pending_message(url))
    asyncio.run(as_before_the_mode_was_recorded(url))
    assert asyncio.run(schema_of(url)) == (["0020_return_receipt"], False)

    code, err = run_demo(tmp_path, monkeypatch, capsys)

    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "holds 1 person who is not the demo's" in err and "set BOT_TOKEN" in err
    assert asyncio.run(schema_of(url)) == (["0020_return_receipt"], False)  # not migrated


def test_the_demo_refuses_after_migrating_when_the_check_before_could_not_read(
    tmp_path: Path,
) -> None:
    """The second check, after the migration, holds on its own (a database not reachable at
    first is checked only then)."""
    url = database_url(tmp_path)
    asyncio.run(start(url, token="1:real-token"))
    asyncio.run(add_real_user_with_pending_message(url))
    asyncio.run(as_before_the_mode_was_recorded(url))

    async def demo_start_after_migration() -> None:
        engine = make_engine(url)
        try:
            runtime = build_services(Settings(database_url=url), engine, ManualClock(NOW))
            await prepare_database(runtime, engine)  # migrates, no check
            await record_deployment_mode(runtime)
        finally:
            await engine.dispose()

    with pytest.raises(DemoRefused, match="holds 1 person who is not the demo's"):
        asyncio.run(demo_start_after_migration())
    people, statuses, modes = asyncio.run(contents(url))
    assert people == [REAL_TELEGRAM_ID] and statuses == ["pending"] and modes == []


async def test_the_demo_keeps_its_own_database_until_it_is_run_with_a_token(
    tmp_path: Path,
) -> None:
    url = database_url(tmp_path)
    await start(url, token=None)
    engine = make_engine(url)
    try:
        runtime = build_services(Settings(database_url=url), engine, ManualClock(NOW))
        await enrol_demo_people(runtime)
        async with runtime.session_factory() as session:
            enrolled = await session.scalar(select(func.count()).select_from(User))
        assert enrolled == len(demo_telegram_ids())
    finally:
        await engine.dispose()
    await start(url, token=None)  # the demo again: its own people, its own database
    assert (await contents(url))[2] == [DEMO]

    await start(url, token="1:real-token")  # put into service
    assert (await contents(url))[2] == [TELEGRAM]
    with pytest.raises(DemoRefused, match="run with a BOT_TOKEN"):
        await start(url, token=None)
    assert (await contents(url))[2] == [TELEGRAM]


async def test_workers_starting_together_on_a_new_database_each_find_the_mode_recorded(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers start on a new PostgreSQL database at once: the second to write finds the
    first's record under its own (a unique key) and checks against it, instead of failing its
    start. (On SQLite a transaction begins with the one write lock: the race cannot happen.)"""
    async with services.session_factory() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
    mode = DEMO if services.settings.uses_emulator else TELEGRAM
    looked = services.unit_of_work
    raced = False

    @contextlib.asynccontextmanager
    async def the_other_worker_writes_first() -> AsyncIterator[Any]:
        nonlocal raced
        async with looked() as uow:
            if not raced:
                raced = True
                commit = uow.commit

                async def commit_after_the_other() -> None:
                    async with services.session_factory() as other:
                        other.add(DeploymentMode(id=1, mode=mode, recorded_at=NOW))
                        await other.commit()
                    await commit()

                uow.commit = commit_after_the_other
            yield uow

    monkeypatch.setattr(services, "unit_of_work", the_other_worker_writes_first)
    await record_deployment_mode(services)

    assert raced
    async with services.session_factory() as session:
        assert list(await session.scalars(select(DeploymentMode.mode))) == [mode]
