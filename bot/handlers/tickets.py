"""/ticket QC-… shows a complaint (status, deadlines, timeline); /mytickets lists a buyer's own;
/ledger sends the complaint ledger or a quarter's report as a workbook."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from procedures.complaints import nonconforming, queries
from procedures.complaints import rules as complaint_rules
from procedures.complaints.actions import (
    BeginReassign,
    BeginReopen,
    BeginWaitingOnBuyer,
    OpenTicket,
)
from procedures.complaints.common import SUBJECT
from procedures.complaints.queries import BatchHold, BuyerNoticeTask, Complaint
from procedures.complaints.rules import ComplaintStatus
from procedures.kernel.calendar import parse_month, parse_quarter
from procedures.kernel.outbox import as_text, button
from procedures.kernel.photos import photos_of
from procedures.kernel.quantities import as_quantity
from procedures.kernel.queries import Deadline, Photo, TimelineEvent
from procedures.kernel.timeline import events_of
from procedures.people import users

from ..access import for_command
from ..context import BotContext, fit_message
from ..dialogue.updates import member_of, message_of, pressed, query_of
from ..runtime.rendering import send_when_ready
from .evidence import send_record_photos

# the photos a buyer sent with the complaint (and its label's), and those taken at verification
BUYER_STAGES = ("intake", "label")
VERIFICATION_STAGES = ("verification",)
# /mytickets' buttons, one a complaint listed (Telegram takes at most 100 on a message)
MAX_TICKET_BUTTONS = 30
# the deadlines a buyer is told of when filing: the rest are the department's own steps
BUYER_DEADLINES = ("on_site_verification", "disposition_opinion", "handling_complete")


@for_command("ticket")
async def show_ticket(update: Update, context: BotContext) -> None:
    """Shows one complaint the user may see: staff the whole record, a buyer its own view."""
    if not context.args:
        await context.reply(update, "ticket.usage")
        return
    await _show(update, context, context.args[0])


async def open_ticket(update: Update, context: BotContext) -> None:
    """A complaint of /mytickets, opened by its button (checked as /ticket checks it)."""
    await query_of(update).answer()
    await _show(update, context, pressed(update, OpenTicket).number)


async def _show(update: Update, context: BotContext, number: str) -> None:
    async with context.session() as session:
        viewer = await context.actor(session)
        complaint = await queries.complaint_for_viewer(session, viewer, number)
        deadlines = await queries.deadlines_of(session, complaint.id)
        photos = await photos_of(session, SUBJECT, complaint.id)
        events = await events_of(session, SUBJECT, complaint.id)
        if not queries.is_staff(viewer):
            text = render_buyer_ticket(context, complaint, deadlines, photos, events)
            await message_of(update).reply_text(fit_message(text))
            await _send_photos(update, context, complaint.number, photos, BUYER_STAGES)
            return
        hold = await queries.hold_of(session, complaint.id)
        tasks = await nonconforming.buyer_tasks_of(session, complaint.id)
        names = await users.names_of(
            session,
            [
                *(e.actor_id for e in events),
                complaint.verified_by_id,
                complaint.disposition_by_id,
                complaint.handoff_by_id,
                complaint.supplier_answer_by_id,
                *(t.told_by_id for t in tasks),
            ],
        )
    text = render_ticket(
        context, complaint, deadlines, photos, events, names, hold=hold, tasks=tasks
    )
    buttons = casework_buttons(complaint, viewer.role_names)
    await message_of(update).reply_text(
        fit_message(text), reply_markup=context.keyboard(buttons) if buttons else None
    )
    await _send_photos(update, context, complaint.number, photos, BUYER_STAGES)
    await _send_photos(update, context, complaint.number, photos, VERIFICATION_STAGES)


def _of_stages(photos: list[Photo], stages: tuple[str, ...]) -> list[Photo]:
    return [p for p in photos if p.stage in stages]


async def _send_photos(
    update: Update,
    context: BotContext,
    number: str,
    photos: list[Photo],
    stages: tuple[str, ...],
) -> None:
    """The photos of these stages, captioned as the ticket counts them."""
    caption = (
        "ticket.caption_verification" if stages == VERIFICATION_STAGES else "ticket.caption_buyer"
    )
    await send_record_photos(update, context, number, _of_stages(photos, stages), caption)


def casework_buttons(
    complaint: Complaint, viewer_roles: frozenset[str]
) -> list[list[dict[str, Any]]]:
    """The staff ticket's buttons: the quality head reassigns a taken complaint; quality
    records what waits on the buyer while it is open, and reopens it once closed."""
    if not viewer_roles & complaint_rules.VERIFIERS:
        return []
    if complaint.status == ComplaintStatus.CLOSED:
        return [[button("ticket.button.reopen", BeginReopen(complaint.id))]]
    row = [button("ticket.button.waiting", BeginWaitingOnBuyer(complaint.id))]
    if complaint.taken_by_id is not None and viewer_roles & complaint_rules.REASSIGNERS:
        row.append(button("ticket.button.reassign", BeginReassign(complaint.id)))
    return [row]


def render_buyer_ticket(
    context: BotContext,
    complaint: Complaint,
    deadlines: list[Deadline],
    photos: list[Photo],
    events: list[TimelineEvent],
) -> str:
    """What the buyer sees of its complaint: its status, what it reported, the result and the
    opinion, the deadlines it was told of, and the replies sent to it; no internal notes, no
    staff names, no internal timeline."""
    t = context.text
    lines = [
        t(
            "ticket.header",
            number=complaint.number,
            status=as_text(f"complaint.status.{complaint.status}"),
        ),
        t(
            "ticket.buyer_details",
            product=complaint.product_label,
            lot=complaint.lot_label,
            expiry=_expiry(context, complaint),
            quantity=as_quantity(complaint.quantity, complaint.unit),
            received_at=complaint.received_at,
            channel=as_text(f"complaint.channel.{complaint.channel}"),
            description=complaint.description,
        ),
        t("ticket.buyer_photos", count=len(_of_stages(photos, BUYER_STAGES))),
    ]
    if complaint.verification_result:
        lines.append(
            t(
                "ticket.buyer_result",
                at=complaint.verified_at,
                result=as_text(f"complaint.status.{complaint.verification_result}"),
            )
        )
    if complaint.disposition:
        lines.append(
            t("ticket.buyer_opinion", at=complaint.disposition_at, opinion=complaint.disposition)
        )
    lines += render_deadlines(
        context, complaint, [d for d in deadlines if d.kind in BUYER_DEADLINES]
    )
    replies = [e for e in events if e.action == "reply_to_complainant"]
    if replies:
        lines += ["", t("ticket.replies")]
        for event in replies:
            what = as_text(f"{(event.after or {}).get('text_key')}_name")
            lines.append(t("ticket.reply", at=event.at, what=what))
    return "\n".join(lines)


def _expiry(context: BotContext, complaint: Complaint) -> str:
    if complaint.batch is not None and complaint.batch.expiry_date:
        return context.text("ticket.expiry", date=complaint.batch.expiry_date.isoformat())
    return ""


def render_deadlines(
    context: BotContext, complaint: Complaint, deadlines: list[Deadline]
) -> list[str]:
    """The deadlines, each with how it stands now."""
    t = context.text
    now = context.now()
    if not deadlines:
        return []
    lines = ["", t("ticket.deadlines")]
    for deadline in deadlines:
        kind: dict[str, Any] | str = as_text(f"deadline.kind.{deadline.kind}")
        if deadline.closed_as == "waived":
            key = "ticket.deadline_waived"
        elif deadline.met_at is not None:
            key = "ticket.deadline_late" if deadline.met_late else "ticket.deadline_met"
        else:
            key = "ticket.deadline_overdue" if now >= deadline.due_at else "ticket.deadline_open"
        label = deadline.subject_label.removeprefix(complaint.number).strip()
        kind = t("ticket.deadline_for", kind=kind, who=label) if label else kind
        lines.append(t(key, kind=kind, due_at=deadline.due_at, met_at=deadline.met_at))
    return lines


def render_ticket(
    context: BotContext,
    complaint: Complaint,
    deadlines: list[Deadline],
    photos: list[Photo],
    events: list[TimelineEvent],
    names: dict[int, str],
    *,
    hold: BatchHold | None = None,
    tasks: Sequence[BuyerNoticeTask] = (),
) -> str:
    """The complaint and handling record (顧客質量投訴及處理記錄) as staff read it."""
    t = context.text
    expiry = _expiry(context, complaint)
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
            product=complaint.product_label,
            lot=complaint.lot_label,
            expiry=expiry,
            quantity=as_quantity(complaint.quantity, complaint.unit),
            received_at=complaint.received_at,
            channel=as_text(f"complaint.channel.{complaint.channel}"),
            complainant=" ".join(
                filter(None, [complaint.complainant_name, complaint.complainant_contact])
            ),
            description=complaint.description,
        ),
        t("ticket.buyer_photos", count=len(_of_stages(photos, BUYER_STAGES))),
    ]
    if not complaint.shipment_on_file:
        lines.append(t("ticket.not_on_file"))
    if complaint.verification_result:
        mode = "ticket.mode_on_site" if complaint.on_site else "ticket.mode_waived"
        # without a visit the notes are the reason it was waived, by the verifier named here
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
        lines.append(
            t(
                "ticket.verification_photos",
                count=len(_of_stages(photos, VERIFICATION_STAGES)),
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
    # an opinion a reopening withdrew stays readable, as history, oldest first
    for event in events:
        withdrawn = (event.before or {}).get("opinion") if event.action == "reopened" else None
        if withdrawn:
            lines.append(t("ticket.earlier_opinion", at=event.at, opinion=withdrawn))
    if complaint.corrective_action:
        lines.append(t("ticket.corrective_action", action=complaint.corrective_action))
    if complaint.adverse_event_at:
        lines.append(t("ticket.adverse", at=complaint.adverse_event_at))
    lines += render_steps(context, complaint, hold, list(tasks), names)
    lines += render_deadlines(context, complaint, deadlines)
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
        if event.action == "hold_placed":
            details["scope"] = as_text(f"complaint.hold_scope.{details.get('scope', 'lot')}")
        if "how" in details:
            details["how"] = as_text(f"complaint.told_how.{details['how']}")
        if "outcome" in details:
            details["outcome"] = as_text(f"complaint.handoff_outcome.{details['outcome']}")
        if "step" in details:
            details["step"] = as_text(f"complaint.hold_step.{details['step']}")
        action = t(f"timeline.complaint.{event.action}", **details)
        actor = names.get(event.actor_id, "") if event.actor_id else t("timeline.system")
        lines.append(t("timeline.event", at=event.at, actor=actor, action=action))
    return "\n".join(lines)


def render_steps(
    context: BotContext,
    complaint: Complaint,
    hold: BatchHold | None,
    tasks: list[BuyerNoticeTask],
    names: dict[int, str],
) -> list[str]:
    """The hold with its confirmations, the buyers told another way, the supplier's answer and
    the hand-off of the goods: the steps the ticket's header does not show."""
    t = context.text
    lines = []
    if hold is not None:
        state = "ticket.hold_lifted" if hold.lifted_at else "ticket.hold_active"
        lines.append(
            t(
                state,
                scope=as_text(f"complaint.hold_scope.{hold.scope}"),
                placed_at=hold.placed_at,
                lifted_at=hold.lifted_at,
            )
        )
        for step in ("outbound_stopped", "labelled", "sales_stopped"):
            at = getattr(hold, f"{step}_at")
            if at is not None:
                lines.append(
                    t(
                        "ticket.hold_step",
                        step=as_text(f"complaint.hold_step.{step}"),
                        name=names.get(getattr(hold, f"{step}_by_id") or 0, ""),
                        at=at,
                    )
                )
    for task in tasks:
        if task.told_at is None:
            lines.append(t("ticket.buyer_task_open", code=task.organisation.code))
        else:
            lines.append(
                t(
                    "ticket.buyer_task_done",
                    code=task.organisation.code,
                    how=as_text(f"complaint.told_how.{task.told_how}"),
                    name=names.get(task.told_by_id or 0, ""),
                    at=task.told_at,
                )
            )
    if complaint.supplier_answer:
        lines.append(
            t(
                "ticket.supplier_answer",
                name=names.get(complaint.supplier_answer_by_id or 0, ""),
                at=complaint.supplier_answer_at,
                answer=complaint.supplier_answer,
            )
        )
    if complaint.handoff_at:
        lines.append(
            t(
                "ticket.handoff",
                name=names.get(complaint.handoff_by_id or 0, ""),
                at=complaint.handoff_at,
                outcome=as_text(f"complaint.handoff_outcome.{complaint.handoff_outcome}"),
                notes=complaint.handoff_notes,
            )
        )
    return lines


