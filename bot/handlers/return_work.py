"""The staff's steps on a return, each a button re-checked for role and state when pressed:
signing and approving, the leader's special case, the transport order, pick-up and delivery,
QC's inspection, booking in, the exchange, the refund's credit and the return slip."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from procedures.kernel.actions import CallbackAction
from procedures.kernel.outbox import as_text, button
from procedures.kernel.quantities import check_quantity
from procedures.people.queries import User
from procedures.returns import goods, review
from procedures.returns.actions import (
    ApproveReturn,
    BeginCredit,
    BeginReturnInspection,
    BookIn,
    ChooseInspectionResult,
    ChooseReplacementBatch,
    ChooseSettlement,
    CloseCorrectiveAction,
    ConfirmDelivery,
    ConfirmPickUp,
    DecideSpecialCase,
    ForwardToLeader,
    GoodsArrived,
    RefuseReturn,
    SendReturnSlip,
    SignReturn,
)
from procedures.returns.common import load_return, status_key
from procedures.returns.goods import Inspection
from procedures.returns.queries import ReturnRequest, buttons_for
from procedures.returns.rules import ReturnReason

from ..context import BotContext, edit_query_message
from ..conversations import cancel_dropping, dialogue, typed_step, use_buttons

RESULT, NOTES, DEPARTMENT, PERSON = range(40, 44)
REPLACEMENT_LOT, REPLACEMENT_QUANTITY = 50, 51
CREDIT = 60
REFUSAL = 70
INSPECT_KEY, EXCHANGE_KEY, CREDIT_KEY = "return_inspection", "return_exchange", "return_credit"
REFUSAL_KEY = "return_refusal"
TEXT = filters.TEXT & ~filters.COMMAND

Step = Callable[[Any, User, int], Awaitable[ReturnRequest]]


def _with_zone(step: Callable[..., Awaitable[ReturnRequest]]) -> Callable[..., Any]:
    """A step that reads the configured zone (an approval, booking in)."""

    def bound(context: BotContext) -> Step:
        return lambda uow, actor, rid: step(
            uow, actor, rid, timezone=context.services.settings.timezone
        )

    return bound


# action -> (the use case, given the context; the reply's text id)
STEPS: dict[type[CallbackAction], tuple[Callable[[BotContext], Step], str]] = {
    SignReturn: (lambda _: review.sign_return, "return.reply.signed"),
    ApproveReturn: (_with_zone(review.approve_return), "return.reply.approved"),
    ForwardToLeader: (lambda _: review.forward_to_leader, "return.reply.sent_to_leader"),
    GoodsArrived: (lambda _: goods.issue_transport_order, "return.reply.order_issued"),
    ConfirmPickUp: (lambda _: goods.confirm_pick_up, "return.reply.picked_up"),
    ConfirmDelivery: (lambda _: goods.confirm_delivery, "return.reply.delivered"),
    CloseCorrectiveAction: (lambda _: goods.close_corrective_action, "return.reply.corrected"),
    BookIn: (_with_zone(goods.book_in), "return.reply.booked_in"),
    SendReturnSlip: (lambda _: goods.send_slip, "return.reply.slip_sent"),
}


async def _reply(update: Update, context: BotContext, request: ReturnRequest, key: str) -> None:
    """The pressed message becomes the step's confirmation, with the presser's next buttons."""
    member = context.member
    assert member is not None
    rows = buttons_for(request, member.roles)
    await edit_query_message(
        update,
        context.text(key, number=request.number, status=as_text(status_key(request))),
        context.keyboard(rows) if rows else None,
    )


def _step_handler(action: type[CallbackAction]) -> Callable[[Update, BotContext], Awaitable[None]]:
    use_case, key = STEPS[action]

    async def handle(update: Update, context: BotContext) -> None:
        query = update.callback_query
        assert query is not None
        return_id = action.unpack(query.data).return_id  # type: ignore[attr-defined]
        async with context.unit_of_work() as uow:
            request = await use_case(context)(uow, await context.actor(uow.session), return_id)
        await query.answer()
        await _reply(update, context, request, key)

    handle.__doc__ = f"Takes the step of {action.__name__} and shows what comes next."
    return handle


async def decide(update: Update, context: BotContext) -> None:
    """The company leader's final decision on a special case."""
    query = update.callback_query
    assert query is not None
    pressed = DecideSpecialCase.unpack(query.data)
    async with context.unit_of_work() as uow:
        request = await review.decide_special_case(
            uow,
            await context.actor(uow.session),
            pressed.return_id,
            pressed.decision,
            timezone=context.services.settings.timezone,
        )
    await query.answer()
    await _reply(update, context, request, "return.reply.decided")


