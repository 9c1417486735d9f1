"""The real bot over HTTP: `python -m bot` (or the echo bot) in a process of its own, polling an
emulator that runs here, and users who step through complaint dialogues and time each reply."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, text

from emulator.server import BotApiEmulator, FloodLimits
from storage.db import make_session_factory
from storage.models import Complaint, Deadline, Organisation, User, UserRole

from .common import open_engine

ROOT = Path(__file__).resolve().parent.parent
LIFTED = FloodLimits(overall_per_second=1e9, overall_burst=1e9, chat_per_second=1e9, chat_burst=1e9)
STEPS = 7  # updates in one complaint dialogue
# the bot's own rate limiter lifted too, where the emulator's flood limits are
LIFTED_ENV = {
    "TELEGRAM_MESSAGES_PER_SECOND": "0",
    "TELEGRAM_CHAT_MESSAGES_PER_SECOND": "0",
    "TELEGRAM_GROUP_MESSAGES_PER_MINUTE": "0",
}


def rss_mib(pid: int) -> tuple[float, float]:
    """Resident set now and at its peak (MiB)."""
    status = Path(f"/proc/{pid}/status").read_text()
    now = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return now / 1024, peak / 1024


def children_of(pid: int) -> list[int]:
    """The processes `pid` started (the bot's rendering worker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


@dataclass
class Process:
    """A bot process polling the emulator."""

    module: str
    env: dict[str, str]
    log: Path
    process: asyncio.subprocess.Process | None = None
    started_in: float = 0.0

    async def start(self, ready: str = "Application started", timeout: float = 120) -> None:
        began = time.perf_counter()
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        while ready not in self.log.read_text(errors="replace"):
            if self.process.returncode is not None or time.perf_counter() - began > timeout:
                raise RuntimeError(f"{self.module} did not start: see {self.log}")
            await asyncio.sleep(0.05)
        self.started_in = time.perf_counter() - began

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@contextlib.asynccontextmanager
async def emulator_with(limits: FloodLimits) -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator(flood_limits=limits)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


def bot_env(emulator: BotApiEmulator, token: str, url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_URL": url,
        "LOG_LEVEL": "INFO",
        **extra,
    }


async def register(url: str, emulator: BotApiEmulator, ids: list[int], role: str) -> None:
    """Users who joined already (customers of C001, or staff), known to the emulator."""
    engine = open_engine(url)
    async with make_session_factory(engine)() as session:
        organisation = await session.scalar(
            select(Organisation.id).where(Organisation.code == "C001")
        )
        now = dt.datetime.now(dt.UTC)
        for telegram_id in ids:
            session.add(
                User(
                    telegram_id=telegram_id,
                    full_name=f"User {telegram_id}",
                    language="en",
                    active=True,
                    organisation_id=organisation if role == "customer" else None,
                    created_at=now,
                    roles=[UserRole(role=role)],
                )
            )
        await session.commit()
    await engine.dispose()
    for telegram_id in ids:
        emulator.add_user(telegram_id, f"User {telegram_id}", language_code="en")


@dataclass
class Timings:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    # the Submit step's own (among `latencies` too): a complaint's heaviest, whose reply is an
    # edit of the summary into the receipt
    submits: list[float] = field(default_factory=list)


def _buttons(message: dict[str, Any]) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b.get("callback_data", "") for row in rows for b in row]


class Stepper:
    """One user's chat: send, then time the bot's answer."""

    def __init__(self, emulator: BotApiEmulator, token: str, user_id: int, t: Timings) -> None:
        self.emulator, self.token, self.user_id, self.timings = emulator, token, user_id, t

    def _seen(self) -> int:
        return len(self.emulator.bot_messages(self.token, self.user_id))

    async def _reply(self, act: Any) -> dict[str, Any]:
        seen = self._seen()
        began = time.perf_counter()
        await act
        try:
            (message,) = await self.emulator.wait_for_bot_messages(
                self.token, self.user_id, 1, after=seen, timeout=60
            )
        finally:  # a step not answered within a minute counts as a minute: p99 shows it
            self.timings.latencies.append(time.perf_counter() - began)
        return message

    async def text(self, words: str) -> dict[str, Any]:
        return await self._reply(self.emulator.send_text(self.token, self.user_id, words))

    async def press(self, message: dict[str, Any], data: str) -> dict[str, Any]:
        return await self._reply(
            self.emulator.press_button(self.token, self.user_id, message["message_id"], data)
        )

    async def complaint(self) -> None:
        """The seven steps of filing a complaint, each timed to the bot's answer."""
        ask_product = await self.text("/complain")
        ask_lot = await self.press(ask_product, _buttons(ask_product)[0])
        ask_quantity = await self.press(ask_lot, _buttons(ask_lot)[0])
        del ask_quantity
        await self.text("12")
        ask_photos = await self.text("Plungers stick.")
        summary = await self.press(ask_photos, "cp:photos:done")
        began = time.perf_counter()
        await self.emulator.press_button(
            self.token, self.user_id, summary["message_id"], "cp:submit"
        )
        # the summary becomes the receipt: an edit, not a new message
        await self.emulator.wait_until(lambda: "received" in summary.get("text", ""), timeout=60)
        self.timings.latencies.append(time.perf_counter() - began)
        self.timings.submits.append(self.timings.latencies[-1])

    async def echoes(self, count: int) -> None:
        for i in range(count):
            await self.text(f"echo {i}")


