"""Vendor rectification (/rectify, /rectifications and the ladder's buttons) and the monthly
vendor score (/score and the 1st-of-month prompt)."""

from __future__ import annotations

import datetime as dt
from collections.abc import MutableMapping
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

from procedures.equipment.actions import RectifyDefect
from procedures.kernel import roles
from procedures.kernel.calendar import parse_month, previous_month
from procedures.kernel.outbox import as_deadline, as_text, button
from procedures.vendors import completion, queries, rectifications
from procedures.vendors import scores as vendor_scores
from procedures.vendors.actions import (
    ApproveEvaluation,
    BeginEvaluationForm,
    BeginFollowUp,
    BeginScore,
    ConfirmConforming,
    ForwardEvaluation,
    IssueWrittenNotice,
    JudgeCriterion,
    RectifyVendor,
    RectifyWithin,
    ReportRectified,
    ReturnEvaluation,
    SendEvaluationBack,
    StartEvaluation,
)
from procedures.vendors.queries import Rectification
from procedures.vendors.rectifications import RectificationRung
from procedures.vendors.rules import RectificationStatus

from ..access import for_command
from ..context import BotContext, edit_query_message
from ..conversations import dialogue
from ..dialogue import states
from ..dialogue.steps import StaffDialogue, cancelling, option_rows
from ..dialogue.updates import MissingInUpdate, member_of, message_of, pressed, query_of, text_of

VENDOR, DESCRIPTION, DUE = range(3)
FOLLOW_UP_NOTE = 10
FORM_FINDINGS, FORM_SCORE = 20, 21
CRITERION = 30
RAISE_KEY = "rectification_raise"
FOLLOW_KEY = "rectification_follow_up"
FORM_KEY = "rectification_form"
SCORE_KEY = "vendor_score"
DUE_CHOICES = (3, 7, 14)
RAISE, FOLLOW, FORM, SCORE = (
    StaffDialogue(key) for key in (RAISE_KEY, FOLLOW_KEY, FORM_KEY, SCORE_KEY)
)
# the ladder's steps: each button carries the rectification's id
RectificationAction = (
    ConfirmConforming
    | IssueWrittenNotice
    | StartEvaluation
    | ForwardEvaluation
    | SendEvaluationBack
    | ApproveEvaluation
    | ReturnEvaluation
)


# --- raising a request -----------------------------------------------------------------------


@for_command("rectify")
async def start_rectify(update: Update, context: BotContext) -> int | None:
    """Asks which vendor the rectification request is for."""
    async with context.session() as session:
        found = await queries.vendors(session)
    await RAISE.begin(update, context)
    await RAISE.ask(
        update,
        context,
        "rectification.ask_vendor",
        buttons=option_rows(
            "common.organisation",
            ((RectifyVendor(vendor_id=v.id), {"code": v.code, "name": v.name}) for v in found),
        ),
    )
    return VENDOR


@for_command("rectify")
async def rectify_defect(update: Update, context: BotContext) -> int | None:
    """From a defect's notice: the defect's vendor is chosen; asks what is nonconforming."""
    query = query_of(update)
    async with context.session() as session:
        defect = await rectifications.defect_for_rectification(
            session, await context.actor(session), pressed(update, RectifyDefect).defect_id
        )
        assert defect.vendor_id is not None  # a defect without a vendor is refused above
        vendor = await queries.vendor(session, defect.vendor_id)
    assert vendor is not None
    await query.answer()
    await RAISE.begin(update, context, vendor_id=vendor.id, defect_id=defect.id)
    await context.reply(
        update, "rectification.ask_description_for_defect", number=defect.number, vendor=vendor.name
    )
    return DESCRIPTION


