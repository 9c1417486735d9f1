"""/complain (customers) and /complain_for (staff, for a complaint by phone, e-mail, letter or
visit): the intake dialogue of a quality complaint, step by step, then one submit."""

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

from procedures.complaints import intake
from procedures.complaints.actions import (
    CancelComplaint,
    ChooseBatch,
    ChooseChannel,
    ChooseOrganisation,
    ChooseProduct,
    ComplaintPhotosDone,
    SubmitComplaint,
    UseLabel,
)
from procedures.complaints.intake import ComplaintDraft
from procedures.kernel import quantities
from procedures.kernel.outbox import as_text, button
from procedures.masterdata import queries as masterdata_queries
from storage.models import Batch, Organisation, Product

from .. import label_photos
from ..access import for_command
from ..context import BotContext, edit_query_message
from ..conversations import EVIDENCE, DialogueDraft, dialogue, keep_photo, use_buttons

ORGANISATION, CHANNEL, COMPLAINANT, PRODUCT, BATCH, QUANTITY, DESCRIPTION, PHOTOS, CONFIRM = range(
    9
)
DRAFT_KEY = "complaint_intake"
TEXT = filters.TEXT & ~filters.COMMAND
IMAGE = filters.PHOTO | filters.Document.IMAGE


# --- the draft between steps -----------------------------------------------------------------


DRAFTS = DialogueDraft(
    DRAFT_KEY, ComplaintDraft.from_json, "complain.expired", "complain.cancelled"
)
_begin, _draft, _save, _expired = DRAFTS.begin, DRAFTS.get, DRAFTS.save, DRAFTS.expired


# --- entry points ----------------------------------------------------------------------------


@for_command("complain")
async def start_complaint(update: Update, context: BotContext) -> int | None:
    """A customer starts a complaint for their own organisation; asks for the product."""
    member = context.member
    assert member is not None
    if member.organisation_id is None:
        await context.reply(update, "common.not_linked")
        return ConversationHandler.END
    draft = ComplaintDraft(
        organisation_id=member.organisation_id, complainant_name=member.full_name
    )
    _begin(context, draft)
    return await _ask_product(update, context, draft)


@for_command("complain_for")
async def start_complaint_for(update: Update, context: BotContext) -> int | None:
    """Staff file for a customer; asks which organisation."""
    async with context.session() as session:
        organisations = await masterdata_queries.customer_organisations(session)
    buttons = [
        [
            button(
                "common.organisation",
                ChooseOrganisation(organisation_id=o.id),
                code=o.code,
                name=o.name,
            )
        ]
        for o in organisations
    ]
    context.user_data[DRAFT_KEY] = None
    await context.reply(update, "complain.ask_organisation", buttons=buttons)
    return ORGANISATION


async def choose_organisation(update: Update, context: BotContext) -> int:
    """Stores the organisation; asks for the channel."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    organisation_id = ChooseOrganisation.unpack(query.data).organisation_id
    _begin(context, ComplaintDraft(organisation_id=organisation_id, channel="phone"))
    buttons = [
        [button(f"complaint.channel.{c}", ChooseChannel(channel=c)) for c in intake.CHANNELS]
    ]
    await edit_query_message(
        update, context.text("complain.ask_channel"), context.keyboard(buttons)
    )
    return CHANNEL


async def choose_channel(update: Update, context: BotContext) -> int:
    """Stores the channel; asks who complained."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    draft.channel = ChooseChannel.unpack(query.data).channel
    _save(context, draft)
    await edit_query_message(update, context.text("complain.ask_complainant"))
    return COMPLAINANT


async def enter_complainant(update: Update, context: BotContext) -> int:
    """Stores the complainant's name and contact; asks for the product."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    name, contact = intake.check_complainant(update.effective_message.text)  # type: ignore[union-attr]
    draft.complainant_name, draft.complainant_contact = name, contact
    _save(context, draft)
    return await _ask_product(update, context, draft)


# --- product, lot, quantity, description -----------------------------------------------------


def _by_staff(draft: ComplaintDraft) -> bool:
    return draft.channel != "chat"


async def _ask_product(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    async with context.session() as session:
        products = await masterdata_queries.shipped_products(session, draft.organisation_id)
    if not products and not _by_staff(draft):
        context.user_data.pop(DRAFT_KEY, None)
        await context.reply(update, "complain.no_products")
        return ConversationHandler.END
    buttons = [
        [button("complain.product", ChooseProduct(product_id=p.id), code=p.code, name=p.name)]
        for p in products
    ]
    question = "complain.ask_product_staff" if _by_staff(draft) else "complain.ask_product"
    await context.reply(update, "label.with_hint", question=context.text(question), buttons=buttons)
    return PRODUCT


async def choose_product(update: Update, context: BotContext) -> int:
    """Stores the product pressed; asks for the lot."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    product_id = ChooseProduct.unpack(query.data).product_id
    async with context.session() as session:
        shipped = {
            p.id for p in await masterdata_queries.shipped_products(session, draft.organisation_id)
        }
    if product_id not in shipped:  # a forged button
        await context.reply(update, "error.stale_button")
        return PRODUCT
    draft.product_id = product_id
    return await _ask_batch(update, context, draft)


