"""A complaint's transitions: taken, verified, disposition, adverse event, hold lifted, closed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints import rules
from procedures.complaints.actions import LiftHold
from procedures.complaints.closing import close_if_done
from procedures.complaints.common import (
    SUBJECT,
    load_complaint,
    open_complaint_deadline,
    subject_params,
)
from procedures.complaints.nonconforming import (
    other_buyers,
    query_supplier,
    start_nonconforming_steps,
    supplier_of,
    suspend_sales_elsewhere,
)
from procedures.complaints.policy import ComplaintPolicy
from procedures.complaints.queries import is_on_hold, other_holds_on
from procedures.complaints.rules import (
    HOLD_LIFTERS,
    LIFECYCLE,
    VERIFIERS,
    ComplaintDeadline,
    ComplaintStatus,
)
from procedures.kernel import roles
from procedures.kernel.calendar import local_day
from procedures.kernel.deadlines import meet_deadline, waive_deadline
from procedures.kernel.errors import InvalidInput, WrongState
from procedures.kernel.outbox import (
    as_deadline,
    as_text,
    as_time,
    button,
    notify_roles,
    notify_users,
    settle_notice,
    users_with_roles,
)
from procedures.kernel.photos import add_photos
from procedures.kernel.separation import Seat, require_other_person
from procedures.kernel.text_input import MAX_TEXT, check_text, optional_text
from procedures.kernel.timeline import record_change, times_recorded
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.returns import start_quality_return
from storage.models import BatchHold, Complaint, Deadline, User


async def tell_complainant(
    session: AsyncSession, complaint: Complaint, key: str, params: dict[str, Any], now: dt.datetime
) -> None:
    """A reply to the complainant: sent to the buyer's contacts and kept on the record. A
    reopened complaint's replies are new ones (a second opinion is sent too)."""
    customers = await users_with_roles(
        session, [roles.CUSTOMER], organisation_ids=[complaint.organisation_id]
    )
    reopened = await times_recorded(session, complaint, "reopened")
    round_ = f":r{reopened}" if reopened else ""
    await notify_users(
        session,
        customers,
        key,
        params,
        now=now,
        dedupe_prefix=f"complaint:{complaint.id}{round_}:{key}",
    )
    record_change(
        session,
        complaint,
        "reply_to_complainant",
        now,
        after={"text_key": key, "recipients": len(customers)},
    )


def refuse_inquiry(complaint: Complaint) -> None:
    """An inquiry is taken, verified and given an opinion only once quality has judged it a
    quality complaint (a forged or stale button otherwise)."""
    if complaint.status in (ComplaintStatus.INQUIRY, ComplaintStatus.ANSWERED):
        raise WrongState("complaint.still_inquiry", number=complaint.number)


