"""Consumer complaints (P2, 4.3): /consumer_complaint (consumers) and /consumer_for (after-sales,
for a call) record one; after-sales judges it with buttons, the business head decides one
after-sales could not resolve, and after-sales gives the answer; the after-sales head writes the
month's improvement proposals and passes the summary on from its buttons. Every button
re-checks role and state in the procedure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, Literal

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    filters,
)

from procedures.consumer_complaints import common, handling, intake, monthly, queries
from procedures.consumer_complaints.actions import (
    AnswerConsumerComplaint,
    CancelConsumerComplaint,
    ChooseConsumerCause,
    ChooseConsumerProduct,
    ChooseConsumerRemedy,
    ChooseConsumerVerdict,
    ConsumerPhotosDone,
    DecideConsumerComplaint,
    ForwardSummary,
    JudgeConsumerComplaint,
    ProposeImprovements,
    StartConsumerReturn,
    SubmitConsumerComplaint,
)
from procedures.consumer_complaints.common import ConsumerComplaintDraft, Verdict
from procedures.consumer_complaints.queries import ConsumerComplaint
from procedures.kernel.outbox import as_deadline, as_text, button

from .. import label_photos
from ..access import for_command
from ..context import BotContext, edit_query_message, fit_message
from ..conversations import dialogue
from ..dialogue import states
from ..dialogue.steps import Intake, StaffDialogue, cancelling, option_rows, wrong_button
from ..dialogue.updates import member_of, message_of, pressed, query_of, text_of

CONSUMER, PRODUCT, DESCRIPTION, CONTACT, PHOTOS, CONFIRM = range(30, 36)
VERDICT, CAUSE, REMEDY, ANSWER = range(40, 44)
PROPOSALS = 45
DRAFT_KEY = "consumer_intake"
WORK_KEY = "consumer_work"


# --- intake ----------------------------------------------------------------------------------


DRAFTS = Intake(
    DRAFT_KEY,
    ConsumerComplaintDraft.from_json,
    "consumer.expired",
    "consumer.cancelled",
)
step = DRAFTS.step


@for_command("consumer_complaint")
async def start_complaint(update: Update, context: BotContext) -> int:
    """A consumer starts a complaint; asks which product."""
    member = member_of(context)
    DRAFTS.begin(context, ConsumerComplaintDraft(consumer_name=member.full_name))
    return await _ask_product(update, context)


@for_command("consumer_for")
async def start_complaint_for(update: Update, context: BotContext) -> int:
    """After-sales records a consumer's call; asks who called."""
    DRAFTS.begin(context, ConsumerComplaintDraft(channel="phone"))
    await DRAFTS.ask(update, context, "consumer.ask_consumer")
    return CONSUMER


@step
async def enter_consumer(update: Update, context: BotContext, draft: ConsumerComplaintDraft) -> int:
    """Stores the caller's name and contact; asks which product."""
    draft.consumer_name, draft.contact = common.check_consumer(text_of(update))
    DRAFTS.save(context, draft)
    return await _ask_product(update, context)


async def _ask_product(update: Update, context: BotContext) -> int:
    async with context.session() as session:
        products = await intake.products_to_choose(session)
    buttons = option_rows(
        "consumer.product",
        (
            (ChooseConsumerProduct(product_id=p.id), {"code": p.code, "name": p.name})
            for p in products
        ),
    )
    question = context.text("consumer.ask_product")
    await DRAFTS.ask(update, context, "label.with_hint", question=question, buttons=buttons)
    return PRODUCT


@step
async def choose_product(update: Update, context: BotContext, draft: ConsumerComplaintDraft) -> int:
    """Stores the product pressed; asks what happened."""
    product_id = pressed(update, ChooseConsumerProduct).product_id
    async with context.session() as session:
        if not await queries.product_exists(session, product_id):
            return await wrong_button(update, context, PRODUCT)
    draft.product_id, draft.product_text, draft.batch_id = product_id, None, None
    return await _ask_description(update, context, draft)