@for_command("mytickets")
async def my_tickets(update: Update, context: BotContext) -> None:
    """Lists the complaints of the customer's organisation."""
    member = member_of(context)
    if member.organisation_id is None:
        await context.reply(update, "common.not_linked")
        return
    async with context.session() as session:
        own = await queries.complaints_with_goods_of(session, member.organisation_id)
    if not own:
        await context.reply(update, "mytickets.empty")
        return
    lines = [context.text("mytickets.header")]
    lines += [
        context.text(
            "mytickets.line",
            number=c.number,
            product=c.product_label,
            lot=c.lot_label,
            status=as_text(f"complaint.status.{c.status}"),
        )
        for c in own
    ]
    # each complaint opens with a tap
    buttons = [
        [button("mytickets.open", OpenTicket(number=c.number), number=c.number)]
        for c in own[:MAX_TICKET_BUTTONS]
    ]
    await message_of(update).reply_text(
        fit_message("\n".join(lines)), reply_markup=context.keyboard(buttons)
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("ticket", show_ticket))
    application.add_handler(CommandHandler("mytickets", my_tickets))
    application.add_handler(CallbackQueryHandler(open_ticket, pattern=OpenTicket.pattern()))
    application.add_handler(CommandHandler("ledger", send_ledger))


@for_command("ledger")
async def send_ledger(update: Update, context: BotContext) -> None:
    """/ledger: the complaint ledger; /ledger 2026-11: that month's; /ledger 2026-Q4: that
    quarter's complaint report."""
    month = parse_month(context.args[0]) if context.args else None
    if month is not None:
        attachment = {"kind": "complaint_ledger", "params": {"month": month}}
        caption = context.text("report.month_ledger_caption", month=month)
    elif context.args:
        quarter = parse_quarter(context.args[0])
        if quarter is None:
            await context.reply(update, "report.ledger_usage")
            return
        attachment = {
            "kind": "complaint_quarterly",
            "params": {"year": quarter[0], "quarter": quarter[1]},
        }
        caption = context.text("report.quarterly_ready", year=quarter[0], quarter=quarter[1])
    else:
        attachment = {"kind": "complaint_ledger", "params": {}}
        caption = context.text("report.ledger_caption")
    await send_when_ready(update, context, caption, attachment=attachment)
