"""/return (customers) and /return_for (after-sales, keying in a request received by fax, phone
or in person, with the time it was received): the return or exchange request (調退貨明細表),
line by line, then one submit. /return RT-… shows one return instead (return_record)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ConversationHandler

from procedures.consumer_complaints import handling
from procedures.consumer_complaints.actions import StartConsumerReturn
from procedures.kernel.outbox import as_text, button
from procedures.kernel.quantities import as_money, as_quantity
from procedures.kernel.received import parse_received_at
from procedures.masterdata.queries import customer_organisations, shipped_products
from procedures.returns import intake, queries
from procedures.returns.actions import (
    AddReturnLine,
    CancelReturn,
    ChooseReturnBatch,
    ChooseReturnChannel,
    ChooseReturnOrganisation,
    ChooseReturnProduct,
    ChooseReturnReason,
    FinishReturnLines,
    ReceivedJustNow,
    SubmitReturn,
)
from procedures.returns.common import quantity_shown
from procedures.returns.intake import ReturnDraft
from procedures.returns.rules import CONSUMER_CHANNEL, KEYED_CHANNELS

from .. import label_photos
from ..access import for_command
from ..context import BotContext
from ..conversations import dialogue
from ..dialogue import states
from ..dialogue.steps import Intake, option_rows, wrong_button
from ..dialogue.updates import member_of, pressed, query_of, text_of
from . import return_record

ORGANISATION, REASON, PRODUCT, BATCH, QUANTITY, MORE, CONFIRM, CHANNEL, RECEIVED = range(20, 29)
DRAFT_KEY = "return_intake"
CONSUMER_KEY = "return_for_consumer"  # the consumer complaint, until the organisation is chosen
REASONS: tuple[Literal["unsalable", "quality"], ...] = ("unsalable", "quality")

DRAFTS = Intake(DRAFT_KEY, ReturnDraft.from_json, "return_form.expired", "return_form.cancelled")
step = DRAFTS.step


@for_command("return")
async def start_return(update: Update, context: BotContext) -> int | None:
    """With a number: shows that return. Without: a customer starts a request; asks the reason."""
    if context.args:
        await return_record.show_return(update, context)
        return ConversationHandler.END
    member = member_of(context)
    if "customer" not in member.roles:
        await context.reply(update, "return_form.usage_staff")
        return ConversationHandler.END
    if member.organisation_id is None:
        await context.reply(update, "common.not_linked")
        return ConversationHandler.END
    DRAFTS.begin(context, ReturnDraft(organisation_id=member.organisation_id))
    return await _ask_reason(update, context)


@for_command("return_for")
async def start_return_for(update: Update, context: BotContext) -> int:
    """After-sales files for a customer; asks which organisation."""
    context.user_data.pop(CONSUMER_KEY, None)
    return await _ask_organisation(update, context)


async def start_consumer_return(update: Update, context: BotContext) -> int:
    """After-sales files the return that takes a consumer complaint's goods back (4.3.3);
    asks which customer (the shop) takes them."""
    complaint_id = pressed(update, StartConsumerReturn).complaint_id
    async with context.session() as session:
        actor = await context.actor(session)
        complaint = await handling.complaint_for_return(session, actor, complaint_id)
    await query_of(update).answer()
    context.user_data[CONSUMER_KEY] = complaint.id
    return await _ask_organisation(update, context)


async def _ask_organisation(update: Update, context: BotContext) -> int:
    async with context.session() as session:
        organisations = await customer_organisations(session)
    buttons = option_rows(
        "common.organisation",
        (
            (ChooseReturnOrganisation(organisation_id=o.id), {"code": o.code, "name": o.name})
            for o in organisations
        ),
    )
    context.user_data.pop(DRAFT_KEY, None)
    await context.reply(update, "return_form.ask_organisation", buttons=buttons)
    return ORGANISATION


async def choose_organisation(update: Update, context: BotContext) -> int:
    """Stores the organisation; asks how the request was received (4.2.1), or for a consumer
    complaint's goods, the reason."""
    await query_of(update).answer()
    organisation_id = pressed(update, ChooseReturnOrganisation).organisation_id
    consumer_complaint_id = context.user_data.pop(CONSUMER_KEY, None)
    if consumer_complaint_id is not None:  # after-sales' own consumer complaint: no sheet came in
        draft = ReturnDraft(organisation_id, channel=CONSUMER_CHANNEL)
        draft.consumer_complaint_id = consumer_complaint_id
        DRAFTS.begin(context, draft)
        return await _ask_reason(update, context)
    DRAFTS.begin(context, ReturnDraft(organisation_id, channel=""))
    buttons = [
        [button(f"return.channel.{c}", ChooseReturnChannel(channel=c)) for c in KEYED_CHANNELS]
    ]
    await DRAFTS.ask(update, context, "return_form.ask_channel", buttons=buttons)
    return CHANNEL


