"""A dialogue survives a restart of the bot: its state is in the database, not in memory."""

from __future__ import annotations

import itertools

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot.app import build_application, start_background_work, stop_background_work
from bot.context import BotContext
from bot.persistence import DatabasePersistence
from bot.services import Services
from emulator.server import BotApiEmulator

from .conftest import Chat

ASKING_NAME, ASKING_CITY = range(2)
_bot_ids = itertools.count(900_001)


def survey() -> ConversationHandler:
    """A two-step dialogue used only to prove the platform keeps dialogue state."""

    async def begin(update: Update, context: BotContext) -> int:
        await update.effective_message.reply_text("name?")
        return ASKING_NAME

    async def name(update: Update, context: BotContext) -> int:
        context.user_data["name"] = update.effective_message.text
        await update.effective_message.reply_text("city?")
        return ASKING_CITY

    async def city(update: Update, context: BotContext) -> int:
        name = context.user_data.pop("name")
        await update.effective_message.reply_text(f"{name} from {update.effective_message.text}")
        return ConversationHandler.END

    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("survey", begin)],
        states={
            ASKING_NAME: [MessageHandler(text, name)],
            ASKING_CITY: [MessageHandler(text, city)],
        },
        fallbacks=[],
        name="survey",
        persistent=True,
    )


async def run_bot(services: Services, emulator: BotApiEmulator, token: str):
    application = build_application(
        services, token, base_url=emulator.base_url, run_scheduler=False, poll_timeout=1
    )
    application.add_handler(survey())
    group = application.handlers[0]
    group.insert(0, group.pop())  # ahead of the unknown-command fallbacks, as real dialogues are
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=1)
    await start_background_work(application)
    return application


async def stop_bot(application) -> None:
    await application.updater.stop()
    await stop_background_work(application)
    await application.stop()
    await application.shutdown()


async def test_a_conversation_continues_after_the_bot_restarts(
    services: Services, emulator: BotApiEmulator
) -> None:
    from procedures import people

    token = f"{next(_bot_ids)}:restart-token"
    chat = Chat(emulator, token, 77_001)
    emulator.add_user(chat.user_id, "Rita", language_code="en")
    async with services.unit_of_work() as uow:
        await people.ensure_admins(uow, [chat.user_id])

    first = await run_bot(services, emulator, token)
    await chat.send("/survey")
    assert await chat.expect_text() == "name?"
    await chat.send("Rita")
    assert await chat.expect_text() == "city?"
    await stop_bot(first)  # as if the process were killed after the step was answered

    state = await DatabasePersistence(services.session_factory).get_conversations("survey")
    assert state == {(chat.user_id, chat.user_id): ASKING_CITY}

    second = await run_bot(services, emulator, token)
    await chat.send("Taipei")
    assert await chat.expect_text() == "Rita from Taipei"
    await stop_bot(second)
    assert await DatabasePersistence(services.session_factory).get_conversations("survey") == {}
