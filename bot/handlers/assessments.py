"""The half-year vendor assessment (/assessment, the findings' and the signature's buttons) and
the equipment manager's escalation to the client's competent department (/escalate)."""

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

from procedures.kernel.calendar import half_year_before
from procedures.kernel.outbox import as_text
from procedures.vendors import assessments
from procedures.vendors.actions import AddAssessmentFinding, SignAssessment
from procedures.vendors.queries import vendors

from ..access import for_command
from ..context import BotContext, edit_query_message
from ..conversations import dialogue
from ..dialogue import states
from ..dialogue.steps import StaffDialogue, cancelling
from ..dialogue.updates import pressed, query_of, text_of

FINDING = 0
FINDING_KEY = "assessment_finding"
FINDING_STEP = StaffDialogue(FINDING_KEY)


@for_command("assessment")
async def show_assessment(update: Update, context: BotContext) -> None:
    """/assessment [YYYY-Hn]: opens the half-year's assessment (by default the half that ended
    last) or shows it, with its findings and the buttons to add more and to sign it."""
    timezone = context.services.settings.timezone
    if context.args:
        year, half = assessments.check_half(context.args[0])
    else:
        year, half = half_year_before(context.now(), timezone)
    async with context.unit_of_work() as uow:
        view = await assessments.open_assessment(
            uow, await context.actor(uow.session), year, half, timezone
        )
    assessment = view.assessment
    names = {v.id: v.name for v in view.vendors}
    findings = "\n".join(
        context.text("assessment.finding_line", vendor=names.get(f.vendor_id, "-"), text=f.text)
        for f in view.findings
    ) or context.text("assessment.no_findings_yet")
    await context.reply(
        update,
        "assessment.opened_reply" if view.created else "assessment.state",
        year=year,
        half=half,
        status=as_text(f"assessment.status.{assessment.status}"),
        findings=findings,
        due_at=assessments.signing_due(assessment),
        buttons=assessments.manager_buttons(assessment, view.vendors) or None,
    )


async def begin_finding(update: Update, context: BotContext) -> int:
    """Asks what was found of the vendor's work."""
    query = query_of(update)
    action = pressed(update, AddAssessmentFinding)
    async with context.session() as session:
        assessment, vendor = await assessments.assessment_for_finding(
            session, await context.actor(session), action.assessment_id, action.vendor_id
        )
    await query.answer()
    await FINDING_STEP.begin(update, context, assessment_id=assessment.id, vendor_id=vendor.id)
    await context.reply(
        update,
        "assessment.ask_finding",
        vendor=vendor.name,
        year=assessment.year,
        half=assessment.half,
    )
    return FINDING


@FINDING_STEP.step
async def enter_finding(
    update: Update, context: BotContext, state: MutableMapping[str, Any]
) -> int:
    """Stores the finding with the assessment."""
    async with context.unit_of_work() as uow:
        finding = await assessments.add_finding(
            uow,
            await context.actor(uow.session),
            state["assessment_id"],
            state["vendor_id"],
            text_of(update),
        )
    await FINDING_STEP.end(update, context)
    await context.reply(update, "assessment.finding_reply", vendor=finding.vendor.name)
    return ConversationHandler.END


async def sign(update: Update, context: BotContext) -> None:
    """The manager signs: the assessment goes to the client's competent department."""
    query = query_of(update)
    async with context.unit_of_work() as uow:
        signed = await assessments.sign_assessment(
            uow,
            await context.actor(uow.session),
            pressed(update, SignAssessment).assessment_id,
        )
    await query.answer()
    assessment = signed.assessment
    await edit_query_message(
        update,
        context.text(
            "assessment.signed_reply" if signed.authorities else "assessment.signed_no_authority",
            year=assessment.year,
            half=assessment.half,
        ),
    )


@for_command("escalate")
async def escalate(update: Update, context: BotContext) -> None:
    """/escalate VENDOR|RN-… text: reports a vendor matter to the client's competent department."""
    if not context.args or len(context.args) < 2:
        async with context.session() as session:
            codes = [v.code for v in await vendors(session)]
        await context.reply(update, "escalation.usage", vendors=codes)
        return
    text = text_of(update).split(maxsplit=2)[2]
    async with context.unit_of_work() as uow:
        escalation = await assessments.escalate(
            uow, await context.actor(uow.session), context.args[0], text
        )
    await context.reply(
        update,
        "escalation.sent_reply" if escalation.authorities else "escalation.no_authority",
        subject=escalation.subject,
        vendor=escalation.vendor.name,
    )


cancel = cancelling(FINDING_STEP)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(
        dialogue(
            "assessment_finding",
            entry_points=[
                CallbackQueryHandler(begin_finding, pattern=AddAssessmentFinding.pattern())
            ],
            states={FINDING: states.typing(enter_finding)},
            cancel=cancel,
        )
    )
    application.add_handler(CallbackQueryHandler(sign, pattern=SignAssessment.pattern()))
    application.add_handler(CommandHandler("assessment", show_assessment))
    application.add_handler(CommandHandler("escalate", escalate))
