"""Runs before every handler: drops redelivered updates, identifies the user, stops strangers."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram import User as TelegramUser
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from procedures.people import users
from procedures.people.queries import User

from ..context import BotContext, Member

GATE_GROUP = -1
CALLER = "caller"  # in the update session's info: the caller's row, kept for the update
logger = logging.getLogger(__name__)


async def gate(update: Update, context: BotContext) -> None:
    """Sets context.member and language; stops the update for unknown or inactive users."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or user.is_bot or (chat is not None and chat.type != chat.PRIVATE):
        # The procedures are run in private chats; a group the bot was added to is ignored.
        raise ApplicationHandlerStop
    try:
        async with context.session() as session:
            stored = await identify(session, context, user)
    except Exception:
        # Not knowing who is asking (a locked or unreachable database) must not let the update
        # through as if from nobody: it stops here, and the user is asked to try again.
        logger.exception("gate could not identify telegram user %s", user.id)
        context.language = context.services.texts.language_for(None, user.language_code)
        await _turn_away(update, context, "gate.try_again")
        raise ApplicationHandlerStop from None
    if stored is None:
        message = update.effective_message
        if message is not None and (message.text or "").startswith("/start"):
            return  # /start greets strangers and redeems invitations
        await _turn_away(update, context, "gate.unregistered")
        raise ApplicationHandlerStop
    if not stored.active:
        await _turn_away(update, context, "gate.inactive")
        raise ApplicationHandlerStop


async def identify(session: AsyncSession, context: BotContext, user: TelegramUser) -> User | None:
    """Look the sender up; set the context's member (if registered) and language."""
    stored = await users.user_by_telegram_id(session, user.id)
    # the session's identity map holds rows only while something else does: held here for
    # the update, a use case's `context.actor` finds the caller, roles and all, without
    # reading them again
    session.info[CALLER] = stored
    texts = context.services.texts
    context.language = texts.language_for(stored.language if stored else None, user.language_code)
    context.member = Member.of(stored, context.language) if stored else None
    return stored


async def _turn_away(update: Update, context: BotContext, key: str) -> None:
    if update.callback_query:
        await update.callback_query.answer(context.text(key), show_alert=True)
    elif update.effective_chat:
        await context.reply(update, key)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
