"""Consumer complaints (P2, 4.3): /consumer_complaint (consumers) and /consumer_for (after-sales,
for a call) record one; after-sales judges it with buttons, the business head decides one
after-sales could not resolve, and after-sales gives the answer. Every button re-checks role
and state in the procedure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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

from procedures.complaints.actions import UseLabel
from procedures.consumer_complaints import common, handling, intake
from procedures.consumer_complaints.actions import (
    AnswerConsumerComplaint,
    CancelConsumerComplaint,
    ChooseConsumerCause,
    ChooseConsumerProduct,
    ChooseConsumerRemedy,
    ChooseConsumerVerdict,
    ConsumerPhotosDone,
    DecideConsumerComplaint,
    JudgeConsumerComplaint,
    StartConsumerReturn,
    SubmitConsumerComplaint,
)
from procedures.consumer_complaints.common import ConsumerComplaintDraft, Verdict
from procedures.kernel.outbox import as_text, button
from storage.models import Batch, ConsumerComplaint, Product

from .. import label_photos
from ..access import for_command
from ..context import BotContext, edit_query_message
from ..conversations import DialogueDraft, dialogue, keep_photo, use_buttons

CONSUMER, PRODUCT, DESCRIPTION, CONTACT, PHOTOS, CONFIRM = range(30, 36)
VERDICT, CAUSE, REMEDY, ANSWER = range(40, 44)
DRAFT_KEY = "consumer_intake"
WORK_KEY = "consumer_work"
TEXT = filters.TEXT & ~filters.COMMAND
IMAGE = filters.PHOTO | filters.Document.IMAGE


# --- intake ----------------------------------------------------------------------------------


DRAFTS = DialogueDraft(
    DRAFT_KEY,
    ConsumerComplaintDraft.from_json,
    "consumer.expired",
    "consumer.cancelled",
)
_begin, _draft, _save, _expired = DRAFTS.begin, DRAFTS.get, DRAFTS.save, DRAFTS.expired


@for_command("consumer_complaint")
async def start_complaint(update: Update, context: BotContext) -> int:
    """A consumer starts a complaint; asks which product."""
    assert context.member is not None
    _begin(context, ConsumerComplaintDraft(consumer_name=context.member.full_name))
    return await _ask_product(update, context)


@for_command("consumer_for")
async def start_complaint_for(update: Update, context: BotContext) -> int:
    """After-sales records a consumer's call; asks who called."""
    _begin(context, ConsumerComplaintDraft(channel="phone"))
    await context.reply(update, "consumer.ask_consumer")
    return CONSUMER


async def enter_consumer(update: Update, context: BotContext) -> int:
    """Stores the caller's name and contact; asks which product."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    draft.consumer_name, draft.contact = common.check_consumer(update.effective_message.text)  # type: ignore[union-attr]
    _save(context, draft)
    return await _ask_product(update, context)


async def _ask_product(update: Update, context: BotContext) -> int:
    async with context.session() as session:
        products = await intake.products_to_choose(session)
    buttons = [
        [
            button(
                "consumer.product", ChooseConsumerProduct(product_id=p.id), code=p.code, name=p.name
            )
        ]
        for p in products
    ]
    question = context.text("consumer.ask_product")
    await context.reply(update, "label.with_hint", question=question, buttons=buttons)
    return PRODUCT


async def choose_product(update: Update, context: BotContext) -> int:
    """Stores the product pressed; asks what happened."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    product_id = ChooseConsumerProduct.unpack(query.data).product_id
    async with context.session() as session:
        if await session.get(Product, product_id) is None:
            await context.reply(update, "error.stale_button")
            return PRODUCT
    draft.product_id, draft.product_text, draft.batch_id = product_id, None, None
    _save(context, draft)
    await context.reply(update, "consumer.ask_description")
    return DESCRIPTION