async def take_complaint(uow: UnitOfWork, actor: User, complaint_id: int) -> Complaint:
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, VERIFIERS)
    complaint = await load_complaint(session, complaint_id)
    refuse_inquiry(complaint)
    if complaint.taken_by_id is not None:
        taker = await session.get(User, complaint.taken_by_id)
        raise WrongState(
            "complaint.already_taken",
            number=complaint.number,
            name=taker.full_name if taker else "",
        )
    LIFECYCLE.move(complaint, ComplaintStatus.INVESTIGATING)
    complaint.taken_by_id, complaint.taken_at = actor.id, now
    record_change(
        session,
        complaint,
        "taken",
        now,
        actor=actor,
        before={"status": ComplaintStatus.OPEN},
        after={"status": ComplaintStatus.INVESTIGATING},
    )
    # quality's other members read on their copy of the new complaint who took it, and when
    took = {"by": actor.full_name, "at": as_time(now), "step": as_text("notice.step.take")}
    await settle_notice(session, [f"complaint:{complaint.id}:new"], "notice.done", took, now=now)
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
    # whether a supplier contact received the quality query (else quality sends it another way)
    supplier_reached: bool = True


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
    """Record the (on-site) verification and carry out what its result requires. Without a
    visit, the notes are the reason it was waived: a decision recorded with who took it, which
    closes the on-site deadline as waived, not met."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, VERIFIERS)
    if result not in (ComplaintStatus.CONFORMING, ComplaintStatus.NONCONFORMING):
        raise InvalidInput("complaint.bad_result")
    complaint = await complaint_for_verification(session, actor, complaint_id, lock=True)
    notes = check_notes(notes)

    complaint.on_site = on_site
    complaint.verification_notes = notes
    complaint.verification_result = result
    complaint.verified_by_id, complaint.verified_at = actor.id, now
    LIFECYCLE.move(complaint, ComplaintStatus(result))
    add_photos(session, SUBJECT, complaint.id, "verification", photo_file_ids or [], actor, now)
    record_change(
        session,
        complaint,
        "verified",
        now,
        actor=actor,
        before={"status": ComplaintStatus.INVESTIGATING},
        after={
            "status": result,
            "result": result,
            "on_site": on_site,
            "notes": notes,
            "photos": len(photo_file_ids or []),
        },
    )
    if on_site:
        await meet_deadline(
            session,
            subject_type=SUBJECT,
            subject_id=complaint.id,
            kind=ComplaintDeadline.ON_SITE_VERIFICATION,
            now=now,
            by=actor,
        )
    else:
        record_change(session, complaint, "visit_waived", now, actor=actor, after={"reason": notes})
        await waive_deadline(
            session,
            subject_type=SUBJECT,
            subject_id=complaint.id,
            kind=ComplaintDeadline.ON_SITE_VERIFICATION,
            now=now,
            by=actor,
        )
    if result == ComplaintStatus.CONFORMING:
        outcome = await _after_conforming(session, complaint, now)
    else:
        outcome = await _after_nonconforming(
            session, complaint, now, timezone, uow.policy(ComplaintPolicy).supplier_answer_within
        )
    await close_if_done(session, complaint, now)
    await uow.commit()
    return outcome


async def _after_conforming(
    session: AsyncSession, complaint: Complaint, now: dt.datetime
) -> VerificationOutcome:
    params = subject_params(complaint)
    await tell_complainant(session, complaint, "complaint.resume_sales", params, now)
    hold = await session.scalar(select(BatchHold).where(BatchHold.complaint_id == complaint.id))
    if hold is None:  # a product the master data does not know was never held
        return VerificationOutcome(complaint)
    due = rules.HOLD_LIFT.due(now)
    open_complaint_deadline(session, complaint, rules.HOLD_LIFT, now, due)
    # both are told to lift the suspension (解除該產品的暫停發貨); only the warehouse confirms it,
    # so only its copy carries the button
    for role, buttons in (
        (roles.WAREHOUSE, [[button("complaint.button.hold_lifted", LiftHold(complaint.id))]]),
        (roles.BUSINESS_HEAD, None),
    ):
        await notify_roles(
            session,
            [role],
            "complaint.lift_hold",
            {**params, "due_at": as_deadline(due)},
            now=now,
            buttons=buttons,
            dedupe_prefix=f"complaint:{complaint.id}:lift:{role}",
        )
    return VerificationOutcome(complaint)


async def _after_nonconforming(
    session: AsyncSession,
    complaint: Complaint,
    now: dt.datetime,
    timezone: ZoneInfo,
    supplier_answer_within: dt.timedelta,
) -> VerificationOutcome:
    params = subject_params(complaint)
    batch = complaint.batch
    hold = await session.scalar(select(BatchHold).where(BatchHold.complaint_id == complaint.id))
    if hold is not None:
        hold.nonconforming = True
    if batch is not None:
        batch.nonconforming_since = batch.nonconforming_since or now
        record_change(
            session, complaint, "batch_marked_nonconforming", now, after={"batch": batch.lot_number}
        )

    await notify_roles(
        session,
        [roles.QUALITY_HEAD],
        "complaint.nonconforming_head",
        params,
        now=now,
        dedupe_prefix=f"complaint:{complaint.id}:nc-head",
    )
    await start_nonconforming_steps(session, complaint, hold, now)
    reached, unreachable = await suspend_sales_elsewhere(session, complaint, now)
    return_number = await _return_or_refusal(session, complaint, now, timezone)
    supplier_contacts = await query_supplier(session, complaint, now, supplier_answer_within)
    return VerificationOutcome(
        complaint, return_number, reached, unreachable, supplier_reached=supplier_contacts > 0
    )


async def _return_or_refusal(
    session: AsyncSession, complaint: Complaint, now: dt.datetime, timezone: ZoneInfo
) -> str | None:
    """A return for the buyer unless the lot is past its expiry (該批號產品未超過有效期的); a
    product the master data does not know cannot be booked, so staff arrange that one."""
    params = subject_params(complaint)
    batch = complaint.batch
    outlook = return_outlook(complaint, now, timezone)
    if outlook == "unknown_product":
        record_change(session, complaint, "return_not_started", now)
        return None
    if outlook == "expired" and batch is not None and batch.expiry_date is not None:
        record_change(
            session,
            complaint,
            "return_refused_expired",
            now,
            after={"expiry_date": batch.expiry_date.isoformat()},
        )
        await tell_complainant(
            session,
            complaint,
            "complaint.return_refused_expired",
            {**params, "expiry_date": batch.expiry_date.isoformat()},
            now,
        )
        return None
    on_hold = await is_on_hold(session, complaint.product_id, complaint.batch_id)
    request = await start_quality_return(session, complaint, now, goods_on_hold=on_hold)
    record_change(
        session,
        complaint,
        "return_started",
        now,
        after={"return_number": request.number, "amount": str(request.lines[0].amount)},
    )
    await tell_complainant(
        session,
        complaint,
        "complaint.return_started",
        {**params, "return_number": request.number},
        now,
    )
    return request.number


RETURN_OUTLOOKS = ("return", "expired", "unknown_product")


def return_outlook(complaint: Complaint, now: dt.datetime, timezone: ZoneInfo) -> str:
    """What a nonconforming finding means for the buyer's goods: a return ("return"), none
    because the lot is past its expiry ("expired"), or none the bot can book because the product
    is not in the master data ("unknown_product")."""
    if complaint.product_id is None:
        return "unknown_product"
    batch = complaint.batch
    expiry = batch.expiry_date if batch is not None else None
    if expiry is not None and expiry < local_day(now, timezone):
        return "expired"
    return "return"


@dataclass(frozen=True)
class NonconformingPreview:
    """What confirming a nonconforming verification will set in motion, asked before it is."""

    number: str
    other_buyers: int  # told to suspend sales, those without a chat contact included
    without_contact: tuple[str, ...]  # their codes: after-sales gets a task for each
    return_outlook: str  # see return_outlook
    supplier: str | None  # the supplier's code, None for a product the master data lacks
    supplier_reachable: bool


async def preview_nonconforming(
    session: AsyncSession, actor: User, complaint_id: int, now: dt.datetime, timezone: ZoneInfo
) -> NonconformingPreview:
    """The consequences of verifying the complaint nonconforming, counted now; nothing changes."""
    complaint = await complaint_for_verification(session, actor, complaint_id)
    buyers = await other_buyers(session, complaint)
    supplier, contacts = await supplier_of(session, complaint)
    return NonconformingPreview(
        number=complaint.number,
        other_buyers=len(buyers),
        without_contact=tuple(o.code for o, reached in buyers if not reached),
        return_outlook=return_outlook(complaint, now, timezone),
        supplier=supplier.code if supplier is not None else None,
        supplier_reachable=bool(contacts),
    )


def check_notes(text: str) -> str:
    """The verification notes, cleaned; nothing visible is no notes."""
    return check_text(text, empty="complaint.empty_notes", limit=MAX_TEXT)


def check_opinion(text: str) -> str:
    return check_text(
        text, empty="complaint.empty_opinion", limit=MAX_TEXT, too_long="complaint.opinion_too_long"
    )


def check_corrective_action(text: str | None) -> str | None:
    """The corrective action, if one was decided: blank means none."""
    return optional_text(text, limit=MAX_TEXT)


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
    complaint.corrective_action = check_corrective_action(corrective_action)
    complaint.disposition, complaint.disposition_by_id, complaint.disposition_at = (
        opinion,
        actor.id,
        now,
    )
    record_change(
        session,
        complaint,
        "disposition_recorded",
        now,
        actor=actor,
        after={"opinion": opinion, "corrective_action": complaint.corrective_action},
    )
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        kind=ComplaintDeadline.DISPOSITION_OPINION,
        now=now,
        by=actor,
    )
    await tell_complainant(
        session,
        complaint,
        "complaint.opinion_to_buyer",
        {**subject_params(complaint), "opinion": opinion},
        now,
    )
    await close_if_done(session, complaint, now)
    await uow.commit()
    return complaint


async def flag_adverse_event(uow: UnitOfWork, actor: User, complaint_id: int) -> Complaint:
    """Flag a possible medical-device adverse event (醫療器械不良事件): the quality head is told
    at once and a reporting deadline runs."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, VERIFIERS)
    complaint = await load_complaint(session, complaint_id)
    if complaint.adverse_event_at is not None:
        raise WrongState("complaint.already_flagged", number=complaint.number)
    complaint.adverse_event_at, complaint.adverse_event_by_id = now, actor.id
    due = now + uow.policy(ComplaintPolicy).adverse_event_report_within
    open_complaint_deadline(session, complaint, rules.ADVERSE_EVENT_REPORT, now, due)
    record_change(
        session,
        complaint,
        "adverse_event_flagged",
        now,
        actor=actor,
        after={"report_due": due.isoformat()},
    )
    await notify_roles(
        session,
        [roles.QUALITY_HEAD],
        "complaint.adverse_event",
        {**subject_params(complaint), "due_at": as_deadline(due)},
        now=now,
        dedupe_prefix=f"complaint:{complaint.id}:adverse",
    )
    await uow.commit()
    return complaint