async def dialogues(
    emulator: BotApiEmulator, token: str, users: list[int], each: int, echo: bool = False
) -> tuple[float, Timings]:
    """Every user files `each` complaints (or sends as many updates to the echo bot), all users
    at once; returns the elapsed seconds and the timings."""
    timings = Timings()

    async def one(user_id: int) -> None:
        stepper = Stepper(emulator, token, user_id, timings)
        for _ in range(each):
            try:
                await (stepper.echoes(STEPS) if echo else stepper.complaint())
            except (AssertionError, IndexError, TimeoutError):
                timings.errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(one(u) for u in users))
    return time.perf_counter() - began, timings


async def copy_complaints(url: str, count: int) -> float:
    """`count` more complaints, copied from the last one filed with one INSERT … SELECT."""
    engine = open_engine(url)
    began = time.perf_counter()
    columns = [c.name for c in Complaint.__table__.columns if c.name not in ("id", "number")]
    names = ", ".join(columns)
    copied = ", ".join(f"c.{c}" for c in columns)
    numbers = (
        "generate_series(1, :count) AS n(i)"
        if engine.dialect.name == "postgresql"
        else "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
        "WHERE i < :count) SELECT i FROM s) AS n"
    )
    async with engine.begin() as connection:
        template = await connection.scalar(text("SELECT max(id) FROM complaints"))
        await connection.execute(
            text(
                f"INSERT INTO complaints (number, {names}) "
                # record numbers as the bot's own (their buttons and /find take no other), in
                # 2025 so that the bot's numbering of 2026 goes on from its own
                f"SELECT 'QC-2025-' || CAST(100000 + n.i AS TEXT), {copied} "
                f"FROM complaints AS c, {numbers} WHERE c.id = :template"
            ),
            {"count": count, "template": template},
        )
        await connection.execute(text("ANALYZE complaints"))
    await engine.dispose()
    return time.perf_counter() - began


async def overdue_deadlines(url: str, count: int) -> None:
    """`count` deadlines of the quality department, all overdue now, in one INSERT … SELECT."""
    engine = open_engine(url)
    now = dt.datetime.now(dt.UTC)
    numbers = (
        "generate_series(1, :count) AS n(i)"
        if engine.dialect.name == "postgresql"
        else "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
        "WHERE i < :count) SELECT i FROM s) AS n"
    )
    moment = Deadline.__table__.c.due_at.type
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO deadlines (subject_type, subject_id, subject_label, kind, "
                "responsible_role, opened_at, due_at, remind_at, next_check_at, alert_count) "
                "SELECT 'complaint', n.i, 'QC-2025-' || CAST(100000 + n.i AS TEXT), "
                "'on_site_verification', "
                f"'quality', :opened, :due, :remind, :remind, 0 FROM {numbers}"
            ).bindparams(
                bindparam("opened", type_=moment),
                bindparam("due", type_=moment),
                bindparam("remind", type_=moment),
            ),
            {
                "count": count,
                "opened": now - dt.timedelta(days=3),
                "due": now - dt.timedelta(hours=1),
                "remind": now - dt.timedelta(days=1),
            },
        )
    await engine.dispose()


async def open_deadlines(url: str) -> int:
    """Overdue deadlines not alerted yet (the complaints filed meanwhile are not overdue)."""
    engine = open_engine(url)
    moment = Deadline.__table__.c.due_at.type
    async with engine.connect() as connection:
        count = await connection.scalar(
            text(
                "SELECT count(*) FROM deadlines WHERE alert_count = 0 AND met_at IS NULL "
                "AND due_at < :now"
            ).bindparams(bindparam("now", type_=moment)),
            {"now": dt.datetime.now(dt.UTC)},
        )
    await engine.dispose()
    return int(count or 0)