async def type_product(update: Update, context: BotContext) -> int:
    """Finds the product typed in the master data, or keeps it as typed; asks what happened."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    async with context.session() as session:
        draft.product_id, draft.product_text = await intake.product_of(
            session,
            update.effective_message.text,  # type: ignore[union-attr]
        )
    draft.batch_id = None
    _save(context, draft)
    await context.reply(update, "consumer.ask_description")
    return DESCRIPTION


async def scan_label(update: Update, context: BotContext) -> int:
    """Reads a photo of the label: offers its product and lot (any in the master data) with one
    button, or says what was read and what is wrong; the product step stays."""
    return await label_photos.label_step(
        update, context, DRAFTS, buyer=lambda _: None, step=lambda _: PRODUCT
    )


async def use_label(update: Update, context: BotContext) -> int:
    """Takes the product and lot of the scanned label; asks what happened."""
    await update.callback_query.answer()  # type: ignore[union-attr]
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    batch = await label_photos.take_label(update, context, draft.label, buyer=None)
    if batch is None:
        return PRODUCT
    draft.product_id, draft.product_text, draft.batch_id = batch.product_id, None, batch.id
    _save(context, draft)
    await context.reply(update, "consumer.ask_description")
    return DESCRIPTION


async def enter_description(update: Update, context: BotContext) -> int:
    """Stores what happened; asks a consumer for a contact, after-sales for photos."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    draft.description = common.check_description(update.effective_message.text)  # type: ignore[union-attr]
    _save(context, draft)
    if draft.contact is None:
        await context.reply(update, "consumer.ask_contact")
        return CONTACT
    return await _ask_photos(update, context)


async def enter_contact(update: Update, context: BotContext) -> int:
    """Stores the consumer's phone or e-mail; asks for photos."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    draft.contact = common.check_contact(update.effective_message.text)  # type: ignore[union-attr]
    _save(context, draft)
    return await _ask_photos(update, context)


async def _ask_photos(update: Update, context: BotContext) -> int:
    done = ConsumerPhotosDone()
    buttons = [[button("common.button.done", done), button("common.button.skip", done)]]
    await context.reply(update, "consumer.ask_photos", buttons=buttons)
    return PHOTOS


async def add_photo(update: Update, context: BotContext) -> int:
    """Keeps the photo; an album is acknowledged once."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    await keep_photo(
        update, context, draft.photo_file_ids, context.user_data[DRAFT_KEY], ConsumerPhotosDone()
    )
    _save(context, draft)
    return PHOTOS


async def photos_done(update: Update, context: BotContext) -> int:
    """Shows the summary with submit and cancel buttons."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    async with context.session() as session:
        product = await session.get(Product, draft.product_id) if draft.product_id else None
        batch = await session.get(Batch, draft.batch_id) if draft.batch_id else None
    product_name = product.name if product else draft.product_text
    await context.reply(
        update,
        "consumer.summary",
        buttons=[
            [
                button("consumer.button.submit", SubmitConsumerComplaint()),
                button("consumer.button.cancel", CancelConsumerComplaint()),
            ]
        ],
        name=draft.consumer_name,
        contact=draft.contact,
        product=as_text("consumer.product_lot", product=product_name, lot=batch.lot_number)
        if batch
        else product_name,
        description=draft.description,
        photos=len(draft.photo_file_ids),
    )
    return CONFIRM


async def submit(update: Update, context: BotContext) -> int:
    """Files the complaint; answers with its number and when the first answer is due."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    async with context.unit_of_work() as uow:
        filed = await intake.file_consumer_complaint(
            uow,
            await context.actor(uow.session),
            draft,
        )
    context.user_data.pop(DRAFT_KEY, None)
    key = "consumer.filed" if draft.channel == "chat" else "consumer.filed_for"
    await edit_query_message(
        update,
        context.text(
            key,
            number=filed.complaint.number,
            product=common.product_param(filed.complaint),
            due_at=filed.answer_due,
        ),
    )
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """Drops the draft or the judgement under way (button or /cancel)."""
    return await DRAFTS.cancel(update, context, WORK_KEY)


