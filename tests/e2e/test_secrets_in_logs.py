"""Neither the bot token nor an invitation code reaches a log, at any level, whoever logs it."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from pathlib import Path

from emulator.server import BotApiEmulator

ROOT = Path(__file__).parents[2]
TOKEN = "970001:SECRET-token-0123456789abcdefXYZ"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def run_bot(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """The bot process at DEBUG, everything it prints going to `log` (a pipe nobody reads
    while the test runs would fill up and stall it)."""
    with log.open("wb") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=ROOT,
            env={**os.environ, "LOG_LEVEL": "DEBUG", "LOAD_SAMPLES": "false", **env},
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )


async def test_a_debug_run_with_invitations_logs_neither_token_nor_code(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    process = await run_bot(
        {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emulator.base_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            "ADMIN_TELEGRAM_IDS": "97001",
        },
        tmp_path / "bot.log",
    )
    try:
        emulator.add_user(97001, "Admin", language_code="en")
        emulator.add_user(97002, "Newcomer", language_code="en")
        await emulator.wait_until(lambda: emulator.bot(TOKEN).commands, timeout=60)
        await emulator.send_text(TOKEN, 97001, "/invite quality")
        (link,) = await emulator.wait_for_bot_messages(TOKEN, 97001, 1, timeout=30)
        code = re.search(r"start=([A-Za-z0-9_-]+)", link["text"]).group(1)
        await emulator.send_text(TOKEN, 97002, f"/start {code}")
        await emulator.wait_for_bot_messages(TOKEN, 97002, 1, timeout=30)
        await emulator.send_text(TOKEN, 97002, "/start not-a-real-code-123456")
        await emulator.wait_for_bot_messages(TOKEN, 97002, 2, timeout=30)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
    log = (tmp_path / "bot.log").read_text()
    assert "DEBUG" in log and "getUpdates" in log  # the run did log at DEBUG
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    assert code not in log and "not-a-real-code-123456" not in log
    assert "/start ***" in log  # the update was logged, its code masked


async def test_a_bot_api_that_cannot_be_reached_is_one_line_without_the_token(
    tmp_path: Path,
) -> None:
    process = await run_bot(
        {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": f"http://127.0.0.1:{closed_port()}/bot",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        },
        tmp_path / "bot.log",
    )
    await asyncio.wait_for(process.wait(), 60)
    log = (tmp_path / "bot.log").read_text()
    assert process.returncode == 1
    assert TOKEN.split(":")[1] not in log
    assert log.strip().splitlines()[-1].startswith("network error: the Bot API cannot be reached")
