"""A record's page in the overview: its fields, its deadlines, its timeline, its evidence files
and its forms, for a viewer its type's `…_for_viewer` admits (procedures.evidence.READERS).

A record the viewer may not read is answered as one that does not exist (NotFound), so a key
tells nothing of a record one may not see."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.evidence import READERS
from procedures.forms import FormRef, forms_for_viewer
from procedures.kernel import photos
from procedures.kernel.errors import NotAllowed, NotFound
from procedures.kernel.outbox import as_text
from procedures.kernel.quantities import as_money, as_quantity
from procedures.kernel.queries import Deadline, Photo, TimelineEvent
from procedures.kernel.text_input import record_number
from procedures.kernel.timeline import events_of
from procedures.people.users import names_of
from procedures.vendors.rules import MANAGERS, RECTIFICATION_READERS
from storage.models import (
    Assessment,
    Complaint,
    ConsumerComplaint,
    Defect,
    Rectification,
    ReturnRequest,
    User,
    Vendor,
)

from .kinds import KINDS
from .lists import record_key, title_of

# an assessment's key (2026-H2) and an unnumbered rectification's (#12), as the addresses
# write them; anything else names no record
HALF_YEAR = re.compile(r"([0-9]{4})-H([12])")
ROW = re.compile(r"#([1-9][0-9]{0,8})")
# a field's value: plain text, a time, or {"$text": id} for the caller to translate
Value = str | dt.datetime | dict[str, Any]
# every field a record page may have (its label is the text miniapp.field.NAME)
FIELD_NAMES = (
    "customer",
    "product",
    "lot",
    "quantity",
    "description",
    "complainant",
    "channel",
    "received_at",
    "verification",
    "disposition",
    "corrective_action",
    "answer",
    "closed_at",
    "reason",
    "goods",
    "amount",
    "inspection",
    "consumer",
    "judgement",
    "decision",
    "asset",
    "location",
    "vendor",
    "severity",
    "repair",
    "rung",
    "due_at",
    "evaluation",
    "finding",
    "signed_at",
)


@dataclass
class RecordPage:
    type: str
    key: str
    number: str | None  # None: an assessment, a rectification without its written notice
    title: list[Any]
    status: str
    record: Any
    fields: list[tuple[str, Value]] = field(default_factory=list)  # (field name, value)
    deadlines: list[Deadline] = field(default_factory=list)
    events: list[TimelineEvent] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # who acted, by user id
    files: list[Photo] = field(default_factory=list)  # the evidence kept in the file store
    forms: list[FormRef] = field(default_factory=list)
    # what its quantities are counted in: a complaint's product's unit, the one unit all of a
    # return's lines share (None: the generic counter for a complaint, none for a return)
    unit: str | None = None


async def readable(session: AsyncSession, viewer: User, subject_type: str, key: str) -> Any:
    """The record of `subject_type` keyed `key` if `viewer` may read it; else NotFound."""
    if subject_type not in KINDS:
        raise NotFound("miniapp.not_found")
    try:
        if subject_type == "assessment":
            return await _assessment(session, viewer, key)
        if subject_type == "rectification" and key.startswith("#"):
            return await _unnumbered_rectification(session, viewer, key)
        return await READERS[subject_type](session, viewer, record_number(key))
    except NotAllowed:
        raise NotFound("miniapp.not_found") from None


async def _assessment(session: AsyncSession, viewer: User, key: str) -> Assessment:
    written = HALF_YEAR.fullmatch(record_number(key))
    if not (viewer.role_names & MANAGERS and written):
        raise NotFound("miniapp.not_found")
    found = await session.scalar(
        select(Assessment).where(
            Assessment.year == int(written[1]), Assessment.half == int(written[2])
        )
    )
    if found is None:
        raise NotFound("miniapp.not_found")
    return found


async def _unnumbered_rectification(session: AsyncSession, viewer: User, key: str) -> Rectification:
    written = ROW.fullmatch(key)
    # a row id the database's integers hold: a longer one names no row and must not reach it
    found = await session.get(Rectification, int(written[1])) if written else None
    if found is None or found.number is not None or not viewer.role_names & RECTIFICATION_READERS:
        raise NotFound("miniapp.not_found")
    return found


async def record_page(
    session: AsyncSession, viewer: User, subject_type: str, key: str
) -> RecordPage:
    """The page of the record, or NotFound (a record the viewer may not read as well)."""
    record = await readable(session, viewer, subject_type, key)
    row = await _title_row(session, subject_type, record)
    page = RecordPage(
        type=subject_type,
        key=record_key(record),
        number=getattr(record, "number", None),
        title=title_of(subject_type, row),
        status=record.status,
        record=record,
        fields=await _fields(session, subject_type, record),
        unit=_unit(record),
    )
    page.deadlines = list(
        await session.scalars(
            select(Deadline)
            .where(Deadline.subject_type == subject_type, Deadline.subject_id == record.id)
            .order_by(Deadline.due_at, Deadline.id)
        )
    )
    page.events = await events_of(session, subject_type, record.id)
    page.names = await names_of(session, (event.actor_id for event in page.events))
    page.files = [
        kept
        for kept in await photos.photos_of(session, subject_type, record.id)
        if kept.sha256 is not None
    ]
    if page.number is not None and subject_type != "defect":
        try:
            page.forms = await forms_for_viewer(session, viewer, page.number)
        except (NotFound, NotAllowed):
            page.forms = []
    return page


async def evidence_file(
    session: AsyncSession, viewer: User, subject_type: str, key: str, sha256: str
) -> Photo:
    """The stored evidence file of the record with this hash, if the viewer may read the
    record; else NotFound."""
    record = await readable(session, viewer, subject_type, key)
    for kept in await photos.photos_of(session, subject_type, record.id):
        if kept.sha256 == sha256:
            return kept
    raise NotFound("miniapp.not_found")


async def record_form(
    session: AsyncSession, viewer: User, subject_type: str, key: str, form: str
) -> FormRef:
    """The record's form named `form`, if the viewer may have it; else NotFound."""
    record = await readable(session, viewer, subject_type, key)
    number = getattr(record, "number", None)
    if number is None:
        raise NotFound("miniapp.not_found")
    for found in await forms_for_viewer(session, viewer, number):
        if found.form == form:
            return found
    raise NotFound("miniapp.not_found")


