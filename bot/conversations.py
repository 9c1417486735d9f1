"""How every dialogue of the bot is built: persistent, re-enterable, /cancel everywhere."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler
from telegram.warnings import PTBUserWarning

from procedures.actions import CallbackAction
from procedures.outbox import button

from .context import BotContext


def dialogue(
    name: str,
    entry_points: Sequence[BaseHandler[Any, Any, Any]],
    states: dict[object, list[BaseHandler[Any, Any, Any]]],
    cancel: Any,
) -> ConversationHandler[Any]:
    """A ConversationHandler whose state is kept in the database under `name`.

    Conversations are tracked per user and chat, not per message: a dialogue's buttons sit on
    several messages. python-telegram-bot warns about exactly that choice, so the warning is
    silenced here, once, on purpose.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=list(entry_points),
            states=states,
            fallbacks=[CommandHandler("cancel", cancel)],
            name=name,
            persistent=True,
            allow_reentry=True,
        )


async def keep_photo(
    update: Update,
    context: BotContext,
    photos: list[str],
    state: dict[str, Any],
    done: CallbackAction,
) -> None:
    """Add the message's photo (its largest size) to `photos`, and acknowledge it with a Done
    button, once per album: an album arrives as one update per photo sharing a media group."""
    message = update.effective_message
    assert message is not None and message.photo
    photos.append(message.photo[-1].file_id)
    if message.media_group_id is None or message.media_group_id != state.get("media_group"):
        state["media_group"] = message.media_group_id
        await context.reply(
            update,
            "common.photo_received",
            count=len(photos),
            buttons=[[button("common.button.done", done)]],
        )


async def use_buttons(update: Update, context: BotContext) -> None:
    """Text where a button (or a photo) is expected: say so, stay on the step."""
    await context.reply(update, "common.use_buttons")