def intake_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    return dialogue(
        "consumer_intake",
        entry_points=[
            CommandHandler("consumer_complaint", start_complaint),
            CommandHandler("consumer_for", start_complaint_for),
        ],
        states={
            CONSUMER: [MessageHandler(TEXT, enter_consumer)],
            PRODUCT: [
                CallbackQueryHandler(choose_product, pattern=ChooseConsumerProduct.pattern()),
                MessageHandler(TEXT, type_product),
                MessageHandler(IMAGE, scan_label),
                CallbackQueryHandler(use_label, pattern=UseLabel.pattern()),
            ],
            DESCRIPTION: [MessageHandler(TEXT, enter_description)],
            CONTACT: [MessageHandler(TEXT, enter_contact)],
            PHOTOS: [
                MessageHandler(filters.PHOTO, add_photo),
                CallbackQueryHandler(photos_done, pattern=ConsumerPhotosDone.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            CONFIRM: [
                CallbackQueryHandler(submit, pattern=SubmitConsumerComplaint.pattern()),
                CallbackQueryHandler(cancel, pattern=CancelConsumerComplaint.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
        },
        cancel=cancel,
    )


# --- judging, deciding, answering ------------------------------------------------------------


def _verdict_buttons(verdicts: tuple[str, ...]) -> list[list[dict[str, Any]]]:
    return [
        [button(f"consumer.verdict_button.{v}", ChooseConsumerVerdict(verdict=v))]  # type: ignore[arg-type]
        for v in verdicts
    ]


def _cause_buttons() -> list[list[dict[str, Any]]]:
    return [[button(f"consumer.cause.{c}", ChooseConsumerCause(cause=c))] for c in common.CAUSES]  # type: ignore[arg-type]


def _remedy_buttons() -> list[list[dict[str, Any]]]:
    return [
        [button(f"consumer.remedy.{r}", ChooseConsumerRemedy(remedy=r))]  # type: ignore[arg-type]
        for r in common.REMEDIES
    ]


WORDS_ASKED = {
    Verdict.STANDING: "consumer.ask_words_standing",
    Verdict.NOT_STANDING: "consumer.ask_words_not_standing",
    Verdict.UNRESOLVED: "consumer.ask_words_unresolved",
}


async def _show(update: Update, context: BotContext, complaint: ConsumerComplaint) -> None:
    """The complaint as the one about to act on it reads it."""
    await edit_query_message(
        update,
        context.text(
            "consumer.details",
            number=complaint.number,
            name=complaint.consumer_name,
            contact=complaint.contact,
            product=common.product_param(complaint),
            description=complaint.description,
            received_at=complaint.received_at,
        ),
    )


Check = Callable[..., Awaitable[ConsumerComplaint]]
Begun = type[JudgeConsumerComplaint | DecideConsumerComplaint | AnswerConsumerComplaint]


async def _begin_work(
    update: Update, context: BotContext, mode: str, check: Check, action: Begun
) -> ConsumerComplaint:
    """Checks the pressing user may do this step on this complaint now; starts the dialogue."""
    query = update.callback_query
    assert query is not None
    async with context.session() as session:
        complaint = await check(
            session, await context.actor(session), action.unpack(query.data).complaint_id
        )
    await query.answer()
    context.user_data[WORK_KEY] = {"mode": mode, "complaint_id": complaint.id}
    return complaint


async def begin_judgement(update: Update, context: BotContext) -> int:
    """After-sales may judge it: asks whether it stands."""
    complaint = await _begin_work(
        update, context, "judge", handling.complaint_for_judgement, JudgeConsumerComplaint
    )
    await _show(update, context, complaint)
    await context.reply(update, "consumer.ask_verdict", buttons=_verdict_buttons(tuple(Verdict)))
    return VERDICT


async def begin_decision(update: Update, context: BotContext) -> int:
    """The business head may decide it: asks whether it stands."""
    complaint = await _begin_work(
        update, context, "decide", handling.complaint_for_decision, DecideConsumerComplaint
    )
    await context.reply(
        update,
        "consumer.ask_decision",
        buttons=_verdict_buttons(tuple(common.DECISION_VERDICTS)),
        number=complaint.number,
    )
    return VERDICT


async def begin_answer(update: Update, context: BotContext) -> int:
    """After-sales is to give the decision: asks for the answer's words."""
    complaint = await _begin_work(
        update, context, "answer", handling.complaint_for_answer, AnswerConsumerComplaint
    )
    await context.reply(update, "consumer.ask_final_answer", number=complaint.number)
    return ANSWER


def _work(context: BotContext) -> dict[str, Any] | None:
    return context.user_data.get(WORK_KEY)


async def choose_verdict(update: Update, context: BotContext) -> int:
    """Stores the verdict; asks after-sales the cause, the head the remedy or the words."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    work = _work(context)
    if not work:
        return await _expired(update, context)
    verdict = ChooseConsumerVerdict.unpack(query.data).verdict
    if work["mode"] == "decide" and verdict not in common.DECISION_VERDICTS:
        await context.reply(update, "error.stale_button")
        return VERDICT
    work["verdict"] = verdict
    await edit_query_message(update, context.text(f"consumer.verdict.{verdict}"))
    if work["mode"] == "judge":
        await context.reply(
            update,
            "consumer.ask_cause",
            buttons=_cause_buttons(),
        )
        return CAUSE
    return await _after_cause(update, context, work)


async def choose_cause(update: Update, context: BotContext) -> int:
    """Stores the cause; asks for the remedy if it stands, else for the words."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    work = _work(context)
    if not work or "verdict" not in work:
        return await _expired(update, context)
    work["cause"] = ChooseConsumerCause.unpack(query.data).cause
    await edit_query_message(update, context.text(f"consumer.cause.{work['cause']}"))
    return await _after_cause(update, context, work)


async def _after_cause(update: Update, context: BotContext, work: dict[str, Any]) -> int:
    if work["verdict"] == Verdict.STANDING:
        await context.reply(
            update,
            "consumer.ask_remedy",
            buttons=_remedy_buttons(),
        )
        return REMEDY
    return await _ask_words(update, context, work)


async def choose_remedy(update: Update, context: BotContext) -> int:
    """Stores the remedy; asks for the words."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    work = _work(context)
    if not work or work.get("verdict") != Verdict.STANDING:
        return await _expired(update, context)
    work["remedy"] = ChooseConsumerRemedy.unpack(query.data).remedy
    await edit_query_message(update, context.text(f"consumer.remedy.{work['remedy']}"))
    return await _ask_words(update, context, work)


async def _ask_words(update: Update, context: BotContext, work: dict[str, Any]) -> int:
    if work["mode"] == "decide":
        await context.reply(update, "consumer.ask_decision_text")
    else:
        await context.reply(update, WORDS_ASKED[work["verdict"]])
    return ANSWER


async def enter_words(update: Update, context: BotContext) -> int:
    """Records the judgement, the decision or the answer, as the dialogue was begun for."""
    work = _work(context)
    if not work:
        return await _expired(update, context)
    words = update.effective_message.text or ""  # type: ignore[union-attr]
    complaint_id = work["complaint_id"]
    async with context.unit_of_work() as uow:
        actor = await context.actor(uow.session)
        if work["mode"] == "decide":
            decided = await handling.decide(
                uow,
                actor,
                complaint_id,
                verdict=work["verdict"],
                remedy=work.get("remedy"),
                decision=words,
            )
            context.user_data.pop(WORK_KEY, None)
            await context.reply(
                update,
                "consumer.decided",
                number=decided.complaint.number,
                due_at=decided.answer_due,
            )
            return ConversationHandler.END
        if work["mode"] == "answer":
            answered = await handling.answer_after_decision(uow, actor, complaint_id, words)
        elif work["verdict"] == Verdict.UNRESOLVED:
            escalated = await handling.escalate_to_business_head(
                uow,
                actor,
                complaint_id,
                cause=work["cause"],
                note=words,
            )
            context.user_data.pop(WORK_KEY, None)
            await context.reply(
                update,
                "consumer.escalated",
                number=escalated.complaint.number,
                due_at=escalated.decision_due,
                phone_note=_phone_note(escalated.complaint, escalated.reached_consumer),
            )
            return ConversationHandler.END
        elif work["verdict"] == Verdict.STANDING:
            answered = await handling.agree_remedy(
                uow, actor, complaint_id, cause=work["cause"], remedy=work["remedy"], answer=words
            )
        else:
            answered = await handling.answer_not_standing(
                uow, actor, complaint_id, cause=work["cause"], answer=words
            )
    context.user_data.pop(WORK_KEY, None)
    goods_back = answered.complaint.remedy in common.GOODS_BACK
    start = StartConsumerReturn(complaint_id=answered.complaint.id)
    await context.reply(
        update,
        "consumer.answered",
        buttons=[[button("consumer.button.start_return", start)]] if goods_back else None,
        number=answered.complaint.number,
        phone_note=_phone_note(answered.complaint, answered.reached_consumer),
    )
    return ConversationHandler.END


def _phone_note(complaint: ConsumerComplaint, reached: bool) -> Any:
    if reached:
        return ""
    return as_text("consumer.phone_note", name=complaint.consumer_name, contact=complaint.contact)


def work_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    return dialogue(
        "consumer_work",
        entry_points=[
            CallbackQueryHandler(begin_judgement, pattern=JudgeConsumerComplaint.pattern()),
            CallbackQueryHandler(begin_decision, pattern=DecideConsumerComplaint.pattern()),
            CallbackQueryHandler(begin_answer, pattern=AnswerConsumerComplaint.pattern()),
        ],
        states={
            VERDICT: [
                CallbackQueryHandler(choose_verdict, pattern=ChooseConsumerVerdict.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            CAUSE: [
                CallbackQueryHandler(choose_cause, pattern=ChooseConsumerCause.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            REMEDY: [
                CallbackQueryHandler(choose_remedy, pattern=ChooseConsumerRemedy.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            ANSWER: [MessageHandler(TEXT, enter_words)],
        },
        cancel=cancel,
    )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(intake_conversation())
    application.add_handler(work_conversation())
