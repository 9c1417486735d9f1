"""Several processes on one PostgreSQL: two bot workers and two schedulers, killed in turn
while deadlines fall due; every notification is delivered, each once (at most one duplicate
for each kill of a worker that was sending).

The deadlines are due within the run's half minute and the sweep runs every second, so the run
covers what a scheduler does in hours: reminders, overdue alerts, a leader killed and replaced.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from emulator.server import BotApiEmulator, FloodLimits
from procedures.complaints.rules import ON_SITE_VERIFICATION
from procedures.kernel import deadlines
from scheduler.leader import LeaderLock
from storage.db import make_engine, make_session_factory
from storage.models import Deadline, OutboxMessage, User, UserRole

from .postgres import own_database

ROOT = Path(__file__).parents[2]
TOKEN = "970002:two-workers-token"
QUALITY = [41_000 + i for i in range(16)]
HEAD = 42_001
DEADLINES = 10

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="several processes share PostgreSQL only"
)


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with own_database("workers") as url:
        yield url


class Process:
    """`python -m bot` or `python -m scheduler`, started, killed with SIGKILL, started again."""

    def __init__(self, module: str, env: dict[str, str], log: Path) -> None:
        self.module, self.env, self.log = module, env, log
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, cwd=ROOT, env=self.env, stdout=log, stderr=log
            )

    async def kill(self) -> None:
        assert self.process is not None
        # a process that ended by itself is a failure of its own, with its log to show
        assert self.process.returncode is None, self.log.read_text()[-3000:]
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def open_deadlines(url: str, now: dt.datetime) -> None:
    """Sixteen quality staff and their head; deadlines falling due over the next half minute,
    each reminded (quality) and then overdue (quality and head)."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    async with sessions() as session:
        people = [(i, "quality") for i in QUALITY] + [(HEAD, "quality_head")]
        for telegram_id, role in people:
            session.add(
                User(
                    telegram_id=telegram_id,
                    full_name=f"Staff {telegram_id}",
                    language="en",
                    active=True,
                    created_at=now,
                    roles=[UserRole(role=role)],
                )
            )
        for i in range(DEADLINES):
            deadlines.open_deadline(
                session,
                subject_type="complaint",
                subject_id=i + 1,
                subject_label=f"QC-2026-{i + 1:05d}",
                rule=ON_SITE_VERIFICATION,
                opened_at=now - dt.timedelta(seconds=30),
                due_at=now + dt.timedelta(seconds=10 + 2.5 * i),
            )
        await session.commit()
    await engine.dispose()