async def _liftable_hold(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool
) -> tuple[Complaint, BatchHold]:
    roles.require_role(actor.role_names, HOLD_LIFTERS)
    complaint = await load_complaint(session, complaint_id, lock=lock)
    query = select(BatchHold).where(BatchHold.complaint_id == complaint.id)
    hold = await session.scalar(query.with_for_update() if lock else query)
    if complaint.verification_result != ComplaintStatus.CONFORMING or hold is None:
        raise WrongState("complaint.hold_not_liftable", number=complaint.number)
    if hold.lifted_at is not None:
        raise WrongState("complaint.hold_already_lifted", number=complaint.number)
    require_other_person(
        complaint.number, "hold_lifted", actor.id, complaint_seats(complaint, hold), COMPLAINT_SEATS
    )
    return complaint, hold


@dataclass(frozen=True)
class HoldLiftPreview:
    """What lifting a complaint's hold releases, asked before it is lifted."""

    complaint: Complaint
    scope: str  # product (every lot) or lot
    still_held_by: tuple[str, ...]  # other complaints whose holds keep the goods held
    due_at: dt.datetime | None  # when the lift is due (24 h after the confirmation)


async def preview_lift_hold(
    session: AsyncSession, actor: User, complaint_id: int
) -> HoldLiftPreview:
    """What the lift would release, counted now; nothing changes."""
    complaint, hold = await _liftable_hold(session, actor, complaint_id, lock=False)
    others = await other_holds_on(session, hold, complaint.batch_id)
    due = await session.scalar(
        select(Deadline.due_at).where(
            Deadline.subject_type == SUBJECT,
            Deadline.subject_id == complaint.id,
            Deadline.kind == "hold_lift",
        )
    )
    return HoldLiftPreview(complaint, hold.scope, tuple(others), due)


