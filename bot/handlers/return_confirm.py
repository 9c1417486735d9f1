"""The final steps on a return asked once more, naming what follows (as 確認不合格 is): booking
in, a refund, the company leader's decision on a special case. The first press checks the step
may be taken and asks; 確認 takes it (checked again under the row lock), 返回 records nothing."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from procedures.kernel.outbox import as_deadline, as_text, button
from procedures.returns import goods, review, slips
from procedures.returns.actions import (
    BookIn,
    ConfirmReturnStep,
    DecideSpecialCase,
    KeepReturnStep,
)
from procedures.returns.common import status_key, subject_params
from procedures.returns.queries import ReturnRequest, buttons_for
from procedures.returns.rules import ReturnReason

from ..context import BotContext, edit_query_message
from ..dialogue import keyboards
from ..dialogue.updates import member_of, pressed, query_of

# the step confirmed -> the reply once it is taken
REPLIES = {
    "book_in": "return.reply.booked_in",
    "refund": "return.reply.refund_chosen",
    "approve": "return.reply.decided",
    "refuse": "return.reply.decided",
}


async def reply_on_return(
    update: Update, context: BotContext, request: ReturnRequest, key: str, *, above: str = ""
) -> None:
    """The pressed message becomes the step's confirmation (under `above`, what the message
    said that stays), with the presser's next buttons."""
    rows = buttons_for(request, member_of(context).roles)
    params: dict[str, Any] = {"number": request.number, "status": as_text(status_key(request))}
    if key == "return.reply.tallied":  # says by when the slip goes out, not "tomorrow"
        params["due_at"] = as_deadline(slips.slip_due(request, context.services.settings.timezone))
    confirmation = context.text(key, **params)
    await edit_query_message(
        update,
        f"{above}\n\n{confirmation}" if above else confirmation,
        context.keyboard(rows) if rows else None,
    )


async def ask_book_in(update: Update, context: BotContext) -> None:
    """Checks the goods may be booked in (the three signatures); asks, naming what follows."""
    return_id = pressed(update, BookIn).return_id
    async with context.session() as session:
        request = await goods.return_for_booking_in(
            session, await context.actor(session), return_id
        )
    # what the warehouse does next (4.2.7): an unsalable exchange in kind, quality as the
    # customer asks
    settle = "exchange" if request.reason == ReturnReason.UNSALABLE else "either"
    await ask(update, context, request, "book_in", settle=context.text(f"return.confirm.{settle}"))


async def ask_decision(update: Update, context: BotContext) -> None:
    """The company leader's decision on a special case: asked once more, naming what follows."""
    decision = pressed(update, DecideSpecialCase)
    async with context.session() as session:
        request = await review.return_for_decision(
            session, await context.actor(session), decision.return_id
        )
    await ask(update, context, request, decision.decision)


async def ask_refund(update: Update, context: BotContext, return_id: int) -> None:
    """A refund instead of an exchange: asked once more, naming what follows."""
    async with context.session() as session:
        request = await goods.return_for_settlement(
            session, await context.actor(session), return_id, "refund"
        )
    await ask(update, context, request, "refund")


async def ask(
    update: Update, context: BotContext, request: ReturnRequest, step: str, **params: Any
) -> None:
    """The question, below the message pressed (which keeps its buttons until it is taken)."""
    query = query_of(update)
    await query.answer()
    message_id = query.message.message_id if query.message is not None else 0
    confirm = ConfirmReturnStep(return_id=request.id, step=step, message_id=message_id)  # type: ignore[arg-type]
    await context.reply(
        update,
        f"return.confirm.{step}",
        buttons=[
            [
                button(f"return.confirm.button_{step}", confirm),
                button("return.confirm.back", KeepReturnStep(return_id=request.id)),
            ]
        ],
        **subject_params(request),
        **params,
    )


async def confirm(update: Update, context: BotContext) -> None:
    """Takes the step; the question becomes its answer, and the message that asked loses its
    buttons."""
    action = pressed(update, ConfirmReturnStep)
    timezone = context.services.settings.timezone
    async with context.unit_of_work() as uow:
        actor = await context.actor(uow.session)
        if action.step == "book_in":
            request = await goods.book_in(uow, actor, action.return_id, timezone=timezone)
        elif action.step == "refund":
            request = await goods.choose_refund(uow, actor, action.return_id)
        else:
            request = await review.decide_special_case(
                uow, actor, action.return_id, action.step, timezone=timezone
            )
    await query_of(update).answer()
    await reply_on_return(update, context, request, REPLIES[action.step])
    if action.message_id:
        await keyboards.take_off(update, context, action.message_id)


async def keep(update: Update, context: BotContext) -> None:
    """Back: nothing is recorded; the message that asked keeps its buttons."""
    await query_of(update).answer()
    await edit_query_message(update, context.text("return.confirm.kept"))


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CallbackQueryHandler(ask_book_in, pattern=BookIn.pattern()))
    application.add_handler(CallbackQueryHandler(ask_decision, pattern=DecideSpecialCase.pattern()))
    application.add_handler(CallbackQueryHandler(confirm, pattern=ConfirmReturnStep.pattern()))
    application.add_handler(CallbackQueryHandler(keep, pattern=KeepReturnStep.pattern()))
