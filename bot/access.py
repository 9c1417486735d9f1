"""Role checks for handlers: a command a role may not use is refused and changes nothing."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from procedures.outbox import as_text

from .commands import command
from .context import BotContext

Handler = Callable[[Update, BotContext], Awaitable[Any]]


def for_command(name: str) -> Callable[[Handler], Handler]:
    """Let only the roles that `commands.COMMANDS` lists for `name` through."""
    allowed = command(name).roles

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(update: Update, context: BotContext) -> Any:
            member = context.member
            if allowed is not None and (member is None or not (member.roles & allowed)):
                names = [as_text(f"role.{r}") for r in sorted(allowed)]
                if update.callback_query:
                    await update.callback_query.answer(
                        context.text("error.role_required", roles=names), show_alert=True
                    )
                else:
                    await context.reply(update, "error.role_required", roles=names)
                return None
            return await handler(update, context)

        return checked

    return decorate
