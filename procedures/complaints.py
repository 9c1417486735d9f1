"""P1, medical-device quality complaints (seed part 1): intake, holds, verification, disposition.

Deadlines from receipt: on-site verification within 24 h for a local buyer (本埠) and 7 days for
an out-of-town one (外埠); a disposition opinion (處置意見) within 3 days for every complaint.
While a complaint is open its batch is on shipment hold (暫停發貨). Conforming: the buyer may
resume sales and the warehouse lifts the hold, within 24 h of the confirmation. Nonconforming:
the quality head is told, the batch stays held and is marked nonconforming, sales stop, every
other buyer of the product is told to suspend sales, the buyer gets a return if the batch has
not expired, and the supplier gets a quality query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Batch,
    BatchHold,
    Complaint,
    Deadline,
    Organisation,
    Product,
    ReturnLine,
    ReturnRequest,
    Shipment,
    User,
    UserRole,
)

from . import roles
from .deadlines import meet_deadline, open_deadline
from .errors import InvalidInput, NotAllowed, NotFound, WrongState
from .numbering import next_number
from .outbox import as_text, as_time, button, notify_roles, notify_users
from .periods import previous_quarter
from .photos import add_photos
from .timeline import record_event
from .unit_of_work import UnitOfWork

SUBJECT = "complaint"
CHANNELS = ("phone", "email", "letter", "visit")
VERIFICATION_WINDOW = {"local": dt.timedelta(hours=24), "out_of_town": dt.timedelta(days=7)}
DISPOSITION_WINDOW = dt.timedelta(days=3)
HOLD_LIFT_WINDOW = dt.timedelta(hours=24)
MAX_DESCRIPTION = 2000

OPEN = "open"
INVESTIGATING = "investigating"
CONFORMING = "conforming"
NONCONFORMING = "nonconforming"
CLOSED = "closed"
ACTIVE_STATUSES = (OPEN, INVESTIGATING, CONFORMING, NONCONFORMING)

# Who may file for a customer, and who sees every complaint.
FILING_STAFF = frozenset({roles.AFTER_SALES, roles.QUALITY})
STAFF_VIEWERS = frozenset(
    {
        roles.QUALITY,
        roles.QUALITY_HEAD,
        roles.AFTER_SALES,
        roles.AFTER_SALES_HEAD,
        roles.BUSINESS_HEAD,
        roles.WAREHOUSE,
        roles.COMPANY_LEADER,
        roles.ADMIN,
    }
)
VERIFIERS = frozenset({roles.QUALITY, roles.QUALITY_HEAD})


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
    try:
        quantity = int(text.strip())
    except ValueError:
        raise InvalidInput("complaint.bad_quantity") from None
    if quantity <= 0:
        raise InvalidInput("complaint.bad_quantity")
    shipped = await shipped_quantity(session, organisation_id, batch_id)
    if quantity > shipped:
        raise InvalidInput("complaint.quantity_over_shipped", shipped=shipped)
    return quantity


def check_description(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput("complaint.empty_description")
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput("complaint.description_too_long", limit=MAX_DESCRIPTION)
    return text


# --- transitions ----------------------------------------------------------------------------


def _subject_params(complaint: Complaint) -> dict[str, Any]:
    return {
        "number": complaint.number,
        "product": complaint.product.name,
        "lot": complaint.batch.lot_number,
        "quantity": complaint.quantity,
        "organisation": complaint.organisation.name,
    }


async def _load(session: AsyncSession, complaint_id: int, *, lock: bool = True) -> Complaint:
    query = select(Complaint).where(Complaint.id == complaint_id)
    if lock:
        query = query.with_for_update()
    complaint = await session.scalar(query)
    if complaint is None:
        raise NotFound("complaint.not_found")
    # relationships used in messages, loaded now (no lazy IO under asyncio)
    await session.refresh(complaint, ["organisation", "product", "batch"])
    return complaint


async def _customers_of(session: AsyncSession, organisation_ids: list[int]) -> list[User]:
    rows = await session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            UserRole.role == roles.CUSTOMER,
            User.organisation_id.in_(organisation_ids),
            User.active.is_(True),
        )
        .order_by(User.id)
    )
    return list(rows)


async def _tell_complainant(
    session: AsyncSession, complaint: Complaint, key: str, params: dict[str, Any], now: dt.datetime
) -> None:
    """A reply to the complainant: sent to the buyer's contacts and kept on the record."""
    customers = await _customers_of(session, [complaint.organisation_id])
    await notify_users(
        session, customers, key, params, now=now, dedupe_prefix=f"complaint:{complaint.id}:{key}"
    )
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="reply_to_complainant",
        at=now,
        after={"text_key": key, "recipients": len(customers)},
    )