@step
async def type_product(update: Update, context: BotContext, draft: ConsumerComplaintDraft) -> int:
    """Finds the product typed in the master data, or keeps it as typed; asks what happened."""
    async with context.session() as session:
        draft.product_id, draft.product_text = await intake.product_of(session, text_of(update))
    draft.batch_id = None
    return await _ask_description(update, context, draft)


async def scan_label(update: Update, context: BotContext) -> int:
    """Reads a photo of the label: offers its product and lot (any in the master data) with one
    button, or says what was read and what is wrong; the product step stays."""
    return await label_photos.label_step(
        update, context, DRAFTS, buyer=lambda _: None, step=lambda _: PRODUCT
    )


@step
async def use_label(update: Update, context: BotContext, draft: ConsumerComplaintDraft) -> int:
    """Takes the product and lot of the scanned label; asks what happened."""
    batch = await label_photos.take_label(update, context, draft.label, buyer=None)
    if batch is None:
        return PRODUCT
    draft.product_id, draft.product_text, draft.batch_id = batch.product_id, None, batch.id
    return await _ask_description(update, context, draft)


async def _ask_description(
    update: Update, context: BotContext, draft: ConsumerComplaintDraft
) -> int:
    DRAFTS.save(context, draft)
    await DRAFTS.ask(update, context, "consumer.ask_description")
    return DESCRIPTION


@step
async def enter_description(
    update: Update, context: BotContext, draft: ConsumerComplaintDraft
) -> int:
    """Stores what happened; asks a consumer for a contact, after-sales for photos."""
    draft.description = common.check_description(text_of(update))
    DRAFTS.save(context, draft)
    if draft.contact is None:
        await DRAFTS.ask(update, context, "consumer.ask_contact")
        return CONTACT
    return await _ask_photos(update, context)


@step
async def enter_contact(update: Update, context: BotContext, draft: ConsumerComplaintDraft) -> int:
    """Stores the consumer's phone or e-mail; asks for photos."""
    draft.contact = common.check_contact(text_of(update))
    DRAFTS.save(context, draft)
    return await _ask_photos(update, context)


async def _ask_photos(update: Update, context: BotContext) -> int:
    await DRAFTS.ask_photos(update, context, "consumer.ask_photos", ConsumerPhotosDone())
    return PHOTOS


add_photo = DRAFTS.photo_added(ConsumerPhotosDone(), PHOTOS)


@step
async def photos_done(update: Update, context: BotContext, draft: ConsumerComplaintDraft) -> int:
    """Shows the summary with submit and cancel buttons."""
    async with context.session() as session:
        product, lot = await queries.goods_names(session, draft.product_id, draft.batch_id)
    product_name = product or draft.product_text
    await DRAFTS.ask_summary(
        update,
        context,
        "consumer.summary",
        button("consumer.button.submit", SubmitConsumerComplaint()),
        button("consumer.button.cancel", CancelConsumerComplaint()),
        name=draft.consumer_name,
        contact=draft.contact,
        product=as_text("consumer.product_lot", product=product_name, lot=lot)
        if lot
        else product_name,
        description=draft.description,
        photos=len(draft.photo_file_ids),
    )
    return CONFIRM


@step
async def submit(update: Update, context: BotContext, draft: ConsumerComplaintDraft) -> int:
    """Files the complaint; answers with its number and when the first answer is due."""
    async with context.unit_of_work() as uow:
        filed = await intake.file_consumer_complaint(
            uow,
            await context.actor(uow.session),
            draft,
        )
    return await DRAFTS.finish(
        update,
        context,
        "consumer.filed" if draft.channel == "chat" else "consumer.filed_for",
        number=filed.complaint.number,
        product=common.product_param(filed.complaint),
        due_at=as_deadline(filed.answer_due),
    )


async def cancel(update: Update, context: BotContext) -> int:
    """Drops the draft or the judgement under way (button or /cancel)."""
    return await DRAFTS.cancel(update, context, WORK_KEY)


