"""Kill -9 at random moments: the real `python -m bot` process, killed and restarted while
customers file complaints, quality takes and verifies them and the outbox tells the staff.

Users behave like people: they wait for the bot's answer, and when none comes after the bot
is back (or the bot says something went wrong) they send the message or press the button again.
At the end the database and the emulator are compared: nothing the users were told is lost,
every notification reached its recipient, and a kill costs at most one duplicate message (a
dialogue a confused person starts again repeats its first question, as they asked).
The kill moments come from fixed seeds; the bot's own speed still varies from run to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import re
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.services import build_services
from core.config import Settings
from core.database import load_samples_if_empty
from emulator.server import ApiError, BotApiEmulator, FloodLimits
from procedures.kernel import roles
from scheduler import periodic
from storage.db import make_engine
from storage.models import (
    Complaint,
    Organisation,
    OutboxMessage,
    PeriodicDuty,
    User,
    UserRole,
)

from ..conftest import BACKENDS
from .postgres import own_database

ROOT = Path(__file__).parents[2]
SEEDS = (11, 23, 37)
KILLS_PER_SEED = 4
TOKEN = "970001:kill-nine-token"
FILED = re.compile(r"Complaint (QC-\d{4}-\d{5}) received")
NEW_FOR_QC = re.compile(r"New quality complaint (QC-\d{4}-\d{5})")
SOMETHING_WRONG = "Something went wrong on our side"
# how long a person waits for an answer once the bot is back before they try again
PATIENCE = 6.0
DIALOGUE_TIMEOUT = 90.0


# --- the database the bot process runs on --------------------------------------------------


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[str]:
    """A SQLite file, or a PostgreSQL database of its own (a URL cannot name a schema)."""
    if request.param == "sqlite":
        database = tmp_path / "bot.db"
        shutil.copy(sqlite_template, database)
        yield f"sqlite+aiosqlite:///{database}"
        return
    async with own_database("faults") as url:
        yield url


@dataclass
class Cast:
    customers: list[int]
    quality: list[int]
    staff: list[int]  # warehouse and business head: they only receive


async def register_cast(database_url: str) -> Cast:
    engine = make_engine(database_url)
    services = build_services(Settings(database_url=database_url), engine)
    await load_samples_if_empty(services)
    people = {
        "customer": [(31_001, "Chen Meiling"), (31_002, "Lin Yating"), (31_003, "Guo Wei")],
        "quality": [(32_001, "Qiu QC"), (32_002, "Quan QC")],
        "warehouse": [(33_001, "Wu Warehouse")],
        "business_head": [(33_002, "Bai Business")],
    }
    async with services.unit_of_work() as uow:
        c001 = await uow.session.scalar(select(Organisation.id).where(Organisation.code == "C001"))
        for role, members in people.items():
            for telegram_id, name in members:
                uow.session.add(
                    User(
                        telegram_id=telegram_id,
                        full_name=name,
                        language="en",
                        active=True,
                        organisation_id=c001 if role == "customer" else None,
                        created_at=uow.clock.now(),
                        roles=[UserRole(role=role)],
                    )
                )
        await uow.commit()
    await engine.dispose()
    return Cast(
        customers=[i for i, _ in people["customer"]],
        quality=[i for i, _ in people["quality"]],
        staff=[i for role in ("warehouse", "business_head") for i, _ in people[role]],
    )


# --- the bot process -------------------------------------------------------------------------


class BotProcess:
    """`python -m bot` against the emulator; started, killed with SIGKILL, started again."""

    def __init__(self, emulator: BotApiEmulator, database_url: str, log: Path) -> None:
        self.emulator = emulator
        self.env = {
            **os.environ,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emulator.base_url,
            "DATABASE_URL": database_url,
            "ADMIN_TELEGRAM_IDS": "39001",
            "LOAD_SAMPLES": "false",
            "RUN_SCHEDULER": "false",  # deadlines are a day away; the sweeps are tested elsewhere
            "TELEGRAM_CHAT_BURST": "20",  # as the emulator's: users here answer without pause
            "WEBAPP_PORT": "0",  # several bots at once: the Mini App is tested on its own
        }
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0
        self.up_since: float | None = None  # None while down or starting

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        self.starts += 1
        menus_before = self._menus_set()
        # up once it has set its command menus (two languages): polling starts right after
        await self.emulator.wait_until(lambda: self._menus_set() >= menus_before + 2, timeout=60)
        self.up_since = time.monotonic()

    def _menus_set(self) -> int:
        return sum(
            1 for _, method, _ in self.emulator.bot(TOKEN).call_log if method == "setmycommands"
        )

    async def kill(self) -> None:
        assert self.process is not None
        self.up_since = None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


# --- people ----------------------------------------------------------------------------------


def buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b.get("callback_data", "") for row in rows for b in row}


@dataclass
class Person:
    emulator: BotApiEmulator
    bot: BotProcess
    user_id: int
    rng: random.Random
    resends: int = 0
    restarts: int = 0
    log: list[str] = field(default_factory=list)

    def messages(self) -> list[dict[str, Any]]:
        return self.emulator.bot_messages(TOKEN, self.user_id)

    async def think(self) -> None:
        await asyncio.sleep(self.rng.uniform(0.05, 0.5))

    async def act(
        self,
        action: Callable[[], Awaitable[Any]],
        answered: Callable[[list[dict[str, Any]]], Any],
        *,
        pressed: dict[str, Any] | None = None,
    ) -> Any:
        """Do `action`, then wait until `answered` finds the answer among the messages the bot
        sent since (and the pressed message, which the answer may edit); try again when the
        bot was up for a while without answering, or said something went wrong."""
        await self.think()
        start = len(self.messages())
        if pressed is not None:
            start = min(start, self._index_of(pressed))

        def look() -> Any:
            return answered(self.messages()[start:])

        for _attempt in range(3):
            acted_at = time.monotonic()
            errors_before = self._errors()
            with contextlib.suppress(ApiError):  # the button may be gone by now
                await action()
            while True:
                with contextlib.suppress(TimeoutError):
                    return await self.emulator.wait_until(look, timeout=0.25)
                if self._errors() > errors_before:
                    break
                up = self.bot.up_since
                if up is not None and time.monotonic() - max(acted_at, up) > PATIENCE:
                    break
            self.resends += 1
            self.log.append(
                f"resent after {[m.get('text', '')[:40] for m in self.messages()[-3:]]}"
            )
        shown = [(m.get("text") or m.get("caption") or "")[:60] for m in self.messages()[-8:]]
        raise AssertionError(f"user {self.user_id}: no answer after three tries; chat ends {shown}")

    def _index_of(self, message: dict[str, Any]) -> int:
        for index, candidate in enumerate(self.messages()):
            if candidate["message_id"] == message["message_id"]:
                return index
        return len(self.messages())

    def _errors(self) -> int:
        return sum(1 for m in self.messages() if m.get("text", "").startswith(SOMETHING_WRONG))

    async def send(self, words: str, answered: Callable[[list[dict[str, Any]]], Any]) -> Any:
        return await self.act(lambda: self.emulator.send_text(TOKEN, self.user_id, words), answered)

    async def press(
        self, message: dict[str, Any], label: str, answered: Callable[[list[dict[str, Any]]], Any]
    ) -> Any:
        data = buttons(message)[label]

        async def tap() -> None:
            # again means the same button, on the message as it is shown now
            current = self.emulator.bot(TOKEN).messages_by_id.get(
                (self.user_id, message["message_id"])
            )
            if current is not None and data in buttons(current).values():
                await self.emulator.press_button(TOKEN, self.user_id, message["message_id"], data)

        return await self.act(tap, answered, pressed=message)


def first(predicate: Callable[[dict[str, Any]], Any]) -> Callable[[list[dict[str, Any]]], Any]:
    def find(messages: list[dict[str, Any]]) -> Any:
        for message in messages:
            if predicate(message):
                return message
        return None

    return find


def starting(prefix: str) -> Callable[[list[dict[str, Any]]], Any]:
    return first(lambda m: m.get("text", "").startswith(prefix))


def with_button(label: str, prefix: str = "") -> Callable[[list[dict[str, Any]]], Any]:
    return first(lambda m: label in buttons(m) and m.get("text", "").startswith(prefix))


def filed_number(messages: list[dict[str, Any]]) -> str | None:
    for message in messages:
        match = FILED.search(message.get("text", ""))
        if match:
            return match.group(1)
    return None


async def file_a_complaint(person: Person) -> str:
    """Intake; a person whom the bot confused (see the xfail below) starts again once."""
    try:
        return await _intake(person)
    except AssertionError:
        person.restarts += 1
        return await _intake(person)


async def _intake(person: Person) -> str:
    """/complain, product, lot, quantity, description, no photos, Submit."""
    ask_product = await person.send("/complain", starting("Which product"))
    label = next(iter(buttons(ask_product)))
    ask_lot = await person.press(ask_product, label, with_button("L20260301"))
    await person.press(ask_lot, "L20260301", starting("How many units are affected?"))
    await person.send("12", starting("What is wrong?"))
    ask_photos = await person.send(f"Plungers stick (user {person.user_id}).", with_button("Skip"))
    summary = await person.press(ask_photos, "Skip", with_button("Submit", "Please check"))
    return await person.press(summary, "Submit", filed_number)


async def verify_complaints(
    person: Person, mine: Callable[[str], bool], done: asyncio.Event
) -> set[str]:
    """Approval: take each complaint that is this QC's, verify it conforming without a visit."""
    handled: set[str] = set()
    while True:
        notices = {}
        for message in person.messages():
            match = NEW_FOR_QC.search(message.get("text", ""))
            if (
                match
                and match.group(1) not in handled
                and mine(match.group(1))
                and "Take" in buttons(message)
            ):
                notices.setdefault(match.group(1), message)
        if not notices:
            if done.is_set():
                return handled
            with contextlib.suppress(TimeoutError):
                await person.emulator.wait_until(lambda: False, timeout=0.3)
            continue
        number, notice = sorted(notices.items())[0]
        taken = await person.press(
            notice, "Take", with_button("Record verification", f"You have taken {number}")
        )
        ask_mode = await person.press(taken, "Record verification", with_button("No visit needed"))
        await person.press(ask_mode, "No visit needed", starting("Send why no on-site"))
        ask_result = await person.send(
            f"Same lot already investigated ({number}).", with_button("Conforming")
        )
        await person.press(ask_result, "Conforming", starting(f"{number} verified conforming"))
        handled.add(number)