async def file_complaint(uow: UnitOfWork, actor: User, draft: ComplaintDraft) -> Complaint:
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
        status=OPEN,
        organisation_id=organisation.id,
        product_id=batch.product_id,
        batch_id=batch.id,
        quantity=draft.quantity,
        description=check_description(draft.description or ""),
        channel=draft.channel,
        locality=locality,
        complainant_name=draft.complainant_name or actor.full_name,
        complainant_contact=draft.complainant_contact,
        filed_by_id=actor.id,
        received_at=now,
    )
    session.add(complaint)
    await session.flush()
    await session.refresh(complaint, ["organisation", "product", "batch"])
    add_photos(session, SUBJECT, complaint.id, "intake", draft.photo_file_ids, actor, now)
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="filed",
        actor_id=actor.id,
        at=now,
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
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="hold_placed",
        at=now,
        after={"batch": batch.lot_number},
    )
    params = _subject_params(complaint)
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
        buttons=[[button("complaint.button.take", f"qc:take:{complaint.id}")]],
        dedupe_prefix=f"complaint:{complaint.id}:new",
    )
    await uow.commit()
    return complaint


async def take_complaint(uow: UnitOfWork, actor: User, complaint_id: int) -> Complaint:
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, VERIFIERS)
    complaint = await _load(session, complaint_id)
    if complaint.taken_by_id is not None:
        taker = await session.get(User, complaint.taken_by_id)
        raise WrongState(
            "complaint.already_taken",
            number=complaint.number,
            name=taker.full_name if taker else "",
        )
    complaint.taken_by_id, complaint.taken_at, complaint.status = actor.id, now, INVESTIGATING
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="taken",
        actor_id=actor.id,
        at=now,
        before={"status": OPEN},
        after={"status": INVESTIGATING},
    )
    await uow.commit()
    return complaint


@dataclass(frozen=True)
class VerificationOutcome:
    complaint: Complaint
    return_number: str | None = None
    # organisation codes of the other buyers told to suspend sales, and of those with no
    # registered contact, whom staff must reach another way
    suspension_sent_to: tuple[str, ...] = ()
    suspension_without_contact: tuple[str, ...] = ()


