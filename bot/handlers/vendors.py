"""Vendor rectification (/rectify, /rectifications and the ladder's buttons) and the monthly
vendor score (/score and the 1st-of-month prompt)."""

from __future__ import annotations

import datetime as dt
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

from procedures import rectifications, roles, vendor_scores
from procedures.calendar import previous_month
from procedures.outbox import as_text, button
from procedures.rectifications import RectificationRung, RectificationStatus
from storage.models import Rectification, Vendor

from ..access import for_command
from ..context import BotContext, edit_query_message
from ..conversations import dialogue

VENDOR, DESCRIPTION, DUE = range(3)
FOLLOW_UP_NOTE = 10
FORM_FINDINGS, FORM_SCORE = 20, 21
CRITERION = 30
RAISE_KEY = "rectification_raise"
FOLLOW_KEY = "rectification_follow_up"
FORM_KEY = "rectification_form"
SCORE_KEY = "vendor_score"
DUE_CHOICES = (3, 7, 14)
TEXT = filters.TEXT & ~filters.COMMAND


def _id(context: BotContext) -> int:
    assert context.match is not None
    return int(context.match.group(1))


# --- raising a request -----------------------------------------------------------------------


@for_command("rectify")
async def start_rectify(update: Update, context: BotContext) -> int | None:
    """Asks which vendor the rectification request is for."""
    async with context.session() as session:
        found = await rectifications.vendors(session)
    context.user_data[RAISE_KEY] = {}
    await context.reply(
        update,
        "rectification.ask_vendor",
        buttons=[
            [button("common.organisation", f"rc:v:{v.id}", code=v.code, name=v.name)] for v in found
        ],
    )
    return VENDOR


async def choose_vendor(update: Update, context: BotContext) -> int:
    """Stores the vendor; asks what is nonconforming."""
    await update.callback_query.answer()  # type: ignore[union-attr]
    context.user_data[RAISE_KEY] = {"vendor_id": _id(context)}
    await edit_query_message(update, context.text("rectification.ask_description"))
    return DESCRIPTION


async def enter_description(update: Update, context: BotContext) -> int:
    """Stores the description; asks for the deadline."""
    typed = update.effective_message.text  # type: ignore[union-attr]
    context.user_data[RAISE_KEY]["description"] = rectifications.check_description(typed)
    await context.reply(
        update,
        "rectification.ask_due",
        buttons=[[button("rectification.days", f"rc:d:{days}", days=days) for days in DUE_CHOICES]],
    )
    return DUE


async def choose_due(update: Update, context: BotContext) -> int:
    """Records the verbal request; the vendor's staff are told."""
    query = update.callback_query
    assert query is not None
    state = context.user_data.get(RAISE_KEY) or {}
    if "description" not in state:
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return ConversationHandler.END
    async with context.unit_of_work() as uow:
        rectification = await rectifications.raise_rectification(
            uow,
            await context.actor(uow.session),
            state["vendor_id"],
            state["description"],
            context.now() + dt.timedelta(days=_id(context)),
        )
    await query.answer()
    context.user_data.pop(RAISE_KEY, None)
    await edit_query_message(
        update,
        context.text(
            "rectification.raised_reply",
            label=f"#{rectification.id}",
            vendor=rectification.vendor.name,
            due_at=rectification.due_at,
        ),
    )
    return ConversationHandler.END


# --- the ladder's buttons --------------------------------------------------------------------


def manager_buttons(rectification: Rectification) -> list[list[dict[str, Any]]]:
    """What the manager can do at this rung."""
    rid = rectification.id
    if rectification.status == RectificationStatus.FORM_SUBMITTED:
        return [
            [
                button("rectification.button.forward", f"rn:fwd:{rid}"),
                button("rectification.button.back", f"rn:back:{rid}"),
            ]
        ]
    if rectification.status != RectificationStatus.OPEN:
        return (
            [[button("rectification.button.follow_up", f"rn:follow:{rid}")]]
            if (rectification.status == RectificationStatus.EVALUATING)
            else []
        )
    climb = (
        button("rectification.button.write", f"rn:write:{rid}")
        if rectification.rung == RectificationRung.VERBAL
        else button("rectification.button.evaluate", f"rn:eval:{rid}")
    )
    return [
        [button("rectification.button.conforms", f"rn:ok:{rid}"), climb],
        [button("rectification.button.follow_up", f"rn:follow:{rid}")],
    ]


