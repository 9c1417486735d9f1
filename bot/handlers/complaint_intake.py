"""/complain (customers) and /complain_for (staff, for a complaint, inquiry or feedback by
phone, e-mail, letter or visit, with the time it was received): the intake dialogue of a quality
complaint, step by step, then one submit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ConversationHandler

from procedures.complaints import intake, queries
from procedures.complaints.actions import (
    CancelComplaint,
    ChooseBatch,
    ChooseChannel,
    ChooseKind,
    ChooseOrganisation,
    ChooseProduct,
    ComplaintPhotosDone,
    ReceivedNow,
    SubmitComplaint,
)
from procedures.complaints.intake import ComplaintDraft
from procedures.kernel import quantities
from procedures.kernel.outbox import as_deadline, as_text, button
from procedures.kernel.quantities import as_quantity
from procedures.kernel.received import parse_received_at
from procedures.masterdata import queries as masterdata_queries

from .. import label_photos
from ..access import for_command
from ..context import BotContext, edit_query_message
from ..conversations import dialogue
from ..dialogue import keyboards, states
from ..dialogue.steps import Intake, option_rows, wrong_button
from ..dialogue.updates import member_of, pressed, query_of, text_of

(
    ORGANISATION,
    KIND,
    CHANNEL,
    RECEIVED,
    COMPLAINANT,
    PRODUCT,
    BATCH,
    QUANTITY,
    DESCRIPTION,
    PHOTOS,
    CONFIRM,
) = range(11)
DRAFT_KEY = "complaint_intake"

DRAFTS = Intake(DRAFT_KEY, ComplaintDraft.from_json, "complain.expired", "complain.cancelled")
step = DRAFTS.step


# --- entry points ----------------------------------------------------------------------------


@for_command("complain")
async def start_complaint(update: Update, context: BotContext) -> int | None:
    """A customer starts a complaint for their own organisation; asks for the product."""
    member = member_of(context)
    if member.organisation_id is None:
        await context.reply(update, "common.not_linked")
        return ConversationHandler.END
    draft = ComplaintDraft(
        organisation_id=member.organisation_id, complainant_name=member.full_name
    )
    DRAFTS.begin(context, draft)
    return await _ask_product(update, context, draft)


@for_command("complain_for")
async def start_complaint_for(update: Update, context: BotContext) -> int | None:
    """Staff file for a customer; asks which organisation."""
    async with context.session() as session:
        organisations = await masterdata_queries.customer_organisations(session)
    buttons = option_rows(
        "common.organisation",
        (
            (ChooseOrganisation(organisation_id=o.id), {"code": o.code, "name": o.name})
            for o in organisations
        ),
    )
    context.user_data[DRAFT_KEY] = None
    await context.reply(update, "complain.ask_organisation", buttons=buttons)
    return ORGANISATION


async def choose_organisation(update: Update, context: BotContext) -> int:
    """Stores the organisation; asks whether it is a complaint or an inquiry (in place)."""
    await query_of(update).answer()
    organisation_id = pressed(update, ChooseOrganisation).organisation_id
    DRAFTS.begin(context, ComplaintDraft(organisation_id=organisation_id, channel="phone"))
    buttons = [[button(intake.KIND_NAMES[k], ChooseKind(kind=k))] for k in intake.KINDS]
    await edit_query_message(update, context.text("complain.ask_kind"), context.keyboard(buttons))
    return KIND


@step
async def choose_kind(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """Stores the kind; asks for the channel (in place of the kinds)."""
    draft.kind = pressed(update, ChooseKind).kind
    DRAFTS.save(context, draft)
    buttons = [
        [button(f"complaint.channel.{c}", ChooseChannel(channel=c)) for c in intake.CHANNELS]
    ]
    await edit_query_message(
        update, context.text("complain.ask_channel"), context.keyboard(buttons)
    )
    return CHANNEL


@step
async def choose_channel(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """Stores the channel; asks when it was received (in place of the channels)."""
    draft.channel = pressed(update, ChooseChannel).channel
    DRAFTS.save(context, draft)
    await edit_query_message(
        update,
        context.text("complain.ask_received", now=context.now()),
        context.keyboard([[button("complain.received_now", ReceivedNow())]]),
    )
    # a typed time answers it too: then the next question takes this keyboard away
    message = query_of(update).message
    keyboards.keep(DRAFTS.scratch(context), message.message_id if message else None)
    return RECEIVED


@step
async def enter_received(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """Stores the time it was received, as typed; asks who complained."""
    received = parse_received_at(
        text_of(update), context.now(), context.services.settings.timezone, intake.RECEIVED_TEXTS
    )
    draft.received_at = received.isoformat()
    DRAFTS.save(context, draft)
    await DRAFTS.ask(update, context, "complain.ask_complainant")
    return COMPLAINANT


@step
async def received_now(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """It was received just now: the clocks start at filing; asks who complained."""
    draft.received_at = None
    DRAFTS.save(context, draft)
    await DRAFTS.answered(update, context, context.text("complain.ask_complainant"))
    return COMPLAINANT


@step
async def enter_complainant(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """Stores the complainant's name and contact; asks for the product."""
    draft.complainant_name, draft.complainant_contact = intake.check_complainant(text_of(update))
    DRAFTS.save(context, draft)
    return await _ask_product(update, context, draft)