# --- the run ---------------------------------------------------------------------------------


async def kill_at_random(bot: BotProcess, rng: random.Random, kills: int) -> None:
    """Kill -9 after a seeded random while, leave it down a seeded random while, start again."""
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(0.3, 2.0))
        await bot.kill()
        await asyncio.sleep(rng.uniform(0.0, 0.6))  # people keep typing meanwhile
        await bot.start()


async def wait_for_outbox(database_url: str, timeout: float = 60) -> None:
    engine = make_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with engine.connect() as connection:
                pending = await connection.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == "pending")
                )
            if not pending:
                return
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


def duplicates_in(messages: list[dict[str, Any]]) -> int:
    """Messages whose text the bot already sent to the same chat (errors aside)."""
    seen = Counter(
        m.get("text") or m.get("caption") or ""
        for m in messages
        if not (m.get("text") or "").startswith(SOMETHING_WRONG)
    )
    return sum(count - 1 for count in seen.values())


@pytest.mark.parametrize("seed", SEEDS)
async def test_kill_nine_at_random_moments_loses_nothing_and_duplicates_little(
    seed: int, database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    cast = await register_cast(database_url)
    emulator = BotApiEmulator(flood_limits=FloodLimits(chat_burst=20))
    await emulator.start()
    for telegram_id in [*cast.customers, *cast.quality, *cast.staff, 39001]:
        emulator.add_user(telegram_id, f"User {telegram_id}", language_code="en")
    bot = BotProcess(emulator, database_url, tmp_path / "bot.log")
    try:
        await bot.start()
        customers = [Person(emulator, bot, i, random.Random(rng.random())) for i in cast.customers]
        quality = [Person(emulator, bot, i, random.Random(rng.random())) for i in cast.quality]
        intake_done = asyncio.Event()

        async def intake() -> list[str]:
            numbers = await asyncio.gather(*(file_a_complaint(p) for p in customers))
            intake_done.set()
            return list(numbers)

        def mine(index: int) -> Callable[[str], bool]:
            return lambda number: int(number[-5:]) % len(quality) == index

        work = asyncio.gather(
            intake(),
            *(verify_complaints(p, mine(i), intake_done) for i, p in enumerate(quality)),
        )
        killer = asyncio.create_task(kill_at_random(bot, rng, KILLS_PER_SEED))
        numbers, *verified = await asyncio.wait_for(work, DIALOGUE_TIMEOUT)
        await asyncio.wait_for(killer, 60)
        await wait_for_outbox(database_url)
        await bot.stop()
    finally:
        await bot.stop()
        await emulator.stop()

    engine = make_engine(database_url)
    async with engine.connect() as connection:
        complaints = list(
            await connection.execute(
                select(Complaint.number, Complaint.filed_by_id, Complaint.status)
            )
        )
        users = dict(list(await connection.execute(select(User.id, User.telegram_id))))
        outbox = list(
            await connection.execute(
                select(
                    OutboxMessage.chat_id, OutboxMessage.status, OutboxMessage.telegram_message_id
                )
            )
        )
    await engine.dispose()

    by_number = {number: (users[filer], status) for number, filer, status in complaints}
    per_customer = Counter(users[filer] for _, filer, _ in complaints)
    records_lost = sum(
        1
        for customer, number in zip(cast.customers, numbers, strict=True)
        if by_number.get(number, (None,))[0] != customer
    ) + sum(
        1
        for number in set().union(*verified)
        if by_number.get(number, (None, None))[1] != "conforming"
    )
    filed_twice = sum(count - 1 for count in per_customer.values())
    chats = {
        chat: emulator.bot_messages(TOKEN, chat)
        for chat in [*cast.customers, *cast.quality, *cast.staff]
    }
    delivered = {(chat, m["message_id"]) for chat, messages in chats.items() for m in messages}
    notifications_lost = sum(
        1
        for chat, status, message_id in outbox
        if status != "sent" or (chat, message_id) not in delivered
    )
    duplicates = sum(duplicates_in(messages) for messages in chats.values())
    resends = sum(p.resends for p in [*customers, *quality])
    restarts = sum(p.restarts for p in customers)
    print(
        f"\nkill -9 seed {seed}: kills {bot.kills}, complaints filed {len(complaints)}, "
        f"verified {sum(len(v) for v in verified)}, outbox rows {len(outbox)}; "
        f"records lost {records_lost}, filed twice {filed_twice}, notifications lost "
        f"{notifications_lost}, duplicate messages {duplicates} "
        f"({duplicates / max(bot.kills, 1):.2f} per kill), resends by users {resends}, dialogues started again {restarts}"
    )
    assert bot.kills == KILLS_PER_SEED
    assert len(complaints) == len(cast.customers)
    assert records_lost == 0
    assert filed_twice == 0
    assert notifications_lost == 0
    # a person who starts the dialogue again is asked its first question again: asked for, not
    # a message the bot sent twice by itself
    assert duplicates - restarts <= bot.kills


async def test_a_press_answered_before_a_kill_is_not_undone_by_its_redelivery(
    database_url: str, tmp_path: Path
) -> None:
    cast = await register_cast(database_url)
    emulator = BotApiEmulator(flood_limits=FloodLimits(chat_burst=20))
    await emulator.start()
    customer = cast.customers[0]
    emulator.add_user(customer, "Chen", language_code="en")
    bot = BotProcess(emulator, database_url, tmp_path / "bot.log")
    person = Person(emulator, bot, customer, random.Random(1))
    try:
        await bot.start()
        ask_product = await person.send("/complain", starting("Which product"))
        ask_lot = await person.press(
            ask_product, next(iter(buttons(ask_product))), with_button("L20260301")
        )
        # the press is answered; its reply is held, and the process dies before its commit
        emulator.delay_next("sendMessage", 2.0)
        calls_before = len(emulator.calls)
        await emulator.press_button(
            TOKEN, customer, ask_lot["message_id"], buttons(ask_lot)["L20260301"]
        )
        await emulator.wait_until(  # the reply has reached Telegram, which holds it
            lambda: any(m == "sendMessage" for m, _ in list(emulator.calls)[calls_before:]),
            timeout=10,
        )
        await bot.kill()
        await bot.start()
        # the user sees the question the press led to, and answers it
        await emulator.wait_until(
            lambda: starting("How many units are affected?")(person.messages()), timeout=10
        )
        await asyncio.sleep(1.0)  # the redelivered press is handled first
        await emulator.send_text(TOKEN, customer, "12")
        reply = await emulator.wait_until(
            lambda: (
                starting("What is wrong?")(person.messages())
                or starting("Lot 12")(person.messages())
            ),
            timeout=10,
        )
        assert reply["text"].startswith("What is wrong?")
    finally:
        await bot.stop()
        await emulator.stop()


# --- across a period boundary: the month's duties -------------------------------------------

# whom the month's, quarter's and half-year's duties write to, each role on a person of its own
DUTY_READERS = {
    roles.EQUIPMENT_MANAGER: 34_001,
    roles.BUSINESS_HEAD: 34_002,
    roles.FINANCE: 34_003,
    roles.AFTER_SALES_HEAD: 34_004,
    roles.QUALITY_HEAD: 34_005,
    roles.QUALITY: 34_006,
}


async def register_duty_readers(database_url: str) -> list[int]:
    engine = make_engine(database_url)
    services = build_services(Settings(database_url=database_url), engine)
    await load_samples_if_empty(services)
    async with services.unit_of_work() as uow:
        for role, telegram_id in DUTY_READERS.items():
            uow.session.add(
                User(
                    telegram_id=telegram_id,
                    full_name=f"{role} {telegram_id}",
                    language="en",
                    active=True,
                    created_at=uow.clock.now(),
                    roles=[UserRole(role=role)],
                )
            )
        await uow.commit()
    await engine.dispose()
    return list(DUTY_READERS.values())


def duties_due_now(timezone: Any) -> set[tuple[str, str]]:
    """The duties whose latest period ended while the bot was down (it never ran on this
    database) and whose hour has come: each is to be done exactly once."""
    now = dt.datetime.now(dt.UTC)
    due = set()
    for duty in periodic.DUTIES:
        period = duty.period(now, timezone)
        if now >= duty.due_at(period, timezone):
            due.add((duty.kind, period))
    return due


async def spawn_and_kill(bot: BotProcess, after: float) -> None:
    """Start `python -m bot` and kill it -9 `after` seconds once it has done a first duty (its
    scheduler makes them up at once, one transaction each): the kill lands amid the next one.
    With nothing left to do, the kill comes a second after the start."""
    logged_before = bot.log.stat().st_size if bot.log.exists() else 0
    with bot.log.open("ab") as log:
        bot.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=ROOT, env=bot.env, stdout=log, stderr=log
        )
    bot.starts += 1

    def logged(line: bytes) -> bool:
        return line in bot.log.read_bytes()[logged_before:]

    deadline = time.monotonic() + 60
    while not logged(b"Application started"):
        assert time.monotonic() < deadline, "the bot did not start within a minute"
        await asyncio.sleep(0.01)
    give_up = time.monotonic() + 1.0
    while not logged(b"scheduler.periodic"):
        if time.monotonic() > give_up:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(after)
    await bot.kill()