async def record_verification(
    uow: UnitOfWork,
    actor: User,
    complaint_id: int,
    *,
    result: str,
    on_site: bool,
    notes: str,
    photo_file_ids: list[str] | None = None,
    timezone: ZoneInfo,
) -> VerificationOutcome:
    """Record the (on-site) verification and carry out what its result requires."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, VERIFIERS)
    if result not in (CONFORMING, NONCONFORMING):
        raise InvalidInput("complaint.bad_result")
    complaint = await complaint_for_verification(session, actor, complaint_id, lock=True)
    notes = notes.strip()
    if not notes:
        raise InvalidInput("complaint.empty_notes")

    complaint.on_site = on_site
    complaint.verification_notes = notes
    complaint.verification_result = result
    complaint.verified_by_id, complaint.verified_at = actor.id, now
    complaint.status = result
    add_photos(session, SUBJECT, complaint.id, "verification", photo_file_ids or [], actor, now)
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="verified",
        actor_id=actor.id,
        at=now,
        before={"status": INVESTIGATING},
        after={
            "status": result,
            "result": result,
            "on_site": on_site,
            "notes": notes,
            "photos": len(photo_file_ids or []),
        },
    )
    await meet_deadline(
        session, subject_type=SUBJECT, subject_id=complaint.id, kind="on_site_verification", now=now
    )
    if result == CONFORMING:
        outcome = await _after_conforming(session, complaint, now)
    else:
        outcome = await _after_nonconforming(session, complaint, now, timezone)
    await _close_if_done(session, complaint, now)
    await uow.commit()
    return outcome


async def _after_conforming(
    session: AsyncSession, complaint: Complaint, now: dt.datetime
) -> VerificationOutcome:
    params = _subject_params(complaint)
    await _tell_complainant(session, complaint, "complaint.resume_sales", params, now)
    due = now + HOLD_LIFT_WINDOW
    open_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        subject_label=complaint.number,
        kind="hold_lift",
        responsible_role=roles.WAREHOUSE,
        opened_at=now,
        due_at=due,
    )
    await notify_roles(
        session,
        [roles.WAREHOUSE, roles.BUSINESS_HEAD],
        "complaint.lift_hold",
        {**params, "due_at": as_time(due)},
        now=now,
        buttons=[[button("complaint.button.hold_lifted", f"wh:lift:{complaint.id}")]],
        dedupe_prefix=f"complaint:{complaint.id}:lift",
    )
    return VerificationOutcome(complaint)


async def _after_nonconforming(
    session: AsyncSession, complaint: Complaint, now: dt.datetime, timezone: ZoneInfo
) -> VerificationOutcome:
    params = _subject_params(complaint)
    batch = complaint.batch
    hold = await session.scalar(select(BatchHold).where(BatchHold.complaint_id == complaint.id))
    if hold is not None:
        hold.nonconforming = True
    batch.nonconforming_since = batch.nonconforming_since or now
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="batch_marked_nonconforming",
        at=now,
        after={"batch": batch.lot_number},
    )

    await notify_roles(
        session,
        [roles.QUALITY_HEAD],
        "complaint.nonconforming_head",
        params,
        now=now,
        dedupe_prefix=f"complaint:{complaint.id}:nc-head",
    )
    await notify_roles(
        session,
        [roles.WAREHOUSE],
        "complaint.nonconforming_warehouse",
        params,
        now=now,
        dedupe_prefix=f"complaint:{complaint.id}:nc-warehouse",
    )
    await notify_roles(
        session,
        [roles.BUSINESS_HEAD],
        "complaint.nonconforming_business",
        params,
        now=now,
        dedupe_prefix=f"complaint:{complaint.id}:nc-business",
    )
    reached, unreachable = await _suspend_sales_elsewhere(session, complaint, now)

    return_number = None
    today = now.astimezone(timezone).date()
    if batch.expiry_date is None or batch.expiry_date >= today:
        return_number = await _start_quality_return(session, complaint, now)
        await _tell_complainant(
            session,
            complaint,
            "complaint.return_started",
            {**params, "return_number": return_number},
            now,
        )
    else:
        record_event(
            session,
            subject_type=SUBJECT,
            subject_id=complaint.id,
            action="return_refused_expired",
            at=now,
            after={"expiry_date": batch.expiry_date.isoformat()},
        )
        await _tell_complainant(
            session,
            complaint,
            "complaint.return_refused_expired",
            {**params, "expiry_date": batch.expiry_date.isoformat()},
            now,
        )

    complaint.supplier_query_at = now
    product = complaint.product
    suppliers: list[User] = []
    if product.supplier_id is not None:
        suppliers = list(
            await session.scalars(
                select(User)
                .join(UserRole, UserRole.user_id == User.id)
                .where(
                    UserRole.role == roles.SUPPLIER,
                    User.organisation_id == product.supplier_id,
                    User.active.is_(True),
                )
            )
        )
        await notify_users(
            session,
            suppliers,
            "complaint.supplier_query",
            params,
            now=now,
            dedupe_prefix=f"complaint:{complaint.id}:supplier",
        )
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="supplier_queried",
        at=now,
        after={"supplier_id": product.supplier_id, "recipients": len(suppliers)},
    )
    return VerificationOutcome(complaint, return_number, reached, unreachable)


async def _suspend_sales_elsewhere(
    session: AsyncSession, complaint: Complaint, now: dt.datetime
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Tell every other buyer of the product to suspend its sales: one message per contact."""
    other_organisations = list(
        await session.scalars(
            select(Organisation)
            .join(Shipment, Shipment.organisation_id == Organisation.id)
            .join(Batch, Batch.id == Shipment.batch_id)
            .where(
                Batch.product_id == complaint.product_id,
                Organisation.id != complaint.organisation_id,
            )
            .distinct()
            .order_by(Organisation.code)
        )
    )
    params = _subject_params(complaint)
    reached, unreachable = [], []
    for organisation in other_organisations:
        contacts = await _customers_of(session, [organisation.id])
        await notify_users(
            session,
            contacts,
            "complaint.suspend_sales",
            params,
            now=now,
            dedupe_prefix=f"complaint:{complaint.id}:suspend:o{organisation.id}",
        )
        (reached if contacts else unreachable).append(organisation.code)
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="sales_suspension_sent",
        at=now,
        after={"organisations": reached, "without_contact": unreachable},
    )
    return tuple(reached), tuple(unreachable)


