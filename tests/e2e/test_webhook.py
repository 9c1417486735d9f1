"""Webhook mode: updates arrive by POST, and only with Telegram's secret-token header."""

from __future__ import annotations

import itertools
import socket

import httpx

from bot.app import build_application, start_background_work, stop_background_work
from bot.runtime.updates import webhook_options
from bot.services import Services
from emulator.server import BotApiEmulator

from .conftest import Chat

# each run (SQLite, PostgreSQL) has a bot and a user of its own in the shared emulator
_runs = itertools.count()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_the_bot_answers_over_a_webhook_and_refuses_requests_without_the_secret(
    services: Services, emulator: BotApiEmulator
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    services.settings = services.settings.model_copy(
        update={
            "bot_token": "1:x",
            "webhook_url": "https://bot.example.com/telegram",
            "webhook_secret": "s3cret-token",
            "webhook_port": port,
        }
    )
    run = next(_runs)
    token = f"{950001 + run}:webhook-token"
    user_id = 88_001 + run
    application = build_application(services, token, base_url=emulator.base_url)
    await application.initialize()
    await application.start()
    # Telegram would post to the public https URL; the emulator posts to where the bot listens.
    await application.updater.start_webhook(
        **{**webhook_options(services.settings), "webhook_url": url}
    )
    await start_background_work(application)
    try:
        assert emulator.bot(token).webhook_secret == "s3cret-token"
        chat = Chat(emulator, token, user_id)
        emulator.add_user(chat.user_id, "Wendy", language_code="en")
        await chat.send("/start")
        assert "invitation link" in await chat.expect_text()

        forged = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "text": "/start",
                "chat": {"id": user_id, "type": "private"},
            },
        }
        async with httpx.AsyncClient() as client:
            without = await client.post(url, json=forged)
            wrong = await client.post(
                url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
            )
        assert (without.status_code, wrong.status_code) == (403, 403)
        assert emulator.bot(token).webhook_failures == []
    finally:
        await application.updater.stop()
        await stop_background_work(application)
        await application.stop()
        await application.shutdown()
