"""/return RT-… shows a return (lines, signatures, steps, deadlines, timeline) with buttons for
its documents (the transport order, the booking-in slip, the archived return slip); customers
see their own organisation's, without internal notes. /returns lists what waits for the
caller."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from procedures.kernel.outbox import as_text, button
from procedures.kernel.quantities import as_money, as_quantity
from procedures.kernel.queries import Deadline, TimelineEvent
from procedures.kernel.timeline import events_of
from procedures.people import users
from procedures.returns import corrective, queries
from procedures.returns import rules as return_rules
from procedures.returns.actions import ReturnDocument
from procedures.returns.common import SUBJECT, quantity_shown, status_key, totals
from procedures.returns.queries import ReturnRequest
from procedures.returns.ratio import ratio_params
from procedures.returns.rules import SIGNATURE_ORDER, ReturnReason, Slot

from ..access import for_command
from ..context import BotContext, fit_message, message_of
from ..dialogue.updates import pressed, query_of
from ..runtime.rendering import send_when_ready

STEPS = (
    ("station_notice", "return_view.station_notice"),
    ("order_issued", "return_view.order"),
    ("picked_up", "return_view.picked_up"),
    ("delivered", "return_view.delivered"),
    ("booked_in", "return_view.booked_in"),
    ("tallied", "return_view.tallied"),
    ("slip_sent", "return_view.slip_sent"),
)


async def show_return(update: Update, context: BotContext) -> None:
    """Shows one return the user may see (reached through /return RT-…)."""
    async with context.session() as session:
        viewer = await context.actor(session)
        assert context.args, "a return is shown by its number, the command's argument"
        request = await queries.return_for_viewer(session, viewer, context.args[0])
        deadlines = await queries.deadlines_of(session, request.id)
        events = await events_of(session, SUBJECT, request.id)
        names = await users.names_of(
            session,
            [
                *(e.actor_id for e in events),
                *(s.signed_by_id for s in request.signatures),
                *(getattr(request, f"{step}_by_id") for step, _ in STEPS),
                request.inspected_by_id,
                request.leader_by_id,
                request.business_refused_by_id,
                request.receipt_confirmed_by_id,
                request.finance_reviewed_by_id,
            ],
        )
    internal = bool(viewer.role_names & return_rules.STAFF_VIEWERS)
    territory = bool(viewer.role_names & return_rules.TERRITORY_STAFF)
    text = render_return(
        context, request, deadlines, events, names, internal=internal, territory=territory
    )
    rows = [
        [button(f"return.button.document_{kind}", ReturnDocument(return_id=request.id, kind=kind))]
        for kind in queries.documents_issued(request, staff=internal)
    ]
    await message_of(update).reply_text(
        fit_message(text), reply_markup=context.keyboard(rows) if rows else None
    )


async def send_document(update: Update, context: BotContext) -> None:
    """One of the return's documents, produced again from the record, follows in the chat."""
    action = pressed(update, ReturnDocument)
    async with context.session() as session:
        request = await queries.document_for_viewer(
            session, await context.actor(session), action.return_id, action.kind
        )
    await query_of(update).answer()
    caption = context.text(f"return.document.{action.kind}", number=request.number)
    attachment = {"kind": action.kind, "params": {"id": request.id}}
    await send_when_ready(update, context, caption, attachment=attachment)


