"""Recording a complaint: the intake dialogue's look-ups and checks, and filing it."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Batch, BatchHold, Complaint, Organisation, Product, Shipment, User

from .. import roles
from ..actions import TakeComplaint
from ..deadlines import open_deadline
from ..errors import InvalidInput, NotAllowed, NotFound
from ..numbering import next_number
from ..outbox import as_text, as_time, button, notify_roles
from ..photos import add_photos
from ..text_input import MAX_TEXT, check_text, clean_text, column_length, cut_text
from ..timeline import record_change
from ..unit_of_work import UnitOfWork
from .common import SUBJECT, ComplaintStatus, subject_params

CHANNELS = ("phone", "email", "letter", "visit")
VERIFICATION_WINDOW = {"local": dt.timedelta(hours=24), "out_of_town": dt.timedelta(days=7)}
DISPOSITION_WINDOW = dt.timedelta(days=3)

# Who may file for a customer.
FILING_STAFF = frozenset({roles.AFTER_SALES, roles.QUALITY})
# complaints.quantity is a 32-bit Integer column
MAX_QUANTITY = 2**31 - 1
NAME_LENGTH = column_length(Complaint.complainant_name)
CONTACT_LENGTH = column_length(Complaint.complainant_contact)


@dataclass
class ComplaintDraft:
    """What the intake dialogue has gathered so far (kept as JSON between steps)."""

    organisation_id: int
    channel: str = "chat"
    complainant_name: str = ""
    complainant_contact: str | None = None
    product_id: int | None = None
    batch_id: int | None = None
    quantity: int | None = None
    description: str | None = None
    photo_file_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ComplaintDraft:
        return cls(**data)


# --- lookups for the intake dialogue --------------------------------------------------------


async def customer_organisations(session: AsyncSession) -> list[Organisation]:
    rows = await session.scalars(
        select(Organisation).where(Organisation.kind == "customer").order_by(Organisation.code)
    )
    return list(rows)


async def shipped_products(session: AsyncSession, organisation_id: int) -> list[Product]:
    """Products the organisation was shipped, which are the ones it can complain about."""
    rows = await session.scalars(
        select(Product)
        .join(Batch, Batch.product_id == Product.id)
        .join(Shipment, Shipment.batch_id == Batch.id)
        .where(Shipment.organisation_id == organisation_id)
        .distinct()
        .order_by(Product.code)
    )
    return list(rows)


async def shipped_batches(
    session: AsyncSession, organisation_id: int, product_id: int
) -> list[Batch]:
    rows = await session.scalars(
        select(Batch)
        .join(Shipment, Shipment.batch_id == Batch.id)
        .where(Shipment.organisation_id == organisation_id, Batch.product_id == product_id)
        .distinct()
        .order_by(Batch.lot_number)
    )
    return list(rows)


async def find_shipped_product(session: AsyncSession, organisation_id: int, text: str) -> Product:
    """The product named by code or (part of) its name among those shipped to the buyer."""
    wanted = text.strip().lower()
    candidates = await shipped_products(session, organisation_id)
    exact = [p for p in candidates if p.code.lower() == wanted or p.name.lower() == wanted]
    partial = [p for p in candidates if wanted and wanted in p.name.lower()]
    matches = exact or partial
    if len(matches) != 1:
        raise NotFound("complaint.product_not_shipped", text=text.strip())
    return matches[0]


async def find_shipped_batch(
    session: AsyncSession, organisation_id: int, product_id: int, lot_number: str
) -> Batch:
    for batch in await shipped_batches(session, organisation_id, product_id):
        if batch.lot_number.lower() == lot_number.strip().lower():
            return batch
    raise InvalidInput("complaint.batch_not_shipped", lot=lot_number.strip())


async def shipped_quantity(session: AsyncSession, organisation_id: int, batch_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Shipment.quantity), 0)).where(
            Shipment.organisation_id == organisation_id, Shipment.batch_id == batch_id
        )
    )
    return int(total or 0)


async def parse_quantity(
    session: AsyncSession, organisation_id: int, batch_id: int, text: str
) -> int:
    """A positive whole number, no more than the buyer was shipped of the batch."""
    quantity = check_quantity(text)
    shipped = await shipped_quantity(session, organisation_id, batch_id)
    if quantity > shipped:
        raise InvalidInput("complaint.quantity_over_shipped", shipped=shipped)
    return quantity


def check_quantity(text: str) -> int:
    """A positive whole number the quantity column holds; full-width digits are read as digits."""
    cleaned = unicodedata.normalize("NFKC", clean_text(text)).strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput("complaint.bad_quantity") from None
    if not value.is_finite() or value <= 0 or value != value.to_integral_value():
        raise InvalidInput("complaint.bad_quantity")
    if value > MAX_QUANTITY:
        raise InvalidInput("complaint.quantity_too_large", limit=MAX_QUANTITY)
    return int(value)


def check_description(text: str) -> str:
    return check_text(
        text,
        empty="complaint.empty_description",
        limit=MAX_TEXT,
        too_long="complaint.description_too_long",
    )


def check_complainant(text: str) -> tuple[str, str | None]:
    """Staff type "name contact": the name (cut to its column) and the contact, if any."""
    cleaned = check_text(text, empty="complaint.empty_complainant", limit=MAX_TEXT)
    name, _, contact = cleaned.partition(" ")
    return cut_text(name, NAME_LENGTH), check_contact(contact)


def check_contact(text: str | None) -> str | None:
    """A complainant's phone or e-mail, refused rather than cut: a cut number reaches nobody."""
    cleaned = clean_text(text or "").strip()
    if not cleaned:
        return None
    return check_text(cleaned, empty="complaint.empty_complainant", limit=CONTACT_LENGTH)


