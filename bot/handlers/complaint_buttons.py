"""A complaint's used buttons go. Once a step is done, every button about that complaint whose
step is no longer open is taken off the message it was pressed on: at once for a one-tap step
(take, flag, confirm), at the end of the dialogue for a button that opens one (verify, opinion,
answer, hand-off), whose message the dialogue remembers. The state checks in the procedures stay
the safety net for the copies other people hold."""

from __future__ import annotations

from typing import Any

from telegram import Message, Update

from procedures.complaints import queries
from procedures.complaints.queries import Complaint

from ..context import BotContext, drop_used_buttons, rows_of


def origin_of(update: Update) -> dict[str, Any] | None:
    """The message a button was pressed on and its buttons, for a dialogue to remember."""
    query = update.callback_query
    if query is None or query.message is None:
        return None
    message = query.message
    # a message too old for the bot to reach comes as InaccessibleMessage, without its buttons
    markup = message.reply_markup if isinstance(message, Message) else None
    return {"chat": message.chat.id, "message": message.message_id, "rows": rows_of(markup)}


async def retire_used_buttons(
    context: BotContext, complaint: Complaint, origin: dict[str, Any] | None
) -> None:
    """Take the complaint's buttons whose step is done off the `origin` message."""
    if not origin:
        return
    async with context.session() as session:
        still_open = await queries.steps_still_open(session, complaint)

    def used(data: str) -> bool:
        for kind in queries.STEP_BUTTONS:
            if kind.pattern().fullmatch(data):
                action = kind.unpack(data)
                return action.complaint_id == complaint.id and kind not in still_open
        return False

    rows = [[(text, data) for text, data in row] for row in origin["rows"]]
    await drop_used_buttons(context.bot, origin["chat"], origin["message"], rows, used)


async def retire_pressed(update: Update, context: BotContext, complaint: Complaint) -> None:
    """After a one-tap step: the used buttons go from the message it was pressed on."""
    await retire_used_buttons(context, complaint, origin_of(update))
