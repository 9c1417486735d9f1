"""Bot API faults: 429 with retry_after, 502s, answers later than the client waits, a refused
connection. The outbox loses nothing, sends nothing inside a retry_after window, and a reply to
a user arrives once the Bot API is back. Time is the manual clock; only the emulator's injected
delay and the refused-connection spell are real, and both are short."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.runtime.bot_api_client import AiohttpRequest
from bot.runtime.outbox_sender import OutboxSender, backoff
from bot.services import Services
from emulator.server import BotApiEmulator, FloodLimits
from procedures.kernel.clock import ManualClock
from procedures.kernel.outbox import as_text, notify_users
from storage.models import User

from ..e2e.conftest import BotHarness, register
from ..e2e.conftest import bot as bot  # the real Application, polling this module's emulator
from ..unit.helpers import make_user, outbox_rows

_bot_ids = itertools.count(810_001)


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """An emulator of this test's own: its faults and its refused port touch no other test."""
    emulator = BotApiEmulator(flood_limits=FloodLimits(chat_burst=20))
    await emulator.start()
    yield emulator
    await emulator.stop()


async def sender_for(
    services: Services, emulator: BotApiEmulator, *, read_timeout: float = 5.0
) -> tuple[OutboxSender, str]:
    token = f"{next(_bot_ids)}:faults-token"
    request = AiohttpRequest(read_timeout=read_timeout, connect_timeout=1.0)
    bot = Bot(token, base_url=emulator.base_url, request=request)
    await bot.initialize()
    return OutboxSender(services, bot), token


async def recipient(services: Services, emulator: BotApiEmulator) -> User:
    user = await make_user(services, "driver", name="Du Driver", language="en")
    emulator.add_user(user.telegram_id, "Driver")
    return user


async def queue(services: Services, user: User, count: int = 1) -> None:
    async with services.unit_of_work() as uow:
        for n in range(count):
            params = {"name": f"Li Lei {n}", "role": as_text("role.driver")}
            await notify_users(
                uow.session, [user], "invite.redeemed_notice", params, now=uow.clock.now()
            )
        await uow.commit()


def sends(emulator: BotApiEmulator, token: str) -> list[tuple[float, str, int]]:
    return [c for c in emulator.bot(token).call_log if c[1] == "sendmessage"]


async def test_after_a_429_nothing_is_sent_before_retry_after_and_everything_after_it(
    services: Services, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    sender, token = await sender_for(services, emulator)
    user = await recipient(services, emulator)
    await queue(services, user, count=3)
    emulator.fail_next("sendMessage", 429, retry_after=30)

    assert (await sender.deliver_due()).sent == 0
    assert [status for _, _, status in sends(emulator, token)] == [429]
    start = clock.now()
    for seconds in (1, 10, 29):  # rounds inside the window: Telegram hears nothing
        clock.set(start + dt.timedelta(seconds=seconds))
        await sender.deliver_due()
        assert len(sends(emulator, token)) == 1, f"a message went out {seconds} s into a 30 s wait"

    clock.set(start + dt.timedelta(seconds=30))
    assert (await sender.deliver_due()).sent == 3
    assert [row.status for row in await outbox_rows(services)] == ["sent"] * 3
    assert len(emulator.bot_messages(token, user.telegram_id)) == 3


async def test_502s_are_retried_with_backoff_and_the_row_is_sent_once(
    services: Services, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    sender, token = await sender_for(services, emulator)
    user = await recipient(services, emulator)
    await queue(services, user)
    emulator.fail_next("sendMessage", 502, times=2)

    for attempt in (1, 2):
        assert (await sender.deliver_due()).deferred == 1
        (row,) = await outbox_rows(services)
        assert row.next_attempt_at == clock.now() + backoff(attempt)
        assert (await sender.deliver_due()).sent == 0  # not before the backoff is over
        clock.set(row.next_attempt_at)
    assert (await sender.deliver_due()).sent == 1

    (row,) = await outbox_rows(services)
    assert row.status == "sent" and row.attempts == 3
    assert len(emulator.bot_messages(token, user.telegram_id)) == 1


async def test_an_answer_later_than_the_client_waits_is_retried_and_delivers_at_most_twice(
    services: Services, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    sender, token = await sender_for(services, emulator, read_timeout=0.3)
    user = await recipient(services, emulator)
    await queue(services, user)
    emulator.delay_next("sendMessage", 0.8)  # Telegram sends it, but the client gave up

    assert (await sender.deliver_due()).deferred == 1
    await emulator.wait_for_bot_messages(token, user.telegram_id, 1, timeout=5)
    (row,) = await outbox_rows(services)
    assert row.status == "pending"  # not knowing it went out, the sender keeps it
    clock.set(row.next_attempt_at)
    assert (await sender.deliver_due()).sent == 1
    assert (await sender.deliver_due()).sent == 0

    messages = emulator.bot_messages(token, user.telegram_id)
    assert len(messages) == 2 and messages[0]["text"] == messages[1]["text"]  # one duplicate
    (row,) = await outbox_rows(services)
    assert row.status == "sent" and row.telegram_message_id == messages[1]["message_id"]


async def test_a_refused_connection_defers_the_row_until_the_bot_api_is_back(
    services: Services, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    sender, token = await sender_for(services, emulator)
    user = await recipient(services, emulator)
    await queue(services, user)

    await emulator.refuse_connections()
    try:
        assert (await sender.deliver_due()).deferred == 1
    finally:
        await emulator.accept_connections()
    (row,) = await outbox_rows(services)
    assert row.status == "pending" and row.attempts == 1
    assert (await sender.deliver_due()).sent == 0  # back, but the backoff is not over
    clock.set(row.next_attempt_at)
    assert (await sender.deliver_due()).sent == 1
    assert len(emulator.bot_messages(token, user.telegram_id)) == 1


async def test_a_message_sent_while_the_bot_api_refused_connections_is_answered_after(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = await register(bot, "customer", "Chen Meiling", organisation="C001")
    await emulator.refuse_connections()
    try:
        await user.send("/help")  # waits at Telegram while the bot cannot reach it
        await bot.application.update_queue.join()
        assert user.all_bot_messages() == []
    finally:
        await emulator.accept_connections()
    # python-telegram-bot retries a failed poll after 1 s, then 1.5 times longer each time
    assert (await user.expect_text(timeout=15)).startswith("Commands you can use:")
    await user.send("/help")
    assert (await user.expect_text()).startswith("Commands you can use:")
    assert len(user.all_bot_messages()) == 2


async def test_a_502_to_a_reply_after_its_commit_is_sent_again_once(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = await register(bot, "customer", "Chen Meiling", organisation="C001")
    emulator.fail_next("sendMessage", 502)
    await user.send("/help")
    # the update is kept: its answer is owed, and the gateway's failure is tried again
    assert (await user.expect_text()).startswith("Commands you can use:")
    await bot.settled()
    assert len(user.all_bot_messages()) == 1