@for_command("rectifications")
async def list_rectifications(update: Update, context: BotContext) -> None:
    """Open rectifications, each with the buttons of its rung."""
    async with context.session() as session:
        found = await rectifications.open_rectifications(session)
    if not found:
        await context.reply(update, "rectification.none_open")
        return
    is_manager = roles.EQUIPMENT_MANAGER in context.member.roles  # type: ignore[union-attr]
    for rectification in found:
        await context.reply(
            update,
            "rectification.line",
            label=rectification.number or f"#{rectification.id}",
            vendor=rectification.vendor.name,
            description=rectification.description,
            rung=as_text(f"rectification.rung.{rectification.rung}"),
            status=as_text(f"rectification.status.{rectification.status}"),
            due_at=rectification.due_at,
            buttons=manager_buttons(rectification) if is_manager else None,
        )


async def _step(
    update: Update, context: BotContext, procedure: Any, reply_key: str, **kwargs: Any
) -> None:
    query = update.callback_query
    assert query is not None
    async with context.unit_of_work() as uow:
        rectification = await procedure(
            uow, await context.actor(uow.session), _id(context), **kwargs
        )
    await query.answer()
    await edit_query_message(
        update,
        context.text(
            reply_key,
            label=rectification.number or f"#{rectification.id}",
            vendor=rectification.vendor.name,
            due_at=rectification.due_at,
        ),
    )


async def conforms(update: Update, context: BotContext) -> None:
    """The service conforms now: the ladder ends."""
    await _step(
        update, context, rectifications.confirm_conforming, "rectification.conforming_reply"
    )


async def write_notice(update: Update, context: BotContext) -> None:
    """Issues the written notice RN-… to the vendor."""
    await _step(update, context, rectifications.issue_written_notice, "rectification.written_reply")


async def start_evaluation(update: Update, context: BotContext) -> None:
    """Asks the engineer for the evaluation form."""
    await _step(
        update, context, rectifications.escalate_to_evaluation, "rectification.evaluation_reply"
    )


async def forward_form(update: Update, context: BotContext) -> None:
    """The manager forwards the form to the management office."""
    await _step(
        update,
        context,
        rectifications.review_evaluation,
        "rectification.forwarded_reply",
        forward=True,
    )


async def send_form_back(update: Update, context: BotContext) -> None:
    """The manager sends the form back to the engineer."""
    await _step(
        update,
        context,
        rectifications.review_evaluation,
        "rectification.sent_back_reply",
        forward=False,
    )


async def approve_form(update: Update, context: BotContext) -> None:
    """The management office approves the evaluation."""
    await _step(
        update,
        context,
        rectifications.decide_evaluation,
        "rectification.approved_reply",
        approve=True,
    )


async def return_form(update: Update, context: BotContext) -> None:
    """The management office returns the evaluation."""
    await _step(
        update,
        context,
        rectifications.decide_evaluation,
        "rectification.returned_reply",
        approve=False,
    )


# --- follow-ups and the evaluation form ------------------------------------------------------


async def begin_follow_up(update: Update, context: BotContext) -> int:
    """Asks for the follow-up note."""
    await update.callback_query.answer()  # type: ignore[union-attr]
    context.user_data[FOLLOW_KEY] = {"id": _id(context), "photos": []}
    await context.reply(update, "rectification.ask_follow_up")
    return FOLLOW_UP_NOTE


async def follow_up_photo(update: Update, context: BotContext) -> int:
    """Keeps a photo as evidence of the follow-up (before the note)."""
    message = update.effective_message
    assert message is not None and message.photo
    context.user_data[FOLLOW_KEY]["photos"].append(message.photo[-1].file_id)
    return FOLLOW_UP_NOTE


