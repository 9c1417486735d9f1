"""/report: a head or manager chooses a report and a period with buttons, and gets its workbook
and chart; the quality head approves a quarter's complaint report with a written conclusion."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
)

from procedures import reporting as report_approvals
from procedures.complaints.actions import ApproveQuarterly
from procedures.kernel.calendar import (
    is_running,
    local_day,
    period_bounds,
    period_type,
    recent_periods,
)
from procedures.kernel.outbox import button
from procedures.reporting import ChoosePeriod, ChooseReport
from reports.registry import REPORTS, reports_for

from ..access import for_command
from ..context import BotContext
from ..conversations import dialogue
from ..dialogue import states
from ..dialogue.steps import StaffDialogue, cancelling
from ..dialogue.updates import member_of, pressed, query_of, text_of
from ..runtime.rendering import send_when_ready

CONCLUSION = 40
APPROVE_KEY = "report_approval"
APPROVAL = StaffDialogue(APPROVE_KEY)
RECENT = {"month": 6, "quarter": 4, "half": 2}


@for_command("report")
async def choose_report(update: Update, context: BotContext) -> None:
    """/report: one button per report the user may ask for; /report KIND PERIOD sends it."""
    user_roles = member_of(context).roles
    args = context.args or []
    if len(args) == 2:
        kind, period = args[0], args[1].upper()
        found = REPORTS.get(kind)
        if found is None or not found.recipients & user_roles:
            await context.reply(update, "report.unknown_kind")
            return
        if period_type(period) != found.period_type:
            await context.reply(update, f"report.period_usage.{found.period_type}", kind=kind)
            return
        await _send(update, context, kind, period)
        return
    await context.reply(
        update,
        "report.choose",
        buttons=[
            [button(f"report.kind.{r.kind}", ChooseReport(kind=r.kind))]
            for r in reports_for(user_roles)
        ],
    )


@for_command("report")
async def choose_period(update: Update, context: BotContext) -> None:
    """A report was chosen: one button per recent period of its type."""
    query = query_of(update)
    found = REPORTS.get(pressed(update, ChooseReport).kind)
    if found is None or not found.recipients & member_of(context).roles:
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return
    await query.answer()
    now, timezone = context.now(), context.services.settings.timezone
    periods = recent_periods(
        found.period_type, now, timezone, RECENT[found.period_type], running=found.running
    )
    await context.reply(
        update,
        "report.choose_period",
        report=context.text(f"report.kind.{found.kind}"),
        buttons=[
            [
                button(
                    "report.period_button_running"
                    if is_running(p, now, timezone)
                    else "report.period_button",
                    ChoosePeriod(kind=found.kind, period=p),
                    period=p,
                )
            ]
            for p in periods
        ],
    )


@for_command("report")
async def send_chosen(update: Update, context: BotContext) -> None:
    """A period was chosen: the workbook and the chart arrive in the chat."""
    query = query_of(update)
    action = pressed(update, ChoosePeriod)
    found = REPORTS.get(action.kind)
    if (
        found is None
        or not found.recipients & member_of(context).roles
        # a period of another type (a quarter for a monthly report, 2026-H9), or one not yet
        # begun, is not one the report's buttons offer: forged
        or period_type(action.period) != found.period_type
        or period_bounds(action.period, context.services.settings.timezone)[0] > context.now()
    ):
        await query.answer(context.text("error.stale_button"), show_alert=True)
        return
    await query.answer()
    await _send(update, context, action.kind, action.period)


async def _send(update: Update, context: BotContext, kind: str, period: str) -> None:
    report = context.text(f"report.kind.{kind}")
    now, timezone = context.now(), context.services.settings.timezone
    if is_running(period, now, timezone):
        day = local_day(now, timezone).isoformat()
        caption = context.text("report.sent_running", report=report, period=period, day=day)
    else:
        caption = context.text("report.sent", report=report, period=period)
    await send_when_ready(update, context, caption, report=kind, period=period)


# --- the quality head's approval --------------------------------------------------------------


async def begin_approval(update: Update, context: BotContext) -> int:
    """Checks the quality head may approve the quarter; asks for the conclusion."""
    query = query_of(update)
    action = pressed(update, ApproveQuarterly)
    async with context.session() as session:
        await report_approvals.check_may_approve(
            session,
            await context.actor(session),
            action.year,
            action.quarter,
            now=context.now(),
            timezone=context.services.settings.timezone,
        )
    await query.answer()
    await APPROVAL.begin(update, context, year=action.year, quarter=action.quarter)
    await context.reply(update, "report.ask_conclusion", year=action.year, quarter=action.quarter)
    return CONCLUSION


@APPROVAL.step
async def enter_conclusion(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the conclusion; the final report goes out again."""
    async with context.unit_of_work() as uow:
        await report_approvals.approve_quarterly_report(
            uow,
            await context.actor(uow.session),
            state["year"],
            state["quarter"],
            text_of(update),
            timezone=context.services.settings.timezone,
        )
    await APPROVAL.end(update, context)
    await context.reply(
        update, "report.approved_reply", year=state["year"], quarter=state["quarter"]
    )
    return ConversationHandler.END


cancel = cancelling(APPROVAL)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(
        dialogue(
            "report_approval",
            entry_points=[CallbackQueryHandler(begin_approval, pattern=ApproveQuarterly.pattern())],
            states={CONCLUSION: states.typing(enter_conclusion)},
            cancel=cancel,
        )
    )
    application.add_handler(CommandHandler("report", choose_report))
    application.add_handler(CallbackQueryHandler(choose_period, pattern=ChooseReport.pattern()))
    application.add_handler(CallbackQueryHandler(send_chosen, pattern=ChoosePeriod.pattern()))