async def lift_hold(uow: UnitOfWork, actor: User, complaint_id: int) -> Complaint:
    """The warehouse confirms the shipment hold of a conforming batch is lifted; business and
    quality hear of it once the lot is free to ship."""
    session, now = uow.session, uow.clock.now()
    complaint, hold = await _liftable_hold(session, actor, complaint_id, lock=True)
    hold.lifted_at, hold.lifted_by_id = now, actor.id
    # Another open complaint (or a nonconforming finding) may still hold the same goods: then
    # this lift is recorded, but nobody is told they may ship again.
    still_held = await is_on_hold(session, hold.product_id, complaint.batch_id)
    record_change(
        session,
        complaint,
        "hold_lifted",
        now,
        actor=actor,
        after={"batch": complaint.lot_label, "batch_still_held": still_held},
    )
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        kind=ComplaintDeadline.HOLD_LIFT,
        now=now,
        by=actor,
    )
    if not still_held:
        await notify_roles(
            session,
            [roles.BUSINESS_HEAD, roles.QUALITY],
            "complaint.hold_lifted",
            subject_params(complaint),
            now=now,
            dedupe_prefix=f"complaint:{complaint.id}:lifted",
        )
    await close_if_done(session, complaint, now)
    await uow.commit()
    return complaint


async def require_handler(session: AsyncSession, actor: User, complaint: Complaint) -> None:
    """The one who took the complaint (or was given it by reassignment) records its steps;
    the quality head may step in. Another QC member's old buttons do not work."""
    if complaint.taken_by_id in (None, actor.id) or roles.QUALITY_HEAD in actor.role_names:
        return
    handler = await session.get(User, complaint.taken_by_id)
    raise WrongState(
        "complaint.taken_by_other",
        number=complaint.number,
        name=handler.full_name if handler else "",
    )