async def enter_follow_up(update: Update, context: BotContext) -> int:
    """Records the follow-up with its evidence."""
    state = context.user_data[FOLLOW_KEY]
    async with context.unit_of_work() as uow:
        rectification = await rectifications.add_follow_up(
            uow,
            await context.actor(uow.session),
            state["id"],
            update.effective_message.text,
            state["photos"],
        )  # type: ignore[union-attr]
    context.user_data.pop(FOLLOW_KEY, None)
    await context.reply(
        update,
        "rectification.follow_up_reply",
        label=rectification.number or f"#{rectification.id}",
    )
    return ConversationHandler.END


async def begin_form(update: Update, context: BotContext) -> int:
    """The engineer starts the evaluation form: asks for the findings."""
    query = update.callback_query
    assert query is not None
    async with context.session() as session:
        engineer = await context.actor(session)
        rectification = await rectifications.rectification_for_form(session, engineer, _id(context))
    await query.answer()
    context.user_data[FORM_KEY] = {"id": rectification.id}
    await context.reply(
        update,
        "rectification.ask_findings",
        label=rectification.number or f"#{rectification.id}",
        vendor=rectification.vendor.name,
    )
    return FORM_FINDINGS


async def enter_findings(update: Update, context: BotContext) -> int:
    """Stores the findings; asks for the score."""
    typed = update.effective_message.text  # type: ignore[union-attr]
    context.user_data[FORM_KEY]["findings"] = rectifications.check_findings(typed)
    await context.reply(update, "rectification.ask_score")
    return FORM_SCORE


async def enter_score(update: Update, context: BotContext) -> int:
    """Submits the form; the manager reviews it."""
    score = rectifications.check_score(update.effective_message.text)  # type: ignore[union-attr]
    state = context.user_data[FORM_KEY]
    async with context.unit_of_work() as uow:
        rectification = await rectifications.submit_evaluation(
            uow, await context.actor(uow.session), state["id"], state["findings"], score
        )
    context.user_data.pop(FORM_KEY, None)
    await context.reply(
        update,
        "rectification.form_submitted_reply",
        label=rectification.number or f"#{rectification.id}",
    )
    return ConversationHandler.END


# --- monthly score ---------------------------------------------------------------------------


@for_command("score")
async def choose_vendor_to_score(update: Update, context: BotContext) -> None:
    """/score: last month's sheet for each vendor, one button each."""
    period = previous_month(context.now(), context.services.settings.timezone)
    async with context.session() as session:
        found = await rectifications.vendors(session)
    await context.reply(
        update,
        "score.choose",
        period=period,
        buttons=[
            [button("score.button.start", f"vs:go:{v.id}:{period.replace('-', '')}", vendor=v.code)]
            for v in found
        ],
    )


async def begin_score(update: Update, context: BotContext) -> int | None:
    """Shows what was measured; asks the first judged criterion."""
    query = update.callback_query
    assert query is not None and context.match is not None
    if roles.EQUIPMENT_MANAGER not in context.member.roles:  # type: ignore[union-attr]
        await query.answer(context.text("error.not_allowed"), show_alert=True)
        return ConversationHandler.END
    vendor_id, raw_period = int(context.match.group(1)), context.match.group(2)
    period = f"{raw_period[:4]}-{raw_period[4:]}"
    async with context.session() as session:
        vendor = await session.get(Vendor, vendor_id)
        if vendor is None:
            await query.answer(context.text("error.stale_button"), show_alert=True)
            return ConversationHandler.END
        measured = await vendor_scores.measured_figures(
            session, vendor_id, period, context.services.settings.timezone
        )
    await query.answer()
    context.user_data[SCORE_KEY] = {
        "vendor_id": vendor_id,
        "period": period,
        "judged": {},
        "vendor": vendor.name,
    }
    await context.reply(
        update,
        "score.measured",
        vendor=vendor.name,
        period=period,
        **{k: "-" if v is None else v for k, v in measured.items()},
        rung=as_text(f"rectification.rung.{measured['highest_rung']}")
        if measured["highest_rung"]
        else "-",
    )
    return await _ask_criterion(update, context)