# --- QC's inspection ----------------------------------------------------------------------


async def begin_inspection(update: Update, context: BotContext) -> int:
    """Checks the return may be inspected; asks the finding (by the return's reason)."""
    query = update.callback_query
    assert query is not None
    async with context.session() as session:
        request = await goods.return_for_inspection(
            session,
            await context.actor(session),
            BeginReturnInspection.unpack(query.data).return_id,
        )
    await query.answer()
    context.user_data[INSPECT_KEY] = {"return_id": request.id}
    results = goods.RESULTS[ReturnReason(request.reason)]
    await context.reply(
        update,
        "return_qc.ask_result",
        number=request.number,
        buttons=[[button(f"return.result.{r}", ChooseInspectionResult(result=r)) for r in results]],
    )
    return RESULT


async def choose_result(update: Update, context: BotContext) -> int:
    """Stores the finding; asks for the cause or the written explanation (undamaged: done)."""
    query = update.callback_query
    assert query is not None
    state = context.user_data.get(INSPECT_KEY)
    if not state:
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return ConversationHandler.END
    state["result"] = ChooseInspectionResult.unpack(query.data).result
    if state["result"] == "undamaged":
        return await _record_inspection(update, context)
    await query.answer()
    await edit_query_message(update, context.text(f"return_qc.ask_notes_{state['result']}"))
    return NOTES


async def enter_notes(update: Update, context: BotContext) -> int:
    """Stores the cause or explanation; a company fault asks the responsible department."""
    state = context.user_data[INSPECT_KEY]
    state["notes"] = update.effective_message.text  # type: ignore[union-attr]
    if state["result"] != "company_fault":
        return await _record_inspection(update, context)
    await context.reply(update, "return_qc.ask_department")
    return DEPARTMENT


async def enter_department(update: Update, context: BotContext) -> int:
    """Stores the responsible department; asks the responsible person."""
    context.user_data[INSPECT_KEY]["department"] = update.effective_message.text  # type: ignore[union-attr]
    await context.reply(update, "return_qc.ask_person")
    return PERSON


async def enter_person(update: Update, context: BotContext) -> int:
    """Stores the responsible person and records the inspection."""
    context.user_data[INSPECT_KEY]["person"] = update.effective_message.text  # type: ignore[union-attr]
    return await _record_inspection(update, context)


async def _record_inspection(update: Update, context: BotContext) -> int:
    state = context.user_data[INSPECT_KEY]
    async with context.unit_of_work() as uow:
        request = await goods.record_inspection(
            uow,
            await context.actor(uow.session),
            state["return_id"],
            Inspection(
                state["result"],
                state.get("notes", ""),
                state.get("department"),
                state.get("person"),
            ),
        )
    context.user_data.pop(INSPECT_KEY, None)
    if update.callback_query:
        await update.callback_query.answer()
    await context.reply(
        update,
        "return_qc.recorded",
        number=request.number,
        result=as_text(f"return.result.{request.inspection_result}"),
        status=as_text(status_key(request)),
    )
    return ConversationHandler.END


# --- the exchange (or the refund) and the credit --------------------------------------------


async def begin_settlement(update: Update, context: BotContext) -> int:
    """Refund: finance is asked for the credit. Exchange: asks the replacement lot of each
    line in turn."""
    query = update.callback_query
    assert query is not None
    pressed = ChooseSettlement.unpack(query.data)
    if pressed.settlement == "refund":
        async with context.unit_of_work() as uow:
            request = await goods.choose_refund(
                uow, await context.actor(uow.session), pressed.return_id
            )
        await query.answer()
        await _reply(update, context, request, "return.reply.refund_chosen")
        return ConversationHandler.END
    async with context.session() as session:
        request = await goods.return_for_settlement(
            session, await context.actor(session), pressed.return_id, "exchange"
        )
    await query.answer()
    context.user_data[EXCHANGE_KEY] = {"return_id": request.id, "replacements": []}
    return await _ask_replacement(update, context)