def intake_conversation() -> ConversationHandler[Any]:
    return dialogue(
        "consumer_intake",
        entry_points=[
            CommandHandler("consumer_complaint", start_complaint),
            CommandHandler("consumer_for", start_complaint_for),
        ],
        states={
            CONSUMER: states.typing(enter_consumer),
            PRODUCT: states.goods(
                (choose_product, ChooseConsumerProduct), type_product, scan_label, use_label
            ),
            DESCRIPTION: states.typing(enter_description),
            CONTACT: states.typing(enter_contact),
            PHOTOS: states.photos(add_photo, (photos_done, ConsumerPhotosDone), filters.PHOTO),
            CONFIRM: states.confirming(
                (submit, SubmitConsumerComplaint), (cancel, CancelConsumerComplaint)
            ),
        },
        cancel=cancel,
    )


# --- judging, deciding, answering ------------------------------------------------------------


# the verdicts as ChooseConsumerVerdict names them, in the order of Verdict
VERDICTS: tuple[Literal["standing", "not_standing", "unresolved"], ...] = (
    "standing",
    "not_standing",
    "unresolved",
)


def _verdict_buttons(
    verdicts: Iterable[Literal["standing", "not_standing", "unresolved"]],
) -> list[list[dict[str, Any]]]:
    return [
        [button(f"consumer.verdict_button.{v}", ChooseConsumerVerdict(verdict=v))] for v in verdicts
    ]


def _cause_buttons() -> list[list[dict[str, Any]]]:
    return [[button(f"consumer.cause.{c}", ChooseConsumerCause(cause=c))] for c in common.CAUSES]


