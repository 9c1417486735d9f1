"""No invitation code, password, phone or e-mail in any log at any level, nor on a command line;
an unhandled error logs the update's ids, not its content."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from telegram import Poll, PollOption, Update

from bot.app import _on_error
from bot.runtime.evidence_fetcher import EvidenceFetcher
from bot.services import Services
from core.backup import pg_dump_command
from core.config import Settings
from core.database import engine_for
from core.redaction import Redactor
from emulator.server import BotApiEmulator, bot_username_for
from procedures.kernel.photos import Download, DownloadReport
from storage.db import migrate

from .test_secrets_in_logs import ROOT, run_bot

TOKEN = "970021:SECRET-token-21-0123456789abcdefXYZ"
PHONE, EMAIL = "13912345678", "wang.fang+returns@example.com.cn"


async def invitation_code(emulator: BotApiEmulator, admin: int) -> str:
    """A new invitation's code (the admin may be told of a redeemed one meanwhile)."""
    seen = len(emulator.bot_messages(TOKEN, admin))
    await emulator.send_text(TOKEN, admin, "/invite quality")

    def link() -> str | None:
        for message in emulator.bot_messages(TOKEN, admin)[seen:]:
            found = re.search(r"start=([A-Za-z0-9_-]+)", message.get("text", ""))
            if found:
                return found.group(1)
        return None

    await emulator.wait_until(lambda: link() is not None, timeout=30)
    code = link()
    assert code is not None
    return code


async def test_codes_in_every_start_form_and_a_consumers_phone_and_email_are_never_logged(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    process = await run_bot(
        {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emulator.base_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            "ADMIN_TELEGRAM_IDS": "97211",
        },
        tmp_path / "bot.log",
    )
    botname = bot_username_for(int(TOKEN.split(":")[0]))
    codes = []
    try:
        emulator.add_user(97211, "Admin", language_code="en")
        await emulator.wait_until(lambda: emulator.bot(TOKEN).commands, timeout=60)
        for person, form in enumerate(
            (f"/start@{botname} {{}}", "/start\u00a0{}", "/start\n{}"), start=97212
        ):
            code = await invitation_code(emulator, 97211)
            codes.append(code)
            emulator.add_user(person, f"Newcomer {person}", language_code="en")
            await emulator.send_text(TOKEN, person, form.format(code))
            await emulator.wait_for_bot_messages(TOKEN, person, 1, timeout=30)
        await emulator.send_text(TOKEN, 97212, f"my phone is {PHONE}, mail {EMAIL}")
        await emulator.wait_for_bot_messages(TOKEN, 97212, 2, timeout=30)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
    log = (tmp_path / "bot.log").read_text()
    assert "DEBUG" in log and "getUpdates" in log  # the run did log at DEBUG
    for code in codes:
        assert code not in log
    assert PHONE not in log and EMAIL not in log and "example.com" not in log
    assert "[parameters:" not in log or "[parameters: ***]" in log


@pytest.mark.parametrize(
    "text",
    [
        "Update(message=Message(text='/start@after_sales_bot Q7xkP2mZ'))",
        "{'text': '/start\\xa0Q7xkP2mZ'}",
        '{"text": "/start\\u00a0Q7xkP2mZ"}',
        "{'text': '/start\\nQ7xkP2mZ'}",
        "/start\nQ7xkP2mZ",
        "https://t.me/after_sales_bot?start=Q7xkP2mZ",
    ],
)
def test_an_invitation_code_is_masked_however_start_was_written(text: str) -> None:
    assert "Q7xkP2mZ" not in Redactor()(text)


def test_passwords_phones_and_emails_are_masked_and_ids_are_kept() -> None:
    redact = Redactor()
    line = (
        "postgresql+asyncpg://postgres:pa55word@127.0.0.1/bot; phone 139 1234 5678, "
        "+86 139-1234-5678, (021) 6234-5678; mail li.lei@example.com; "
        "[parameters: ('王芳', '13912345678')]\n; user 8123456789 update 733123456"
    )
    masked = redact(line)
    for secret in ("pa55word", "139", "6234", "li.lei", "example.com", "王芳"):
        assert secret not in masked
    assert "user 8123456789 update 733123456" in masked  # ids are what an error is found by


def test_the_backup_command_line_holds_no_password() -> None:
    command = pg_dump_command("postgresql+asyncpg://postgres:pa55word@db:5432/bot", Path("x"))
    assert not any("pa55word" in part for part in command)
    assert command[-1] == "--dbname=postgresql://postgres@db:5432/bot"


async def test_an_unhandled_error_logs_the_updates_ids_not_its_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    poll = Poll(
        "p1",
        f"Call me on {PHONE}",
        [PollOption("yes", 0, persistent_id="o1")],
        0,
        False,
        False,
        Poll.REGULAR,
        False,
        allows_revoting=False,
        members_only=False,
    )
    update = Update(4242, poll=poll)
    context: Any = SimpleNamespace(error=RuntimeError("boom"))
    with caplog.at_level(logging.ERROR):
        await _on_error(update, context)
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "unhandled error for update 4242 (chat -, user -)"
    assert PHONE not in caplog.text


async def test_a_locked_database_in_the_evidence_fetcher_is_one_line_and_a_retry(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    async def no_download(file_id: str) -> Download:
        raise AssertionError("nothing to download")

    fetcher = EvidenceFetcher(services, no_download)
    rounds = asyncio.Queue[None]()

    async def locked_round() -> DownloadReport:
        rounds.put_nowait(None)
        raise OperationalError("SELECT photos", {}, sqlite3.OperationalError("database is locked"))

    fetcher.fetch_due = locked_round  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="bot.runtime.evidence_fetcher"):
        fetcher.start()
        await rounds.get()
        fetcher.ready.set()  # a second round: it was retried
        await rounds.get()
        await fetcher.stop()

    records = [r for r in caplog.records if r.name == "bot.runtime.evidence_fetcher"]
    assert len(records) >= 2
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in records)
    assert records[0].getMessage().startswith("evidence download round: the database is locked")