async def ready(emulator: BotApiEmulator, schedulers: list[Process], timeout: float) -> None:
    """Wait until a worker polls the emulator and a scheduler has taken the lead."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        polled = any(method.lower() == "getupdates" for method, _ in emulator.calls)
        leading = any(
            s.log.is_file() and b"scheduler leader" in s.log.read_bytes() for s in schedulers
        )
        if polled and leading:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the workers and schedulers did not come up")


async def settled(url: str, timeout: float) -> tuple[int, int]:
    """Wait until every deadline has had its overdue alert and nothing waits in the outbox."""
    engine = make_engine(url)
    try:
        end = time.monotonic() + timeout
        while True:
            async with engine.connect() as connection:
                # the run's deadlines (a scheduler's start also makes up the month's duties,
                # whose deadlines fall due days later)
                unalerted = await connection.scalar(
                    select(func.count())
                    .select_from(Deadline)
                    .where(Deadline.alert_count == 0, Deadline.subject_type == "complaint")
                )
                pending = await connection.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == "pending")
                )
            if (not unalerted and not pending) or time.monotonic() > end:
                return unalerted, pending
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


async def test_two_workers_and_two_schedulers_deliver_every_notification_once(
    database_url: str, tmp_path: Path
) -> None:
    emulator = BotApiEmulator(flood_limits=FloodLimits())
    await emulator.start()
    for telegram_id in [*QUALITY, HEAD]:
        emulator.add_user(telegram_id, f"Staff {telegram_id}", language_code="en")
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_URL": database_url,
        "LOAD_SAMPLES": "false",
        "RUN_SCHEDULER": "false",
        "SWEEP_INTERVAL_SECONDS": "1",
        # two workers send for one bot: each takes half of Telegram's 30 a second
        "OUTBOX_MESSAGES_PER_SECOND": "15",
        "TELEGRAM_MESSAGES_PER_SECOND": "15",
        # the run is on the wall clock: reminders, which wait for the recipient's working
        # hours, must reach them whenever the suite runs (it failed after 18:00 in the zone)
        "WORKING_HOURS": "00:00-24:00",
        "WORKING_DAYS": "1-7",
        "WEBAPP_PORT": "0",  # several bots at once: the Mini App is tested on its own
    }
    workers = [Process("bot", env, tmp_path / f"worker{i}.log") for i in range(2)]
    schedulers = [Process("scheduler", env, tmp_path / f"scheduler{i}.log") for i in range(2)]
    everyone = [*workers, *schedulers]
    try:
        for process in everyone:
            await process.start()
        # the deadlines fall due relative to when the processes are up, not to when they were
        # launched: on a loaded machine start-up alone can outlast the first reminders
        await ready(emulator, schedulers, timeout=90)
        await open_deadlines(database_url, dt.datetime.now(dt.UTC))
        # kills while the deadlines fall due: a worker, the first scheduler (the likely
        # leader), the other worker, the other scheduler; each back after a moment
        for victim, wait in zip(
            [workers[0], schedulers[0], workers[1], schedulers[1]], [5, 4, 5, 4], strict=True
        ):
            await asyncio.sleep(wait)
            await victim.kill()
            await asyncio.sleep(0.5)
            await victim.start()
        unalerted, pending = await settled(database_url, timeout=60)
    finally:
        for process in everyone:
            await process.stop()
        await emulator.stop()

    engine = make_engine(database_url)
    async with engine.connect() as connection:
        outbox = list(
            await connection.execute(
                select(
                    OutboxMessage.chat_id,
                    OutboxMessage.text_key,
                    OutboxMessage.status,
                    OutboxMessage.telegram_message_id,
                )
            )
        )
    await engine.dispose()

    expected = DEADLINES * (len(QUALITY) + len(QUALITY) + 1)  # reminders, then overdue alerts
    chats = {chat: emulator.bot_messages(TOKEN, chat) for chat in [*QUALITY, HEAD]}
    delivered = {(chat, m["message_id"]) for chat, messages in chats.items() for m in messages}
    lost = sum(
        1
        for chat, _, status, message_id in outbox
        if status != "sent" or (chat, message_id) not in delivered
    )
    seen = Counter((chat, m.get("text", "")) for chat, messages in chats.items() for m in messages)
    duplicates = sum(count - 1 for count in seen.values())
    worker_kills = sum(w.kills for w in workers)
    kills = sum(p.kills for p in everyone)
    too_many_requests = sum(1 for _, _, status in emulator.bot(TOKEN).call_log if status == 429)
    print(
        f"\ntwo workers, two schedulers: kills {kills} ({worker_kills} of workers); "
        f"notifications expected {expected}, written {len(outbox)}, delivered "
        f"{sum(len(m) for m in chats.values())}, lost {lost}, duplicates {duplicates}, "
        f"429s {too_many_requests}"
    )
    assert (unalerted, pending) == (0, 0)
    written = Counter(key for _, key, _, _ in outbox)
    assert written == {  # every reminder and alert written once
        "deadline.reminder": DEADLINES * len(QUALITY),
        "deadline.overdue": DEADLINES * (len(QUALITY) + 1),
    }
    assert too_many_requests == 0
    assert lost == 0
    assert duplicates <= worker_kills


async def test_one_scheduler_leads_and_a_standby_takes_over_when_it_goes() -> None:
    server = make_url(os.environ["TEST_DATABASE_URL"]).render_as_string(hide_password=False)
    first_engine, second_engine = make_engine(server), make_engine(server)
    first, second = LeaderLock(first_engine), LeaderLock(second_engine)
    try:
        assert await first.held()
        assert await first.held()  # still
        assert not await second.held()
        await first.release()  # the leader stops (a killed one's connection closes likewise)
        assert await second.held()
        assert not await first.held()
    finally:
        await first.release()
        await second.release()
        await first_engine.dispose()
        await second_engine.dispose()
