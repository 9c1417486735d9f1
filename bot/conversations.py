"""How every dialogue of the bot is built: persistent, re-enterable, /cancel everywhere."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from telegram.ext import BaseHandler, CommandHandler, ConversationHandler
from telegram.warnings import PTBUserWarning


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