async def type_product(update: Update, context: BotContext) -> int:
    """Finds the product by the code or name typed (staff: in the whole master data, else
    kept as typed); asks for the lot."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    typed = update.effective_message.text  # type: ignore[union-attr]
    async with context.session() as session:
        if _by_staff(draft):
            product = await masterdata_queries.find_product(session, typed)
        else:
            product = await masterdata_queries.find_shipped_product(
                session, draft.organisation_id, typed
            )
    if product is None:
        draft.product_text = intake.check_product_text(typed)
    else:
        draft.product_id = product.id
    return await _ask_batch(update, context, draft)


def _goods_step(draft: ComplaintDraft) -> int:
    """The step a label photo came in at: the product's, or the lot's once a product is set."""
    return PRODUCT if draft.product_id is None and draft.product_text is None else BATCH


def _buyer(draft: ComplaintDraft) -> int | None:
    """Whose shipments a scanned lot must be among: the customer's; staff file any lot."""
    return None if _by_staff(draft) else draft.organisation_id


async def scan_label(update: Update, context: BotContext) -> int:
    """Reads a photo of the label: offers its product and lot with one button, or says what
    was read and what is wrong. The draft keeps the label; the step stays as it was."""
    return await label_photos.label_step(update, context, DRAFTS, buyer=_buyer, step=_goods_step)


async def use_label(update: Update, context: BotContext) -> int:
    """Takes the product and lot of the scanned label; asks for the quantity."""
    await update.callback_query.answer()  # type: ignore[union-attr]
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    batch = await label_photos.take_label(update, context, draft.label, buyer=_buyer(draft))
    if batch is None:
        return _goods_step(draft)
    draft.product_id, draft.product_text = batch.product_id, None
    draft.batch_id, draft.lot_text = batch.id, None
    _save(context, draft)
    async with context.session() as session:
        unit = await masterdata_queries.product_unit(session, product_id=draft.product_id)
    await context.reply(update, "complain.ask_quantity", unit=quantities.quantity_unit(unit))
    return QUANTITY


