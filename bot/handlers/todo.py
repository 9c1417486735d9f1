"""/todo: what waits on me, the most urgent first, with a button to each record; the same list
behind the button at the end of a digest too long for one message."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

import procedures.rules  # noqa: F401  (how each record type's deadlines are described)
from procedures.kernel import deadlines
from procedures.kernel.deadlines import ShowWaiting
from procedures.kernel.outbox import as_text
from procedures.people import users

from ..access import for_command
from ..context import BotContext, fit_message, message_of
from ..dialogue.updates import member_of, query_of
from ..digests import Item, render_list


def _item(waiting: deadlines.Waiting) -> Item:
    deadline = waiting.deadline
    return Item(
        deadline_id=deadline.id,
        subject_type=deadline.subject_type,
        number=waiting.subject.number or deadline.subject_label,
        about=waiting.subject.about,
        kind=as_text(f"deadline.kind.{deadline.kind}"),
        due=deadline.due_at,
        overdue=waiting.overdue,
        opens=waiting.opens.pack() if waiting.opens is not None else None,
    )


async def _send_list(update: Update, context: BotContext) -> None:
    member = member_of(context)
    now = context.services.clock.now()
    async with context.session() as session:
        waiting = await deadlines.waiting_on(session, member.user_id, member.roles, now=now)
    if not waiting:
        await context.reply(update, "deadline.todo.none")
        return
    text, buttons = render_list(
        context.services.texts, context.language, [_item(w) for w in waiting], now
    )
    markup = context.keyboard(buttons) if buttons else None
    await message_of(update).reply_text(fit_message(text), reply_markup=markup)


DAILY_SWITCH = {"on": True, "off": False, "開": True, "开": True, "關": False, "关": False}


@for_command("todo")
async def show_todo(update: Update, context: BotContext) -> None:
    """Lists the open deadlines that wait on the user, the most urgent first; `/todo on` (off)
    sends the list as the first message of each working day (or stops it)."""
    typed = " ".join(context.args or ()).strip().lower()
    if typed:
        if typed not in DAILY_SWITCH:
            await context.reply(update, "deadline.todo.usage")
            return
        on = DAILY_SWITCH[typed]
        async with context.unit_of_work() as uow:
            await users.set_daily_list(uow, await context.actor(uow.session), on)
        await context.reply(update, "deadline.todo.daily_on" if on else "deadline.todo.daily_off")
        return
    await _send_list(update, context)


@for_command("todo")
async def show_todo_pressed(update: Update, context: BotContext) -> None:
    """The same list, from a digest's button."""
    await query_of(update).answer()
    await _send_list(update, context)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("todo", show_todo))
    application.add_handler(CallbackQueryHandler(show_todo_pressed, pattern=ShowWaiting.pattern()))
