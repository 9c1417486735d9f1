"""Typed access to what an update carries. A handler is registered for one kind of update (a
button press, a text, a photo), so what it reads is there; these say so once, with a type, instead
of an `assert` or a `type: ignore` in every handler. An update without it is a wiring mistake and
raises `MissingInUpdate`, naming what was missing."""

from __future__ import annotations

from typing import TypeVar

from telegram import CallbackQuery, Message, Update
from telegram import User as TelegramUser

from procedures.kernel.actions import CallbackAction

from ..context import BotContext, Member

Action = TypeVar("Action", bound=CallbackAction)


class MissingInUpdate(LookupError):
    """A handler read what its update does not carry: it was registered for other updates."""


def query_of(update: Update) -> CallbackQuery:
    """The button press the update is."""
    if update.callback_query is None:
        raise MissingInUpdate("callback query")
    return update.callback_query


def pressed(update: Update, action: type[Action]) -> Action:
    """The action of the button pressed, unpacked (InvalidAction when the data is another's)."""
    return action.unpack(query_of(update).data)


def message_of(update: Update) -> Message:
    """The message the update brings (sent, or the one a pressed button sits under)."""
    message = update.effective_message
    if message is None:
        raise MissingInUpdate("message")
    return message


def text_of(update: Update) -> str:
    """The text of the message the update brings ("" for a message without text)."""
    return message_of(update).text or ""


def chat_id_of(update: Update) -> int:
    """The chat the update comes from."""
    if update.effective_chat is None:
        raise MissingInUpdate("chat")
    return update.effective_chat.id


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