def render_return(
    context: BotContext,
    request: ReturnRequest,
    deadlines: list[Deadline],
    events: list[TimelineEvent],
    names: dict[int, str],
    *,
    internal: bool,
    territory: bool = False,
) -> str:
    """The detail sheet (調退貨明細表) and its handling, as the bot prints it."""
    t = context.text
    _, amount = totals(request)
    lines = [
        t("return_view.header", number=request.number, status=as_text(status_key(request))),
        t(
            "return_view.details",
            organisation=request.organisation.name,
            reason=as_text(f"return.reason.{request.reason}"),
            channel=as_text(f"return.channel.{request.channel}"),
            received_at=request.received_at or request.created_at,
            created_at=request.created_at,
        ),
    ]
    if request.organisation.territory and (internal or territory):
        lines.append(t("return_view.territory", territory=request.organisation.territory))
    if request.receipt_confirmed_at is not None:
        name = names.get(request.receipt_confirmed_by_id or 0, "")
        lines.append(t("return_view.receipt", name=name, at=request.receipt_confirmed_at))
    for line in request.lines:
        lines.append(
            t(
                "return.line",
                product=line.product.name,
                lot=line.batch.lot_number if line.batch else "—",
                quantity=as_quantity(line.quantity, line.product.unit),
                amount=as_money(line.amount),
            )
        )
        if line.replacement_batch is not None:
            lines.append(
                t(
                    "return_view.replacement",
                    lot=line.replacement_batch.lot_number,
                    quantity=line.replacement_quantity,
                )
            )
    lines.append(t("return_view.totals", quantity=quantity_shown(request), amount=as_money(amount)))
    if request.ratio_inside is not None:
        exchanged = request.exchanged_amount
        assert exchanged is not None, "the ratio check keeps its amounts with its result"
        ratio = (
            f"{exchanged / request.purchased_amount * 100:.2f}%"
            if request.purchased_amount
            else "—"
        )
        lines.append(
            t(
                "return_view.ratio",
                exchanged=as_money(exchanged),
                purchased=as_money(request.purchased_amount),
                ratio=ratio,
                limit="—" if request.ratio_limit is None else f"{request.ratio_limit * 100:.2f}%",
                window_days=request.window_days or "—",
                inside=as_text("return.inside.yes" if request.ratio_inside else "return.inside.no"),
            )
        )
    if request.finance_review is not None:
        lines.append(
            t(
                f"return_view.finance_{request.finance_review}",
                name=names.get(request.finance_reviewed_by_id or 0, ""),
                at=request.finance_reviewed_at,
                note=request.finance_review_note or "",
            )
        )
    if request.business_refusal:
        head = names.get(request.business_refused_by_id or 0, "")
        refused = {"name": head, "at": request.business_refused_at}
        lines.append(t("return_view.business_refused", **refused, reason=request.business_refusal))
    if request.leader_decision:
        lines.append(
            t(
                "return_view.leader",
                decision=as_text(f"return.leader.{request.leader_decision}"),
                name=names.get(request.leader_by_id or 0, ""),
                at=request.leader_at,
            )
        )
    signed = {s.slot: s for s in request.signatures}
    lines.append(t("return_view.signatures"))
    # an unsalable exchange's review by after-sales staff (4.2.3), then the three the warehouse
    # books in against (4.2.7)
    review = (Slot.REVIEW,) if request.reason == ReturnReason.UNSALABLE else ()
    for slot in (*review, *SIGNATURE_ORDER):
        signature = signed.get(slot)
        lines.append(
            t(
                "return_view.signed",
                slot=as_text(f"return.slot.{slot}"),
                name=names.get(signature.signed_by_id, ""),
                at=signature.signed_at,
            )
            if signature
            else t("return_view.unsigned", slot=as_text(f"return.slot.{slot}"))
        )
    for step, key in STEPS:
        at = getattr(request, f"{step}_at")
        if at is not None:
            lines.append(t(key, name=names.get(getattr(request, f"{step}_by_id") or 0, ""), at=at))
        if step == "order_issued" and request.transport_station:
            lines.append(t("return_view.station", station=request.transport_station))
        if step == "tallied" and at is not None:
            lines.append(
                t(
                    "return_view.tally",
                    quantity=request.tallied_quantity,
                    amount=as_money(request.tallied_amount or 0),
                )
            )
        if step == "slip_sent" and request.slip_channel:
            lines.append(
                t(
                    "return_view.slip_archived",
                    channel=as_text(f"return.slip_channel.{request.slip_channel}"),
                )
            )
        if step == "delivered" and request.inspection_result:
            lines.append(
                t(
                    "return_view.inspection",
                    result=as_text(f"return.result.{request.inspection_result}"),
                    name=names.get(request.inspected_by_id or 0, ""),
                    at=request.inspected_at,
                    # a refusal's explanation is the customer's; the analysis of a fault is not
                    notes=request.inspection_notes or ""
                    if internal or request.inspection_result != "company_fault"
                    else "",
                ).rstrip()
            )
    if internal and request.responsible_department:
        lines.append(
            t(
                "return_view.responsible",
                department=as_text(f"role.{request.responsible_department}")
                if request.actions
                else request.responsible_department,
                person=request.responsible_person,
            )
        )
    for measure in request.actions if internal else ():  # 4.2.6's actions are internal
        lines.append(
            t(
                "return_view.action_done" if measure.done_at else "return_view.action_open",
                action=corrective.action_name(measure),
                person=measure.owner.full_name,
                due_at=measure.due_at,
                measure=measure.measure,
                done_at=measure.done_at,
                note=measure.done_note or "",
            )
        )
    if request.credit_amount is not None:
        lines.append(t("return_view.credit", amount=as_money(request.credit_amount)))
    if deadlines:
        lines += ["", t("return_view.deadlines")]
        now = context.now()
        for deadline in deadlines:
            if not internal and deadline.kind in queries.INTERNAL_DEADLINES:
                continue
            if deadline.met_at is not None:
                key = (
                    "return_view.deadline_late" if deadline.met_late else "return_view.deadline_met"
                )
            elif now >= deadline.due_at:
                key = "return_view.deadline_overdue"
            else:
                key = "return_view.deadline_open"
            kind = as_text(f"deadline.kind.{deadline.kind}")
            lines.append(t(key, kind=kind, due_at=deadline.due_at, met_at=deadline.met_at))
    lines += ["", t("timeline.header")]
    for event in events:
        if not internal and event.action in queries.INTERNAL_ACTIONS:
            continue
        details = {**(event.after or {})}
        if "slot" in details:
            details["slot"] = as_text(f"return.slot.{details['slot']}")
        if "reason" in details:
            details["reason"] = as_text(f"return.reason.{details['reason']}")
        if "result" in details:
            details["result"] = as_text(f"return.result.{details['result']}")
        if "refusal" in details:
            # entries written before the figures were kept with them take the request's
            figures = {**ratio_params(request), **details}
            details["refusal"] = as_text(f"return.refusal.{details['refusal']}", **figures)
        if "decision" in details:
            details["decision"] = as_text(f"return.leader.{details['decision']}")
        if event.action == "corrective_action_done":  # older entries named neither
            details = {"kind": "corrective_action", "note": "", **details}
        if "channel" in details:
            details["channel"] = as_text(f"return.channel.{details['channel']}")
        if "kind" in details:
            details["kind"] = as_text(f"deadline.kind.{details['kind']}")
        if details.get("department") in return_rules.RESPONSIBLE_DEPARTMENTS:
            details["department"] = as_text(f"role.{details['department']}")
        if event.action == "reply_to_customer":
            details["what"] = as_text(f"{details.get('text_key')}_name")
        if event.action == "inspected" and not internal:
            details["notes"] = ""
        action = t(f"timeline.return.{event.action}", **details).rstrip()
        actor = names.get(event.actor_id, "") if event.actor_id else t("timeline.system")
        lines.append(t("timeline.event", at=event.at, actor=actor, action=action))
    return "\n".join(lines)


