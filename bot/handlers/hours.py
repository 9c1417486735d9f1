"""/hours: when routine reminders reach me. Without an argument it shows the hours in force;
`/hours 09:00-17:30` sets the person's own, `/hours default` returns to the deployment's."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from procedures.kernel.errors import InvalidInput
from procedures.kernel.working_hours import WorkingHours, format_span
from procedures.people import users

from ..access import for_command
from ..context import BotContext


@for_command("hours")
async def working_hours(update: Update, context: BotContext) -> None:
    """Shows the hours in force, or stores the ones typed after the command."""
    deployment = WorkingHours.of_settings(context.services.settings)
    company = format_span(deployment.start, deployment.end)
    typed = " ".join(context.args or ())
    if not typed:
        async with context.session() as session:
            user = await context.actor(session)
            own = user.working_hours
        await context.reply(update, "hours.show", hours=own or company, company=company)
        return
    try:
        async with context.unit_of_work() as uow:
            stored = await users.set_working_hours(uow, await context.actor(uow.session), typed)
    except InvalidInput as refusal:
        await context.reply(update, refusal.text_key, **refusal.params)
        return
    if stored is None:
        await context.reply(update, "hours.reset", hours=company)
    else:
        await context.reply(update, "hours.changed", hours=stored)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("hours", working_hours))
