"""Shared fixtures: a migrated database per test (SQLite always, PostgreSQL when configured),
a manual clock and the services built on them."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# every record type's deadline rules and how its records are described, registered on import as
# the bot and the scheduler register them (a test of one procedure sweeps them all)
import procedures.rules  # noqa: F401
from bot.services import Services, build_services
from core.config import Settings
from core.database import load_samples_if_empty
from emulator.server import BotApiEmulator, FloodLimits
from procedures.kernel.clock import ManualClock
from storage.db import make_engine, migrate
from storage.files import S3FileStore, file_store_for
from storage.models import Base

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Thursday morning in the configured zone; every test starts here and moves time itself.
START = dt.datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test instead of migrating again."""
    template = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite+aiosqlite:///{template}")
    await migrate(engine)
    await engine.dispose()
    return template


@pytest.fixture(scope="session")
async def postgres_schema() -> AsyncIterator[str | None]:
    """A schema of our own in the shared test database, migrated once and dropped at the end."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield None
        return
    schema = f"test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"server_settings": {"search_path": schema}})
    await migrate(engine)
    await engine.dispose()
    yield schema
    async with admin.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()


@pytest.fixture(params=BACKENDS)
async def engine(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    postgres_schema: str | None,
    tmp_path: Path,
) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        database = tmp_path / "test.db"
        shutil.copy(sqlite_template, database)
        engine = make_engine(f"sqlite+aiosqlite:///{database}")
        yield engine
        await engine.dispose()
        return
    engine = make_engine(
        os.environ["TEST_DATABASE_URL"],
        connect_args={"server_settings": {"search_path": postgres_schema}},
    )
    yield engine
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        # the records' triggers refuse TRUNCATE; the test database's owner may switch them off
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
async def samples(services: Services) -> None:
    """The sample master data `make run` loads: organisations C001-C004, products, lots..."""
    await load_samples_if_empty(services)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        admin_telegram_ids=(),
        timezone=SHANGHAI,
        default_language="zh-Hant",
        file_store=str(tmp_path / "files"),
        # as the emulator's (below): a dialogue answers several times a second
        telegram_chat_burst=20,
    )


@pytest.fixture
def services(settings: Settings, engine: AsyncEngine, clock: ManualClock) -> Iterator[Services]:
    """The services the bot runs on, except that a text id missing from a catalogue, or a
    parameter a text names and its caller did not give, raises."""
    services = build_services(settings, engine, clock)
    services.texts.strict = True
    yield services
    assert not services.texts.missing, (
        f"text ids missing from a catalogue: {services.texts.missing}"
    )
    assert not services.texts.unfilled, (
        f"texts rendered with a parameter missing: {services.texts.unfilled}"
    )


@pytest.fixture(scope="session")
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """One local Bot API for the whole session; each test uses a bot token of its own.

    A dialogue answers several times a second; the per-chat burst is widened so those
    tests do not wait out 429s. The strict limit has its own tests (test_outbox_sender)."""
    emulator = BotApiEmulator(flood_limits=FloodLimits(chat_burst=20))
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3-compatible server on 127.0.0.1 at a free port, for the S3 file store: a real
    HTTP server the store's client talks to, started once (in about a second)."""
    moto_server = pytest.importorskip(
        "moto.server",
        reason="moto[server] (a dev dependency) is not installed: the S3 file store is untested",
    )
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_store(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> S3FileStore:
    """An S3 file store on a bucket of its own (under a prefix, as a deployment may use)."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),  # never look for an instance's role
    ):
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    store = file_store_for(
        f"s3://evidence-{uuid.uuid4().hex[:12]}/gsp/records",
        endpoint_url=s3_server,
        region="us-east-1",
    )
    assert isinstance(store, S3FileStore)
    store.client.create_bucket(Bucket=store.bucket)
    return store