def _remedy_buttons() -> list[list[dict[str, Any]]]:
    return [
        [button(f"consumer.remedy.{r}", ChooseConsumerRemedy(remedy=r))] for r in common.REMEDIES
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
    complaint_id = pressed(update, action).complaint_id
    async with context.session() as session:
        complaint = await check(session, await context.actor(session), complaint_id)
    await query_of(update).answer()
    context.user_data[WORK_KEY] = {"mode": mode, "complaint_id": complaint.id}
    return complaint


async def begin_judgement(update: Update, context: BotContext) -> int:
    """After-sales may judge it: asks whether it stands."""
    complaint = await _begin_work(
        update, context, "judge", handling.complaint_for_judgement, JudgeConsumerComplaint
    )
    await _show(update, context, complaint)
    await context.reply(update, "consumer.ask_verdict", buttons=_verdict_buttons(VERDICTS))
    return VERDICT


async def begin_decision(update: Update, context: BotContext) -> int:
    """The business head may decide it: asks whether it stands."""
    complaint = await _begin_work(
        update, context, "decide", handling.complaint_for_decision, DecideConsumerComplaint
    )
    await context.reply(
        update,
        "consumer.ask_decision",
        buttons=_verdict_buttons(v for v in VERDICTS if v in common.DECISION_VERDICTS),
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
    await query_of(update).answer()
    work = _work(context)
    if not work:
        return await DRAFTS.expired(update, context)
    verdict = pressed(update, ChooseConsumerVerdict).verdict
    if work["mode"] == "decide" and verdict not in common.DECISION_VERDICTS:
        return await wrong_button(update, context, VERDICT)
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
    await query_of(update).answer()
    work = _work(context)
    if not work or "verdict" not in work:
        return await DRAFTS.expired(update, context)
    work["cause"] = pressed(update, ChooseConsumerCause).cause
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
    await query_of(update).answer()
    work = _work(context)
    if not work or work.get("verdict") != Verdict.STANDING:
        return await DRAFTS.expired(update, context)
    work["remedy"] = pressed(update, ChooseConsumerRemedy).remedy
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
        return await DRAFTS.expired(update, context)
    words = text_of(update)
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
                due_at=as_deadline(decided.answer_due),
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
                due_at=as_deadline(escalated.decision_due),
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


def work_conversation() -> ConversationHandler[Any]:
    return dialogue(
        "consumer_work",
        entry_points=[
            CallbackQueryHandler(begin_judgement, pattern=JudgeConsumerComplaint.pattern()),
            CallbackQueryHandler(begin_decision, pattern=DecideConsumerComplaint.pattern()),
            CallbackQueryHandler(begin_answer, pattern=AnswerConsumerComplaint.pattern()),
        ],
        states={
            VERDICT: states.pressing((choose_verdict, ChooseConsumerVerdict)),
            CAUSE: states.pressing((choose_cause, ChooseConsumerCause)),
            REMEDY: states.pressing((choose_remedy, ChooseConsumerRemedy)),
            ANSWER: states.typing(enter_words),
        },
        cancel=cancel,
    )


@for_command("mycomplaints")
async def my_complaints(update: Update, context: BotContext) -> None:
    """A consumer's own complaints: the number, when it was received, the product, where it
    stands, and the answer given."""
    member = member_of(context)
    async with context.session() as session:
        own = await queries.complaints_of_consumer(session, member.user_id)
    if not own:
        await context.reply(update, "mycomplaints.empty")
        return
    lines = [context.text("mycomplaints.header")]
    for complaint in own:
        lines.append(
            context.text(
                "mycomplaints.line",
                number=complaint.number,
                received_at=complaint.received_at,
                product=complaint.product.name if complaint.product else complaint.product_text,
                status=as_text(f"consumer.status.{complaint.status}"),
            )
        )
        if complaint.answer and complaint.answered_at:
            lines.append(
                context.text(
                    "mycomplaints.answer", answer=complaint.answer, at=complaint.answered_at
                )
            )
    await message_of(update).reply_text(fit_message("\n".join(lines)))


# --- the monthly summary's buttons: the after-sales head's proposals and hand-over ----------

PROPOSALS_KEY = "consumer_proposals"
PROPOSING = StaffDialogue(PROPOSALS_KEY)


async def begin_proposals(update: Update, context: BotContext) -> int:
    """Checks the after-sales head may write the month's proposals; asks for them."""
    query = query_of(update)
    period = pressed(update, ProposeImprovements).period
    async with context.session() as session:
        await monthly.review_for_proposals(session, await context.actor(session), period)
    await query.answer()
    await PROPOSING.begin(update, context, period=period)
    await context.reply(update, "consumer.ask_proposals", period=period)
    return PROPOSALS


@PROPOSING.step
async def enter_proposals(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the proposals; the next month's summary shows them."""
    period = state["period"]
    async with context.unit_of_work() as uow:
        actor = await context.actor(uow.session)
        await monthly.record_proposals(uow, actor, period, text_of(update))
    await PROPOSING.end(update, context)
    await context.reply(update, "consumer.proposals_recorded", period=period)
    return ConversationHandler.END


async def forward_summary(update: Update, context: BotContext) -> None:
    """The after-sales head passes the month's summary on to the business head."""
    query = query_of(update)
    period = pressed(update, ForwardSummary).period
    async with context.unit_of_work() as uow:
        await monthly.forward_summary(uow, await context.actor(uow.session), period)
    await query.answer()
    await context.reply(update, "consumer.summary_forwarded_reply", period=period)


def proposals_conversation() -> ConversationHandler[Any]:
    return dialogue(
        "consumer_proposals",
        entry_points=[CallbackQueryHandler(begin_proposals, pattern=ProposeImprovements.pattern())],
        states={PROPOSALS: states.typing(enter_proposals)},
        cancel=cancelling(PROPOSING),
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(intake_conversation())
    application.add_handler(work_conversation())
    application.add_handler(proposals_conversation())
    application.add_handler(CallbackQueryHandler(forward_summary, pattern=ForwardSummary.pattern()))
    application.add_handler(CommandHandler("mycomplaints", my_complaints))