async def _ask_criterion(update: Update, context: BotContext) -> int:
    state = context.user_data[SCORE_KEY]
    pending = [c for c in vendor_scores.SCORE_CRITERIA if c not in state["judged"]]
    criterion = pending[0]
    await context.reply(
        update,
        "score.ask_criterion",
        criterion=as_text(f"score.criterion.{criterion}"),
        position=len(state["judged"]) + 1,
        total=len(vendor_scores.SCORE_CRITERIA),
        buttons=[
            [
                button("score.value", f"vs:c:{criterion}:{value}", value=value)
                for value in range(1, 6)
            ]
        ],
    )
    return CRITERION


async def answer_criterion(update: Update, context: BotContext) -> int:
    """Stores one judged criterion; after the last, stores the sheet and sends it."""
    query = update.callback_query
    assert query is not None and context.match is not None
    state = context.user_data.get(SCORE_KEY)
    criterion, value = context.match.group(1), int(context.match.group(2))
    if not state or criterion in state["judged"]:  # a stale or double-tapped button
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return CRITERION if state else ConversationHandler.END
    await query.answer()
    state["judged"][criterion] = value
    await edit_query_message(
        update,
        context.text(
            "score.answered", criterion=as_text(f"score.criterion.{criterion}"), value=value
        ),
    )
    if len(state["judged"]) < len(vendor_scores.SCORE_CRITERIA):
        return await _ask_criterion(update, context)
    async with context.unit_of_work() as uow:
        score = await vendor_scores.record_vendor_score(
            uow,
            await context.actor(uow.session),
            state["vendor_id"],
            state["period"],
            state["judged"],
            context.services.settings.timezone,
        )
    context.user_data.pop(SCORE_KEY, None)
    await context.reply(
        update,
        "score.recorded_reply",
        vendor=state["vendor"],
        period=score.period,
        total=score.total,
    )
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """Leaves the dialogue; nothing was recorded."""
    for key in (RAISE_KEY, FOLLOW_KEY, FORM_KEY, SCORE_KEY):
        context.user_data.pop(key, None)
    await context.reply(update, "cancel.done")
    return ConversationHandler.END


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        dialogue(
            "rectification_raise",
            entry_points=[CommandHandler("rectify", start_rectify)],
            states={
                VENDOR: [CallbackQueryHandler(choose_vendor, pattern=r"^rc:v:(\d+)$")],
                DESCRIPTION: [MessageHandler(TEXT, enter_description)],
                DUE: [CallbackQueryHandler(choose_due, pattern=r"^rc:d:(\d+)$")],
            },
            cancel=cancel,
        )
    )
    application.add_handler(
        dialogue(
            "rectification_work",
            entry_points=[
                CallbackQueryHandler(begin_follow_up, pattern=r"^rn:follow:(\d+)$"),
                CallbackQueryHandler(begin_form, pattern=r"^rn:form:(\d+)$"),
            ],
            states={
                FOLLOW_UP_NOTE: [
                    MessageHandler(filters.PHOTO, follow_up_photo),
                    MessageHandler(TEXT, enter_follow_up),
                ],
                FORM_FINDINGS: [MessageHandler(TEXT, enter_findings)],
                FORM_SCORE: [MessageHandler(TEXT, enter_score)],
            },
            cancel=cancel,
        )
    )
    application.add_handler(
        dialogue(
            "vendor_score",
            entry_points=[CallbackQueryHandler(begin_score, pattern=r"^vs:go:(\d+):(\d{6})$")],
            states={
                CRITERION: [
                    CallbackQueryHandler(answer_criterion, pattern=r"^vs:c:([a-z_]+):([1-5])$")
                ]
            },
            cancel=cancel,
        )
    )
    for handler, pattern in (
        (conforms, r"^rn:ok:(\d+)$"),
        (write_notice, r"^rn:write:(\d+)$"),
        (start_evaluation, r"^rn:eval:(\d+)$"),
        (forward_form, r"^rn:fwd:(\d+)$"),
        (send_form_back, r"^rn:back:(\d+)$"),
        (approve_form, r"^rn:approve:(\d+)$"),
        (return_form, r"^rn:return:(\d+)$"),
    ):
        application.add_handler(CallbackQueryHandler(handler, pattern=pattern))
    application.add_handler(CommandHandler("rectifications", list_rectifications))
    application.add_handler(CommandHandler("score", choose_vendor_to_score))