@for_command("returns")
async def list_returns(update: Update, context: BotContext) -> None:
    """Lists the returns waiting for the caller's roles (a customer: their own), with buttons."""
    member = context.member
    assert member is not None
    async with context.session() as session:
        if member.roles & return_rules.STAFF_VIEWERS:
            waiting = await queries.waiting_for(session, member.roles)
        elif member.roles & return_rules.TERRITORY_STAFF:  # their territory's (4.2.10)
            waiting = await queries.returns_of_territory(session, await context.actor(session))
        elif member.organisation_id is not None:
            waiting = await queries.returns_of(session, member.organisation_id)
        else:
            waiting = []
    if not waiting:
        await context.reply(update, "return_view.none_waiting")
        return
    await context.reply(update, "return_view.waiting_header", count=len(waiting))
    for request in waiting:
        quantity, amount = totals(request)
        await context.reply(
            update,
            "return_view.list_line",
            buttons=queries.buttons_for(request, member.roles) or None,
            number=request.number,
            organisation=request.organisation.name,
            reason=as_text(f"return.reason.{request.reason}"),
            quantity=quantity,
            amount=as_money(amount),
            status=as_text(status_key(request)),
        )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("returns", list_returns))
    application.add_handler(CallbackQueryHandler(send_document, pattern=ReturnDocument.pattern()))
