"""/ticket QC-… shows a complaint (status, deadlines, timeline); /mytickets lists a buyer's own;
/ledger sends the complaint ledger or a quarter's report as a workbook."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import Application, CommandHandler

from procedures import people
from procedures.calendar import parse_quarter
from procedures.complaints import queries
from procedures.complaints.common import SUBJECT
from procedures.outbox import as_text
from procedures.photos import photos_of
from procedures.timeline import events_of
from reports import documents
from storage.models import Complaint, Deadline, TimelineEvent

from ..access import for_command
from ..context import BotContext, fit_caption, fit_message
from ..documents import document_context


@for_command("ticket")
async def show_ticket(update: Update, context: BotContext) -> None:
    """Shows one complaint the user may see."""
    if not context.args:
        await context.reply(update, "ticket.usage")
        return
    async with context.session() as session:
        viewer = await context.actor(session)
        complaint = await queries.complaint_for_viewer(session, viewer, context.args[0])
        deadlines = await queries.deadlines_of(session, complaint.id)
        photos = await photos_of(session, SUBJECT, complaint.id)
        events = await events_of(session, SUBJECT, complaint.id)
        names = await people.names_of(
            session,
            [*(e.actor_id for e in events), complaint.verified_by_id, complaint.disposition_by_id],
        )
    text = render_ticket(context, complaint, deadlines, len(photos), events, names)
    await update.effective_message.reply_text(fit_message(text))  # type: ignore[union-attr]


def render_ticket(
    context: BotContext,
    complaint: Complaint,
    deadlines: list[Deadline],
    photo_count: int,
    events: list[TimelineEvent],
    names: dict[int, str],
) -> str:
    """The complaint and handling record (顧客質量投訴及處理記錄) as the bot prints it."""
    t = context.text
    now = context.now()
    expiry = (
        t("ticket.expiry", date=complaint.batch.expiry_date.isoformat())
        if complaint.batch.expiry_date
        else ""
    )
    lines = [
        t(
            "ticket.header",
            number=complaint.number,
            status=as_text(f"complaint.status.{complaint.status}"),
        ),
        t(
            "ticket.details",
            organisation=complaint.organisation.name,
            locality=as_text(f"complaint.locality.{complaint.locality}"),
            product=complaint.product.name,
            lot=complaint.batch.lot_number,
            expiry=expiry,
            quantity=complaint.quantity,
            received_at=complaint.received_at,
            channel=as_text(f"complaint.channel.{complaint.channel}"),
            complainant=" ".join(
                filter(None, [complaint.complainant_name, complaint.complainant_contact])
            ),
            description=complaint.description,
            photos=photo_count,
        ),
    ]
    if complaint.verification_result:
        mode = "ticket.mode_on_site" if complaint.on_site else "ticket.mode_waived"
        lines.append(
            t(
                "ticket.verification",
                mode=as_text(mode),
                name=names.get(complaint.verified_by_id or 0, ""),
                at=complaint.verified_at,
                result=as_text(f"complaint.status.{complaint.verification_result}"),
                notes=complaint.verification_notes,
            )
        )
    if complaint.disposition:
        lines.append(
            t(
                "ticket.opinion",
                name=names.get(complaint.disposition_by_id or 0, ""),
                at=complaint.disposition_at,
                opinion=complaint.disposition,
            )
        )
    if complaint.corrective_action:
        lines.append(t("ticket.corrective_action", action=complaint.corrective_action))
    if complaint.adverse_event_at:
        lines.append(t("ticket.adverse", at=complaint.adverse_event_at))
    if deadlines:
        lines.append("")
        lines.append(t("ticket.deadlines"))
        for deadline in deadlines:
            kind = as_text(f"deadline.kind.{deadline.kind}")
            if deadline.met_at is not None:
                key = "ticket.deadline_late" if deadline.met_late else "ticket.deadline_met"
            else:
                key = (
                    "ticket.deadline_overdue" if now >= deadline.due_at else "ticket.deadline_open"
                )
            lines.append(t(key, kind=kind, due_at=deadline.due_at, met_at=deadline.met_at))
    lines.append("")
    lines.append(t("timeline.header"))
    for event in events:
        details = {**(event.after or {})}
        if "result" in details:
            details["result"] = as_text(f"complaint.status.{details['result']}")
        if "channel" in details:
            details["channel"] = as_text(f"complaint.channel.{details['channel']}")
        if event.action == "deadline_overdue":
            details["kind"] = as_text(f"deadline.kind.{details.get('kind')}")
        if event.action == "reply_to_complainant":
            details["what"] = as_text(f"{details.get('text_key')}_name")
        action = t(f"timeline.complaint.{event.action}", **details)
        actor = names.get(event.actor_id, "") if event.actor_id else t("timeline.system")
        lines.append(t("timeline.event", at=event.at, actor=actor, action=action))
    return "\n".join(lines)


@for_command("mytickets")
async def my_tickets(update: Update, context: BotContext) -> None:
    """Lists the complaints of the customer's organisation."""
    member = context.member
    assert member is not None
    if member.organisation_id is None:
        await context.reply(update, "common.not_linked")
        return
    async with context.session() as session:
        own = await queries.complaints_of(session, member.organisation_id)
        for complaint in own:
            await session.refresh(complaint, ["product", "batch"])
    if not own:
        await context.reply(update, "mytickets.empty")
        return
    lines = [context.text("mytickets.header")]
    lines += [
        context.text(
            "mytickets.line",
            number=c.number,
            product=c.product.name,
            lot=c.batch.lot_number,
            status=as_text(f"complaint.status.{c.status}"),
        )
        for c in own
    ]
    await update.effective_message.reply_text(fit_message("\n".join(lines)))  # type: ignore[union-attr]


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("ticket", show_ticket))
    application.add_handler(CommandHandler("mytickets", my_tickets))
    application.add_handler(CommandHandler("ledger", send_ledger))


@for_command("ledger")
async def send_ledger(update: Update, context: BotContext) -> None:
    """/ledger: the complaint ledger; /ledger 2026-Q4: that quarter's complaint report."""
    if context.args:
        quarter = parse_quarter(context.args[0])
        if quarter is None:
            await context.reply(update, "report.usage")
            return
        attachment = {
            "kind": "complaint_quarterly",
            "params": {"year": quarter[0], "quarter": quarter[1]},
        }
        caption = context.text("report.quarterly_ready", year=quarter[0], quarter=quarter[1])
    else:
        attachment = {"kind": "complaint_ledger", "params": {}}
        caption = context.text("report.ledger_caption")
    async with context.session() as session:
        reader = document_context(context.services, context.language)
        document = await documents.render(session, attachment, reader)
    await update.effective_message.reply_document(  # type: ignore[union-attr]
        InputFile(document.content, filename=document.file_name), caption=fit_caption(caption)
    )
