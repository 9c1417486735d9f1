"""Quality's work on complaints (/queue, take, verification, disposition opinion, adverse event)
and the warehouse's confirmation that a hold is lifted. Every button re-checks role and state."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from procedures.actions import (
    BeginHandoff,
    BeginOpinion,
    BeginVerification,
    ChooseVerificationMode,
    ChooseVerificationResult,
    FlagAdverseEvent,
    LiftHold,
    SkipCorrectiveAction,
    TakeComplaint,
    VerificationPhotosDone,
)
from procedures.complaints import handling, queries
from procedures.complaints.common import ComplaintStatus
from procedures.outbox import as_text, button

from ..access import for_command
from ..context import BotContext, edit_query_message
from ..conversations import EVIDENCE, dialogue, keep_photo, use_buttons

MODE, NOTES, PHOTOS, RESULT = range(4)
OPINION_TEXT, CORRECTIVE_ACTION = 10, 11
VERIFY_KEY = "complaint_verification"
OPINION_KEY = "complaint_opinion"
TEXT = filters.TEXT & ~filters.COMMAND


def work_buttons(complaint_id: int) -> list[list[dict[str, Any]]]:
    return [
        [
            button("complaint.button.verify", BeginVerification(complaint_id=complaint_id)),
            button("complaint.button.opinion", BeginOpinion(complaint_id=complaint_id)),
        ],
        [button("complaint.button.adverse_event", FlagAdverseEvent(complaint_id=complaint_id))],
    ]


@for_command("queue")
async def show_queue(update: Update, context: BotContext) -> None:
    """Lists complaints waiting for quality, each with its buttons."""
    async with context.session() as session:
        waiting = await queries.work_queue(session)
    if not waiting:
        await context.reply(update, "queue.empty")
        return
    await context.reply(update, "queue.header")
    # the business head reads the queue (收集和歸檔) but does not work it
    works_it = bool(context.member and context.member.roles & handling.VERIFIERS)
    for complaint in waiting[:20]:
        buttons = (
            None
            if not works_it
            else [[button("complaint.button.take", TakeComplaint(complaint_id=complaint.id))]]
            if complaint.status == ComplaintStatus.OPEN
            else work_buttons(complaint.id)
        )
        await context.reply(
            update,
            "queue.line",
            buttons=buttons,
            number=complaint.number,
            organisation=complaint.organisation.name,
            product=complaint.product_label,
            lot=complaint.lot_label,
            status=as_text(f"complaint.status.{complaint.status}"),
        )


async def take(update: Update, context: BotContext) -> None:
    """Takes the complaint for the pressing QC; offers the next steps."""
    query = update.callback_query
    assert query is not None
    async with context.unit_of_work() as uow:
        complaint = await handling.take_complaint(
            uow, await context.actor(uow.session), TakeComplaint.unpack(query.data).complaint_id
        )
    await query.answer()
    await edit_query_message(
        update,
        context.text(
            "complaint.taken",
            number=complaint.number,
            product=complaint.product_label,
            lot=complaint.lot_label,
            quantity=complaint.quantity,
            organisation=complaint.organisation.name,
            description=complaint.description,
        ),
        context.keyboard(work_buttons(complaint.id)),
    )


async def flag_adverse_event(update: Update, context: BotContext) -> None:
    """Flags a possible adverse event; the quality head is told at once."""
    query = update.callback_query
    assert query is not None
    async with context.unit_of_work() as uow:
        complaint = await handling.flag_adverse_event(
            uow,
            await context.actor(uow.session),
            FlagAdverseEvent.unpack(query.data).complaint_id,
            context.services.settings.adverse_event_report_within,
        )
    await query.answer(
        context.text("complaint.adverse_flagged", number=complaint.number), show_alert=True
    )


async def lift_hold(update: Update, context: BotContext) -> None:
    """The warehouse confirms the hold is lifted."""
    query = update.callback_query
    assert query is not None
    async with context.unit_of_work() as uow:
        complaint = await handling.lift_hold(
            uow, await context.actor(uow.session), LiftHold.unpack(query.data).complaint_id
        )
    await query.answer()
    await edit_query_message(
        update,
        context.text(
            "complaint.hold_lifted_reply",
            number=complaint.number,
            product=complaint.product_label,
            lot=complaint.lot_label,
        ),
    )


# --- verification dialogue -------------------------------------------------------------------


async def begin_verification(update: Update, context: BotContext) -> int | None:
    """Checks the complaint can be verified; asks whether a visit was made."""
    query = update.callback_query
    assert query is not None
    async with context.session() as session:
        user = await context.actor(session)
        complaint = await handling.complaint_for_verification(
            session, user, BeginVerification.unpack(query.data).complaint_id
        )
    await query.answer()
    context.user_data[VERIFY_KEY] = {"complaint_id": complaint.id, "photos": []}
    await context.reply(
        update,
        "verify.ask_mode",
        number=complaint.number,
        buttons=[
            [
                button("verify.on_site", ChooseVerificationMode(mode="on_site")),
                button("verify.waived", ChooseVerificationMode(mode="waived")),
            ]
        ],
    )
    return MODE


async def choose_mode(update: Update, context: BotContext) -> int:
    """Stores on-site or not; asks for the notes (or the reason no visit is needed)."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    state = context.user_data.get(VERIFY_KEY)
    if not state:
        return ConversationHandler.END
    state["on_site"] = ChooseVerificationMode.unpack(query.data).mode == "on_site"
    await edit_query_message(
        update, context.text("verify.ask_notes" if state["on_site"] else "verify.ask_reason")
    )
    return NOTES


