"""`python -m bot backup --out FILE`: a consistent copy of the database while the bot runs.

SQLite: the online backup API copies every page in one step under a read snapshot (WAL), so
writers go on and the copy is the database as of one moment; the copy is a database file to
start a bot on. PostgreSQL: `pg_dump` (custom format, restore with `pg_restore`), which
must be at least as new as the server; the server's version is checked first.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine


class BackupFailed(Exception):
    """The copy could not be made; the message says why, in one line."""


async def backup(engine: AsyncEngine, database_url: str, out: Path) -> str:
    """Write the copy to `out`; return a one-line description of what was written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        source = make_url(database_url).database
        if not source or source == ":memory:":
            raise BackupFailed("an in-memory SQLite database has nothing to back up")
        pages = await asyncio.to_thread(sqlite_backup, Path(source), out)
        return f"SQLite backup of {source} written to {out} ({pages} pages)"
    server_major = await _server_major(engine)
    return await asyncio.to_thread(pg_dump, database_url, out, server_major)


def sqlite_backup(source: Path, out: Path) -> int:
    tmp = out.with_name(out.name + ".part")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(tmp) as dst:
        src.execute("PRAGMA busy_timeout=10000")
        src.backup(dst)  # all pages in one step: one consistent moment
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
        if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupFailed("the copy failed SQLite's integrity check")
    src.close()
    dst.close()
    tmp.replace(out)
    return int(pages)


async def _server_major(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        number = await connection.scalar(text("SHOW server_version_num"))
    return int(number) // 10000


def pg_dump_major(executable: str = "pg_dump") -> int:
    found = shutil.which(executable)
    if found is None:
        raise BackupFailed("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    version = subprocess.run(
        [found, "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", version)
    if match is None:
        raise BackupFailed(f"cannot read pg_dump's version from {version.strip()!r}")
    return int(match.group(1))


def pg_dump_command(database_url: str, out: Path) -> list[str]:
    """pg_dump's command line: the database's URL without its password."""
    url = make_url(database_url).set(drivername="postgresql")._replace(password=None)
    return [
        "pg_dump",
        "--format=custom",
        "--no-owner",
        f"--file={out}",
        f"--dbname={url.render_as_string(hide_password=False)}",
    ]


def pg_dump(database_url: str, out: Path, server_major: int) -> str:
    local = pg_dump_major()
    if local < server_major:
        raise BackupFailed(
            f"pg_dump {local} is older than the server ({server_major}): it refuses to dump; "
            f"install the PostgreSQL {server_major} client"
        )
    password = make_url(database_url).password
    # the password goes in pg_dump's environment, not on its command line, where `ps` shows it
    environment = dict(os.environ)
    if password is not None:
        environment["PGPASSWORD"] = str(password)
    result = subprocess.run(
        pg_dump_command(database_url, out), capture_output=True, text=True, env=environment
    )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise BackupFailed(f"pg_dump failed: {lines[-1] if lines else result.returncode}")
    return (
        f"PostgreSQL {server_major} dump (pg_dump {local}, custom format) written to {out}; "
        f"restore with pg_restore --no-owner -d DATABASE {out}"
    )
