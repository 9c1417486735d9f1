"""SIGTERM while updates are in flight: the real `python -m bot` stops within 5 s, limits lifted
and a queue of updates in hand, and loses nothing. Each update was either answered and kept
before the stop, or is delivered again after the restart, answered and kept then; none is
answered twice.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.services import build_services
from core.config import Settings
from core.database import load_samples_if_empty
from emulator.server import BotApiEmulator, FloodLimits
from storage.db import make_engine
from storage.models import Organisation, ProcessedUpdate, User, UserRole

from ..conftest import BACKENDS
from .postgres import own_database

ROOT = Path(__file__).parents[2]
TOKEN = "980001:clean-stop-token"
USERS = [41_000 + i for i in range(40)]
MESSAGES_EACH = 10
LIFTED = FloodLimits(overall_per_second=1e9, overall_burst=1e9, chat_per_second=1e9, chat_burst=1e9)
HELP = "Commands you can use:"


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        database = tmp_path / "bot.db"
        shutil.copy(sqlite_template, database)
        yield f"sqlite+aiosqlite:///{database}"
        return
    async with own_database("stop") as url:
        yield url


async def register_customers(database_url: str) -> None:
    engine = make_engine(database_url)
    services = build_services(Settings(database_url=database_url), engine)
    await load_samples_if_empty(services)
    async with services.unit_of_work() as uow:
        c001 = await uow.session.scalar(select(Organisation.id).where(Organisation.code == "C001"))
        for telegram_id in USERS:
            uow.session.add(
                User(
                    telegram_id=telegram_id,
                    full_name=f"Customer {telegram_id}",
                    language="en",
                    active=True,
                    organisation_id=c001,
                    created_at=uow.clock.now(),
                    roles=[UserRole(role="customer")],
                )
            )
        await uow.commit()
    await engine.dispose()


async def processed_ids(database_url: str) -> set[int]:
    engine = make_engine(database_url)
    async with engine.connect() as connection:
        ids = set((await connection.scalars(select(ProcessedUpdate.update_id))).all())
    await engine.dispose()
    return ids


class Bot:
    def __init__(self, emulator: BotApiEmulator, database_url: str, log: Path) -> None:
        self.emulator = emulator
        self.env = {
            **os.environ,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emulator.base_url,
            "DATABASE_URL": database_url,
            "LOAD_SAMPLES": "false",
            "RUN_SCHEDULER": "false",
            "TELEGRAM_MESSAGES_PER_SECOND": "0",
            "TELEGRAM_CHAT_MESSAGES_PER_SECOND": "0",
            "TELEGRAM_GROUP_MESSAGES_PER_MINUTE": "0",
            "WEBAPP_PORT": "0",  # several bots at once: the Mini App is tested on its own
        }
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    def _menus_set(self) -> int:
        log = self.emulator.bot(TOKEN).call_log
        return sum(1 for _, method, _ in log if method == "setmycommands")

    async def start(self) -> None:
        menus_before = self._menus_set()
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        await self.emulator.wait_until(lambda: self._menus_set() >= menus_before + 2, timeout=90)

    async def terminate(self) -> float:
        """SIGTERM; the seconds until the process has exited."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        return time.monotonic() - began


def answered(emulator: BotApiEmulator) -> Counter[int]:
    return Counter(
        user
        for user in USERS
        for message in emulator.bot_messages(TOKEN, user)
        if message.get("text", "").startswith(HELP)
    )


async def test_sigterm_with_updates_in_flight_exits_within_5_s_and_loses_nothing(
    database_url: str, tmp_path: Path
) -> None:
    await register_customers(database_url)
    emulator = BotApiEmulator(flood_limits=LIFTED)
    await emulator.start()
    bot = Bot(emulator, database_url, tmp_path / "bot.log")
    try:
        for user in USERS:
            emulator.add_user(user, f"Customer {user}", language_code="en")
        await bot.start()
        sent: list[int] = []
        for _ in range(MESSAGES_EACH):
            for user in USERS:
                sent.append((await emulator.send_text(TOKEN, user, "/help"))["update_id"])
        # some are answered, many are still queued or being handled
        await emulator.wait_until(lambda: sum(answered(emulator).values()) >= 20, timeout=60)

        took = await bot.terminate()
        before_restart = answered(emulator)
        stops = [line for line in bot.log.read_text().splitlines() if "stop" in line.lower()]
        assert took <= 5.0, f"the bot took {took:.1f} s to stop: {stops}"
        assert sum(before_restart.values()) < len(sent)  # it stopped with updates in hand
        kept = await processed_ids(database_url)
        unconfirmed = {u["update_id"] for u in emulator.bot(TOKEN).updates}
        # every update was either kept (and answered), or is still Telegram's to deliver
        assert set(sent) <= kept | unconfirmed
        assert sum(before_restart.values()) == len(kept & set(sent))  # answered iff kept

        await bot.start()
        await emulator.wait_until(
            lambda: sum(answered(emulator).values()) >= len(sent), timeout=120
        )
        await emulator.wait_until(lambda: not emulator.bot(TOKEN).updates, timeout=30)
        assert await bot.terminate() <= 5.0
        assert answered(emulator) == Counter({user: MESSAGES_EACH for user in USERS})
        assert set(sent) <= await processed_ids(database_url)
    finally:
        if bot.process is not None and bot.process.returncode is None:
            bot.process.kill()
            await bot.process.wait()
        await emulator.stop()
