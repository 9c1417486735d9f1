"""`python -m bot backup`: a consistent copy while the bot writes, restored with every record."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.services import build_services
from core.backup import pg_dump_major
from core.config import Settings
from core.database import load_samples_if_empty
from storage.db import make_engine, migrate
from storage.models import Base

ROOT = Path(__file__).parents[2]


def run_backup(database_url: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "bot", "backup", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def pg_restore(url: str, dump: Path) -> None:
    subprocess.run(
        ["pg_restore", "--no-owner", "-d", url, str(dump)], check=True, capture_output=True
    )


def every_row(connection: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {
        table.name: connection.execute(f'SELECT * FROM "{table.name}" ORDER BY 1').fetchall()
        for table in Base.metadata.sorted_tables
    }


async def test_a_sqlite_backup_taken_mid_write_restores_every_committed_record(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    await migrate(engine)
    await load_samples_if_empty(build_services(Settings(database_url=url), engine))
    await engine.dispose()

    live = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
    committed = every_row(live)
    assert sum(len(rows) for rows in committed.values()) > 50
    # the bot is in the middle of an update: its write is not committed while the copy runs
    live.execute("BEGIN IMMEDIATE")
    live.execute("INSERT INTO processed_updates (update_id, processed_at) VALUES (1, '2026-12-01')")
    result = run_backup(url, tmp_path / "copy.db")
    live.execute("ROLLBACK")
    live.close()
    assert result.returncode == 0, result.stderr
    assert "written to" in result.stdout

    restored = sqlite3.connect(tmp_path / "copy.db")
    assert restored.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert every_row(restored) == committed
    restored.close()
    # the copy is a database a bot starts on
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}")
    await migrate(engine)
    await engine.dispose()


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL only")
async def test_a_postgresql_backup_is_pg_dump_checked_against_the_servers_version(
    tmp_path: Path,
) -> None:
    server = make_url(os.environ["TEST_DATABASE_URL"])
    admin = make_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    source, target = f"backup_{uuid.uuid4().hex[:8]}", f"restore_{uuid.uuid4().hex[:8]}"
    async with admin.connect() as connection:
        version = int(await connection.scalar(text("SHOW server_version_num"))) // 10000
        await connection.execute(text(f'CREATE DATABASE "{source}"'))
        await connection.execute(text(f'CREATE DATABASE "{target}"'))
    try:
        url = server.set(database=source).render_as_string(hide_password=False)
        engine = make_engine(url)
        await migrate(engine)
        await load_samples_if_empty(build_services(Settings(database_url=url), engine))
        await engine.dispose()

        result = run_backup(url, tmp_path / "bot.dump")
        if pg_dump_major() < version:
            assert result.returncode == 1 and "older than the server" in result.stderr
            return
        assert result.returncode == 0, result.stderr
        plain = server.set(drivername="postgresql", database=target)
        pg_restore(plain.render_as_string(hide_password=False), tmp_path / "bot.dump")
        counts = {}
        for name in (source, target):
            engine = make_engine(server.set(database=name).render_as_string(hide_password=False))
            async with engine.connect() as connection:
                counts[name] = {
                    table.name: list(
                        await connection.execute(text(f'SELECT * FROM "{table.name}" ORDER BY 1'))
                    )
                    for table in Base.metadata.sorted_tables
                }
            await engine.dispose()
        assert counts[source] == counts[target]
        assert sum(len(rows) for rows in counts[target].values()) > 50
    finally:
        async with admin.connect() as connection:
            for name in (source, target):
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