# --- product, lot, quantity, description -----------------------------------------------------


def _by_staff(draft: ComplaintDraft) -> bool:
    return draft.channel != "chat"


async def _ask_product(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    async with context.session() as session:
        products = await masterdata_queries.shipped_products(session, draft.organisation_id)
    if not products and not _by_staff(draft):
        return await DRAFTS.drop(update, context, "complain.no_products")
    buttons = option_rows(
        "complain.product",
        ((ChooseProduct(product_id=p.id), {"code": p.code, "name": p.name}) for p in products),
    )
    question = "complain.ask_product_staff" if _by_staff(draft) else "complain.ask_product"
    await DRAFTS.ask(
        update, context, "label.with_hint", question=context.text(question), buttons=buttons
    )
    return PRODUCT


@step
async def choose_product(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """Stores the product pressed; asks for the lot."""
    product_id = pressed(update, ChooseProduct).product_id
    async with context.session() as session:
        shipped = {
            p.id for p in await masterdata_queries.shipped_products(session, draft.organisation_id)
        }
    if product_id not in shipped:  # a forged button
        return await wrong_button(update, context, PRODUCT)
    draft.product_id = product_id
    return await _ask_batch(update, context, draft)


@step
async def type_product(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """Finds the product by the code or name typed (staff: in the whole master data, else
    kept as typed); asks for the lot."""
    typed = text_of(update)
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


@step
async def use_label(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """Takes the product and lot of the scanned label; asks for the quantity."""
    batch = await label_photos.take_label(update, context, draft.label, buyer=_buyer(draft))
    if batch is None:
        return _goods_step(draft)
    draft.product_id, draft.product_text = batch.product_id, None
    draft.batch_id, draft.lot_text = batch.id, None
    return await _ask_quantity(update, context, draft)


async def _ask_batch(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    DRAFTS.save(context, draft)
    if draft.product_id is None:  # a product the master data does not know: its lot is typed
        await DRAFTS.ask(update, context, "complain.ask_batch_typed", product=draft.product_text)
        return BATCH
    async with context.session() as session:
        batches = await masterdata_queries.shipped_batches(
            session, draft.organisation_id, draft.product_id
        )
    buttons = option_rows(
        "complain.lot", ((ChooseBatch(batch_id=b.id), {"lot": b.lot_number}) for b in batches)
    )
    await DRAFTS.ask(update, context, "complain.ask_batch", buttons=buttons)
    return BATCH


@step
async def choose_batch(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """Stores the lot pressed; asks for the quantity."""
    if draft.product_id is None:  # a lot button where the product was typed
        return await wrong_button(update, context, BATCH)
    async with context.session() as session:
        batches = await masterdata_queries.shipped_batches(
            session, draft.organisation_id, draft.product_id
        )
    batch_id = pressed(update, ChooseBatch).batch_id
    if batch_id not in {b.id for b in batches}:
        return await wrong_button(update, context, BATCH)
    draft.batch_id = batch_id
    return await _ask_quantity(update, context, draft)


@step
async def type_batch(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """A customer's typed lot must have been shipped to them; staff's is found in the master
    data or kept as typed. Asks for the quantity."""
    typed = text_of(update)
    batch: masterdata_queries.Batch | None
    async with context.session() as session:
        if not _by_staff(draft):
            assert draft.product_id is not None  # a customer chooses among shipped products
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
    return await _ask_quantity(update, context, draft)


async def _ask_quantity(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """A number with its unit: the product's, named in the question."""
    DRAFTS.save(context, draft)
    async with context.session() as session:
        unit = await masterdata_queries.product_unit(session, product_id=draft.product_id)
    await DRAFTS.ask(update, context, "complain.ask_quantity", unit=quantities.quantity_unit(unit))
    return QUANTITY


@step
async def enter_quantity(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """Stores a positive quantity no larger than was shipped; asks what is wrong."""
    async with context.session() as session:
        draft.quantity = await intake.parse_draft_quantity(session, draft, text_of(update))
    DRAFTS.save(context, draft)
    await DRAFTS.ask(update, context, "complain.ask_description")
    return DESCRIPTION


@step
async def enter_description(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """Stores the description; asks for photos."""
    draft.description = intake.check_description(text_of(update))
    DRAFTS.save(context, draft)
    await DRAFTS.ask_photos(update, context, "complain.ask_photos", ComplaintPhotosDone())
    return PHOTOS


# --- photos and confirmation -----------------------------------------------------------------


add_photo = DRAFTS.photo_added(ComplaintPhotosDone(), PHOTOS)


@step
async def photos_done(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """Shows the summary with submit and cancel buttons."""
    await DRAFTS.ask_summary(
        update,
        context,
        "complain.summary",
        button("complain.submit", SubmitComplaint()),
        button("complain.cancel", CancelComplaint()),
        **await _summary(context, draft),
    )
    return CONFIRM


async def _summary(context: BotContext, draft: ComplaintDraft) -> dict[str, Any]:
    async with context.session() as session:
        names = await queries.intake_names(
            session, draft.organisation_id, draft.product_id, draft.batch_id
        )
        unit = await masterdata_queries.product_unit(session, product_id=draft.product_id)
    return {
        "organisation": names.organisation,
        "product": names.product or draft.product_text,
        "lot": names.lot or draft.lot_text,
        "quantity": as_quantity(draft.quantity, unit),
        "description": draft.description,
        "photos": len(draft.photo_file_ids),
        "channel": as_text(f"complaint.channel.{draft.channel}"),
        "kind": as_text(intake.KIND_NAMES[draft.kind]),
        "received_at": dt.datetime.fromisoformat(draft.received_at)
        if draft.received_at
        else as_text("complain.received_at_filing"),
    }


@step
async def submit(update: Update, context: BotContext, draft: ComplaintDraft) -> int:
    """Files the complaint (or inquiry); answers with its number and the deadlines running."""
    async with context.unit_of_work() as uow:
        filed = await intake.file_complaint(uow, await context.actor(uow.session), draft)
    complaint = filed.complaint
    params = {
        "number": complaint.number,
        "product": complaint.product_label,
        "lot": complaint.lot_label,
        "quantity": as_quantity(complaint.quantity, complaint.unit),
        "received_at": complaint.received_at,
        "shipment_note": ""
        if complaint.shipment_on_file
        else as_text("complaint.note.shipment_not_on_file"),
    }
    if filed.answer_due is not None:
        return await DRAFTS.finish(
            update,
            context,
            "complaint.inquiry_filed",
            answer_due=as_deadline(filed.answer_due),
            **params,
        )
    return await DRAFTS.finish(
        update,
        context,
        "complaint.filed",
        verify_due=as_deadline(filed.verify_due),
        opinion_due=as_deadline(filed.opinion_due),
        **params,
    )


async def cancel(update: Update, context: BotContext) -> int:
    """Drops the draft (button or /cancel)."""
    return await DRAFTS.cancel(update, context)


def conversation() -> ConversationHandler[Any]:
    return dialogue(
        "complaint_intake",
        entry_points=[
            CommandHandler("complain", start_complaint),
            CommandHandler("complain_for", start_complaint_for),
        ],
        states={
            ORGANISATION: states.pressing((choose_organisation, ChooseOrganisation)),
            KIND: states.pressing((choose_kind, ChooseKind)),
            CHANNEL: states.pressing((choose_channel, ChooseChannel)),
            RECEIVED: [
                CallbackQueryHandler(received_now, pattern=ReceivedNow.pattern()),
                *states.typing(enter_received),
            ],
            COMPLAINANT: states.typing(enter_complainant),
            PRODUCT: states.goods(
                (choose_product, ChooseProduct), type_product, scan_label, use_label
            ),
            BATCH: states.goods((choose_batch, ChooseBatch), type_batch, scan_label, use_label),
            QUANTITY: states.typing(enter_quantity),
            DESCRIPTION: states.typing(enter_description),
            PHOTOS: states.photos(add_photo, (photos_done, ComplaintPhotosDone)),
            CONFIRM: states.confirming((submit, SubmitComplaint), (cancel, CancelComplaint)),
        },
        cancel=cancel,
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(conversation())
