"""The staff's steps on a return, each a button re-checked for role and state when pressed:
signing and approving, the leader's special case, the station's notice and the transport order,
pick-up and delivery, QC's inspection, booking in, the exchange, the refund's credit, the tally
and the return slip."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ConversationHandler,
)

from procedures.kernel.errors import NotAllowed, NotFound, ProcedureError, WrongState
from procedures.kernel.outbox import as_text, button
from procedures.kernel.quantities import as_money, check_quantity
from procedures.people.queries import User
from procedures.returns import corrective, goods, queries, review, slips
from procedures.returns.actions import (
    ApproveReturn,
    AskSpecialCase,
    BackToRefusal,
    BeginCredit,
    BeginReturnInspection,
    ChooseInspectionResult,
    ChooseReplacementBatch,
    ChooseResponsibleDepartment,
    ChooseResponsiblePerson,
    ChooseSettlement,
    ConfirmDelivery,
    ConfirmPickUp,
    ConfirmRefusal,
    ConfirmReturnReceipt,
    CountersignReturn,
    FinanceAgrees,
    FinanceDisagrees,
    ForwardToLeader,
    GoodsArrived,
    IssueTransportOrder,
    RecordActionDone,
    RefuseReturn,
    SendReturnSlip,
    SignReturn,
    TallyReturn,
)
from procedures.returns.common import load_return, status_key
from procedures.returns.goods import Inspection
from procedures.returns.queries import ReturnRequest, buttons_for
from procedures.returns.rules import RESPONSIBLE_DEPARTMENTS, ActionKind, ReturnReason

from ..context import BotContext
from ..conversations import Confirmation, dialogue, typed_step
from ..dialogue import states
from ..dialogue.steps import StaffDialogue, cancelling, option_rows
from ..dialogue.updates import member_of, pressed, query_of, text_of
from . import return_confirm
from .return_confirm import reply_on_return

RESULT, NOTES, DEPARTMENT, PERSON, CORRECTIVE, PREVENTIVE = range(40, 46)
ACTION_DONE = 80
REPLACEMENT_LOT, REPLACEMENT_QUANTITY = 50, 51
CREDIT = 60
REFUSAL, REFUSAL_CONFIRM = 70, 71
FINANCE_NOTE = 100
INSPECT_KEY, EXCHANGE_KEY, CREDIT_KEY = "return_inspection", "return_exchange", "return_credit"
REFUSAL_KEY, ACTION_DONE_KEY = "return_refusal", "return_action_done"
STATION = 90
SPECIAL, SPECIAL_KEY = 110, "return_special"
ORDER_KEY = "return_order"
FINANCE_KEY = "return_finance"
INSPECTION, EXCHANGE = StaffDialogue(INSPECT_KEY), StaffDialogue(EXCHANGE_KEY)

Step = Callable[[Any, User, int], Awaitable[ReturnRequest]]


def _with_zone(step: Callable[..., Awaitable[ReturnRequest]]) -> Callable[..., Any]:
    """A step that reads the configured zone (an approval, booking in)."""

    def bound(context: BotContext) -> Step:
        return lambda uow, actor, rid: step(
            uow, actor, rid, timezone=context.services.settings.timezone
        )

    return bound


# the one-tap steps: each button carries the return's id
ReturnStep = (
    ConfirmReturnReceipt
    | FinanceAgrees
    | SignReturn
    | CountersignReturn
    | ApproveReturn
    | ForwardToLeader
    | GoodsArrived
    | ConfirmPickUp
    | ConfirmDelivery
    | TallyReturn
)

# action -> (the use case, given the context; the reply's text id)
STEPS: dict[type[ReturnStep], tuple[Callable[[BotContext], Step], str]] = {
    ConfirmReturnReceipt: (lambda _: review.confirm_receipt, "return.reply.received"),
    FinanceAgrees: (lambda _: review.finance_agrees, "return.reply.finance_agreed"),
    SignReturn: (lambda _: review.sign_return, "return.reply.signed"),
    CountersignReturn: (lambda _: review.countersign_return, "return.reply.countersigned"),
    ApproveReturn: (_with_zone(review.approve_return), "return.reply.approved"),
    ForwardToLeader: (lambda _: review.forward_to_leader, "return.reply.sent_to_leader"),
    GoodsArrived: (lambda _: goods.record_station_notice, "return.reply.station_notice"),
    ConfirmPickUp: (lambda _: goods.confirm_pick_up, "return.reply.picked_up"),
    ConfirmDelivery: (lambda _: goods.confirm_delivery, "return.reply.delivered"),
    TallyReturn: (_with_zone(slips.tally_return), "return.reply.tallied"),
}
# the driver's steps answer on the transport order itself, which keeps its details
ON_THE_ORDER = (ConfirmPickUp, ConfirmDelivery)


def _step_handler(
    action: type[ReturnStep],
) -> Callable[[Update, BotContext], Coroutine[Any, Any, None]]:
    use_case, key = STEPS[action]

    async def handle(update: Update, context: BotContext) -> None:
        return_id = pressed(update, action).return_id
        async with context.unit_of_work() as uow:
            request = await use_case(context)(uow, await context.actor(uow.session), return_id)
        await query_of(update).answer()
        above = ""
        if action in ON_THE_ORDER:
            async with context.session() as session:
                order = await queries.transport_order(session, return_id)
            above = context.text("return.transport_order", **order)
        await reply_on_return(update, context, request, key, above=above)

    handle.__doc__ = f"Takes the step of {action.__name__} and shows what comes next."
    return handle


async def send_slip(update: Update, context: BotContext) -> None:
    """The marketing clerk sends the reviewed slip: in the chat, or recorded as faxed or
    e-mailed."""
    choice = pressed(update, SendReturnSlip)
    async with context.unit_of_work() as uow:
        request = await slips.send_slip(
            uow, await context.actor(uow.session), choice.return_id, choice.channel
        )
    await query_of(update).answer()
    await reply_on_return(update, context, request, f"return.reply.slip_sent_{choice.channel}")


# --- QC's inspection ----------------------------------------------------------------------


async def begin_inspection(update: Update, context: BotContext) -> int:
    """Checks the return may be inspected; asks the finding (by the return's reason)."""
    async with context.session() as session:
        request = await goods.return_for_inspection(
            session,
            await context.actor(session),
            pressed(update, BeginReturnInspection).return_id,
        )
    await query_of(update).answer()
    await INSPECTION.begin(update, context, return_id=request.id)
    results = goods.RESULTS[ReturnReason(request.reason)]
    await INSPECTION.ask(
        update,
        context,
        "return_qc.ask_result",
        number=request.number,
        buttons=[[button(f"return.result.{r}", ChooseInspectionResult(result=r)) for r in results]],
    )
    return RESULT


@INSPECTION.step_answered_later
async def choose_result(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the finding; asks for the cause or the written explanation (undamaged: done)."""
    state["result"] = pressed(update, ChooseInspectionResult).result
    if state["result"] == "undamaged":
        return await _record_inspection(update, context, state)
    await query_of(update).answer()
    await INSPECTION.answered(
        update, context, context.text(f"return_qc.ask_notes_{state['result']}")
    )
    return NOTES


@INSPECTION.step
async def enter_notes(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Stores the cause or explanation; a company fault asks the responsible department."""
    state["notes"] = goods.check_inspection_notes(text_of(update))
    if state["result"] != "company_fault":
        return await _record_inspection(update, context, state)
    await INSPECTION.ask(update, context, "return_qc.ask_department", buttons=_departments())
    return DEPARTMENT


def _departments() -> list[list[dict[str, Any]]]:
    return [
        [button(f"role.{department}", ChooseResponsibleDepartment(department=department))]
        for department in RESPONSIBLE_DEPARTMENTS
    ]


@INSPECTION.step_answered_later
async def choose_department(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the responsible department; offers its enrolled people (none: another one)."""
    department = corrective.check_department(
        pressed(update, ChooseResponsibleDepartment).department
    )
    async with context.session() as session:
        people = await corrective.people_of(session, department)
    await query_of(update).answer()
    if not people:
        await INSPECTION.ask(
            update,
            context,
            "return_qc.nobody_in_department",
            buttons=_departments(),
            department=as_text(f"role.{department}"),
        )
        return DEPARTMENT
    state["department"] = department
    await INSPECTION.answered(
        update,
        context,
        context.text("return_qc.department_chosen", department=as_text(f"role.{department}")),
    )
    await INSPECTION.offer(
        update,
        context,
        "return_qc.ask_person",
        buttons=option_rows(
            "return_qc.person",
            (
                (ChooseResponsiblePerson(user_id=user.id), {"name": user.full_name})
                for user in people
            ),
        ),
        department=as_text(f"role.{department}"),
    )
    return PERSON


@INSPECTION.step_answered_later
async def choose_person(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the person who will own the actions; asks the corrective action."""
    user_id = pressed(update, ChooseResponsiblePerson).user_id
    async with context.session() as session:
        owner = await corrective.check_owner(
            session, await context.actor(session), state["department"], user_id
        )
    await query_of(update).answer()
    state["owner_id"] = owner.id
    await INSPECTION.answered(
        update, context, context.text("return_qc.person_chosen", name=owner.full_name)
    )
    await INSPECTION.offer(update, context, "return_qc.ask_corrective")
    return CORRECTIVE


@INSPECTION.step
async def enter_corrective(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores what is to be corrected; asks what is to prevent it happening again."""
    state["corrective"] = corrective.check_measure(text_of(update), ActionKind.CORRECTIVE)
    await INSPECTION.ask(update, context, "return_qc.ask_preventive")
    return PREVENTIVE


@INSPECTION.step
async def enter_preventive(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the preventive action and records the inspection."""
    state["preventive"] = corrective.check_measure(text_of(update), ActionKind.PREVENTIVE)
    return await _record_inspection(update, context, state)


async def _record_inspection(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    try:
        async with context.unit_of_work() as uow:
            request = await goods.record_inspection(
                uow,
                await context.actor(uow.session),
                state["return_id"],
                Inspection(
                    state["result"],
                    state.get("notes", ""),
                    corrective.Responsibility(
                        state["department"],
                        state["owner_id"],
                        state["corrective"],
                        state["preventive"],
                    )
                    if "owner_id" in state
                    else None,
                ),
            )
    except (WrongState, NotAllowed, NotFound) as error:
        # the return moved on under the dialogue (a colleague inspected it first): no answer
        # of this dialogue can change that, so it ends instead of refusing every message
        return await _ended(update, context, INSPECTION, error, "return_qc.not_recorded")
    if update.callback_query is not None:
        await update.callback_query.answer()
    await INSPECTION.end(update, context)
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
    """Refund: asked once more, then finance is asked for the credit. Exchange: asks the
    replacement lot of each line in turn."""
    choice = pressed(update, ChooseSettlement)
    if choice.settlement == "refund":  # final: asked once more (return_confirm)
        await return_confirm.ask_refund(update, context, choice.return_id)
        return ConversationHandler.END
    async with context.session() as session:
        request = await goods.return_for_settlement(
            session, await context.actor(session), choice.return_id, "exchange"
        )
    await query_of(update).answer()
    state = await EXCHANGE.begin(update, context, return_id=request.id, replacements=[])
    return await _ask_replacement(update, context, state, EXCHANGE.offer)


async def _ask_replacement(
    update: Update,
    context: BotContext,
    state: MutableMapping[str, Any],
    ask: Callable[..., Awaitable[Message]] = EXCHANGE.ask,
) -> int:
    """Asks the replacement lot of the next line; `ask` is EXCHANGE.offer for the first, whose
    button (on the return's message) stays."""
    async with context.session() as session:
        request = await load_return(session, state["return_id"], lock=False)
        line = request.lines[len(state["replacements"])]
        lots = await goods.replacement_batches(
            session, line.product_id, timezone=context.services.settings.timezone, now=context.now()
        )
    if not lots:  # every lot held, expired or nonconforming: nothing may leave in its place
        await EXCHANGE.end(update, context)
        await context.reply(update, "return_exchange.no_lots", product=line.product.name)
        return ConversationHandler.END
    await ask(
        update,
        context,
        "return_exchange.ask_lot",
        buttons=option_rows(
            "return_exchange.lot",
            ((ChooseReplacementBatch(batch_id=b.id), {"lot": b.lot_number}) for b in lots),
        ),
        product=line.product.name,
        quantity=line.quantity,
    )
    return REPLACEMENT_LOT


@EXCHANGE.step
async def choose_replacement(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the replacement lot, if it may leave; asks its quantity."""
    batch_id = pressed(update, ChooseReplacementBatch).batch_id
    await _check_replacement(context, state, batch_id, None)
    state["batch_id"] = batch_id
    await EXCHANGE.ask(update, context, "return_exchange.ask_quantity")
    return REPLACEMENT_QUANTITY


@EXCHANGE.step
async def enter_replacement_quantity(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the line's replacement; asks the next line's, or records the exchange."""
    if "batch_id" not in state:  # a dialogue left without its lot: it cannot go on
        await EXCHANGE.end(update, context)
        await context.reply(update, "error.dialogue_ended")
        return ConversationHandler.END
    async with context.session() as session:
        request = await load_return(session, state["return_id"], lock=False)
        line = request.lines[len(state["replacements"])]
        quantity = check_quantity(text_of(update), line.product.unit or None)
    await _check_replacement(context, state, state["batch_id"], quantity)
    # the state changes only once the line is taken: a refusal leaves the step as it was
    replacements = [*state["replacements"], [state["batch_id"], quantity]]
    if len(replacements) < len(request.lines):
        state["replacements"] = replacements
        del state["batch_id"]
        return await _ask_replacement(update, context, state)
    try:
        async with context.unit_of_work() as uow:
            request = await goods.record_exchange(
                uow,
                await context.actor(uow.session),
                state["return_id"],
                [(b, q) for b, q in replacements],
                timezone=context.services.settings.timezone,
            )
    except ProcedureError as error:
        # refused at the commit's checks (a colleague settled the return first, a lot held
        # since it was chosen): what was chosen no longer stands, so the dialogue ends
        return await _ended(update, context, EXCHANGE, error, "return_exchange.not_recorded")
    await EXCHANGE.end(update, context, opener=True)
    await context.reply(
        update,
        "return.reply.exchanged",
        buttons=buttons_for(request, member_of(context).roles) or None,
        number=request.number,
        status=as_text(status_key(request)),
    )
    return ConversationHandler.END


async def _ended(
    update: Update,
    context: BotContext,
    steps: StaffDialogue,
    error: ProcedureError,
    ended_key: str,
) -> int:
    """The dialogue cannot go on: its state goes, and the user is told why and that it ended."""
    await steps.end(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer()
    await context.reply(update, error.text_key, **error.params)
    await context.reply(update, ended_key)
    return ConversationHandler.END


async def _check_replacement(
    context: BotContext, state: MutableMapping[str, Any], batch_id: int, quantity: int | None
) -> None:
    """Refuses at once, naming why, a lot or quantity that may not leave for this line (the
    exchange checks them all again when it is recorded)."""
    async with context.session() as session:
        request = await load_return(session, state["return_id"], lock=False)
        await goods.check_replacement(
            session,
            request,
            len(state["replacements"]),
            batch_id,
            quantity,
            timezone=context.services.settings.timezone,
            now=context.now(),
        )


cancel = cancelling(
    INSPECTION,
    EXCHANGE,
    also=(CREDIT_KEY, REFUSAL_KEY, ACTION_DONE_KEY, ORDER_KEY, FINANCE_KEY, SPECIAL_KEY),
)


def inspection_conversation() -> ConversationHandler[Any]:
    return dialogue(
        "return_inspection",
        entry_points=[
            CallbackQueryHandler(begin_inspection, pattern=BeginReturnInspection.pattern())
        ],
        states={
            RESULT: states.pressing((choose_result, ChooseInspectionResult)),
            NOTES: states.typing(enter_notes),
            DEPARTMENT: states.pressing((choose_department, ChooseResponsibleDepartment)),
            PERSON: states.pressing((choose_person, ChooseResponsiblePerson)),
            CORRECTIVE: states.typing(enter_corrective),
            PREVENTIVE: states.typing(enter_preventive),
        },
        cancel=cancel,
    )


def settlement_conversation() -> ConversationHandler[Any]:
    return dialogue(
        "return_settlement",
        entry_points=[
            CallbackQueryHandler(begin_settlement, pattern=ChooseSettlement.pattern()),
        ],
        states={
            REPLACEMENT_LOT: states.pressing((choose_replacement, ChooseReplacementBatch)),
            REPLACEMENT_QUANTITY: states.typing(enter_replacement_quantity),
        },
        cancel=cancel,
    )


def credit_conversation() -> ConversationHandler[Any]:
    """Finance records a refund's credit amount; the customer is told."""
    texts = ("return_credit.ask", "return_credit.recorded")
    check, record = goods.return_for_credit, goods.record_credit
    step = typed_step(
        CREDIT_KEY, BeginCredit, check, record, texts, CREDIT, cancel, _credit_figures
    )
    return step


def _credit_figures(request: ReturnRequest) -> dict[str, str]:
    return {
        "amount": as_money(request.total_amount or 0),
        "credit": as_money(request.credit_amount or 0),
    }


def refusal_conversation() -> ConversationHandler[Any]:
    """The business head's refusal of an exchange, with its reason; the customer and
    after-sales are told."""
    texts = ("return_refusal.ask", "return_refusal.recorded")
    check, record = review.return_for_refusal, review.refuse_return
    # final (一律不予批準): asked once more with the reason, naming who is told
    confirm = Confirmation(
        "return_refusal.confirm",
        "return_refusal.button_confirm",
        ConfirmRefusal,
        BackToRefusal,
        REFUSAL_CONFIRM,
        review.check_refusal,
    )
    return typed_step(
        REFUSAL_KEY, RefuseReturn, check, record, texts, REFUSAL, cancel, confirm=confirm
    )


def special_case_conversation() -> ConversationHandler[Any]:
    """A customer whose exchange was refused states its special circumstance; after-sales is
    asked whether to report it to the company leader."""
    texts = ("return_special.ask", "return_special.recorded")
    check, record = review.return_for_special_request, review.ask_special_case
    return typed_step(SPECIAL_KEY, AskSpecialCase, check, record, texts, SPECIAL, cancel)


def action_done_conversation() -> ConversationHandler[Any]:
    """The owner of a corrective or preventive action records what was done; quality is told."""
    texts = ("return_action.ask", "return_action.recorded")
    check, record = corrective.action_for_owner, corrective.close_corrective_action
    return typed_step(
        ACTION_DONE_KEY,
        RecordActionDone,
        check,
        record,
        texts,
        ACTION_DONE,
        cancel,
        corrective.action_details,
    )


def transport_order_conversation() -> ConversationHandler[Any]:
    """The after-sales head types the freight station the goods wait at; the transport order
    goes to the drivers."""
    texts = ("return_order.ask", "return_order.recorded")
    check, record = goods.return_for_transport_order, goods.issue_transport_order
    return typed_step(
        ORDER_KEY, IssueTransportOrder, check, record, texts, STATION, cancel, _station
    )


def _station(request: ReturnRequest) -> dict[str, str]:
    return {"station": request.transport_station or ""}


def finance_conversation() -> ConversationHandler[Any]:
    """Finance does not agree with an exchange's figures, with its reason; the exchange is
    refused, the customer and after-sales told."""
    texts = ("return_finance.ask", "return_finance.recorded")
    check, record = review.return_for_finance, review.finance_disagrees
    return typed_step(FINANCE_KEY, FinanceDisagrees, check, record, texts, FINANCE_NOTE, cancel)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(transport_order_conversation())
    application.add_handler(finance_conversation())
    application.add_handler(refusal_conversation())
    application.add_handler(special_case_conversation())
    application.add_handler(action_done_conversation())
    application.add_handler(credit_conversation())
    application.add_handler(inspection_conversation())
    application.add_handler(settlement_conversation())
    for action in STEPS:
        application.add_handler(
            CallbackQueryHandler(_step_handler(action), pattern=action.pattern())
        )
    return_confirm.register(application)
    application.add_handler(CallbackQueryHandler(send_slip, pattern=SendReturnSlip.pattern()))