async def _ask_batch(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    _save(context, draft)
    if draft.product_id is None:  # a product the master data does not know: its lot is typed
        await context.reply(update, "complain.ask_batch_typed", product=draft.product_text)
        return BATCH
    async with context.session() as session:
        batches = await masterdata_queries.shipped_batches(
            session, draft.organisation_id, draft.product_id
        )
    buttons = [
        [button("complain.lot", ChooseBatch(batch_id=b.id), lot=b.lot_number)] for b in batches
    ]
    await context.reply(update, "complain.ask_batch", buttons=buttons)
    return BATCH


async def choose_batch(update: Update, context: BotContext) -> int:
    """Stores the lot pressed; asks for the quantity."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    assert draft.product_id is not None
    async with context.session() as session:
        batches = await masterdata_queries.shipped_batches(
            session, draft.organisation_id, draft.product_id
        )
    batch_id = ChooseBatch.unpack(query.data).batch_id
    if batch_id not in {b.id for b in batches}:
        await context.reply(update, "error.stale_button")
        return BATCH
    draft.batch_id = batch_id
    _save(context, draft)
    async with context.session() as session:
        unit = await masterdata_queries.product_unit(session, product_id=draft.product_id)
    await context.reply(update, "complain.ask_quantity", unit=quantities.quantity_unit(unit))
    return QUANTITY


async def type_batch(update: Update, context: BotContext) -> int:
    """A customer's typed lot must have been shipped to them; staff's is found in the master
    data or kept as typed. Asks for the quantity."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    typed = update.effective_message.text  # type: ignore[union-attr]
    async with context.session() as session:
        if not _by_staff(draft):
            assert draft.product_id is not None
            batch = await masterdata_queries.find_shipped_batch(
                session, draft.organisation_id, draft.product_id, typed
            )
        elif draft.product_id is not None:
            batch = await masterdata_queries.find_batch(session, draft.product_id, typed)
        else:
            batch = None
    if batch is None:
        draft.lot_text = intake.check_lot_text(typed)
    else:
        draft.batch_id = batch.id
    _save(context, draft)
    async with context.session() as session:
        unit = await masterdata_queries.product_unit(session, product_id=draft.product_id)
    await context.reply(update, "complain.ask_quantity", unit=quantities.quantity_unit(unit))
    return QUANTITY


async def enter_quantity(update: Update, context: BotContext) -> int:
    """Stores a positive quantity no larger than was shipped; asks what is wrong."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    async with context.session() as session:
        draft.quantity = await intake.parse_draft_quantity(
            session,
            draft,
            update.effective_message.text,  # type: ignore[union-attr]
        )
    _save(context, draft)
    await context.reply(update, "complain.ask_description")
    return DESCRIPTION


async def enter_description(update: Update, context: BotContext) -> int:
    """Stores the description; asks for photos."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    draft.description = intake.check_description(update.effective_message.text)  # type: ignore[union-attr]
    _save(context, draft)
    buttons = [
        [
            button("common.button.done", ComplaintPhotosDone()),
            button("common.button.skip", ComplaintPhotosDone()),
        ]
    ]
    await context.reply(update, "complain.ask_photos", buttons=buttons)
    return PHOTOS


# --- photos and confirmation -----------------------------------------------------------------


async def add_photo(update: Update, context: BotContext) -> int:
    """Keeps the photo; an album (several photos at once) is acknowledged once."""
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    await keep_photo(
        update, context, draft.photo_file_ids, context.user_data[DRAFT_KEY], ComplaintPhotosDone()
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
    await context.reply(
        update,
        "complain.summary",
        buttons=[
            [
                button("complain.submit", SubmitComplaint()),
                button("complain.cancel", CancelComplaint()),
            ]
        ],
        **await _summary(context, draft),
    )
    return CONFIRM


async def _summary(context: BotContext, draft: ComplaintDraft) -> dict[str, Any]:
    async with context.session() as session:
        organisation = await session.get(Organisation, draft.organisation_id)
        product = await session.get(Product, draft.product_id) if draft.product_id else None
        batch = await session.get(Batch, draft.batch_id) if draft.batch_id else None
    assert organisation
    return {
        "organisation": organisation.name,
        "product": product.name if product else draft.product_text,
        "lot": batch.lot_number if batch else draft.lot_text,
        "quantity": draft.quantity,
        "description": draft.description,
        "photos": len(draft.photo_file_ids),
        "channel": as_text(f"complaint.channel.{draft.channel}"),
    }


async def submit(update: Update, context: BotContext) -> int:
    """Files the complaint; answers with its number and the deadlines now running."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = _draft(context)
    if draft is None:
        return await _expired(update, context)
    async with context.unit_of_work() as uow:
        filed = await intake.file_complaint(uow, await context.actor(uow.session), draft)
    context.user_data.pop(DRAFT_KEY, None)
    complaint = filed.complaint
    await edit_query_message(
        update,
        context.text(
            "complaint.filed",
            number=complaint.number,
            product=complaint.product_label,
            lot=complaint.lot_label,
            quantity=complaint.quantity,
            verify_due=filed.verify_due,
            opinion_due=filed.opinion_due,
            shipment_note=""
            if complaint.shipment_on_file
            else as_text("complaint.note.shipment_not_on_file"),
        ),
    )
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """Drops the draft (button or /cancel)."""
    return await DRAFTS.cancel(update, context)


def conversation() -> ConversationHandler:  # type: ignore[type-arg]
    return dialogue(
        "complaint_intake",
        entry_points=[
            CommandHandler("complain", start_complaint),
            CommandHandler("complain_for", start_complaint_for),
        ],
        states={
            ORGANISATION: [
                CallbackQueryHandler(choose_organisation, pattern=ChooseOrganisation.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            CHANNEL: [
                CallbackQueryHandler(choose_channel, pattern=ChooseChannel.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            COMPLAINANT: [MessageHandler(TEXT, enter_complainant)],
            PRODUCT: [
                CallbackQueryHandler(choose_product, pattern=ChooseProduct.pattern()),
                MessageHandler(TEXT, type_product),
                MessageHandler(IMAGE, scan_label),
                CallbackQueryHandler(use_label, pattern=UseLabel.pattern()),
            ],
            BATCH: [
                CallbackQueryHandler(choose_batch, pattern=ChooseBatch.pattern()),
                MessageHandler(TEXT, type_batch),
                MessageHandler(IMAGE, scan_label),
                CallbackQueryHandler(use_label, pattern=UseLabel.pattern()),
            ],
            QUANTITY: [MessageHandler(TEXT, enter_quantity)],
            DESCRIPTION: [MessageHandler(TEXT, enter_description)],
            PHOTOS: [
                MessageHandler(EVIDENCE, add_photo),
                CallbackQueryHandler(photos_done, pattern=ComplaintPhotosDone.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            CONFIRM: [
                CallbackQueryHandler(submit, pattern=SubmitComplaint.pattern()),
                CallbackQueryHandler(cancel, pattern=CancelComplaint.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
        },
        cancel=cancel,
    )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(conversation())
