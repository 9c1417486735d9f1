"""`python -m bot` with a token and TELEGRAM_API_URL works against any Bot API-compatible server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from emulator.server import BotApiEmulator

ROOT = Path(__file__).parents[2]


async def test_the_bot_process_serves_a_bot_api_server_named_by_telegram_api_url(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    token = "960001:self-hosted-token"
    env = {
        **os.environ,
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        "ADMIN_TELEGRAM_IDS": "96001",
        "LOAD_SAMPLES": "false",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        emulator.add_user(96001, "Admin", language_code="en")
        # the process is up once it has set its command menu
        await emulator.wait_until(lambda: emulator.bot(token).commands, timeout=60)
        await emulator.send_text(token, 96001, "/help")
        (reply,) = await emulator.wait_for_bot_messages(token, 96001, 1, timeout=30)
        assert reply["text"].startswith("Commands you can use:")
        assert "/invite" in reply["text"]  # a configured admin
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode in (0, -15)
