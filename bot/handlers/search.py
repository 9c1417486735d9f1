"""/find WORDS: staff find complaints, returns and defects by number, lot, product, customer,
asset or the days received; each result has a button that opens the record."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from procedures import search
from procedures.kernel import roles
from procedures.kernel.errors import NotAllowed
from procedures.kernel.outbox import as_text, button
from procedures.search import OpenFound

from ..access import for_command
from ..context import BotContext, fit_message, message_of
from ..dialogue.updates import member_of, pressed, query_of
from . import patrols, return_record, tickets

# The record opens through its own command's handler, so a result shows exactly what /ticket,
# /return or /defect shows this user (and whatever those views become).
VIEWS: dict[str, Callable[[Update, BotContext], Awaitable[None]]] = {
    "QC": tickets.show_ticket,
    "RT": return_record.show_return,
    "DF": patrols.show_defect,
}


@for_command("find")
async def find(update: Update, context: BotContext) -> None:
    """Lists the newest records that match, with a button for each."""
    member = context.member
    assert member is not None
    typed = " ".join(context.args or ())
    query = search.parse_query(typed, context.services.settings.timezone)
    async with context.session() as session:
        results = await search.find_records(session, member.roles, query)
    shown = query.text
    if not results.found:
        await context.reply(update, "find.none", query=shown)
        return
    lines = [context.text("find.header", count=results.total, query=shown)]
    lines += [
        context.text(
            "find.line",
            number=found.number,
            at=found.at,
            who=found.who,
            what=found.what,
            status=as_text(found.status_key),
        )
        for found in results.found
    ]
    if results.more:
        lines.append(context.text("find.more", more=results.more))
    opens = [
        button("find.button.open", OpenFound(number=found.number), number=found.number)
        for found in results.found
    ]
    markup = context.keyboard([opens[i : i + 2] for i in range(0, len(opens), 2)])
    await message_of(update).reply_text(fit_message("\n".join(lines)), reply_markup=markup)


async def open_found(update: Update, context: BotContext) -> None:
    """Shows the record a result's button names, if the user may open that kind now."""
    query = query_of(update)
    member = member_of(context)
    number = pressed(update, OpenFound).number
    kind = search.kind_of(number)
    assert kind is not None  # the action's pattern admits only the kinds /find lists
    try:
        roles.require_role(member.roles, kind.viewers)
    except NotAllowed as refusal:
        text = context.text("error.role_required_read", **refusal.params)
        await query.answer(text, show_alert=True)
        return
    await query.answer()
    context.args = [number]
    await VIEWS[kind.prefix](update, context)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("find", find))
    application.add_handler(CallbackQueryHandler(open_found, pattern=OpenFound.pattern()))
