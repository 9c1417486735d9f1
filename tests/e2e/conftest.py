"""End-to-end fixtures: one emulator for the session, a real Application per test."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import build_application, start_background_work, stop_background_work
from bot.runtime.application import AfterSalesApplication
from bot.services import Services
from emulator.server import BotApiEmulator

_bot_ids = itertools.count(700_001)
_user_ids = itertools.count(10_001)


class Chat:
    """One user's private chat with the bot, as the user sees it."""

    def __init__(self, emulator: BotApiEmulator, token: str, user_id: int) -> None:
        self.emulator = emulator
        self.token = token
        self.user_id = user_id
        self.seen = 0

    async def send(self, text: str) -> None:
        await self.emulator.send_text(self.token, self.user_id, text)

    async def send_document(
        self, content: bytes, file_name: str, caption: str | None = None
    ) -> None:
        await self.emulator.send_document(
            self.token, self.user_id, content, file_name, caption=caption
        )

    async def press(self, message: dict[str, Any], data: str, *, forge: bool = False) -> None:
        await self.emulator.press_button(
            self.token, self.user_id, message["message_id"], data, forge=forge
        )

    async def expect(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The next `count` messages the bot sends to this chat."""
        messages = await self.emulator.wait_for_bot_messages(
            self.token, self.user_id, count, after=self.seen, timeout=timeout
        )
        self.seen += len(messages)
        return messages

    async def expect_text(self, timeout: float = 5.0) -> str:
        (message,) = await self.expect(1, timeout)
        return message.get("text") or message.get("caption") or ""

    def all_bot_messages(self) -> list[dict[str, Any]]:
        return self.emulator.bot_messages(self.token, self.user_id)

    async def wait_for_callback_answer(self, timeout: float = 5.0) -> dict[str, Any]:
        bot = self.emulator.bot(self.token)
        before = set(bot.callback_answers)

        def answered() -> dict[str, Any] | None:
            new = [v for k, v in bot.callback_answers.items() if k not in before]
            return new[-1] if new else None

        return await self.emulator.wait_until(answered, timeout)


def buttons_of(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, callback data) of every inline button under a message."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


class BotHarness:
    def __init__(self, emulator: BotApiEmulator, application: AfterSalesApplication, token: str):
        self.emulator = emulator
        self.application = application
        self.token = token
        self.services: Services = application.services

    async def settled(self, timeout: float = 5.0) -> None:
        """Until the update being handled is committed: a reply is sent before its commit."""
        await asyncio.wait_for(self.application.update_queue.join(), timeout)

    def chat(self, first_name: str = "Tester", language_code: str | None = "en") -> Chat:
        user_id = next(_user_ids)
        self.emulator.add_user(user_id, first_name, language_code=language_code)
        return Chat(self.emulator, self.token, user_id)


@contextlib.asynccontextmanager
async def running_bot(
    emulator: BotApiEmulator, services: Services, **options: Any
) -> AsyncIterator[BotHarness]:
    """The real Application polling the emulator, with its outbox sender running; `options`
    go to build_application."""
    token = f"{next(_bot_ids)}:e2e-token"
    application = build_application(
        services, token, base_url=emulator.base_url, poll_timeout=1, **options
    )
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=1)
    await start_background_work(application)
    violations_before = len(emulator.violations)
    yield BotHarness(emulator, application, token)
    await application.updater.stop()
    await stop_background_work(application)
    await application.stop()
    await application.shutdown()
    new_violations = emulator.violations[violations_before:]
    assert not new_violations, f"Bot API calls the real API would refuse: {new_violations}"


@pytest.fixture
async def bot(
    emulator: BotApiEmulator, services: Services, samples: None
) -> AsyncIterator[BotHarness]:
    """The real Application polling the emulator, with its outbox sender running."""
    async with running_bot(emulator, services) as harness:
        yield harness


async def register(
    bot: BotHarness,
    role: str,
    name: str,
    *,
    organisation: str | None = None,
    language: str = "en",
) -> Chat:
    """A user who already joined with `role` (joining itself is tested in test_onboarding)."""
    from sqlalchemy import select

    from storage.models import Organisation, User, UserRole

    chat = bot.chat(name, language_code=language)
    async with bot.services.unit_of_work() as uow:
        organisation_id = None
        if organisation:
            organisation_id = await uow.session.scalar(
                select(Organisation.id).where(Organisation.code == organisation)
            )
        uow.session.add(
            User(
                telegram_id=chat.user_id,
                full_name=name,
                language=language,
                active=True,
                organisation_id=organisation_id,
                created_at=uow.clock.now(),
                roles=[UserRole(role=role)],
            )
        )
        await uow.commit()
    return chat
