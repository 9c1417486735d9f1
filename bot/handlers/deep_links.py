"""`/start QC-2026-00001`: the Mini App's link back to a record in the chat. The record opens as
its own command shows it to this person (/ticket, /return, /defect; a consumer complaint and a
rectification as their staff read them); one they may not read is answered as one that does
not exist."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Update

from procedures.consumer_complaints import common as consumer_common
from procedures.consumer_complaints import queries as consumer_queries
from procedures.consumer_complaints import rules as consumer_rules
from procedures.kernel import roles
from procedures.kernel.outbox import as_deadline, as_text
from procedures.vendors import queries as vendor_queries

from ..commands import command
from ..context import BotContext, fit_message, message_of
from . import patrols, return_record, tickets, vendors

# an invitation code is 24 characters of the URL-safe alphabet: never this shape
RECORD_NUMBER = re.compile(r"(QC|RT|CC|DF|RN)-\d{4}-\d{5,6}")

View = Callable[[Update, BotContext], Awaitable[None]]


@dataclass(frozen=True)
class RecordView:
    readers: frozenset[str]
    show: View
    not_found: str  # the text id of "no such record (that you may read)"


def normalised(typed: str) -> str:
    """The number as stored: full-width letters, digits and dashes typed on a phone made plain."""
    return unicodedata.normalize("NFKC", typed).strip().upper().replace("－", "-")


def is_record_number(typed: str) -> bool:
    return RECORD_NUMBER.fullmatch(normalised(typed)) is not None


async def show_consumer_complaint(update: Update, context: BotContext) -> None:
    """A consumer complaint, as after-sales reads it before acting on it."""
    assert context.args
    async with context.session() as session:
        viewer = await context.actor(session)
        found = await consumer_queries.consumer_complaint_for_viewer(
            session, viewer, context.args[0]
        )
        await session.refresh(found, ["product", "batch"])
        text = "\n".join(
            (
                context.text(
                    "consumer.details",
                    number=found.number,
                    name=found.consumer_name,
                    contact=found.contact,
                    product=consumer_common.product_param(found),
                    description=found.description,
                    received_at=found.received_at,
                ),
                context.text("mini_app.status", status=as_text(f"consumer.status.{found.status}")),
            )
        )
    await message_of(update).reply_text(fit_message(text))


async def show_rectification(update: Update, context: BotContext) -> None:
    """A rectification as /rectifications lists it, with its rung's buttons for the manager."""
    assert context.args
    async with context.session() as session:
        viewer = await context.actor(session)
        found = await vendor_queries.rectification_for_viewer(session, viewer, context.args[0])
        await session.refresh(found, ["vendor"])
        is_manager = roles.EQUIPMENT_MANAGER in viewer.role_names
        await context.reply(
            update,
            "rectification.line",
            label=found.number or f"#{found.id}",
            vendor=found.vendor.name,
            description=found.description,
            rung=as_text(f"rectification.rung.{found.rung}"),
            status=as_text(f"rectification.status.{found.status}"),
            due_at=as_deadline(found.due_at),
            buttons=vendors.manager_buttons(found) if is_manager else None,
        )


def _readers(name: str) -> frozenset[str]:
    readers = command(name).roles
    assert readers is not None, f"/{name} is for the roles that read its records"
    return readers


# each kind's readers are its command's (a consumer reads their own consumer complaints)
VIEWS: dict[str, RecordView] = {
    "QC": RecordView(_readers("ticket"), tickets.show_ticket, "complaint.not_found"),
    "RT": RecordView(_readers("return"), return_record.show_return, "return.not_found"),
    "DF": RecordView(_readers("defect"), patrols.show_defect, "defect.not_found"),
    "CC": RecordView(
        consumer_rules.STAFF_VIEWERS | {roles.CONSUMER},
        show_consumer_complaint,
        "consumer.not_found",
    ),
    "RN": RecordView(_readers("rectifications"), show_rectification, "rectification.not_found"),
}


async def show_record(update: Update, context: BotContext, typed: str) -> None:
    """Shows the record to a person whose roles read its kind; to anyone else, as no record."""
    number = normalised(typed)
    view = VIEWS[number.split("-", 1)[0]]
    member = context.member
    if member is None or not member.roles & view.readers:
        await context.reply(update, view.not_found)
        return
    context.args = [number]
    await view.show(update, context)