async def enter_notes(update: Update, context: BotContext) -> int:
    """Stores the notes; asks for photos (on site) or the result."""
    state = context.user_data[VERIFY_KEY]
    state["notes"] = update.effective_message.text.strip()  # type: ignore[union-attr]
    if state["on_site"]:
        await context.reply(
            update,
            "verify.ask_photos",
            buttons=[
                [
                    button("common.button.done", VerificationPhotosDone()),
                    button("common.button.skip", VerificationPhotosDone()),
                ]
            ],
        )
        return PHOTOS
    return await _ask_result(update, context)


async def add_photo(update: Update, context: BotContext) -> int:
    """Keeps a verification photo."""
    state = context.user_data[VERIFY_KEY]
    await keep_photo(update, context, state["photos"], state, VerificationPhotosDone())
    return PHOTOS


async def photos_done(update: Update, context: BotContext) -> int:
    """Asks for the result."""
    await update.callback_query.answer()  # type: ignore[union-attr]
    return await _ask_result(update, context)


async def _ask_result(update: Update, context: BotContext) -> int:
    await context.reply(
        update,
        "verify.ask_result",
        buttons=[
            [
                button("verify.conforming", ChooseVerificationResult(result="conforming")),
                button("verify.nonconforming", ChooseVerificationResult(result="nonconforming")),
            ]
        ],
    )
    return RESULT


async def choose_result(update: Update, context: BotContext) -> int:
    """Records the verification and says what it set in motion."""
    query = update.callback_query
    assert query is not None
    state = context.user_data.get(VERIFY_KEY)
    if not state:
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return ConversationHandler.END
    async with context.unit_of_work() as uow:
        outcome = await handling.record_verification(
            uow,
            await context.actor(uow.session),
            state["complaint_id"],
            result=ChooseVerificationResult.unpack(query.data).result,
            on_site=state["on_site"],
            notes=state.get("notes", ""),
            photo_file_ids=state["photos"],
            timezone=context.services.settings.timezone,
            supplier_answer_within=context.services.settings.supplier_answer_within,
        )
    context.user_data.pop(VERIFY_KEY, None)
    await query.answer()
    number = outcome.complaint.number
    keyboard = None
    if outcome.complaint.verification_result == ComplaintStatus.CONFORMING:
        text = context.text("verify.recorded_conforming", number=number)
    else:
        keyboard = context.keyboard(
            [[button("complaint.button.handoff", BeginHandoff(complaint_id=outcome.complaint.id))]]
        )
        note = (
            context.text("verify.return_note", return_number=outcome.return_number)
            if outcome.return_number
            else context.text("verify.no_return_note")
        )
        if outcome.suspension_without_contact:
            codes = ", ".join(outcome.suspension_without_contact)
            note = context.text("verify.without_contact_note", codes=codes) + note
        if not outcome.supplier_reached:
            note += context.text("verify.supplier_unreached_note")
        text = context.text(
            "verify.recorded_nonconforming",
            number=number,
            suspended=len(outcome.suspension_sent_to),
            return_note=note,
        )
    await edit_query_message(update, text, keyboard)
    return ConversationHandler.END