async def _start_quality_return(
    session: AsyncSession, complaint: Complaint, now: dt.datetime
) -> str:
    """A return for the complained quantity, priced at what the buyer paid for the batch."""
    totals = (
        await session.execute(
            select(func.sum(Shipment.amount), func.sum(Shipment.quantity)).where(
                Shipment.organisation_id == complaint.organisation_id,
                Shipment.batch_id == complaint.batch_id,
            )
        )
    ).one()
    amount_paid, quantity_bought = totals
    unit_price = Decimal(amount_paid) / quantity_bought if quantity_bought else Decimal(0)
    amount = (unit_price * complaint.quantity).quantize(Decimal("0.01"), ROUND_HALF_UP)
    request = ReturnRequest(
        number=await next_number(session, "RT", now.year),
        organisation_id=complaint.organisation_id,
        reason="quality",
        status="requested",
        complaint_id=complaint.id,
        created_at=now,
        lines=[
            ReturnLine(
                product_id=complaint.product_id,
                batch_id=complaint.batch_id,
                quantity=complaint.quantity,
                amount=amount,
            )
        ],
    )
    session.add(request)
    await session.flush()
    record_event(
        session,
        subject_type="return",
        subject_id=request.id,
        action="created",
        at=now,
        after={
            "number": request.number,
            "complaint": complaint.number,
            "quantity": complaint.quantity,
            "amount": str(amount),
        },
    )
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="return_started",
        at=now,
        after={"return_number": request.number, "amount": str(amount)},
    )
    return request.number


def check_opinion(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput("complaint.empty_opinion")
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput("complaint.description_too_long", limit=MAX_DESCRIPTION)
    return text


async def record_disposition(
    uow: UnitOfWork,
    actor: User,
    complaint_id: int,
    opinion: str,
    corrective_action: str | None = None,
) -> Complaint:
    """The disposition opinion (處置意見), due within 3 days of receipt, with the corrective
    action if one was decided; the opinion goes to the buyer."""
    session, now = uow.session, uow.clock.now()
    complaint = await complaint_for_opinion(session, actor, complaint_id, lock=True)
    opinion = check_opinion(opinion)
    complaint.corrective_action = (corrective_action or "").strip() or None
    complaint.disposition, complaint.disposition_by_id, complaint.disposition_at = (
        opinion,
        actor.id,
        now,
    )
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="disposition_recorded",
        actor_id=actor.id,
        at=now,
        after={"opinion": opinion, "corrective_action": complaint.corrective_action},
    )
    await meet_deadline(
        session, subject_type=SUBJECT, subject_id=complaint.id, kind="disposition_opinion", now=now
    )
    await _tell_complainant(
        session,
        complaint,
        "complaint.opinion_to_buyer",
        {**_subject_params(complaint), "opinion": opinion},
        now,
    )
    await _close_if_done(session, complaint, now)
    await uow.commit()
    return complaint


