"""Recording a complaint: the intake dialogue's look-ups and checks, and filing it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints import rules
from procedures.complaints.actions import AnswerInquiry, JudgeQualityComplaint, TakeComplaint
from procedures.complaints.common import SUBJECT, subject_params
from procedures.complaints.policy import HOLD_SCOPES, ComplaintPolicy
from procedures.complaints.rules import FILING_STAFF, ComplaintStatus
from procedures.kernel import roles
from procedures.kernel.deadlines import open_deadline
from procedures.kernel.errors import InvalidInput, NotAllowed, NotFound
from procedures.kernel.numbering import next_number
from procedures.kernel.outbox import as_deadline, as_text, as_time, button, notify_roles
from procedures.kernel.photos import add_photos, keep_label, send_album_to_roles
from procedures.kernel.quantities import check_quantity
from procedures.kernel.received import ReceivedTexts, check_received_at
from procedures.kernel.text_input import (
    MAX_TEXT,
    check_text,
    clean_text,
    column_length,
    cut_text,
)
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.masterdata.queries import (
    product_unit,
    shipped_batches,
    shipped_quantity,
)
from storage.models import Batch, BatchHold, Complaint, Organisation, Product, User

CHANNELS: tuple[Literal["phone", "email", "letter", "visit"], ...] = (
    "phone",
    "email",
    "letter",
    "visit",
)
# A buyer whose locality the master data lacks is held to the stricter, local rule.
VERIFICATION_WINDOW = {
    "local": dt.timedelta(hours=24),
    "out_of_town": dt.timedelta(days=7),
    "unknown": dt.timedelta(hours=24),
}
# 外埠…七天內進行實地核實處理完畢: for an out-of-town buyer the handling, not only the visit, is
# complete within 7 days (met when the complaint closes).
HANDLING_WINDOW = {"out_of_town": dt.timedelta(days=7)}
# what staff key in: a quality complaint, or an inquiry or feedback (查詢, 情況反映, P1 4.2)
KINDS: tuple[Literal["complaint", "inquiry"], ...] = ("complaint", "inquiry")
KIND_NAMES = {"complaint": "complaint.kind.complaint", "inquiry": "complaint.kind.inquiry"}
# a letter read late, a visit keyed in after a weekend: the time staff give, refused in P1's words
RECEIVED_TEXTS = ReceivedTexts(
    unreadable="complaint.bad_received_at",
    in_future="complaint.received_in_future",
    too_early="complaint.received_too_early",
)
HOLD_NOTICES = {"product": "complaint.hold_placed_product", "lot": "complaint.hold_placed_lot"}

NAME_LENGTH = column_length(Complaint.complainant_name)
PRODUCT_TEXT_LENGTH = column_length(Complaint.product_text)
LOT_TEXT_LENGTH = column_length(Complaint.lot_text)
CONTACT_LENGTH = column_length(Complaint.complainant_contact)


@dataclass
class ComplaintDraft:
    """What the intake dialogue has gathered so far (kept as JSON between steps)."""

    organisation_id: int
    channel: str = "chat"
    kind: str = "complaint"
    # staff: when it was received (ISO, UTC), which starts its clocks; None: now
    received_at: str | None = None
    complainant_name: str = ""
    complainant_contact: str | None = None
    product_id: int | None = None
    batch_id: int | None = None
    # staff only: a product or lot the master data does not know, as typed
    product_text: str | None = None
    lot_text: str | None = None
    quantity: int | None = None
    description: str | None = None
    photo_file_ids: list[str] = field(default_factory=list)
    # the last UDI label scanned at the product step (labels.LabelMatch.evidence): kept with
    # the record, and named as the source of the lot when the draft's lot is the label's
    label: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ComplaintDraft:
        return cls(**data)


# --- lookups for the intake dialogue --------------------------------------------------------


def check_product_text(text: str) -> str:
    """A product the master data does not know, as staff typed it."""
    return check_text(text, empty="complaint.empty_product", limit=PRODUCT_TEXT_LENGTH)


def check_lot_text(text: str) -> str:
    return check_text(text, empty="complaint.empty_lot", limit=LOT_TEXT_LENGTH)


async def parse_quantity(
    session: AsyncSession, organisation_id: int, batch_id: int, text: str
) -> int:
    """A positive whole number, no more than the buyer was shipped of the batch."""
    shipped = await shipped_quantity(session, organisation_id, batch_id)
    return await _within_shipped(session, batch_id, shipped, text)


async def _within_shipped(session: AsyncSession, batch_id: int, shipped: int, text: str) -> int:
    quantity = check_quantity(text, await product_unit(session, batch_id=batch_id))
    if quantity > shipped:
        raise InvalidInput("complaint.quantity_over_shipped", shipped=shipped)
    return quantity


async def parse_draft_quantity(session: AsyncSession, draft: ComplaintDraft, text: str) -> int:
    """The quantity affected: within what was shipped of the lot when a shipment is on file;
    staff recording goods no shipment shows are held only to a positive whole number."""
    if draft.batch_id is not None:
        shipped = await shipped_quantity(session, draft.organisation_id, draft.batch_id)
        if shipped:
            return await _within_shipped(session, draft.batch_id, shipped, text)
    return check_quantity(text, await product_unit(session, product_id=draft.product_id))


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
    # a complaint's first deadlines; an inquiry has only its answer's
    verify_due: dt.datetime | None = None
    opinion_due: dt.datetime | None = None
    answer_due: dt.datetime | None = None


@dataclass(frozen=True)
class _Goods:
    """What the complaint is about, as far as the master and shipment data know it."""

    product: Product | None
    batch: Batch | None
    product_text: str | None
    lot_text: str | None
    shipment_on_file: bool


async def _goods_of(
    session: AsyncSession, draft: ComplaintDraft, organisation: Organisation, by_staff: bool
) -> _Goods:
    """The product and lot of the draft. A customer complains about what was shipped to them;
    staff may record any complaint (所有顧客的投訴), also about goods no shipment shows."""
    if draft.product_id is None and draft.product_text is None:
        raise InvalidInput("complaint.incomplete")
    if draft.batch_id is None and draft.lot_text is None:
        raise InvalidInput("complaint.incomplete")
    product = await session.get(Product, draft.product_id) if draft.product_id else None
    batch = await session.get(Batch, draft.batch_id) if draft.batch_id else None
    if (draft.product_id and product is None) or (
        batch is not None and (product is None or batch.product_id != product.id)
    ):
        raise InvalidInput("complaint.batch_not_shipped", lot="")
    shipped = (
        product is not None
        and batch is not None
        and batch.id in {b.id for b in await shipped_batches(session, organisation.id, product.id)}
    )
    if not by_staff and not shipped:
        raise InvalidInput("complaint.batch_not_shipped", lot="")
    return _Goods(
        product=product,
        batch=batch,
        product_text=None if product else check_product_text(draft.product_text or ""),
        lot_text=None if batch else check_lot_text(draft.lot_text or ""),
        shipment_on_file=shipped,
    )


async def file_complaint(uow: UnitOfWork, actor: User, draft: ComplaintDraft) -> FilingOutcome:
    """Record the complaint, hold the product (or, by the deployment's setting, only the lot),
    start the deadlines from when it was received, tell QC, the warehouse and the business
    department. An inquiry or feedback is recorded without a hold, for an answer."""
    session, now = uow.session, uow.clock.now()
    hold_scope = uow.policy(ComplaintPolicy).hold_scope
    filing_for_others = draft.channel != "chat"
    received_at = now
    if filing_for_others:
        roles.require_role(actor.role_names, FILING_STAFF)
        if draft.channel not in CHANNELS:
            raise InvalidInput("complaint.bad_channel")
        if draft.received_at is not None:  # checked again: the draft may have waited
            received_at = check_received_at(
                dt.datetime.fromisoformat(draft.received_at), now, RECEIVED_TEXTS
            )
    else:
        roles.require_role(actor.role_names, frozenset({roles.CUSTOMER}))
        if actor.organisation_id != draft.organisation_id:
            raise NotAllowed()
    if draft.kind not in KINDS:
        raise InvalidInput("complaint.incomplete")
    inquiry = draft.kind == "inquiry"
    if hold_scope not in HOLD_SCOPES:
        raise ValueError(f"hold scope {hold_scope!r}")
    if draft.quantity is None:
        raise InvalidInput("complaint.incomplete")
    check_quantity(str(draft.quantity))
    organisation = await session.get(Organisation, draft.organisation_id)
    if organisation is None or organisation.kind != "customer":
        raise NotFound("complaint.not_found")
    goods = await _goods_of(session, draft, organisation, filing_for_others)
    locality = organisation.locality or "unknown"

    complaint = Complaint(
        number=await next_number(session, "QC", now.year),
        status=ComplaintStatus.INQUIRY if inquiry else ComplaintStatus.OPEN,
        received_as=draft.kind,
        # the rows themselves, as read above: the complaint's labels need them, and a refresh
        # after the flush would read them again
        organisation=organisation,
        product=goods.product,
        batch=goods.batch,
        product_text=goods.product_text,
        lot_text=goods.lot_text,
        shipment_on_file=goods.shipment_on_file,
        quantity=draft.quantity,
        description=check_description(draft.description or ""),
        channel=draft.channel,
        locality=locality,
        complainant_name=cut_text(draft.complainant_name or actor.full_name, NAME_LENGTH),
        complainant_contact=check_contact(draft.complainant_contact),
        filed_by_id=actor.id,
        received_at=received_at,
    )
    session.add(complaint)
    await session.flush()
    add_photos(session, SUBJECT, complaint.id, "intake", draft.photo_file_ids, actor, now)
    keep_label(session, complaint, draft.label, actor, now, batch_id=complaint.batch_id)
    record_change(
        session,
        complaint,
        "filed",
        now,
        actor=actor,
        after={
            "number": complaint.number,
            "kind": complaint.received_as,
            "received_at": received_at.isoformat(),
            "channel": complaint.channel,
            "product": complaint.product_label,
            "batch": complaint.lot_label,
            "shipment_on_file": complaint.shipment_on_file,
            "quantity": complaint.quantity,
            "photos": len(draft.photo_file_ids),
        },
    )

    if inquiry:
        answer_due = await _ask_for_answer(session, complaint, now)
        await uow.commit()
        return FilingOutcome(complaint, answer_due=answer_due)
    verify_due, opinion_due = await start_complaint(
        session, complaint, hold_scope, received_at, now
    )
    await uow.commit()
    return FilingOutcome(complaint, verify_due, opinion_due)


async def start_complaint(
    session: AsyncSession,
    complaint: Complaint,
    hold_scope: str,
    start: dt.datetime,
    now: dt.datetime,
) -> tuple[dt.datetime, dt.datetime]:
    """P1 4.4's clocks from `start` (the 24-hour or 7-day on-site check, the 3-day opinion),
    the hold on the product (or lot), and the notices to QC, the warehouse and the business
    department. Returns the verification's and the opinion's due times."""
    locality = complaint.locality
    verify_due = start + VERIFICATION_WINDOW[locality]
    opinion_due = rules.DISPOSITION_OPINION.due(start)
    windows = [(rules.ON_SITE_VERIFICATION, verify_due), (rules.DISPOSITION_OPINION, opinion_due)]
    if locality in HANDLING_WINDOW:
        windows.append((rules.HANDLING_COMPLETE, start + HANDLING_WINDOW[locality]))
    for rule, due in windows:
        open_deadline(
            session,
            rule=rule,
            subject_type=SUBJECT,
            subject_id=complaint.id,
            subject_label=complaint.number,
            opened_at=start,
            due_at=due,
        )

    params = subject_params(complaint)
    held = _place_hold(session, complaint, hold_scope, now)
    if held is not None:
        await notify_roles(
            session,
            [roles.WAREHOUSE, roles.BUSINESS_HEAD],
            HOLD_NOTICES[held],
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
            "received_at": as_time(complaint.received_at),
            "channel": as_text(f"complaint.channel.{complaint.channel}"),
            "verify_due": as_deadline(verify_due),
            "opinion_due": as_deadline(opinion_due),
            **_intake_notes(complaint),
        },
        now=now,
        buttons=[[button("complaint.button.take", TakeComplaint(complaint_id=complaint.id))]],
        dedupe_prefix=f"complaint:{complaint.id}:new",
    )
    await send_album_to_roles(
        session,
        [roles.QUALITY],
        SUBJECT,
        complaint.id,
        "intake",
        complaint.number,
        now=now,
        dedupe_prefix=f"complaint:{complaint.id}:new:album",
    )
    return verify_due, opinion_due


async def _ask_for_answer(
    session: AsyncSession, complaint: Complaint, now: dt.datetime
) -> dt.datetime:
    """An inquiry's answer is due in INQUIRY_ANSWER's window from its receipt: quality is asked
    to answer it or judge it a quality complaint, after-sales to answer what it can."""
    deadline = open_deadline(
        session,
        rule=rules.INQUIRY_ANSWER,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        subject_label=complaint.number,
        opened_at=complaint.received_at,
    )
    params = {
        **subject_params(complaint),
        "description": complaint.description,
        "received_at": as_time(complaint.received_at),
        "channel": as_text(f"complaint.channel.{complaint.channel}"),
        "answer_due": as_deadline(deadline.due_at),
    }
    answer = button("complaint.button.answer_inquiry", AnswerInquiry(complaint_id=complaint.id))
    judge = button(
        "complaint.button.judge_complaint", JudgeQualityComplaint(complaint_id=complaint.id)
    )
    await notify_roles(
        session,
        [roles.QUALITY],
        "complaint.inquiry_for_quality",
        params,
        now=now,
        buttons=[[answer], [judge]],
        dedupe_prefix=f"complaint:{complaint.id}:inquiry",
    )
    await notify_roles(
        session,
        [roles.AFTER_SALES],
        "complaint.inquiry_for_after_sales",
        params,
        now=now,
        buttons=[[answer]],
        dedupe_prefix=f"complaint:{complaint.id}:inquiry",
    )
    return deadline.due_at


def _place_hold(
    session: AsyncSession, complaint: Complaint, scope: str, now: dt.datetime
) -> str | None:
    """暫停發貨 on what is known: the product (or only the lot, where the deployment says so and
    the lot is known). A product the master data does not know cannot be held: None."""
    if complaint.product_id is None:
        record_change(session, complaint, "hold_not_placed", now)
        return None
    if complaint.batch_id is None:
        scope = "product"
    session.add(
        BatchHold(
            product_id=complaint.product_id,
            batch_id=complaint.batch_id,
            scope=scope,
            complaint_id=complaint.id,
            placed_at=now,
        )
    )
    record_change(
        session,
        complaint,
        "hold_placed",
        now,
        after={"scope": scope, "product": complaint.product_label, "batch": complaint.lot_label},
    )
    return scope


def _intake_notes(complaint: Complaint) -> dict[str, Any]:
    """What quality must know before taking a complaint: the gaps in the master data, each a
    line of the notice or nothing."""
    gaps = {
        "locality_note": ("complaint.note.locality_unknown", complaint.locality == "unknown"),
        "shipment_note": ("complaint.note.shipment_not_on_file", not complaint.shipment_on_file),
        "product_note": ("complaint.note.product_unknown", complaint.product_id is None),
    }
    return {name: as_text(key) if gap else "" for name, (key, gap) in gaps.items()}