async def test_a_command_line_run_beside_a_running_bot_does_not_migrate_nor_wait_for_its_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.db"
    url = f"sqlite+aiosqlite:///{path}"
    engine = engine_for(Settings(database_url=url))
    await migrate(engine)
    await engine.dispose()
    bot_holds_the_lock = sqlite3.connect(path, isolation_level=None)
    bot_holds_the_lock.execute("BEGIN IMMEDIATE")
    try:
        run = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "stickers",
            "--bot",
            "after_sales_bot",
            "--out",
            str(tmp_path / "stickers.pdf"),
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url, "LOAD_SAMPLES": "false"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(run.communicate(), 40)
    finally:
        bot_holds_the_lock.rollback()
        bot_holds_the_lock.close()
    assert run.returncode == 0, output.decode()
    assert "0 stickers for @after_sales_bot" in output.decode()
    assert "locked" not in output.decode()


async def test_sigterm_stops_the_bot_within_5_seconds_with_a_clean_log(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    token = "970022:SECRET-token-22-0123456789abcdefXYZ"
    process = await run_bot(
        {
            "BOT_TOKEN": token,
            "TELEGRAM_API_URL": emulator.base_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            "ADMIN_TELEGRAM_IDS": "97221",
            "LOG_LEVEL": "INFO",
            "TELEGRAM_MESSAGES_PER_SECOND": "0",
            "TELEGRAM_CHAT_MESSAGES_PER_SECOND": "0",
        },
        tmp_path / "bot.log",
    )
    emulator.add_user(97221, "Admin", language_code="en")
    await emulator.wait_until(lambda: emulator.bot(token).commands, timeout=60)
    await emulator.send_text(token, 97221, "/invite quality")
    await emulator.wait_for_bot_messages(token, 97221, 1, timeout=30)
    # a ledger being rendered when the stop comes: dropped cleanly (its asker asks again)
    await emulator.send_text(token, 97221, "/ledger")
    await emulator.wait_for_bot_messages(token, 97221, 2, timeout=30)

    process.terminate()
    await asyncio.wait_for(process.wait(), 5)

    log = (tmp_path / "bot.log").read_text()
    assert process.returncode == 0, log
    assert "Preparing the file" in emulator.bot_messages(token, 97221)[1]["text"]
    assert "Event loop is closed" not in log
    assert "Task was destroyed but it is pending" not in log
    assert "Traceback" not in log
