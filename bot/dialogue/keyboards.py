"""A dialogue's keyboards last as long as their step. The messages of the current step that carry
buttons (its question, a photo's acknowledgement, a label's *Use these*) are remembered in the
dialogue's scratch state; when the dialogue moves on, their keyboards go, and so does the keyboard
of the message whose button moved it on. A used product, lot or Done button can no longer be
pressed by mistake; a copy pressed anyway is still answered by the dialogue's checks."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest

from ..context import BotContext, drop_used_buttons, rows_of
from .updates import chat_id_of

logger = logging.getLogger(__name__)

KEYBOARDS = "keyboards"  # the scratch state's list of message ids whose buttons are the step's


def keep(state: MutableMapping[str, Any] | None, message: Message | int | None) -> None:
    """Remember `message` (or its id) as carrying a keyboard of the current step."""
    if state is None or message is None:
        return
    message_id = message if isinstance(message, int) else message.message_id
    kept = state.setdefault(KEYBOARDS, [])
    if message_id not in kept:
        kept.append(message_id)


async def retire(
    update: Update,
    context: BotContext,
    state: MutableMapping[str, Any] | None,
    *,
    pressed: bool = True,
) -> None:
    """The step is over: take the keyboards of its messages away, and that of the message whose
    button was pressed to move on (unless `pressed` is False: its text was edited in place, and
    its keyboard with it). A message Telegram no longer lets the bot edit keeps its buttons: the
    dialogue's checks still refuse them."""
    retired = list(state.pop(KEYBOARDS, None) or []) if state is not None else []
    query = update.callback_query
    if query is not None and query.message is not None:
        pressed_id = query.message.message_id
        if pressed_id in retired:
            retired.remove(pressed_id)
        if pressed and getattr(query.message, "reply_markup", None) is not None:
            retired.insert(0, pressed_id)
    for message_id in retired:
        await _take_off(update, context, message_id)


async def replace(
    update: Update,
    context: BotContext,
    state: MutableMapping[str, Any],
    old: int | None,
    new: int | None,
) -> None:
    """A new message of the step carries the buttons `old` did (a photo's acknowledgement with
    Done, after the previous photo's): `old` loses them, so that one copy stays pressable."""
    if new is None or new == old:
        return
    keep(state, new)
    if old is not None:
        kept = state.get(KEYBOARDS, [])
        if old in kept:
            kept.remove(old)
        await _take_off(update, context, old)


async def take_off(update: Update, context: BotContext, message_id: int) -> None:
    """The keyboard of a message of this chat goes: what it offered is done (a notice whose
    step was taken once its confirmation was answered)."""
    await _take_off(update, context, message_id)


async def _take_off(update: Update, context: BotContext, message_id: int) -> None:
    try:
        await context.bot.edit_message_reply_markup(
            chat_id_of(update), message_id, reply_markup=None
        )
    except BadRequest as error:
        logger.info("the buttons of message %s stay: %s", message_id, error.message)


async def drop_pressed_button(update: Update, context: BotContext) -> None:
    """A one-tap button done with (an acknowledgement): it goes from the message it was pressed
    on, and the message's other buttons stay."""
    query = update.callback_query
    if query is None or query.message is None or not isinstance(query.message, Message):
        return
    data = query.data
    await drop_used_buttons(
        context.bot,
        query.message.chat.id,
        query.message.message_id,
        rows_of(query.message.reply_markup),
        lambda used: used == data,
    )
