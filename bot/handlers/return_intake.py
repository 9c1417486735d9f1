"""/return (customers) and /return_for (after-sales, for a request taken by phone): the
return or exchange request (調退貨明細表), line by line, then one submit. /return RT-… shows
one return instead (return_record)."""

from __future__ import annotations

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
from procedures.consumer_complaints import handling
from procedures.consumer_complaints.actions import StartConsumerReturn
from procedures.kernel.outbox import as_text, button
from procedures.masterdata.queries import customer_organisations, shipped_products
from procedures.returns import intake
from procedures.returns.actions import (
    AddReturnLine,
    CancelReturn,
    ChooseReturnBatch,
    ChooseReturnOrganisation,
    ChooseReturnProduct,
    ChooseReturnReason,
    FinishReturnLines,
    SubmitReturn,
)
from procedures.returns.intake import ReturnDraft
from storage.models import Batch, Organisation, Product

from .. import label_photos
from ..access import for_command
from ..context import BotContext, edit_query_message
from ..conversations import DialogueDraft, dialogue, use_buttons
from . import return_record

ORGANISATION, REASON, PRODUCT, BATCH, QUANTITY, MORE, CONFIRM = range(20, 27)
DRAFT_KEY = "return_intake"
CONSUMER_KEY = "return_for_consumer"  # the consumer complaint, until the organisation is chosen
TEXT = filters.TEXT & ~filters.COMMAND
IMAGE = filters.PHOTO | filters.Document.IMAGE
REASONS = ("unsalable", "quality")


DRAFTS = DialogueDraft(
    DRAFT_KEY, ReturnDraft.from_json, "return_form.expired", "return_form.cancelled"
)
_begin, _draft, _save, _expired = DRAFTS.begin, DRAFTS.get, DRAFTS.save, DRAFTS.expired


@for_command("return")
async def start_return(update: Update, context: BotContext) -> int | None:
    """With a number: shows that return. Without: a customer starts a request; asks the reason."""
    if context.args:
        await return_record.show_return(update, context)
        return ConversationHandler.END
    member = context.member
    assert member is not None
    if "customer" not in member.roles:
        await context.reply(update, "return_form.usage_staff")
        return ConversationHandler.END
    if member.organisation_id is None:
        await context.reply(update, "common.not_linked")
        return ConversationHandler.END
    _begin(context, ReturnDraft(organisation_id=member.organisation_id))
    return await _ask_reason(update, context)


@for_command("return_for")
async def start_return_for(update: Update, context: BotContext) -> int:
    """After-sales files for a customer; asks which organisation."""
    context.user_data.pop(CONSUMER_KEY, None)
    return await _ask_organisation(update, context)


async def start_consumer_return(update: Update, context: BotContext) -> int:
    """After-sales files the return that takes a consumer complaint's goods back (4.3.3);
    asks which customer (the shop) takes them."""
    pressed = StartConsumerReturn.unpack(update.callback_query.data)  # type: ignore[union-attr]
    async with context.session() as session:
        actor = await context.actor(session)
        complaint = await handling.complaint_for_return(session, actor, pressed.complaint_id)
    await update.callback_query.answer()  # type: ignore[union-attr]
    context.user_data[CONSUMER_KEY] = complaint.id
    return await _ask_organisation(update, context)


async def _ask_organisation(update: Update, context: BotContext) -> int:
    async with context.session() as session:
        organisations = await customer_organisations(session)
    buttons = [
        [
            button(
                "common.organisation",
                ChooseReturnOrganisation(organisation_id=o.id),
                code=o.code,
                name=o.name,
            )
        ]
        for o in organisations
    ]
    context.user_data.pop(DRAFT_KEY, None)
    await context.reply(update, "return_form.ask_organisation", buttons=buttons)
    return ORGANISATION


async def choose_organisation(update: Update, context: BotContext) -> int:
    """Stores the organisation; asks the reason."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    organisation_id = ChooseReturnOrganisation.unpack(query.data).organisation_id
    consumer_complaint_id = context.user_data.pop(CONSUMER_KEY, None)
    _begin(
        context,
        ReturnDraft(organisation_id, channel="phone", consumer_complaint_id=consumer_complaint_id),
    )
    return await _ask_reason(update, context)


async def _ask_reason(update: Update, context: BotContext) -> int:
    buttons = [[button(f"return.reason.{r}", ChooseReturnReason(reason=r)) for r in REASONS]]
    await context.reply(update, "return_form.ask_reason", buttons=buttons)
    return REASON


async def choose_reason(update: Update, context: BotContext) -> int:
    """Stores the reason; asks for the first line's product."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    draft.reason = ChooseReturnReason.unpack(query.data).reason
    _save(context, draft)
    return await _ask_product(update, context, draft)


