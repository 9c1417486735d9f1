"""How every dialogue of the bot is built: persistent, re-enterable, /cancel everywhere."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, filters
from telegram.warnings import PTBUserWarning

from procedures.actions import CallbackAction
from procedures.outbox import button
from procedures.photos import DOWNLOAD_LIMIT_BYTES, document_ref, too_large

from .context import BotContext

# What a photo step of a dialogue takes as evidence: a photo, or a file (a PDF, a full-size image).
EVIDENCE = filters.PHOTO | filters.Document.ALL


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
    """Add the message's photo (its largest size) or document to `photos`, and acknowledge it
    with a Done button, once per album: an album arrives as one update per photo sharing a media
    group. A file over what a bot may download is refused, naming the limit."""
    message = update.effective_message
    assert message is not None and (message.photo or message.document)
    if message.photo:
        item, ref = message.photo[-1], message.photo[-1].file_id
    else:
        assert message.document is not None
        item, ref = message.document, document_ref(message.document.file_id)
    if too_large(item.file_size):
        await context.reply(
            update,
            "evidence.too_large",
            size=round((item.file_size or 0) / 1024 / 1024, 1),
            limit=DOWNLOAD_LIMIT_BYTES // 1024 // 1024,
        )
        return
    photos.append(ref)
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
