"""Typed access to what an update carries. A handler is registered for one kind of update (a
button press, a text, a photo), so what it reads is there; these say so once, with a type, instead
of an `assert` or a `type: ignore` in every handler. An update without it is a wiring mistake and
raises `MissingInUpdate`, naming what was missing."""

from __future__ import annotations

from typing import TypeVar

from telegram import Update
from telegram import User as TelegramUser

from procedures.kernel.actions import CallbackAction

from ..context import (
    BotContext,
    Member,
    MissingInUpdate,
    chat_id_of,
    message_of,
    query_of,
    text_of,
)

# the accessors every handler uses, here with the dialogue's own
__all__ = [
    "MissingInUpdate",
    "chat_id_of",
    "member_of",
    "message_of",
    "pressed",
    "query_of",
    "text_of",
    "user_of",
]

Action = TypeVar("Action", bound=CallbackAction)


def pressed(update: Update, action: type[Action]) -> Action:
    """The action of the button pressed, unpacked (InvalidAction when the data is another's)."""
    return action.unpack(query_of(update).data)


def user_of(update: Update) -> TelegramUser:
    """The Telegram user who sent the update."""
    if update.effective_user is None:
        raise MissingInUpdate("user")
    return update.effective_user


def member_of(context: BotContext) -> Member:
    """The registered member the gate let through (every dialogue's handlers run after it)."""
    if context.member is None:
        raise MissingInUpdate("member")
    return context.member