async def periodic_state(database_url: str) -> tuple[list[tuple[str, str]], list[Any]]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            done = [
                (kind, period)
                for kind, period in await connection.execute(
                    select(PeriodicDuty.kind, PeriodicDuty.period)
                )
            ]
            outbox = list(
                await connection.execute(
                    select(
                        OutboxMessage.chat_id,
                        OutboxMessage.status,
                        OutboxMessage.telegram_message_id,
                        OutboxMessage.dedupe_key,
                        OutboxMessage.text_key,
                    )
                )
            )
    finally:
        await engine.dispose()
    return done, outbox


@pytest.mark.parametrize("seed", SEEDS)
async def test_kill_nine_across_a_period_boundary_does_the_months_duties_exactly_once(
    seed: int, database_url: str, tmp_path: Path
) -> None:
    """The bot was down across the 1st: it makes up the month's (and the last quarter's and
    half-year's) duties when it starts, and is killed -9 again and again while doing them."""
    rng = random.Random(seed)
    readers = await register_duty_readers(database_url)
    timezone = Settings(database_url=database_url).timezone
    expected = duties_due_now(timezone)
    emulator = BotApiEmulator(flood_limits=FloodLimits(chat_burst=20))
    await emulator.start()
    for telegram_id in readers:
        emulator.add_user(telegram_id, f"User {telegram_id}", language_code="en")
    bot = BotProcess(emulator, database_url, tmp_path / "bot.log")
    bot.env["RUN_SCHEDULER"] = "true"
    done_by_start: list[int] = []  # how many duties were done after each killed start
    try:
        for _ in range(KILLS_PER_SEED):
            await spawn_and_kill(bot, rng.uniform(0.0, 0.1))
            done_by_start.append(len((await periodic_state(database_url))[0]))
        await bot.start()  # and this time it stays up
        deadline = time.monotonic() + 60
        while len(set((await periodic_state(database_url))[0])) < len(expected):
            assert time.monotonic() < deadline, "the duties were not all done within a minute"
            await asyncio.sleep(0.3)
        await wait_for_outbox(database_url)
        await bot.stop()
    finally:
        await bot.stop()
        await emulator.stop()

    done, outbox = await periodic_state(database_url)
    chats = {chat: emulator.bot_messages(TOKEN, chat) for chat in readers}
    delivered = {(chat, m["message_id"]) for chat, messages in chats.items() for m in messages}
    duties_lost = len(expected - set(done))
    done_twice = len(done) - len(set(done))
    messages_queued_twice = sum(
        count - 1 for count in Counter(row.dedupe_key for row in outbox).values()
    )
    notifications_lost = sum(
        1
        for chat, status, message_id, _, _ in outbox
        if status != "sent" or (chat, message_id) not in delivered
    )
    duplicates = sum(duplicates_in(messages) for messages in chats.values())
    print(
        f"\nkill -9 across a period boundary, seed {seed}: kills {bot.kills}, duties due "
        f"{len(expected)} (done after each killed start {done_by_start}), outbox rows "
        f"{len(outbox)}; duties lost {duties_lost}, done twice {done_twice}, messages queued "
        f"twice {messages_queued_twice}, notifications lost {notifications_lost}, duplicate "
        f"messages {duplicates} ({duplicates / max(bot.kills, 1):.2f} per kill)"
    )
    assert bot.kills == KILLS_PER_SEED
    assert set(done) == expected
    assert done_twice == 0 and messages_queued_twice == 0
    assert notifications_lost == 0
    # each reader told of each duty once, but for a message sent just before a kill
    assert duplicates <= bot.kills
    told = Counter(row.text_key for row in outbox)
    if (
        periodic.RETURN_STATISTICS.kind,
        periodic.RETURN_STATISTICS.period(dt.datetime.now(dt.UTC), timezone),
    ) in expected:
        assert told["return.statistics_ready"] == 2  # the business head and finance, once each