async def complaint_for_verification(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> Complaint:
    """The complaint, if `actor` may record its verification now: asked before the dialogue
    starts, and again (locking the row) when the verification is recorded."""
    roles.require_role(actor.role_names, VERIFIERS)
    complaint = await load_complaint(session, complaint_id, lock=lock)
    refuse_inquiry(complaint)
    if complaint.status == ComplaintStatus.OPEN:
        raise WrongState("complaint.not_taken", number=complaint.number)
    await require_handler(session, actor, complaint)
    if complaint.verification_result is not None:
        raise WrongState("complaint.already_verified", number=complaint.number)
    require_other_person(
        complaint.number, "verified", actor.id, complaint_seats(complaint, None), COMPLAINT_SEATS
    )
    return complaint


# One person, one seat: the buyer who filed in the chat, quality who verifies, and the
# warehouse who lifts the hold on a conforming verdict are three different people.
COMPLAINT_SEATS = frozenset({"complaint_filed", "verified", "hold_lifted"})


def complaint_seats(complaint: Complaint, hold: BatchHold | None) -> list[Seat]:
    """Who took which of the complaint's separate steps so far (staff keying a complaint in
    for a buyer take no seat: quality files and verifies a phoned-in complaint)."""
    seats: list[Seat] = [("verified", complaint.verified_by_id)]
    if complaint.channel == "chat":
        seats.append(("complaint_filed", complaint.filed_by_id))
    if hold is not None:
        seats.append(("hold_lifted", hold.lifted_by_id))
    return seats


async def complaint_for_opinion(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> Complaint:
    """The complaint, if `actor` may give its disposition opinion now (before the dialogue,
    and again, locking the row, when the opinion is recorded)."""
    roles.require_role(actor.role_names, VERIFIERS)
    complaint = await load_complaint(session, complaint_id, lock=lock)
    refuse_inquiry(complaint)
    if complaint.status == ComplaintStatus.OPEN:
        raise WrongState("complaint.not_taken", number=complaint.number)
    await require_handler(session, actor, complaint)
    if complaint.disposition is not None:
        raise WrongState("complaint.already_has_opinion", number=complaint.number)
    return complaint