async def flag_adverse_event(
    uow: UnitOfWork, actor: User, complaint_id: int, report_within: dt.timedelta
) -> Complaint:
    """Flag a possible medical-device adverse event (醫療器械不良事件): the quality head is told
    at once and a reporting deadline runs."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, VERIFIERS)
    complaint = await _load(session, complaint_id)
    if complaint.adverse_event_at is not None:
        raise WrongState("complaint.already_flagged", number=complaint.number)
    complaint.adverse_event_at, complaint.adverse_event_by_id = now, actor.id
    due = now + report_within
    open_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        subject_label=complaint.number,
        kind="adverse_event_report",
        responsible_role=roles.QUALITY_HEAD,
        opened_at=now,
        due_at=due,
    )
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="adverse_event_flagged",
        actor_id=actor.id,
        at=now,
        after={"report_due": due.isoformat()},
    )
    await notify_roles(
        session,
        [roles.QUALITY_HEAD],
        "complaint.adverse_event",
        {**_subject_params(complaint), "due_at": as_time(due)},
        now=now,
        dedupe_prefix=f"complaint:{complaint.id}:adverse",
    )
    await uow.commit()
    return complaint


async def lift_hold(uow: UnitOfWork, actor: User, complaint_id: int) -> Complaint:
    """The warehouse confirms the shipment hold of a conforming batch is lifted."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, frozenset({roles.WAREHOUSE}))
    complaint = await _load(session, complaint_id)
    hold = await session.scalar(
        select(BatchHold).where(BatchHold.complaint_id == complaint.id).with_for_update()
    )
    if complaint.verification_result != CONFORMING or hold is None:
        raise WrongState("complaint.hold_not_liftable", number=complaint.number)
    if hold.lifted_at is not None:
        raise WrongState("complaint.hold_already_lifted", number=complaint.number)
    hold.lifted_at, hold.lifted_by_id = now, actor.id
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="hold_lifted",
        actor_id=actor.id,
        at=now,
        after={"batch": complaint.batch.lot_number},
    )
    await meet_deadline(
        session, subject_type=SUBJECT, subject_id=complaint.id, kind="hold_lift", now=now
    )
    await notify_roles(
        session,
        [roles.BUSINESS_HEAD, roles.QUALITY],
        "complaint.hold_lifted",
        _subject_params(complaint),
        now=now,
        dedupe_prefix=f"complaint:{complaint.id}:lifted",
    )
    await _close_if_done(session, complaint, now)
    await uow.commit()
    return complaint


async def _close_if_done(session: AsyncSession, complaint: Complaint, now: dt.datetime) -> None:
    if complaint.verification_result is None or complaint.disposition is None:
        return
    if complaint.verification_result == CONFORMING:
        hold = await session.scalar(select(BatchHold).where(BatchHold.complaint_id == complaint.id))
        if hold is not None and hold.lifted_at is None:
            return
    before = complaint.status
    complaint.status, complaint.closed_at = CLOSED, now
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        action="closed",
        at=now,
        before={"status": before},
        after={"status": CLOSED},
    )


