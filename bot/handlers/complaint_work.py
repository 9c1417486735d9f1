"""Quality's work on complaints (/queue, take, verification, disposition opinion, adverse event)
and the warehouse's confirmation that a hold is lifted. Every button re-checks role and state."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
)

from procedures.complaints import handling, queries
from procedures.complaints import rules as complaint_rules
from procedures.complaints.actions import (
    BackToResult,
    BeginHandoff,
    BeginOpinion,
    BeginVerification,
    ChooseVerificationMode,
    ChooseVerificationResult,
    ConfirmLiftHold,
    ConfirmNonconforming,
    FlagAdverseEvent,
    KeepHold,
    LiftHold,
    SkipCorrectiveAction,
    TakeComplaint,
    VerificationPhotosDone,
)
from procedures.complaints.queries import Complaint
from procedures.complaints.rules import ComplaintStatus
from procedures.kernel.outbox import as_deadline, as_text, button
from procedures.kernel.quantities import as_quantity

from ..access import for_command
from ..context import BotContext, edit_query_message
from ..conversations import dialogue
from ..dialogue import states
from ..dialogue.steps import StaffDialogue, cancelling
from ..dialogue.updates import member_of, pressed, query_of, text_of
from .complaint_buttons import origin_of, retire_pressed, retire_used_buttons

MODE, NOTES, PHOTOS, RESULT, CONFIRM = range(5)
OPINION_TEXT, CORRECTIVE_ACTION = 10, 11
VERIFY_KEY = "complaint_verification"
OPINION_KEY = "complaint_opinion"
VERIFICATION, OPINION = StaffDialogue(VERIFY_KEY), StaffDialogue(OPINION_KEY)


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
    member = member_of(context)
    works_it = bool(member.roles & complaint_rules.VERIFIERS)
    for complaint in waiting[:20]:
        # a taken complaint's steps are its handler's (and the quality head's): another QC
        # member, the one it was taken from included, is offered none
        buttons = (
            None
            if not works_it
            else [[button("complaint.button.take", TakeComplaint(complaint_id=complaint.id))]]
            if complaint.status == ComplaintStatus.OPEN
            else queries.work_buttons(complaint)
            if queries.works_on(complaint, member.user_id, member.roles)
            else None
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
    query = query_of(update)
    async with context.unit_of_work() as uow:
        complaint = await handling.take_complaint(
            uow, await context.actor(uow.session), pressed(update, TakeComplaint).complaint_id
        )
    await query.answer()
    await edit_query_message(
        update,
        context.text(
            "complaint.taken",
            number=complaint.number,
            product=complaint.product_label,
            lot=complaint.lot_label,
            quantity=as_quantity(complaint.quantity, complaint.unit),
            organisation=complaint.organisation.name,
            description=complaint.description,
        ),
        context.keyboard(queries.work_buttons(complaint)),
    )


async def flag_adverse_event(update: Update, context: BotContext) -> None:
    """Flags a possible adverse event; the quality head is told at once."""
    query = query_of(update)
    async with context.unit_of_work() as uow:
        complaint = await handling.flag_adverse_event(
            uow,
            await context.actor(uow.session),
            pressed(update, FlagAdverseEvent).complaint_id,
        )
    await query.answer(
        context.text("complaint.adverse_flagged", number=complaint.number), show_alert=True
    )
    await retire_pressed(update, context, complaint)


async def lift_hold(update: Update, context: BotContext) -> None:
    """The warehouse pressed Hold lifted: asks first, naming what the lift releases."""
    query = query_of(update)
    async with context.session() as session:
        preview = await handling.preview_lift_hold(
            session, await context.actor(session), pressed(update, LiftHold).complaint_id
        )
    await query.answer()
    complaint = preview.complaint
    params = _hold_params(complaint)
    releases = context.text(f"complaint.lift_releases_{preview.scope}", **params)
    if preview.still_held_by:
        after = context.text("complaint.lift_still_held", numbers=list(preview.still_held_by))
    else:
        after = context.text("complaint.lift_frees")
    await edit_query_message(
        update,
        context.text(
            "complaint.lift_confirm", number=complaint.number, releases=releases, after=after
        ),
        context.keyboard(
            [
                [
                    button("complaint.button.confirm_lift", ConfirmLiftHold(complaint.id)),
                    button("complaint.button.keep_hold", KeepHold(complaint.id)),
                ]
            ]
        ),
    )


def _hold_params(complaint: Complaint) -> dict[str, Any]:
    return {
        "number": complaint.number,
        "product": complaint.product_label,
        "lot": complaint.lot_label,
    }


async def confirm_lift(update: Update, context: BotContext) -> None:
    """The warehouse confirmed: the hold is lifted; the question gives way to the record."""
    query = query_of(update)
    async with context.unit_of_work() as uow:
        complaint = await handling.lift_hold(
            uow, await context.actor(uow.session), pressed(update, ConfirmLiftHold).complaint_id
        )
    await query.answer()
    await edit_query_message(
        update, context.text("complaint.hold_lifted_reply", **_hold_params(complaint))
    )


async def keep_hold(update: Update, context: BotContext) -> None:
    """The warehouse cancelled: nothing changes, and the notice is back as it was."""
    query = query_of(update)
    async with context.session() as session:
        preview = await handling.preview_lift_hold(
            session, await context.actor(session), pressed(update, KeepHold).complaint_id
        )
    await query.answer(context.text("complaint.hold_kept"))
    complaint = preview.complaint
    await edit_query_message(
        update,
        context.text(
            "complaint.lift_hold",
            **_hold_params(complaint),
            due_at=as_deadline(preview.due_at),
        ),
        context.keyboard([[button("complaint.button.hold_lifted", LiftHold(complaint.id))]]),
    )


# --- verification dialogue -------------------------------------------------------------------


async def begin_verification(update: Update, context: BotContext) -> int | None:
    """Checks the complaint can be verified; asks whether a visit was made."""
    query = query_of(update)
    async with context.session() as session:
        user = await context.actor(session)
        complaint = await handling.complaint_for_verification(
            session, user, pressed(update, BeginVerification).complaint_id
        )
    await query.answer()
    await VERIFICATION.begin(
        update, context, complaint_id=complaint.id, photos=[], origin=origin_of(update)
    )
    # the question comes beside the pressed ticket, whose used buttons go when it is recorded
    await VERIFICATION.offer(
        update,
        context,
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


@VERIFICATION.step
async def choose_mode(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Stores on-site or not; asks for the notes (or the reason no visit is needed)."""
    state["on_site"] = pressed(update, ChooseVerificationMode).mode == "on_site"
    question = "verify.ask_notes" if state["on_site"] else "verify.ask_reason"
    await VERIFICATION.answered(update, context, context.text(question))
    return NOTES