@RAISE.step
async def choose_vendor(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the vendor; asks what is nonconforming (in place of the vendors)."""
    state["vendor_id"] = pressed(update, RectifyVendor).vendor_id
    await RAISE.answered(update, context, context.text("rectification.ask_description"))
    return DESCRIPTION


@RAISE.step
async def enter_description(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the description; asks for the deadline."""
    state["description"] = rectifications.check_description(text_of(update))
    await RAISE.ask(
        update,
        context,
        "rectification.ask_due",
        buttons=[
            [
                button("rectification.days", RectifyWithin(days=days), days=days)
                for days in DUE_CHOICES
            ]
        ],
    )
    return DUE


@RAISE.step_answered_later
async def choose_due(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Records the verbal request; the vendor's staff are told."""
    query = query_of(update)
    if "description" not in state:
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return ConversationHandler.END
    async with context.unit_of_work() as uow:
        rectification = await rectifications.raise_rectification(
            uow,
            await context.actor(uow.session),
            state["vendor_id"],
            state["description"],
            context.now() + dt.timedelta(days=pressed(update, RectifyWithin).days),
            defect_id=state.get("defect_id"),
        )
    await query.answer()
    await RAISE.end(update, context, pressed=False)
    await edit_query_message(
        update,
        context.text(
            "rectification.raised_reply",
            label=f"#{rectification.id}",
            vendor=rectification.vendor.name,
            due_at=as_deadline(rectification.due_at),
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
                button("rectification.button.forward", ForwardEvaluation(rectification_id=rid)),
                button("rectification.button.back", SendEvaluationBack(rectification_id=rid)),
            ]
        ]
    if rectification.status != RectificationStatus.OPEN:
        return (
            [[button("rectification.button.follow_up", BeginFollowUp(rectification_id=rid))]]
            if (rectification.status == RectificationStatus.EVALUATING)
            else []
        )
    climb = (
        button("rectification.button.write", IssueWrittenNotice(rectification_id=rid))
        if rectification.rung == RectificationRung.VERBAL
        else button("rectification.button.evaluate", StartEvaluation(rectification_id=rid))
    )
    return [
        [button("rectification.button.conforms", ConfirmConforming(rectification_id=rid)), climb],
        [button("rectification.button.follow_up", BeginFollowUp(rectification_id=rid))],
    ]


@for_command("rectifications")
async def list_rectifications(update: Update, context: BotContext) -> None:
    """Open rectifications, each with the buttons of its rung."""
    async with context.session() as session:
        found = await queries.open_rectifications(session)
    if not found:
        await context.reply(update, "rectification.none_open")
        return
    is_manager = roles.EQUIPMENT_MANAGER in member_of(context).roles
    for rectification in found:
        await context.reply(
            update,
            "rectification.line",
            label=rectification.number or f"#{rectification.id}",
            vendor=rectification.vendor.name,
            description=rectification.description,
            rung=as_text(f"rectification.rung.{rectification.rung}"),
            status=as_text(f"rectification.status.{rectification.status}"),
            due_at=as_deadline(rectification.due_at),
            buttons=manager_buttons(rectification) if is_manager else None,
        )


async def _step(
    update: Update,
    context: BotContext,
    action: type[RectificationAction],
    procedure: Any,
    reply_key: str,
    **kwargs: Any,
) -> None:
    query = query_of(update)
    rectification_id = pressed(update, action).rectification_id
    async with context.unit_of_work() as uow:
        rectification = await procedure(
            uow, await context.actor(uow.session), rectification_id, **kwargs
        )
    await query.answer()
    await edit_query_message(
        update,
        context.text(
            reply_key,
            label=rectification.number or f"#{rectification.id}",
            vendor=rectification.vendor.name,
            due_at=as_deadline(rectification.due_at),
        ),
    )


async def report_done(update: Update, context: BotContext) -> None:
    """The vendor's 整改完成: the manager is asked to check; the notice says who reported it."""
    query = query_of(update)
    async with context.unit_of_work() as uow:
        rectification = await completion.report_rectified(
            uow,
            await context.actor(uow.session),
            pressed(update, ReportRectified).rectification_id,
        )
    label = rectification.number or f"#{rectification.id}"
    await query.answer(context.text("rectification.reported_reply", label=label), show_alert=True)


async def conforms(update: Update, context: BotContext) -> None:
    """The service conforms now: the ladder ends."""
    await _step(
        update,
        context,
        ConfirmConforming,
        rectifications.confirm_conforming,
        "rectification.conforming_reply",
    )


async def write_notice(update: Update, context: BotContext) -> None:
    """Issues the written notice RN-… to the vendor."""
    await _step(
        update,
        context,
        IssueWrittenNotice,
        rectifications.issue_written_notice,
        "rectification.written_reply",
    )


async def start_evaluation(update: Update, context: BotContext) -> None:
    """Asks the engineer for the evaluation form."""
    await _step(
        update,
        context,
        StartEvaluation,
        rectifications.escalate_to_evaluation,
        "rectification.evaluation_reply",
    )


async def forward_form(update: Update, context: BotContext) -> None:
    """The manager forwards the form to the management office."""
    await _step(
        update,
        context,
        ForwardEvaluation,
        rectifications.review_evaluation,
        "rectification.forwarded_reply",
        forward=True,
    )


async def send_form_back(update: Update, context: BotContext) -> None:
    """The manager sends the form back to the engineer."""
    await _step(
        update,
        context,
        SendEvaluationBack,
        rectifications.review_evaluation,
        "rectification.sent_back_reply",
        forward=False,
    )


async def approve_form(update: Update, context: BotContext) -> None:
    """The management office approves the evaluation."""
    await _step(
        update,
        context,
        ApproveEvaluation,
        rectifications.decide_evaluation,
        "rectification.approved_reply",
        approve=True,
    )


async def return_form(update: Update, context: BotContext) -> None:
    """The management office returns the evaluation."""
    await _step(
        update,
        context,
        ReturnEvaluation,
        rectifications.decide_evaluation,
        "rectification.returned_reply",
        approve=False,
    )


# --- follow-ups and the evaluation form ------------------------------------------------------


async def begin_follow_up(update: Update, context: BotContext) -> int:
    """Asks for the follow-up note."""
    await query_of(update).answer()
    action = pressed(update, BeginFollowUp)
    await FOLLOW.begin(update, context, id=action.rectification_id, photos=[])
    await context.reply(update, "rectification.ask_follow_up")
    return FOLLOW_UP_NOTE


@FOLLOW.step
async def follow_up_photo(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Keeps a photo as evidence of the follow-up (before the note)."""
    photo = message_of(update).photo
    if not photo:  # registered for photos only
        raise MissingInUpdate("photo")
    state["photos"].append(photo[-1].file_id)
    return FOLLOW_UP_NOTE


@FOLLOW.step
async def enter_follow_up(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Records the follow-up with its evidence."""
    async with context.unit_of_work() as uow:
        rectification = await rectifications.add_follow_up(
            uow,
            await context.actor(uow.session),
            state["id"],
            text_of(update),
            state["photos"],
        )
    await FOLLOW.end(update, context)
    await context.reply(
        update,
        "rectification.follow_up_reply",
        label=rectification.number or f"#{rectification.id}",
    )
    return ConversationHandler.END


async def begin_form(update: Update, context: BotContext) -> int:
    """The engineer starts the evaluation form: asks for the findings."""
    query = query_of(update)
    async with context.session() as session:
        engineer = await context.actor(session)
        rectification = await rectifications.rectification_for_form(
            session, engineer, pressed(update, BeginEvaluationForm).rectification_id
        )
    await query.answer()
    await FORM.begin(update, context, id=rectification.id)
    await context.reply(
        update,
        "rectification.ask_findings",
        label=rectification.number or f"#{rectification.id}",
        vendor=rectification.vendor.name,
    )
    return FORM_FINDINGS


@FORM.step
async def enter_findings(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the findings; asks for the score."""
    state["findings"] = rectifications.check_findings(text_of(update))
    await context.reply(update, "rectification.ask_score")
    return FORM_SCORE


@FORM.step
async def enter_score(update: Update, context: BotContext, state: MutableMapping[str, Any]) -> int:
    """Submits the form; the manager reviews it."""
    score = rectifications.check_score(text_of(update))
    async with context.unit_of_work() as uow:
        rectification = await rectifications.submit_evaluation(
            uow, await context.actor(uow.session), state["id"], state["findings"], score
        )
    await FORM.end(update, context)
    await context.reply(
        update,
        "rectification.form_submitted_reply",
        label=rectification.number or f"#{rectification.id}",
    )
    return ConversationHandler.END


# --- monthly score ---------------------------------------------------------------------------


@for_command("score")
async def choose_vendor_to_score(update: Update, context: BotContext) -> None:
    """/score: last month's sheet for each vendor, one button each; /score 2026-10: that
    month's (any month before this one)."""
    zone = context.services.settings.timezone
    period = previous_month(context.now(), zone)
    if context.args:
        asked = parse_month(context.args[0])
        if asked is None or asked > period:
            await context.reply(update, "score.period_usage")
            return
        period = asked
    async with context.session() as session:
        found = await queries.vendors(session)
    await context.reply(
        update,
        "score.choose",
        period=period,
        buttons=[
            [
                button(
                    "score.button.start",
                    BeginScore.for_month(v.id, period),
                    vendor=v.name,
                    code=v.code,
                )
            ]
            for v in found
        ],
    )


async def begin_score(update: Update, context: BotContext) -> int | None:
    """Shows what was measured; asks the first judged criterion."""
    query = query_of(update)
    if roles.EQUIPMENT_MANAGER not in member_of(context).roles:
        await query.answer(context.text("error.not_allowed"), show_alert=True)
        return ConversationHandler.END
    action = pressed(update, BeginScore)
    vendor_id, period = action.vendor_id, action.month
    async with context.session() as session:
        vendor = await queries.vendor(session, vendor_id)
        if vendor is None:
            await query.answer(context.text("error.stale_button"), show_alert=True)
            return ConversationHandler.END
        measured = await vendor_scores.measured_figures(
            session, vendor_id, period, context.services.settings.timezone
        )
    await query.answer()
    state = await SCORE.begin(
        update, context, vendor_id=vendor_id, period=period, judged={}, vendor=vendor.name
    )
    figures: dict[str, Any] = {k: "-" if v is None else v for k, v in measured.items()}
    await context.reply(
        update,
        "score.measured",
        vendor=vendor.name,
        period=period,
        **figures,
        rung=as_text(f"rectification.rung.{measured['highest_rung']}")
        if measured["highest_rung"]
        else "-",
    )
    return await _ask_criterion(update, context, state)


async def _ask_criterion(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """The next criterion's question, beside the answered ones (each answer takes its own
    question's buttons away)."""
    pending = [c for c in vendor_scores.SCORE_CRITERIA if c not in state["judged"]]
    criterion = pending[0]
    await SCORE.offer(
        update,
        context,
        "score.ask_criterion",
        criterion=as_text(f"score.criterion.{criterion}"),
        # what the score sheet (評分表) scores it by, as the printed sheet says it
        standard=as_text(f"document.standard.{criterion}"),
        position=len(state["judged"]) + 1,
        total=len(vendor_scores.SCORE_CRITERIA),
        buttons=[
            [
                button("score.value", JudgeCriterion(criterion=criterion, value=value), value=value)
                for value in range(1, 6)
            ]
        ],
    )
    return CRITERION


@SCORE.step_answered_later
async def answer_criterion(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores one judged criterion; after the last, stores the sheet and sends it."""
    query = query_of(update)
    action = pressed(update, JudgeCriterion)
    criterion, value = action.criterion, action.value
    if criterion in state["judged"]:  # a stale or double-tapped button
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return CRITERION
    await query.answer()
    state["judged"][criterion] = value
    await SCORE.answered(
        update,
        context,
        context.text(
            "score.answered", criterion=as_text(f"score.criterion.{criterion}"), value=value
        ),
    )
    if len(state["judged"]) < len(vendor_scores.SCORE_CRITERIA):
        return await _ask_criterion(update, context, state)
    async with context.unit_of_work() as uow:
        score = await vendor_scores.record_vendor_score(
            uow,
            await context.actor(uow.session),
            state["vendor_id"],
            state["period"],
            state["judged"],
            context.services.settings.timezone,
        )
    await SCORE.end(update, context, pressed=False)
    await context.reply(
        update,
        "score.recorded_reply",
        vendor=state["vendor"],
        period=score.period,
        total=score.total,
    )
    return ConversationHandler.END


cancel = cancelling(RAISE, FOLLOW, FORM, SCORE)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(
        dialogue(
            "rectification_raise",
            entry_points=[
                CommandHandler("rectify", start_rectify),
                CallbackQueryHandler(rectify_defect, pattern=RectifyDefect.pattern()),
            ],
            states={
                VENDOR: states.pressing((choose_vendor, RectifyVendor)),
                DESCRIPTION: states.typing(enter_description),
                DUE: states.pressing((choose_due, RectifyWithin)),
            },
            cancel=cancel,
        )
    )
    application.add_handler(
        dialogue(
            "rectification_work",
            entry_points=[
                CallbackQueryHandler(begin_follow_up, pattern=BeginFollowUp.pattern()),
                CallbackQueryHandler(begin_form, pattern=BeginEvaluationForm.pattern()),
            ],
            states={
                FOLLOW_UP_NOTE: [
                    MessageHandler(filters.PHOTO, follow_up_photo),
                    *states.typing(enter_follow_up),
                ],
                FORM_FINDINGS: states.typing(enter_findings),
                FORM_SCORE: states.typing(enter_score),
            },
            cancel=cancel,
        )
    )
    application.add_handler(
        dialogue(
            "vendor_score",
            entry_points=[CallbackQueryHandler(begin_score, pattern=BeginScore.pattern())],
            states={CRITERION: states.pressing((answer_criterion, JudgeCriterion))},
            cancel=cancel,
        )
    )
    application.add_handler(CallbackQueryHandler(report_done, pattern=ReportRectified.pattern()))
    for handler, action in (
        (conforms, ConfirmConforming),
        (write_notice, IssueWrittenNotice),
        (start_evaluation, StartEvaluation),
        (forward_form, ForwardEvaluation),
        (send_form_back, SendEvaluationBack),
        (approve_form, ApproveEvaluation),
        (return_form, ReturnEvaluation),
    ):
        application.add_handler(CallbackQueryHandler(handler, pattern=action.pattern()))
    application.add_handler(CommandHandler("rectifications", list_rectifications))
    application.add_handler(CommandHandler("score", choose_vendor_to_score))