# --- disposition opinion dialogue ------------------------------------------------------------


async def begin_opinion(update: Update, context: BotContext) -> int | None:
    """Checks an opinion may be given; asks for its text."""
    query = update.callback_query
    assert query is not None
    async with context.session() as session:
        user = await context.actor(session)
        complaint = await handling.complaint_for_opinion(
            session, user, BeginOpinion.unpack(query.data).complaint_id
        )
    await query.answer()
    context.user_data[OPINION_KEY] = {"complaint_id": complaint.id}
    await context.reply(update, "opinion.ask", number=complaint.number)
    return OPINION_TEXT


async def enter_opinion(update: Update, context: BotContext) -> int:
    """Stores the opinion; asks for the corrective action (or Skip)."""
    state = context.user_data.get(OPINION_KEY)
    if not state:
        return ConversationHandler.END
    state["opinion"] = handling.check_opinion(update.effective_message.text)  # type: ignore[union-attr]
    await context.reply(
        update,
        "opinion.ask_corrective_action",
        buttons=[[button("common.button.skip", SkipCorrectiveAction())]],
    )
    return CORRECTIVE_ACTION


async def enter_corrective_action(update: Update, context: BotContext) -> int:
    """Records opinion and corrective action; the buyer receives the opinion."""
    return await _record_opinion(update, context, update.effective_message.text)  # type: ignore[union-attr]


async def skip_corrective_action(update: Update, context: BotContext) -> int:
    """Records the opinion alone."""
    await update.callback_query.answer()  # type: ignore[union-attr]
    return await _record_opinion(update, context, None)


async def _record_opinion(update: Update, context: BotContext, corrective: str | None) -> int:
    state = context.user_data.get(OPINION_KEY)
    if not state or "opinion" not in state:
        return ConversationHandler.END
    async with context.unit_of_work() as uow:
        complaint = await handling.record_disposition(
            uow,
            await context.actor(uow.session),
            state["complaint_id"],
            state["opinion"],
            corrective,
        )
    context.user_data.pop(OPINION_KEY, None)
    await context.reply(update, "opinion.recorded", number=complaint.number)
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """Leaves the dialogue; nothing was recorded."""
    context.user_data.pop(VERIFY_KEY, None)
    context.user_data.pop(OPINION_KEY, None)
    await context.reply(update, "cancel.done")
    return ConversationHandler.END


def verification_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    return dialogue(
        "complaint_verification",
        entry_points=[
            CallbackQueryHandler(begin_verification, pattern=BeginVerification.pattern())
        ],
        states={
            MODE: [
                CallbackQueryHandler(choose_mode, pattern=ChooseVerificationMode.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            NOTES: [MessageHandler(TEXT, enter_notes)],
            PHOTOS: [
                MessageHandler(EVIDENCE, add_photo),
                CallbackQueryHandler(photos_done, pattern=VerificationPhotosDone.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            RESULT: [
                CallbackQueryHandler(choose_result, pattern=ChooseVerificationResult.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
        },
        cancel=cancel,
    )


def opinion_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    return dialogue(
        "complaint_opinion",
        entry_points=[CallbackQueryHandler(begin_opinion, pattern=BeginOpinion.pattern())],
        states={
            OPINION_TEXT: [MessageHandler(TEXT, enter_opinion)],
            CORRECTIVE_ACTION: [
                MessageHandler(TEXT, enter_corrective_action),
                CallbackQueryHandler(
                    skip_corrective_action, pattern=SkipCorrectiveAction.pattern()
                ),
            ],
        },
        cancel=cancel,
    )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(verification_conversation())
    application.add_handler(opinion_conversation())
    application.add_handler(CommandHandler("queue", show_queue))
    application.add_handler(CallbackQueryHandler(take, pattern=TakeComplaint.pattern()))
    application.add_handler(
        CallbackQueryHandler(flag_adverse_event, pattern=FlagAdverseEvent.pattern())
    )
    application.add_handler(CallbackQueryHandler(lift_hold, pattern=LiftHold.pattern()))
