"""What a dialogue's state accepts, for the kinds of step the intakes share."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from procedures.complaints.actions import UseLabel
from procedures.kernel.actions import CallbackAction

from ..context import BotContext
from ..conversations import EVIDENCE, use_buttons

TEXT = filters.TEXT & ~filters.COMMAND
IMAGE = filters.PHOTO | filters.Document.IMAGE  # a label: a photo, or an image sent as a file

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]
Handlers = list[BaseHandler[Any, Any, Any]]


def pressing(*choices: tuple[Handler, type[CallbackAction]]) -> Handlers:
    """A step answered with one of its buttons; text is told to use them."""
    return [
        *(CallbackQueryHandler(handler, pattern=action.pattern()) for handler, action in choices),
        MessageHandler(TEXT, use_buttons),
    ]


def typing(handler: Handler) -> Handlers:
    """A step answered with a text (a name, a description, a quantity with its unit)."""
    return [MessageHandler(TEXT, handler)]


def goods(
    chosen: tuple[Handler, type[CallbackAction]], typed: Handler, scanned: Handler, used: Handler
) -> Handlers:
    """A product or lot step: its button, its code or name typed, or a photo of its label
    (whose *Use these* button takes the label's product and lot)."""
    handler, action = chosen
    return [
        CallbackQueryHandler(handler, pattern=action.pattern()),
        MessageHandler(TEXT, typed),
        MessageHandler(IMAGE, scanned),
        CallbackQueryHandler(used, pattern=UseLabel.pattern()),
    ]


def photos(
    added: Handler, done: tuple[Handler, type[CallbackAction]], evidence: Any = EVIDENCE
) -> Handlers:
    """Photos (or files), then Done or Skip; text is told to use the buttons."""
    return [MessageHandler(evidence, added), *pressing(done)]


def confirming(
    submit: tuple[Handler, type[CallbackAction]], cancel: tuple[Handler, type[CallbackAction]]
) -> Handlers:
    """The summary's Submit and Cancel."""
    return pressing(submit, cancel)