@dataclass(frozen=True)
class FilingOutcome:
    complaint: Complaint
    verify_due: dt.datetime
    opinion_due: dt.datetime


async def file_complaint(uow: UnitOfWork, actor: User, draft: ComplaintDraft) -> FilingOutcome:
    """Record the complaint, hold its batch, start the deadlines, tell QC and the warehouse."""
    session, now = uow.session, uow.clock.now()
    filing_for_others = draft.channel != "chat"
    if filing_for_others:
        roles.require_role(actor.role_names, FILING_STAFF)
        if draft.channel not in CHANNELS:
            raise InvalidInput("complaint.bad_channel")
    else:
        roles.require_role(actor.role_names, frozenset({roles.CUSTOMER}))
        if actor.organisation_id != draft.organisation_id:
            raise NotAllowed()
    if draft.product_id is None or draft.batch_id is None or draft.quantity is None:
        raise InvalidInput("complaint.incomplete")
    check_quantity(str(draft.quantity))
    organisation = await session.get(Organisation, draft.organisation_id)
    if organisation is None or organisation.kind != "customer":
        raise NotFound("complaint.not_found")
    shipped = await shipped_batches(session, organisation.id, draft.product_id)
    batch = next((b for b in shipped if b.id == draft.batch_id), None)
    if batch is None:
        raise InvalidInput("complaint.batch_not_shipped", lot="")
    locality = organisation.locality or "out_of_town"

    complaint = Complaint(
        number=await next_number(session, "QC", now.year),
        status=ComplaintStatus.OPEN,
        organisation_id=organisation.id,
        product_id=batch.product_id,
        batch_id=batch.id,
        quantity=draft.quantity,
        description=check_description(draft.description or ""),
        channel=draft.channel,
        locality=locality,
        complainant_name=cut_text(draft.complainant_name or actor.full_name, NAME_LENGTH),
        complainant_contact=check_contact(draft.complainant_contact),
        filed_by_id=actor.id,
        received_at=now,
    )
    session.add(complaint)
    await session.flush()
    await session.refresh(complaint, ["organisation", "product", "batch"])
    add_photos(session, SUBJECT, complaint.id, "intake", draft.photo_file_ids, actor, now)
    record_change(
        session,
        complaint,
        "filed",
        now,
        actor=actor,
        after={
            "number": complaint.number,
            "channel": complaint.channel,
            "batch": batch.lot_number,
            "quantity": complaint.quantity,
            "photos": len(draft.photo_file_ids),
        },
    )

    verify_due = now + VERIFICATION_WINDOW[locality]
    opinion_due = now + DISPOSITION_WINDOW
    for kind, due in (("on_site_verification", verify_due), ("disposition_opinion", opinion_due)):
        open_deadline(
            session,
            subject_type=SUBJECT,
            subject_id=complaint.id,
            subject_label=complaint.number,
            kind=kind,
            responsible_role=roles.QUALITY,
            opened_at=now,
            due_at=due,
        )

    session.add(BatchHold(batch_id=batch.id, complaint_id=complaint.id, placed_at=now))
    record_change(session, complaint, "hold_placed", now, after={"batch": batch.lot_number})
    params = subject_params(complaint)
    await notify_roles(
        session,
        [roles.WAREHOUSE, roles.BUSINESS_HEAD],
        "complaint.hold_placed",
        params,
        now=now,
        dedupe_prefix=f"complaint:{complaint.id}:hold",
    )
    await notify_roles(
        session,
        [roles.QUALITY],
        "complaint.new_for_qc",
        {
            **params,
            "locality": as_text(f"complaint.locality.{locality}"),
            "verify_due": as_time(verify_due),
            "opinion_due": as_time(opinion_due),
        },
        now=now,
        buttons=[[button("complaint.button.take", TakeComplaint(complaint_id=complaint.id))]],
        dedupe_prefix=f"complaint:{complaint.id}:new",
    )
    await uow.commit()
    return FilingOutcome(complaint, verify_due, opinion_due)