@step
async def choose_channel(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    """Stores the channel; asks when the request was received."""
    draft.channel = pressed(update, ChooseReturnChannel).channel
    DRAFTS.save(context, draft)
    buttons = [[button("return_form.just_now", ReceivedJustNow())]]
    await DRAFTS.ask(update, context, "return_form.ask_received", buttons=buttons)
    return RECEIVED


@step
async def enter_received(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    """Stores the received time typed (not later than now); asks the reason."""
    received = parse_received_at(
        text_of(update), context.now(), context.services.settings.timezone, intake.RECEIVED_TEXTS
    )
    draft.received_at = received.isoformat()
    return await _ask_reason(update, context, draft)


@step
async def received_now(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    """The request was received just now; asks the reason."""
    draft.received_at = context.now().isoformat()
    return await _ask_reason(update, context, draft)


async def _ask_reason(update: Update, context: BotContext, draft: ReturnDraft | None = None) -> int:
    if draft is not None:
        DRAFTS.save(context, draft)
    buttons = [[button(f"return.reason.{r}", ChooseReturnReason(reason=r)) for r in REASONS]]
    await DRAFTS.ask(update, context, "return_form.ask_reason", buttons=buttons)
    return REASON


@step
async def choose_reason(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    """Stores the reason; asks for the first line's product."""
    draft.reason = pressed(update, ChooseReturnReason).reason
    DRAFTS.save(context, draft)
    return await _ask_product(update, context, draft)


async def _ask_product(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    async with context.session() as session:
        products = await shipped_products(session, draft.organisation_id)
    if not products:
        return await DRAFTS.drop(update, context, "return_form.no_products")
    buttons = option_rows(
        "return_form.product",
        (
            (ChooseReturnProduct(product_id=p.id), {"code": p.code, "name": p.name})
            for p in products
        ),
    )
    question = context.text("return_form.ask_product")
    await DRAFTS.ask(update, context, "label.with_hint", question=question, buttons=buttons)
    return PRODUCT


@step
async def choose_product(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    """Stores the product for this line; asks for the lot among those shipped of it."""
    return await _ask_batch(update, context, draft, pressed(update, ChooseReturnProduct).product_id)


async def _ask_batch(
    update: Update, context: BotContext, draft: ReturnDraft, product_id: int
) -> int:
    async with context.session() as session:
        batches = await intake.returnable_batches(session, draft.organisation_id, product_id)
    if not batches:
        return await wrong_button(update, context, PRODUCT)
    DRAFTS.save(context, draft, product_id=product_id)
    buttons = option_rows(
        "return_form.lot",
        ((ChooseReturnBatch(batch_id=b.id), {"lot": b.lot_number}) for b in batches),
    )
    await DRAFTS.ask(update, context, "return_form.ask_batch", buttons=buttons)
    return BATCH


@step
async def type_goods(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    """A product code or name, or a lot, typed (among what was shipped to the organisation):
    asks for the lot, or the quantity."""
    async with context.session() as session:
        product, batch = await intake.typed_goods(
            session,
            draft.organisation_id,
            text_of(update),
            product_id=context.user_data[DRAFT_KEY].get("product_id"),
        )
    if batch is not None:
        return await _ask_quantity(update, context, draft, batch.id)
    assert product is not None  # typed_goods finds one of the two, or refuses the text
    return await _ask_batch(update, context, draft, product.id)


@step
async def choose_batch(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    """Stores the lot; asks the quantity, saying how much may still be returned."""
    return await _ask_quantity(update, context, draft, pressed(update, ChooseReturnBatch).batch_id)


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


@step
async def use_label(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    """Takes the lot of the scanned label for this line; asks the quantity."""
    batch = await label_photos.take_label(update, context, draft.label, buyer=draft.organisation_id)
    if batch is None:
        return _line_step(context)
    return await _ask_quantity(update, context, draft, batch.id)


async def _ask_quantity(
    update: Update, context: BotContext, draft: ReturnDraft, batch_id: int
) -> int:
    """A number: how much of the lot may still be returned is named in the question."""
    async with context.session() as session:
        left = await intake.returnable_quantity(session, draft, batch_id)
    DRAFTS.save(context, draft, batch_id=batch_id)
    await DRAFTS.ask(update, context, "return_form.ask_quantity", left=max(left, 0))
    return QUANTITY


@step
async def enter_quantity(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    """Adds the line, priced from the shipment; offers another line or Done."""
    batch_id = context.user_data[DRAFT_KEY].get("batch_id")
    async with context.session() as session:
        quantity = await intake.check_line(session, draft, batch_id, text_of(update))
        amount = await intake.line_amount(session, draft.organisation_id, batch_id, quantity)
        goods = await queries.line_goods(session, batch_id)
    draft.lines.append({"batch_id": batch_id, "quantity": quantity, "label": draft.label})
    draft.label = None
    DRAFTS.save(context, draft, batch_id=None, product_id=None)
    await DRAFTS.ask(
        update,
        context,
        "return_form.line_added",
        buttons=[
            [
                button("return_form.more", AddReturnLine()),
                button("common.button.done", FinishReturnLines()),
            ]
        ],
        product=goods.product,
        lot=goods.lot,
        quantity=as_quantity(quantity, goods.unit),
        amount=as_money(amount),
        lines=len(draft.lines),
    )
    return MORE


@step
async def add_line(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    """Asks for the next line's product."""
    if len(draft.lines) >= intake.MAX_LINES:
        await context.reply(update, "return.too_many_lines", limit=intake.MAX_LINES)
        return MORE
    return await _ask_product(update, context, draft)


@step
async def finish_lines(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    """Shows the summary with submit and cancel."""
    lines: list[str] = []
    total_quantity, total_amount, units = 0, Decimal(0), set()
    async with context.session() as session:
        organisation = await queries.organisation_name(session, draft.organisation_id)
        for line in draft.lines:
            goods = await queries.line_goods(session, line["batch_id"])
            amount = await intake.line_amount(
                session, draft.organisation_id, line["batch_id"], line["quantity"]
            )
            total_quantity += line["quantity"]
            total_amount += amount
            units.add(goods.unit)
            lines.append(
                context.text(
                    "return.line",
                    product=goods.product,
                    lot=goods.lot,
                    quantity=as_quantity(line["quantity"], goods.unit),
                    amount=as_money(amount),
                )
            )
    await DRAFTS.ask_summary(
        update,
        context,
        "return_form.summary",
        button("return_form.submit", SubmitReturn()),
        button("return_form.cancel", CancelReturn()),
        organisation=organisation,
        reason=as_text(f"return.reason.{draft.reason}"),
        lines="\n".join(lines),
        # in the lines' unit when they share one (a total of 盒 and 箱 has none)
        quantity=as_quantity(total_quantity, units.pop()) if len(units) == 1 else total_quantity,
        amount=as_money(total_amount),
    )
    return CONFIRM


@DRAFTS.step_answered_later
async def submit(update: Update, context: BotContext, draft: ReturnDraft) -> int:
    """Files the request; answers with its number and, for an exchange, the ratio check."""
    async with context.unit_of_work() as uow:
        filed = await intake.file_return(
            uow,
            await context.actor(uow.session),
            draft,
            timezone=context.services.settings.timezone,
        )
    await query_of(update).answer()
    request = filed.request
    if filed.check is None:
        next_step = context.text("return_form.next_quality")
    elif filed.check.inside:
        next_step = context.text("return_form.next_inside", **filed.check.as_params())
    else:
        next_step = context.text(
            "return_form.next_outside",
            number=request.number,
            refusal=as_text(f"return.refusal.{filed.check.refusal}", **filed.check.as_params()),
        )
    return await DRAFTS.finish(
        update,
        context,
        "return_form.filed",
        number=request.number,
        quantity=quantity_shown(request),
        amount=as_money(request.total_amount),
        linked=as_text("return_form.linked", number=filed.consumer_complaint)
        if filed.consumer_complaint
        else "",
        next_step=next_step,
    )


async def cancel(update: Update, context: BotContext) -> int:
    """Drops the draft (button or /cancel)."""
    return await DRAFTS.cancel(update, context, CONSUMER_KEY)


def conversation() -> ConversationHandler[Any]:
    return dialogue(
        "return_intake",
        entry_points=[
            CommandHandler("return", start_return),
            CommandHandler("return_for", start_return_for),
            CallbackQueryHandler(start_consumer_return, pattern=StartConsumerReturn.pattern()),
        ],
        states={
            ORGANISATION: states.pressing((choose_organisation, ChooseReturnOrganisation)),
            CHANNEL: states.pressing((choose_channel, ChooseReturnChannel)),
            RECEIVED: [
                CallbackQueryHandler(received_now, pattern=ReceivedJustNow.pattern()),
                *states.typing(enter_received),
            ],
            REASON: states.pressing((choose_reason, ChooseReturnReason)),
            PRODUCT: states.goods(
                (choose_product, ChooseReturnProduct), type_goods, scan_label, use_label
            ),
            BATCH: states.goods(
                (choose_batch, ChooseReturnBatch), type_goods, scan_label, use_label
            ),
            QUANTITY: states.typing(enter_quantity),
            MORE: states.pressing((add_line, AddReturnLine), (finish_lines, FinishReturnLines)),
            CONFIRM: states.confirming((submit, SubmitReturn), (cancel, CancelReturn)),
        },
        cancel=cancel,
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(conversation())