async def _title_row(session: AsyncSession, subject_type: str, record: Any) -> tuple[Any, ...]:
    """The rows `title_of` reads, as the list's statement joins them."""
    if subject_type == "complaint":
        await session.refresh(record, ["organisation", "product", "batch"])
        return (record, record.organisation, record.product, record.batch)
    if subject_type == "return":
        return (record, record.organisation)
    if subject_type == "consumer_complaint":
        await session.refresh(record, ["product"])
        return (record, record.product)
    if subject_type == "defect":
        await session.refresh(record, ["asset"])
        vendor = await session.get(Vendor, record.vendor_id) if record.vendor_id else None
        return (record, record.asset, vendor)
    if subject_type == "rectification":
        await session.refresh(record, ["vendor"])
        return (record, record.vendor)
    return (record,)


def _unit(record: Any) -> str | None:
    if isinstance(record, Complaint):
        return record.unit
    if isinstance(record, ReturnRequest):
        units = {line.product.unit or None for line in record.lines}
        return units.pop() if len(units) == 1 else None
    return None


def _text(key: str) -> dict[str, Any]:
    return {"$text": key}


async def _fields(session: AsyncSession, subject_type: str, record: Any) -> list[tuple[str, Value]]:
    """The record's facts worth a head's glance, by field name (miniapp.field.*), in the
    procedure's order; an empty one is left out."""
    found: list[tuple[str, Value | None]]
    if isinstance(record, Complaint):
        organisation = record.organisation
        found = [
            ("customer", f"{organisation.code} {organisation.name}"),
            ("product", record.product.name if record.product else record.product_text),
            ("lot", record.batch.lot_number if record.batch else record.lot_text),
            ("quantity", as_quantity(record.quantity, record.unit)),
            ("description", record.description),
            ("complainant", record.complainant_name),
            ("channel", _text(f"complaint.channel.{record.channel}")),
            ("received_at", record.received_at),
            ("verification", record.verification_notes),
            ("disposition", record.disposition),
            ("corrective_action", record.corrective_action),
            ("answer", record.answer),
            ("closed_at", record.closed_at),
        ]
    elif isinstance(record, ReturnRequest):
        # each line as the chat's return view says it, one a line
        lines = [
            as_text(
                "return.line",
                product=line.product.name,
                lot=line.batch.lot_number if line.batch else as_text("common.none_shown"),
                quantity=as_quantity(line.quantity, line.product.unit),
                amount=as_money(line.amount),
            )
            for line in record.lines
        ]
        found = [
            ("customer", f"{record.organisation.code} {record.organisation.name}"),
            ("reason", _text(f"return.reason.{record.reason}")),
            ("goods", {"$list": lines, "joiner": "lines"} if lines else None),
            ("amount", as_money(record.total_amount) if record.total_amount is not None else None),
            ("received_at", record.created_at),
            ("inspection", record.inspection_notes),
        ]
    elif isinstance(record, ConsumerComplaint):
        found = [
            ("consumer", record.consumer_name),
            ("product", record.product.name if record.product else record.product_text),
            ("description", record.description),
            ("received_at", record.received_at),
            ("judgement", record.judgement_note),
            ("decision", record.decision),
            ("answer", record.answer),
        ]
    elif isinstance(record, Defect):
        vendor = await session.get(Vendor, record.vendor_id) if record.vendor_id else None
        found = [
            ("asset", f"{record.asset.code} {record.asset.name}"),
            ("location", record.asset.location),
            ("vendor", vendor.name if vendor else None),
            ("description", record.description),
            ("severity", _text(f"defect.severity.{record.severity}") if record.severity else None),
            ("received_at", record.reported_at),
            ("repair", record.repair_note),
            ("closed_at", record.closed_at),
        ]
    elif isinstance(record, Rectification):
        found = [
            ("vendor", record.vendor.name),
            ("rung", _text(f"rectification.rung.{record.rung}")),
            ("description", record.description),
            ("received_at", record.raised_at),
            ("due_at", record.due_at),
            ("evaluation", record.evaluation),
        ]
    else:
        await session.refresh(record, ["findings"])
        found = [
            ("received_at", record.opened_at),
            *(
                (
                    "finding",
                    {
                        "$text": "miniapp.finding",
                        "params": {"vendor": finding.vendor.name, "text": finding.text},
                    },
                )
                for finding in record.findings
            ),
            ("signed_at", record.signed_at),
        ]
    return [(name, value) for name, value in found if value]
