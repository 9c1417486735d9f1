"""Quality's casework from the staff ticket's buttons: the quality head reassigns a taken
complaint (the QC member chosen by name), quality reopens a closed one with a typed reason, and
records what waits on the buyer. Every button re-checks role and state in the procedure."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ConversationHandler,
)

from procedures.complaints import casework
from procedures.complaints.actions import (
    BeginOpinion,
    BeginReassign,
    BeginReopen,
    BeginWaitingOnBuyer,
    ReassignTo,
)
from procedures.kernel.outbox import as_deadline, button

from ..context import BotContext, drop_used_buttons, edit_query_message
from ..conversations import STEP_GONE, dialogue, left_because
from ..dialogue import states
from ..dialogue.steps import StaffDialogue, cancelling
from ..dialogue.updates import pressed, query_of, text_of
from .complaint_buttons import origin_of

REASON = 30
REASON_KEY = "complaint_casework"
REASON_STEP = StaffDialogue(REASON_KEY)


async def begin_reassign(update: Update, context: BotContext) -> None:
    """Offers the other QC members, by name, to hand the complaint to."""
    query = query_of(update)
    complaint_id = pressed(update, BeginReassign).complaint_id
    async with context.session() as session:
        staff = await casework.assignable_staff(session, await context.actor(session), complaint_id)
    await query.answer()
    if not staff:
        await context.reply(update, "casework.no_other_qc")
        return
    await context.reply(
        update,
        "casework.ask_assignee",
        buttons=[
            [button("casework.assignee", ReassignTo(complaint_id, user.id), name=user.full_name)]
            for user in staff
        ],
    )


async def reassign_to(update: Update, context: BotContext) -> None:
    """Hands the complaint to the chosen QC member; both are told. The choice gives way to
    the record, so it cannot be pressed twice."""
    query = query_of(update)
    action = pressed(update, ReassignTo)
    async with context.unit_of_work() as uow:
        number, previous, new = await casework.reassign_complaint(
            uow, await context.actor(uow.session), action.complaint_id, action.user_id
        )
    await query.answer()
    await edit_query_message(
        update,
        context.text(
            "casework.reassigned",
            number=number,
            from_name=previous.full_name,
            to_name=new.full_name,
        ),
    )


# --- a typed reason: reopening, or what waits on the buyer ---------------------------------


async def begin_reopen(update: Update, context: BotContext) -> int | None:
    """Checks the complaint may be reopened; asks why."""
    async with context.session() as session:
        complaint = await casework.complaint_to_reopen(
            session, await context.actor(session), pressed(update, BeginReopen).complaint_id
        )
    return await _ask_reason(update, context, complaint.id, complaint.number, "reopen")


async def begin_waiting(update: Update, context: BotContext) -> int | None:
    """Checks the complaint is open; asks what waits on the buyer."""
    async with context.session() as session:
        complaint = await casework.complaint_waiting_on_buyer(
            session,
            await context.actor(session),
            pressed(update, BeginWaitingOnBuyer).complaint_id,
        )
    return await _ask_reason(update, context, complaint.id, complaint.number, "waiting")


async def _ask_reason(
    update: Update, context: BotContext, complaint_id: int, number: str, kind: str
) -> int:
    query = query_of(update)
    await query.answer()
    await REASON_STEP.begin(
        update,
        context,
        complaint_id=complaint_id,
        kind=kind,
        origin=origin_of(update),
        pressed=query.data,
    )
    await context.reply(update, f"casework.ask_{kind}", number=number)
    return REASON


@REASON_STEP.step
async def enter_reason(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Records the reopening (with the button for the new opinion) or what waits on the buyer."""
    text = text_of(update)
    try:
        async with context.unit_of_work() as uow:
            actor = await context.actor(uow.session)
            if state["kind"] == "reopen":
                complaint, due = await casework.reopen_complaint(
                    uow, actor, state["complaint_id"], text
                )
            else:
                complaint = await casework.record_waiting_on_buyer(
                    uow, actor, state["complaint_id"], text
                )
    except STEP_GONE as error:
        context.user_data.pop(REASON_KEY, None)
        return await left_because(update, context, error)
    context.user_data.pop(REASON_KEY, None)
    if state["kind"] == "waiting":
        await context.reply(update, "casework.waiting_recorded", number=complaint.number)
        return ConversationHandler.END
    await context.reply(
        update,
        "casework.reopened",
        number=complaint.number,
        due_at=as_deadline(due),
        buttons=[[button("complaint.button.opinion", BeginOpinion(complaint.id))]],
    )
    origin = state.get("origin")
    if origin:  # the ticket's Reopen button is used
        rows = [[(label, data) for label, data in row] for row in origin["rows"]]
        await drop_used_buttons(
            context.bot, origin["chat"], origin["message"], rows, state["pressed"].__eq__
        )
    return ConversationHandler.END


cancel = cancelling(REASON_STEP)


def reason_conversation() -> ConversationHandler[Any]:
    return dialogue(
        "complaint_casework",
        entry_points=[
            CallbackQueryHandler(begin_reopen, pattern=BeginReopen.pattern()),
            CallbackQueryHandler(begin_waiting, pattern=BeginWaitingOnBuyer.pattern()),
        ],
        states={REASON: states.typing(enter_reason)},
        cancel=cancel,
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(reason_conversation())
    application.add_handler(CallbackQueryHandler(begin_reassign, pattern=BeginReassign.pattern()))
    application.add_handler(CallbackQueryHandler(reassign_to, pattern=ReassignTo.pattern()))
