"""/form NUMBER: the forms of a record (退貨單, 顧客質量投訴及處理記錄, …) as PDF, each one
the user may have by the record type's own reader rules."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from procedures.forms import forms_for_viewer
from procedures.kernel.errors import NotAllowed, NotFound
from procedures.kernel.text_input import record_number

from ..access import for_command
from ..context import BotContext
from ..runtime.rendering import send_when_ready


@for_command("form")
async def send_forms(update: Update, context: BotContext) -> None:
    """Sends each form of the record numbered in the command that the user may have."""
    if not context.args:
        await context.reply(update, "form.usage")
        return
    number = record_number(context.args[0])
    async with context.session() as session:
        try:
            found = await forms_for_viewer(session, await context.actor(session), number)
        except (NotFound, NotAllowed):
            # a record the user may not read is answered as one that does not exist
            await context.reply(update, "form.not_found", number=number)
            return
    for form in found:
        caption = context.text("form.caption", name=context.text(form.title_key), number=number)
        await send_when_ready(update, context, caption, attachment=form.attachment)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("form", send_forms))
