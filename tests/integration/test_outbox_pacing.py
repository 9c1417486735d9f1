"""The sender's pace: about 30 a second per bot, one a second per chat, urgent rows first, and
paid broadcast for urgent fan-out when the operator turns it on; the emulator's flood limits
(Telegram's) never answer 429."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.runtime.outbox_sender import OutboxSender, Pacing
from bot.services import Services
from emulator.server import BotApiEmulator, FloodLimits
from procedures.kernel.outbox import URGENT, notify_users
from storage.models import User

from ..unit.helpers import make_user, outbox_rows

_bot_ids = itertools.count(810_001)


@pytest.fixture
async def telegram() -> AsyncIterator[BotApiEmulator]:
    """Telegram's limits as they are: 30 a second, one a second per chat (burst of three)."""
    emulator = BotApiEmulator(flood_limits=FloodLimits())
    await emulator.start()
    yield emulator
    await emulator.stop()


async def sender_on(
    services: Services, emulator: BotApiEmulator, *, paid: bool = False
) -> tuple[OutboxSender, str]:
    token = f"{next(_bot_ids)}:pacing-token"
    bot = Bot(token, base_url=emulator.base_url)
    await bot.initialize()
    return OutboxSender(services, bot, pacing=Pacing(), paid_broadcast=paid), token


async def people(services: Services, emulator: BotApiEmulator, count: int) -> list[User]:
    users = [await make_user(services, "customer", language="en") for _ in range(count)]
    for user in users:
        emulator.add_user(user.telegram_id, user.full_name)
    return users


async def queue(services: Services, users: list[User], key: str, **params: object) -> None:
    async with services.unit_of_work() as uow:
        for user in users:
            await notify_users(uow.session, [user], key, params, now=uow.clock.now())
        await uow.commit()


def statuses(emulator: BotApiEmulator, token: str) -> list[int]:
    return [status for _, method, status in emulator.bot(token).call_log if method == "sendmessage"]


SUSPEND = {"number": "QC-2026-00001", "product": "Syringe", "lot": "L1"}


async def test_urgent_fan_out_goes_before_routine_rows_at_telegrams_pace(
    services: Services, telegram: BotApiEmulator
) -> None:
    sender, token = await sender_on(services, telegram)
    buyers = await people(services, telegram, 45)
    await queue(services, buyers[:15], "invite.redeemed_notice", name="Li", role="x")
    await queue(services, buyers, "complaint.suspend_sales", **SUSPEND)

    report = await sender.deliver_due()

    assert report.sent == 60 and statuses(telegram, token) == [200] * 60  # no 429
    chats = {b.telegram_id for b in buyers}
    rows = [r for r in await outbox_rows(services) if r.chat_id in chats]
    assert all(r.status == "sent" for r in rows)
    in_order_sent = sorted(rows, key=lambda r: r.telegram_message_id)
    # the buyers with nothing before their notice got it first, before any routine row...
    assert [r.priority for r in in_order_sent[:30]] == [URGENT] * 30
    # ...and a buyer with a routine row queued earlier got the two in the order written
    for buyer in buyers[:15]:
        texts = [m["text"] for m in telegram.bot_messages(token, buyer.telegram_id)]
        assert len(texts) == 2 and texts[1].startswith("Quality notice")


async def test_a_chats_rows_keep_their_order_at_one_a_second(
    services: Services, telegram: BotApiEmulator
) -> None:
    sender, token = await sender_on(services, telegram)
    (buyer,) = await people(services, telegram, 1)
    for n in range(5):
        await queue(services, [buyer], "complaint.suspend_sales", **{**SUSPEND, "lot": f"L{n}"})

    sent = rounds = 0
    started = time.monotonic()
    while sent < 5:  # the run loop's rounds: a paced chat waits for its next slot
        sent += (await sender.deliver_due()).sent
        rounds += 1
        if sent < 5:
            await asyncio.sleep(sender.next_chat_ready_in() or 0.1)

    assert statuses(telegram, token) == [200] * 5
    if sender.shares_chat_pace:
        # several processes may send: at most three in any three seconds, by the database's
        # clock (three at once, then the other two three seconds later)
        assert time.monotonic() - started >= 2.8
    else:
        assert rounds == 3  # three at once, then one a second
    texts = [m["text"] for m in telegram.bot_messages(token, buyer.telegram_id)]
    assert [f"Lot L{n} " in text for n, text in enumerate(texts)] == [True] * 5


async def test_paid_broadcast_sends_urgent_fan_out_past_the_free_limit(
    services: Services, telegram: BotApiEmulator
) -> None:
    sender, token = await sender_on(services, telegram, paid=True)
    buyers = await people(services, telegram, 120)
    await queue(services, buyers[:3], "invite.redeemed_notice", name="Li", role="x")
    await queue(services, buyers, "complaint.suspend_sales", **SUSPEND)

    report = await sender.deliver_due()

    assert report.sent == 123 and statuses(telegram, token) == [200] * 123
    calls = [params for method, params in telegram.calls if method == "sendMessage"][-123:]
    paid = [bool(params.get("allow_paid_broadcast")) for params in calls]
    assert paid.count(True) == 120  # the urgent ones, and only they