async def _ask_product(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    async with context.session() as session:
        products = await shipped_products(session, draft.organisation_id)
    if not products:
        context.user_data.pop(DRAFT_KEY, None)
        await context.reply(update, "return_form.no_products")
        return ConversationHandler.END
    buttons = [
        [
            button(
                "return_form.product",
                ChooseReturnProduct(product_id=p.id),
                code=p.code,
                name=p.name,
            )
        ]
        for p in products
    ]
    question = context.text("return_form.ask_product")
    await context.reply(update, "label.with_hint", question=question, buttons=buttons)
    return PRODUCT


async def choose_product(update: Update, context: BotContext) -> int:
    """Stores the product for this line; asks for the lot among those shipped of it."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    return await _ask_batch(
        update, context, draft, ChooseReturnProduct.unpack(query.data).product_id
    )


async def _ask_batch(
    update: Update, context: BotContext, draft: ReturnDraft, product_id: int
) -> int:
    async with context.session() as session:
        batches = await intake.returnable_batches(session, draft.organisation_id, product_id)
    if not batches:
        await context.reply(update, "error.stale_button")
        return PRODUCT
    _save(context, draft, product_id=product_id)
    buttons = [
        [button("return_form.lot", ChooseReturnBatch(batch_id=b.id), lot=b.lot_number)]
        for b in batches
    ]
    await context.reply(update, "return_form.ask_batch", buttons=buttons)
    return BATCH


async def type_goods(update: Update, context: BotContext) -> int:
    """A product code or name, or a lot, typed (among what was shipped to the organisation):
    asks for the lot, or the quantity."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    async with context.session() as session:
        product, batch = await intake.typed_goods(
            session,
            draft.organisation_id,
            update.effective_message.text,  # type: ignore[union-attr]
            product_id=context.user_data[DRAFT_KEY].get("product_id"),
        )
    if batch is not None:
        return await _ask_quantity(update, context, draft, batch.id)
    assert product is not None
    return await _ask_batch(update, context, draft, product.id)


async def choose_batch(update: Update, context: BotContext) -> int:
    """Stores the lot; asks the quantity, saying how much may still be returned."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    return await _ask_quantity(
        update, context, draft, ChooseReturnBatch.unpack(query.data).batch_id
    )


def _line_step(context: BotContext) -> int:
    """Where a label photo leaves the line: at its product, or at its lot once one is chosen."""
    return BATCH if context.user_data[DRAFT_KEY].get("product_id") else PRODUCT


async def scan_label(update: Update, context: BotContext) -> int:
    """Reads a photo of the label: offers its product and lot (shipped to the organisation)
    with one button, or says what was read and what is wrong; the line's step stays."""
    return await label_photos.label_step(
        update,
        context,
        DRAFTS,
        buyer=lambda draft: draft.organisation_id,
        step=lambda _: _line_step(context),
    )


async def use_label(update: Update, context: BotContext) -> int:
    """Takes the lot of the scanned label for this line; asks the quantity."""
    await update.callback_query.answer()  # type: ignore[union-attr]
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    batch = await label_photos.take_label(update, context, draft.label, buyer=draft.organisation_id)
    if batch is None:
        return _line_step(context)
    return await _ask_quantity(update, context, draft, batch.id)


async def _ask_quantity(
    update: Update, context: BotContext, draft: ReturnDraft, batch_id: int
) -> int:
    async with context.session() as session:
        left = await intake.returnable_quantity(session, draft, batch_id)
    _save(context, draft, batch_id=batch_id)
    await context.reply(update, "return_form.ask_quantity", left=max(left, 0))
    return QUANTITY


async def enter_quantity(update: Update, context: BotContext) -> int:
    """Adds the line, priced from the shipment; offers another line or Done."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    batch_id = context.user_data[DRAFT_KEY].get("batch_id")
    async with context.session() as session:
        quantity = await intake.check_line(
            session,
            draft,
            batch_id,
            update.effective_message.text,  # type: ignore[union-attr]
        )
        amount = await intake.line_amount(session, draft.organisation_id, batch_id, quantity)
        batch = await session.get(Batch, batch_id)
        product = await session.get(Product, batch.product_id) if batch else None
    draft.lines.append({"batch_id": batch_id, "quantity": quantity, "label": draft.label})
    draft.label = None
    _save(context, draft, batch_id=None, product_id=None)
    assert batch is not None and product is not None
    await context.reply(
        update,
        "return_form.line_added",
        buttons=[
            [
                button("return_form.more", AddReturnLine()),
                button("common.button.done", FinishReturnLines()),
            ]
        ],
        product=product.name,
        lot=batch.lot_number,
        quantity=quantity,
        amount=f"{amount:.2f}",
        lines=len(draft.lines),
    )
    return MORE


async def add_line(update: Update, context: BotContext) -> int:
    """Asks for the next line's product."""
    await update.callback_query.answer()  # type: ignore[union-attr]
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    if len(draft.lines) >= intake.MAX_LINES:
        await context.reply(update, "return.too_many_lines", limit=intake.MAX_LINES)
        return MORE
    return await _ask_product(update, context, draft)


async def finish_lines(update: Update, context: BotContext) -> int:
    """Shows the summary with submit and cancel."""
    await update.callback_query.answer()  # type: ignore[union-attr]
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    lines, total_quantity, total_amount = [], 0, 0
    async with context.session() as session:
        organisation = await session.get(Organisation, draft.organisation_id)
        for line in draft.lines:
            batch = await session.get(Batch, line["batch_id"])
            assert batch is not None
            product = await session.get(Product, batch.product_id)
            amount = await intake.line_amount(
                session, draft.organisation_id, batch.id, line["quantity"]
            )
            total_quantity += line["quantity"]
            total_amount += amount
            lines.append(
                context.text(
                    "return.line",
                    product=product.name if product else "",
                    lot=batch.lot_number,
                    quantity=line["quantity"],
                    amount=f"{amount:.2f}",
                )
            )
    assert organisation is not None
    await context.reply(
        update,
        "return_form.summary",
        buttons=[
            [
                button("return_form.submit", SubmitReturn()),
                button("return_form.cancel", CancelReturn()),
            ]
        ],
        organisation=organisation.name,
        reason=as_text(f"return.reason.{draft.reason}"),
        lines="\n".join(lines),
        quantity=total_quantity,
        amount=f"{total_amount:.2f}",
    )
    return CONFIRM


async def submit(update: Update, context: BotContext) -> int:
    """Files the request; answers with its number and, for an exchange, the ratio check."""
    query = update.callback_query
    assert query is not None
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    async with context.unit_of_work() as uow:
        filed = await intake.file_return(
            uow,
            await context.actor(uow.session),
            draft,
            timezone=context.services.settings.timezone,
        )
    await query.answer()
    context.user_data.pop(DRAFT_KEY, None)
    request = filed.request
    if filed.check is None:
        next_step = context.text("return_form.next_quality")
    elif filed.check.inside:
        next_step = context.text("return_form.next_inside", **filed.check.as_params())
    else:
        next_step = context.text(
            "return_form.next_outside",
            refusal=as_text(f"return.refusal.{filed.check.refusal}", **filed.check.as_params()),
        )
    await edit_query_message(
        update,
        context.text(
            "return_form.filed",
            number=request.number,
            quantity=request.total_quantity,
            amount=f"{request.total_amount:.2f}",
            linked=as_text("return_form.linked", number=filed.consumer_complaint)
            if filed.consumer_complaint
            else "",
            next_step=next_step,
        ),
    )
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """Drops the draft (button or /cancel)."""
    return await DRAFTS.cancel(update, context, CONSUMER_KEY)


def conversation() -> ConversationHandler:  # type: ignore[type-arg]
    return dialogue(
        "return_intake",
        entry_points=[
            CommandHandler("return", start_return),
            CommandHandler("return_for", start_return_for),
            CallbackQueryHandler(start_consumer_return, pattern=StartConsumerReturn.pattern()),
        ],
        states={
            ORGANISATION: [
                CallbackQueryHandler(
                    choose_organisation, pattern=ChooseReturnOrganisation.pattern()
                ),
                MessageHandler(TEXT, use_buttons),
            ],
            REASON: [
                CallbackQueryHandler(choose_reason, pattern=ChooseReturnReason.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            PRODUCT: [
                CallbackQueryHandler(choose_product, pattern=ChooseReturnProduct.pattern()),
                MessageHandler(TEXT, type_goods),
                MessageHandler(IMAGE, scan_label),
                CallbackQueryHandler(use_label, pattern=UseLabel.pattern()),
            ],
            BATCH: [
                CallbackQueryHandler(choose_batch, pattern=ChooseReturnBatch.pattern()),
                MessageHandler(TEXT, type_goods),
                MessageHandler(IMAGE, scan_label),
                CallbackQueryHandler(use_label, pattern=UseLabel.pattern()),
            ],
            QUANTITY: [MessageHandler(TEXT, enter_quantity)],
            MORE: [
                CallbackQueryHandler(add_line, pattern=AddReturnLine.pattern()),
                CallbackQueryHandler(finish_lines, pattern=FinishReturnLines.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            CONFIRM: [
                CallbackQueryHandler(submit, pattern=SubmitReturn.pattern()),
                CallbackQueryHandler(cancel, pattern=CancelReturn.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
        },
        cancel=cancel,
    )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(conversation())
