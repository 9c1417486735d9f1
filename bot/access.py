"""Role checks for handlers: a command a role may not use is refused and changes nothing."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from procedures.kernel import roles
from procedures.kernel.errors import NotAllowed

from .commands import command
from .context import BotContext

# what python-telegram-bot's handlers take: a coroutine function
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]


def for_command(name: str) -> Callable[[Handler], Handler]:
    """Let only the roles that `commands.COMMANDS` lists for `name` through."""
    allowed = command(name).roles
    read_only = command(name).read_only

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(update: Update, context: BotContext) -> Any:
            if allowed is not None:
                member_roles = context.member.roles if context.member else frozenset()
                try:
                    roles.require_role(member_roles, allowed)
                except NotAllowed as refusal:
                    if read_only:  # nothing could have changed: say only who may
                        refusal = NotAllowed("error.role_required_read", **refusal.params)
                    text = context.text(refusal.text_key, **refusal.params)
                    if update.callback_query:
                        await update.callback_query.answer(text, show_alert=True)
                    else:
                        await context.reply(update, refusal.text_key, **refusal.params)
                    return None
            return await handler(update, context)

        return checked

    return decorate