async def _ask_replacement(update: Update, context: BotContext) -> int:
    state = context.user_data[EXCHANGE_KEY]
    async with context.session() as session:
        request = await load_return(session, state["return_id"], lock=False)
        line = request.lines[len(state["replacements"])]
        lots = await goods.replacement_batches(
            session, line.product_id, timezone=context.services.settings.timezone, now=context.now()
        )
    await context.reply(
        update,
        "return_exchange.ask_lot",
        buttons=[
            [button("return_exchange.lot", ChooseReplacementBatch(batch_id=b.id), lot=b.lot_number)]
            for b in lots
        ],
        product=line.product.name,
        quantity=line.quantity,
    )
    return REPLACEMENT_LOT


async def choose_replacement(update: Update, context: BotContext) -> int:
    """Stores the replacement lot; asks its quantity."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    state = context.user_data.get(EXCHANGE_KEY)
    if not state:
        return ConversationHandler.END
    state["batch_id"] = ChooseReplacementBatch.unpack(query.data).batch_id
    await context.reply(update, "return_exchange.ask_quantity")
    return REPLACEMENT_QUANTITY


async def enter_replacement_quantity(update: Update, context: BotContext) -> int:
    """Stores the line's replacement; asks the next line's, or records the exchange."""
    state = context.user_data[EXCHANGE_KEY]
    quantity = check_quantity(update.effective_message.text)  # type: ignore[union-attr]
    state["replacements"].append([state.pop("batch_id"), quantity])
    async with context.session() as session:
        request = await load_return(session, state["return_id"], lock=False)
        remaining = len(request.lines) - len(state["replacements"])
    if remaining:
        return await _ask_replacement(update, context)
    async with context.unit_of_work() as uow:
        request = await goods.record_exchange(
            uow,
            await context.actor(uow.session),
            state["return_id"],
            [(b, q) for b, q in state["replacements"]],
            timezone=context.services.settings.timezone,
        )
    context.user_data.pop(EXCHANGE_KEY, None)
    member = context.member
    assert member is not None
    await context.reply(
        update,
        "return.reply.exchanged",
        buttons=buttons_for(request, member.roles) or None,
        number=request.number,
        status=as_text(status_key(request)),
    )
    return ConversationHandler.END


cancel = cancel_dropping(INSPECT_KEY, EXCHANGE_KEY, CREDIT_KEY, REFUSAL_KEY)


def inspection_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    return dialogue(
        "return_inspection",
        entry_points=[
            CallbackQueryHandler(begin_inspection, pattern=BeginReturnInspection.pattern())
        ],
        states={
            RESULT: [
                CallbackQueryHandler(choose_result, pattern=ChooseInspectionResult.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            NOTES: [MessageHandler(TEXT, enter_notes)],
            DEPARTMENT: [MessageHandler(TEXT, enter_department)],
            PERSON: [MessageHandler(TEXT, enter_person)],
        },
        cancel=cancel,
    )


def settlement_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    return dialogue(
        "return_settlement",
        entry_points=[
            CallbackQueryHandler(begin_settlement, pattern=ChooseSettlement.pattern()),
        ],
        states={
            REPLACEMENT_LOT: [
                CallbackQueryHandler(choose_replacement, pattern=ChooseReplacementBatch.pattern()),
                MessageHandler(TEXT, use_buttons),
            ],
            REPLACEMENT_QUANTITY: [MessageHandler(TEXT, enter_replacement_quantity)],
        },
        cancel=cancel,
    )


def credit_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    """Finance records a refund's credit amount; the customer is told."""
    texts = ("return_credit.ask", "return_credit.recorded")
    check, record = goods.return_for_credit, goods.record_credit
    step = typed_step(
        CREDIT_KEY, BeginCredit, check, record, texts, CREDIT, cancel, _credit_figures
    )
    return step


def _credit_figures(request: ReturnRequest) -> dict[str, str]:
    return {
        "amount": f"{request.total_amount or 0:.2f}",
        "credit": f"{request.credit_amount or 0:.2f}",
    }


def refusal_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    """The business head's refusal of an exchange, with its reason; the customer and
    after-sales are told."""
    texts = ("return_refusal.ask", "return_refusal.recorded")
    check, record = review.return_for_refusal, review.refuse_return
    return typed_step(REFUSAL_KEY, RefuseReturn, check, record, texts, REFUSAL, cancel)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(refusal_conversation())
    application.add_handler(credit_conversation())
    application.add_handler(inspection_conversation())
    application.add_handler(settlement_conversation())
    for action in STEPS:
        application.add_handler(
            CallbackQueryHandler(_step_handler(action), pattern=action.pattern())
        )
    application.add_handler(CallbackQueryHandler(decide, pattern=DecideSpecialCase.pattern()))
