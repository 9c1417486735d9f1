"""The steps a nonconforming complaint sets in motion: the warehouse's and business head's
confirmations of the hold, after-sales' notices to buyers without a chat contact, the
supplier's answer (its button, or /supplier_answer for quality), quality's contacts with the
manufacturer (/tech_support) and the hand-off of the goods to the nonconforming-goods
procedure; and an inquiry's answer, or quality's judgment that it is a quality complaint.
Every button re-checks role and state in the procedure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from telegram import Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from procedures.complaints import inquiries, nonconforming, queries
from procedures.complaints.actions import (
    AcknowledgeSuspension,
    AnswerInquiry,
    BackToInquiry,
    BeginHandoff,
    BeginSupplierAnswer,
    ChooseHandoffOutcome,
    ConfirmBuyerTold,
    ConfirmGoodsLabelled,
    ConfirmJudgement,
    ConfirmOutboundStopped,
    ConfirmSalesStopped,
    JudgeQualityComplaint,
)
from procedures.kernel.outbox import as_deadline, as_text, button
from procedures.kernel.unit_of_work import UnitOfWork

from ..access import for_command
from ..context import BotContext, edit_query_message
from ..conversations import cancel_dropping, dialogue, typed_step, use_buttons
from ..dialogue.updates import member_of, pressed, query_of, text_of
from .complaint_buttons import origin_of, retire_pressed, retire_used_buttons

if TYPE_CHECKING:
    from procedures.complaints.queries import Complaint
    from procedures.people.queries import User

ANSWER_TEXT = 20
HANDOFF_OUTCOME, HANDOFF_NOTES = 21, 22
INQUIRY_ANSWER_TEXT = 23
ANSWER_KEY = "supplier_answer"
INQUIRY_KEY = "inquiry_answer"
HANDOFF_KEY = "complaint_handoff"
TEXT = filters.TEXT & ~filters.COMMAND

Confirmation = Callable[[UnitOfWork, "User", int], Awaitable["Complaint"]]


def _confirmation(
    action: type[ConfirmOutboundStopped | ConfirmGoodsLabelled | ConfirmSalesStopped],
    confirm: Confirmation,
    reply_key: str,
) -> Callable[[Update, BotContext], Coroutine[Any, Any, None]]:
    async def confirmed(update: Update, context: BotContext) -> None:
        """Records the confirmation; says so under the notice, whose used buttons go."""
        complaint_id = pressed(update, action).complaint_id
        async with context.unit_of_work() as uow:
            complaint = await confirm(uow, await context.actor(uow.session), complaint_id)
        await query_of(update).answer()
        await context.reply(
            update,
            reply_key,
            number=complaint.number,
            product=complaint.product_label,
            lot=complaint.lot_label,
        )
        await retire_pressed(update, context, complaint)

    return confirmed


async def sales_suspended(update: Update, context: BotContext) -> None:
    """Another buyer confirms it suspended sales: the notice says who and when, its button
    goes (its colleagues' copies are edited through the outbox)."""
    query = query_of(update)
    async with context.unit_of_work() as uow:
        told = await nonconforming.acknowledge_suspension(
            uow, await context.actor(uow.session), pressed(update, AcknowledgeSuspension).task_id
        )
    await query.answer()
    done = context.text(
        "notice.done",
        by=member_of(context).full_name,
        at=told.task.told_at,
        step=as_text("notice.step.suspended"),
    )
    above = query.message.text if isinstance(query.message, Message) else None
    await edit_query_message(update, f"{above}\n\n{done}" if above else done)


async def buyer_told(update: Update, context: BotContext) -> None:
    """After-sales confirms how a buyer without a chat contact was told; the buttons go."""
    action = pressed(update, ConfirmBuyerTold)
    async with context.unit_of_work() as uow:
        told = await nonconforming.confirm_buyer_told(
            uow, await context.actor(uow.session), action.task_id, action.how
        )
    await query_of(update).answer()
    await edit_query_message(
        update,
        context.text(
            "steps.buyer_told",
            code=told.task.organisation.code,
            buyer=told.task.organisation.name,
            how=as_text(f"complaint.told_how.{told.task.told_how}"),
            at=told.task.told_at,
            number=told.complaint.number,
        ),
    )


# --- the supplier's answer -------------------------------------------------------------------


async def _record_by_command(
    update: Update,
    context: BotContext,
    record: Callable[[UnitOfWork, User, int, str], Awaitable[Complaint]],
    usage: str,
    done: str,
) -> None:
    """`/command QC-… free text`: find the complaint as the user may see it, record the text
    on it with `record`, and say so (or how the command is used)."""
    parts = text_of(update).split(maxsplit=2)
    if len(parts) < 3:
        await context.reply(update, usage)
        return
    async with context.unit_of_work() as uow:
        actor = await context.actor(uow.session)
        found = await queries.complaint_for_viewer(uow.session, actor, parts[1])
        complaint = await record(uow, actor, found.id, parts[2])
    await context.reply(update, done, number=complaint.number)


@for_command("supplier_answer")
async def supplier_answer_command(update: Update, context: BotContext) -> None:
    """/supplier_answer QC-… text: quality records the supplier's answer on its behalf."""
    await _record_by_command(
        update,
        context,
        nonconforming.record_supplier_answer,
        "steps.answer_usage",
        "steps.answer_recorded",
    )


@for_command("tech_support")
async def tech_support_command(update: Update, context: BotContext) -> None:
    """/tech_support QC-… notes: quality records a contact with the manufacturer."""
    await _record_by_command(
        update,
        context,
        nonconforming.record_technical_support,
        "steps.support_usage",
        "steps.support_recorded",
    )


# --- the hand-off to the nonconforming-goods procedure ---------------------------------------


async def begin_handoff(update: Update, context: BotContext) -> int | None:
    """Checks the goods can be handed over; asks for the outcome."""
    complaint_id = pressed(update, BeginHandoff).complaint_id
    async with context.session() as session:
        complaint = await nonconforming.complaint_for_handoff(
            session, await context.actor(session), complaint_id
        )
    await query_of(update).answer()
    context.user_data[HANDOFF_KEY] = {"complaint_id": complaint.id, "origin": origin_of(update)}
    await context.reply(
        update,
        "steps.ask_outcome",
        number=complaint.number,
        buttons=[
            [button(f"complaint.handoff_outcome.{o}", ChooseHandoffOutcome(outcome=o))]
            for o in nonconforming.HANDOFF_OUTCOMES
        ],
    )
    return HANDOFF_OUTCOME


async def choose_outcome(update: Update, context: BotContext) -> int:
    """Stores the outcome; asks for the notes (who took the goods, where they are)."""
    await query_of(update).answer()
    state = context.user_data.get(HANDOFF_KEY)
    if not state:
        return ConversationHandler.END
    state["outcome"] = pressed(update, ChooseHandoffOutcome).outcome
    await edit_query_message(update, context.text("steps.ask_handoff_notes"))
    return HANDOFF_NOTES


async def enter_handoff_notes(update: Update, context: BotContext) -> int:
    """Records the hand-off; the complaint closes if nothing else is left."""
    state = context.user_data.get(HANDOFF_KEY)
    if not state or "outcome" not in state:
        return ConversationHandler.END
    async with context.unit_of_work() as uow:
        complaint = await nonconforming.record_handoff(
            uow,
            await context.actor(uow.session),
            state["complaint_id"],
            state["outcome"],
            text_of(update),
        )
    context.user_data.pop(HANDOFF_KEY, None)
    await context.reply(
        update,
        "steps.handoff_recorded",
        number=complaint.number,
        outcome=as_text(f"complaint.handoff_outcome.{complaint.handoff_outcome}"),
    )
    await retire_used_buttons(context, complaint, state.get("origin"))
    return ConversationHandler.END


# --- inquiries and feedback ------------------------------------------------------------------


async def judge_complaint(update: Update, context: BotContext) -> None:
    """Quality pressed Judge a quality complaint: asks first, naming the hold and the clocks."""
    complaint_id = pressed(update, JudgeQualityComplaint).complaint_id
    async with context.unit_of_work() as uow:
        preview = await inquiries.preview_judgement(
            uow, await context.actor(uow.session), complaint_id
        )
    await query_of(update).answer()
    complaint = preview.complaint
    goods = {"product": complaint.product_label, "lot": complaint.lot_label}
    hold = (
        context.text(f"complaint.lift_releases_{preview.hold_scope}", **goods)
        if preview.hold_scope
        else context.text("complaint.judge_no_hold")
    )
    await edit_query_message(
        update,
        context.text(
            "complaint.judge_confirm",
            number=complaint.number,
            hold=hold,
            locality=as_text(f"complaint.locality.{complaint.locality}"),
        ),
        context.keyboard(
            [
                [
                    button("complaint.button.confirm_judgement", ConfirmJudgement(complaint.id)),
                    button("complaint.button.back_to_inquiry", BackToInquiry(complaint.id)),
                ]
            ]
        ),
    )


async def confirm_judgement(update: Update, context: BotContext) -> None:
    """Quality confirmed: it is a quality complaint; the question gives way to the record."""
    complaint_id = pressed(update, ConfirmJudgement).complaint_id
    async with context.unit_of_work() as uow:
        judged = await inquiries.judge_quality_complaint(
            uow, await context.actor(uow.session), complaint_id
        )
    await query_of(update).answer()
    complaint = judged.complaint
    await edit_query_message(
        update,
        context.text(
            "complaint.judged",
            number=complaint.number,
            product=complaint.product_label,
            lot=complaint.lot_label,
            verify_due=as_deadline(judged.verify_due),
            opinion_due=as_deadline(judged.opinion_due),
        ),
    )


async def back_to_inquiry(update: Update, context: BotContext) -> None:
    """Quality went back: nothing changes; the inquiry's buttons still open come back."""
    complaint_id = pressed(update, BackToInquiry).complaint_id
    async with context.unit_of_work() as uow:
        preview = await inquiries.preview_judgement(
            uow, await context.actor(uow.session), complaint_id
        )
    complaint = preview.complaint
    await query_of(update).answer(context.text("complaint.judge_kept", number=complaint.number))
    rows = (
        []
        if preview.answer_due is None
        else [[button("complaint.button.answer_inquiry", AnswerInquiry(complaint.id))]]
    )
    rows.append([button("complaint.button.judge_complaint", JudgeQualityComplaint(complaint.id))])
    await edit_query_message(
        update,
        context.text(
            "complaint.still_an_inquiry",
            number=complaint.number,
            organisation=complaint.organisation.name,
            product=complaint.product_label,
            lot=complaint.lot_label,
            description=complaint.description,
            status=as_text(f"complaint.status.{complaint.status}"),
        ),
        context.keyboard(rows),
    )


def inquiry_conversation() -> ConversationHandler[Any]:
    """An inquiry's answer, typed by quality or after-sales; the buyer gets it."""
    return typed_step(
        INQUIRY_KEY,
        AnswerInquiry,
        inquiries.inquiry_to_answer,
        inquiries.answer_inquiry,
        ("complaint.ask_inquiry_answer", "complaint.inquiry_answered"),
        INQUIRY_ANSWER_TEXT,
        cancel,
        details=lambda complaint: {"description": complaint.description},
        remember=lambda update: {"origin": origin_of(update)},
        after=_retire_answer_button,
    )


cancel = cancel_dropping(ANSWER_KEY, HANDOFF_KEY, INQUIRY_KEY)


def answer_conversation() -> ConversationHandler[Any]:
    """The supplier's answer, recorded by quality; quality is told."""
    texts = ("steps.ask_answer", "steps.answer_recorded")
    check, record = (
        nonconforming.complaint_for_supplier_answer,
        nonconforming.record_supplier_answer,
    )
    return typed_step(
        ANSWER_KEY,
        BeginSupplierAnswer,
        check,
        record,
        texts,
        ANSWER_TEXT,
        cancel,
        remember=lambda update: {"origin": origin_of(update)},
        after=_retire_answer_button,
    )


async def _retire_answer_button(
    update: Update, context: BotContext, complaint: Complaint, scratch: dict[str, Any]
) -> None:
    await retire_used_buttons(context, complaint, scratch.get("origin"))


def handoff_conversation() -> ConversationHandler[Any]:
    return dialogue(
        "complaint_handoff",
        entry_points=[CallbackQueryHandler(begin_handoff, pattern=BeginHandoff.pattern())],
        states={
            HANDOFF_OUTCOME: [
                CallbackQueryHandler(choose_outcome, pattern=ChooseHandoffOutcome.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            HANDOFF_NOTES: [MessageHandler(TEXT, enter_handoff_notes)],
        },
        cancel=cancel,
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(answer_conversation())
    application.add_handler(inquiry_conversation())
    application.add_handler(
        CallbackQueryHandler(judge_complaint, pattern=JudgeQualityComplaint.pattern())
    )
    application.add_handler(
        CallbackQueryHandler(confirm_judgement, pattern=ConfirmJudgement.pattern())
    )
    application.add_handler(CallbackQueryHandler(back_to_inquiry, pattern=BackToInquiry.pattern()))
    application.add_handler(handoff_conversation())
    for action, confirm, reply_key in (
        (ConfirmOutboundStopped, nonconforming.confirm_outbound_stopped, "steps.outbound_stopped"),
        (ConfirmGoodsLabelled, nonconforming.confirm_goods_labelled, "steps.labelled"),
        (ConfirmSalesStopped, nonconforming.confirm_sales_stopped, "steps.sales_stopped"),
    ):
        application.add_handler(
            CallbackQueryHandler(
                _confirmation(action, confirm, reply_key), pattern=action.pattern()
            )
        )
    application.add_handler(CallbackQueryHandler(buyer_told, pattern=ConfirmBuyerTold.pattern()))
    application.add_handler(
        CallbackQueryHandler(sales_suspended, pattern=AcknowledgeSuspension.pattern())
    )
    application.add_handler(CommandHandler("supplier_answer", supplier_answer_command))
    application.add_handler(CommandHandler("tech_support", tech_support_command))