@VERIFICATION.step
async def enter_notes(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Stores the notes; asks for photos (on site) or the result."""
    state["notes"] = text_of(update).strip()
    if state["on_site"]:
        await VERIFICATION.ask_photos(
            update, context, "verify.ask_photos", VerificationPhotosDone()
        )
        return PHOTOS
    return await _ask_result(update, context)


@VERIFICATION.step
async def add_photo(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Keeps a verification photo."""
    await VERIFICATION.keep_photo(update, context, state, state["photos"], VerificationPhotosDone())
    return PHOTOS


@VERIFICATION.step
async def photos_done(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Asks for the result."""
    return await _ask_result(update, context)


def _result_buttons() -> list[list[dict[str, Any]]]:
    return [
        [
            button("verify.conforming", ChooseVerificationResult(result="conforming")),
            button("verify.nonconforming", ChooseVerificationResult(result="nonconforming")),
        ]
    ]


async def _ask_result(update: Update, context: BotContext) -> int:
    await VERIFICATION.ask(update, context, "verify.ask_result", buttons=_result_buttons())
    return RESULT


@VERIFICATION.step_answered_later
async def choose_result(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Conforming is recorded at once; nonconforming first names what it will set in motion
    and asks to confirm."""
    query = query_of(update)
    result = pressed(update, ChooseVerificationResult).result
    if result == ComplaintStatus.CONFORMING:
        return await _record_verification(update, context, state, result)
    async with context.session() as session:
        preview = await handling.preview_nonconforming(
            session,
            await context.actor(session),
            state["complaint_id"],
            context.now(),
            context.services.settings.timezone,
        )
    await query.answer()
    await edit_query_message(
        update,
        _consequences(context, preview),
        context.keyboard(
            [
                [
                    button(
                        "verify.confirm_nonconforming", ConfirmNonconforming(state["complaint_id"])
                    ),
                    button("verify.back", BackToResult(state["complaint_id"])),
                ]
            ]
        ),
    )
    return CONFIRM


def _consequences(context: BotContext, preview: handling.NonconformingPreview) -> str:
    """The confirmation question: every step a nonconforming result sets in motion, counted."""
    t = context.text
    without = len(preview.without_contact)
    if not preview.other_buyers:
        buyers = t("verify.preview_no_buyers")
    elif without:
        buyers = t(
            "verify.preview_buyers_some_unreachable",
            count=preview.other_buyers,
            without=without,
            codes=list(preview.without_contact),
        )
    else:
        buyers = t("verify.preview_buyers", count=preview.other_buyers)
    if preview.supplier is None:
        supplier = t("verify.preview_no_supplier")
    elif preview.supplier_reachable:
        supplier = t("verify.preview_supplier", supplier=preview.supplier)
    else:
        supplier = t("verify.preview_supplier_unreachable", supplier=preview.supplier)
    return t(
        "verify.confirm_question",
        number=preview.number,
        buyers=buyers,
        return_note=t(f"verify.preview_{preview.return_outlook}"),
        supplier=supplier,
    )


@VERIFICATION.step_answered_later
async def confirm_nonconforming(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Records the nonconforming verification once confirmed (for this complaint's dialogue)."""
    if state["complaint_id"] != pressed(update, ConfirmNonconforming).complaint_id:
        await query_of(update).answer(context.text("error.stale_button"), show_alert=True)
        return CONFIRM
    return await _record_verification(update, context, state, ComplaintStatus.NONCONFORMING)


@VERIFICATION.step_answered_later
async def back_to_result(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Cancels the confirmation: nothing was recorded; the result is asked again."""
    query = query_of(update)
    if state["complaint_id"] != pressed(update, BackToResult).complaint_id:
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return CONFIRM
    await query.answer(context.text("verify.not_recorded"))
    await edit_query_message(
        update, context.text("verify.ask_result"), context.keyboard(_result_buttons())
    )
    return RESULT


async def _record_verification(
    update: Update, context: BotContext, state: MutableMapping[str, Any], result: str
) -> int:
    """Records the verification and says what it set in motion, in place of the question."""
    query = query_of(update)
    async with context.unit_of_work() as uow:
        outcome = await handling.record_verification(
            uow,
            await context.actor(uow.session),
            state["complaint_id"],
            result=result,
            on_site=state["on_site"],
            notes=state.get("notes", ""),
            photo_file_ids=state["photos"],
            timezone=context.services.settings.timezone,
        )
    await query.answer()
    await VERIFICATION.end(update, context, pressed=False)
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
            codes = list(outcome.suspension_without_contact)
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
    await retire_used_buttons(context, outcome.complaint, state.get("origin"))
    return ConversationHandler.END


# --- disposition opinion dialogue ------------------------------------------------------------


async def begin_opinion(update: Update, context: BotContext) -> int | None:
    """Checks an opinion may be given; asks for its text."""
    query = query_of(update)
    async with context.session() as session:
        user = await context.actor(session)
        complaint = await handling.complaint_for_opinion(
            session, user, pressed(update, BeginOpinion).complaint_id
        )
    await query.answer()
    await OPINION.begin(update, context, complaint_id=complaint.id, origin=origin_of(update))
    await context.reply(update, "opinion.ask", number=complaint.number)
    return OPINION_TEXT


@OPINION.step
async def enter_opinion(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the opinion; asks for the corrective action (or Skip)."""
    state["opinion"] = handling.check_opinion(text_of(update))
    await OPINION.ask(
        update,
        context,
        "opinion.ask_corrective_action",
        buttons=[[button("common.button.skip", SkipCorrectiveAction())]],
    )
    return CORRECTIVE_ACTION


@OPINION.step
async def enter_corrective_action(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Records opinion and corrective action; the buyer receives the opinion."""
    return await _record_opinion(update, context, state, text_of(update))


@OPINION.step
async def skip_corrective_action(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Records the opinion alone."""
    return await _record_opinion(update, context, state, None)


async def _record_opinion(
    update: Update, context: BotContext, state: MutableMapping[str, Any], corrective: str | None
) -> int:
    if "opinion" not in state:
        return ConversationHandler.END
    async with context.unit_of_work() as uow:
        complaint = await handling.record_disposition(
            uow,
            await context.actor(uow.session),
            state["complaint_id"],
            state["opinion"],
            corrective,
        )
    await OPINION.end(update, context)
    await context.reply(update, "opinion.recorded", number=complaint.number)
    await retire_used_buttons(context, complaint, state.get("origin"))
    return ConversationHandler.END


cancel = cancelling(VERIFICATION, OPINION)


def verification_conversation() -> ConversationHandler[Any]:
    return dialogue(
        "complaint_verification",
        entry_points=[
            CallbackQueryHandler(begin_verification, pattern=BeginVerification.pattern())
        ],
        states={
            MODE: states.pressing((choose_mode, ChooseVerificationMode)),
            NOTES: states.typing(enter_notes),
            PHOTOS: states.photos(add_photo, (photos_done, VerificationPhotosDone)),
            RESULT: states.pressing((choose_result, ChooseVerificationResult)),
            CONFIRM: states.confirming(
                (confirm_nonconforming, ConfirmNonconforming), (back_to_result, BackToResult)
            ),
        },
        cancel=cancel,
    )


def opinion_conversation() -> ConversationHandler[Any]:
    return dialogue(
        "complaint_opinion",
        entry_points=[CallbackQueryHandler(begin_opinion, pattern=BeginOpinion.pattern())],
        states={
            OPINION_TEXT: states.typing(enter_opinion),
            CORRECTIVE_ACTION: [
                *states.typing(enter_corrective_action),
                CallbackQueryHandler(
                    skip_corrective_action, pattern=SkipCorrectiveAction.pattern()
                ),
            ],
        },
        cancel=cancel,
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(verification_conversation())
    application.add_handler(opinion_conversation())
    application.add_handler(CommandHandler("queue", show_queue))
    application.add_handler(CallbackQueryHandler(take, pattern=TakeComplaint.pattern()))
    application.add_handler(
        CallbackQueryHandler(flag_adverse_event, pattern=FlagAdverseEvent.pattern())
    )
    application.add_handler(CallbackQueryHandler(lift_hold, pattern=LiftHold.pattern()))
    application.add_handler(CallbackQueryHandler(confirm_lift, pattern=ConfirmLiftHold.pattern()))
    application.add_handler(CallbackQueryHandler(keep_hold, pattern=KeepHold.pattern()))