async def complaint_for_verification(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> Complaint:
    """The complaint, if `actor` may record its verification now: asked before the dialogue
    starts, and again (locking the row) when the verification is recorded."""
    roles.require_role(actor.role_names, VERIFIERS)
    complaint = await _load(session, complaint_id, lock=lock)
    if complaint.status == OPEN:
        raise WrongState("complaint.not_taken", number=complaint.number)
    if complaint.verification_result is not None:
        raise WrongState("complaint.already_verified", number=complaint.number)
    return complaint


async def complaint_for_opinion(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> Complaint:
    """The complaint, if `actor` may give its disposition opinion now (before the dialogue,
    and again, locking the row, when the opinion is recorded)."""
    roles.require_role(actor.role_names, VERIFIERS)
    complaint = await _load(session, complaint_id, lock=lock)
    if complaint.status == OPEN:
        raise WrongState("complaint.not_taken", number=complaint.number)
    if complaint.disposition is not None:
        raise WrongState("complaint.already_has_opinion", number=complaint.number)
    return complaint


# Who receives the quarterly complaint report, and who may ask for the ledger at any time.
REPORT_READERS = frozenset({roles.QUALITY_HEAD, roles.QUALITY})
LEDGER_READERS = frozenset(
    {
        roles.QUALITY,
        roles.QUALITY_HEAD,
        roles.AFTER_SALES_HEAD,
        roles.BUSINESS_HEAD,
        roles.COMPANY_LEADER,
        roles.ADMIN,
    }
)


async def queue_quarterly_report(
    session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo
) -> int:
    """Send the quality department last quarter's complaint report (once per quarter)."""
    year, quarter = previous_quarter(now, timezone)
    queued = await notify_roles(
        session,
        sorted(REPORT_READERS),
        "report.quarterly_ready",
        {"year": year, "quarter": quarter},
        now=now,
        attachment={"kind": "complaint_quarterly", "params": {"year": year, "quarter": quarter}},
        dedupe_prefix=f"report:complaints:{year}-Q{quarter}",
    )
    return len(queued)


# --- reading --------------------------------------------------------------------------------


async def is_batch_on_hold(session: AsyncSession, batch_id: int) -> bool:
    """A batch may not be shipped while any complaint holds it or it was found nonconforming."""
    batch = await session.get(Batch, batch_id)
    if batch is not None and batch.nonconforming_since is not None:
        return True
    active = await session.scalar(
        select(func.count())
        .select_from(BatchHold)
        .where(BatchHold.batch_id == batch_id, BatchHold.lifted_at.is_(None))
    )
    return bool(active)


def may_see(viewer: User, complaint: Complaint) -> bool:
    if viewer.role_names & STAFF_VIEWERS:
        return True
    return (
        roles.CUSTOMER in viewer.role_names and viewer.organisation_id == complaint.organisation_id
    )


async def complaint_for_viewer(session: AsyncSession, viewer: User, number: str) -> Complaint:
    complaint = await session.scalar(select(Complaint).where(Complaint.number == number.upper()))
    # Someone who may not see it is told the same as for a number that does not exist.
    if complaint is None or not may_see(viewer, complaint):
        raise NotFound("complaint.not_found")
    await session.refresh(complaint, ["organisation", "product", "batch"])
    return complaint


async def complaints_of(session: AsyncSession, organisation_id: int) -> list[Complaint]:
    rows = await session.scalars(
        select(Complaint)
        .where(Complaint.organisation_id == organisation_id)
        .order_by(Complaint.id.desc())
        .limit(30)
    )
    return list(rows)


async def work_queue(session: AsyncSession) -> list[Complaint]:
    """Complaints with something still to do for quality: not taken, unverified or no opinion."""
    rows = await session.scalars(
        select(Complaint)
        .where(
            Complaint.status.in_(ACTIVE_STATUSES),
            or_(Complaint.verification_result.is_(None), Complaint.disposition.is_(None)),
        )
        .order_by(Complaint.received_at)
    )
    complaints = list(rows)
    for complaint in complaints:
        await session.refresh(complaint, ["organisation", "product", "batch"])
    return complaints


async def deadlines_of(session: AsyncSession, complaint_id: int) -> list[Deadline]:
    rows = await session.scalars(
        select(Deadline)
        .where(Deadline.subject_type == SUBJECT, Deadline.subject_id == complaint_id)
        .order_by(Deadline.id)
    )
    return list(rows)
