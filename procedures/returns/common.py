"""What the return modules share: statuses, the three signatures, loading, telling the customer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel import roles
from procedures.kernel.deadlines import meet_deadline, open_deadline
from procedures.kernel.errors import NotAllowed, NotFound, WrongState
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
from procedures.kernel.quantities import as_money, as_quantity
from procedures.kernel.rules import DeadlineRule
from procedures.kernel.separation import Seat, require_other_person
from procedures.kernel.timeline import SUBJECT_TYPES, record_change
from procedures.returns.actions import BookIn
from procedures.returns.rules import (
    BOOKING_IN,
    FILING_STAFF,
    SIGNATURE_ORDER,
    SIGNERS,
    STAFF_VIEWERS,
    TERRITORY_STAFF,
    ReturnDeadline,
    ReturnStatus,
    Slot,
)
from storage.models import Deadline, Organisation, ReturnRequest, ReturnSignature, User

SUBJECT = SUBJECT_TYPES[ReturnRequest]


# Requests that take up some of the organisation's shipped quantity and exchange ratio: all
# but those refused, with the leader, or rejected.
NOT_COUNTED = (ReturnStatus.REFUSED, ReturnStatus.SPECIAL_CASE, ReturnStatus.REJECTED)


def missing_signatures(signed: set[str] | frozenset[str]) -> list[Slot]:
    """The signatures the warehouse still lacks, in the order the procedure gives them."""
    return [slot for slot in SIGNATURE_ORDER if slot not in signed]


def signed_slots(request: ReturnRequest) -> set[str]:
    return {signature.slot for signature in request.signatures}


def add_signature(
    session: AsyncSession, request: ReturnRequest, slot: Slot, actor: User, now: dt.datetime
) -> None:
    """Sign for `slot`, once: a second signature is refused, never replaces the first."""
    roles.require_role(actor.role_names, SIGNERS[f"{request.reason}:{slot}"])
    if slot in signed_slots(request):
        raise WrongState("return.already_signed", number=request.number)
    require_other_return_person(request, SEAT_OF_SLOT[slot], actor)
    signature = ReturnSignature(slot=slot, signed_by_id=actor.id, signed_at=now)
    request.signatures.append(signature)
    record_change(session, request, "signed", now, actor=actor, after={"slot": slot})


# One person, one seat (4.2.3, 4.2.7): the steps of a return that different departments take.
# After-sales' review and the head's countersignature are one department's seat; a request
# keyed in by staff is theirs too, while one the customer filed in the chat is the customer's.
SEAT_OF_SLOT = {
    Slot.REVIEW: "after_sales",
    Slot.AFTER_SALES: "after_sales",
    Slot.BUSINESS: "business",
    Slot.QUALITY: "quality",
}
RETURN_SEATS = frozenset(
    {
        "filed",
        "keyed_in",
        "finance_review",
        "after_sales",
        "business",
        "quality",
        "booked_in",
        "credited",
    }
)
# the steps each seat's holder may not also have taken on the same return
RETURN_SEATS_APART: dict[str, frozenset[str]] = {
    "after_sales": RETURN_SEATS - {"keyed_in"},
    # the warehouse is the business department's (經營部): its head signs, the warehouse books in
    "business": RETURN_SEATS - {"booked_in"},
    "quality": RETURN_SEATS,
    "finance_review": RETURN_SEATS,
    "booked_in": RETURN_SEATS - {"business"},
    # a refund's credit is finance's, like the review of an exchange's figures; it is the last
    # step, so no seat after it needs to look back at who recorded it
    "credited": RETURN_SEATS - {"finance_review"},
}


def return_seats(request: ReturnRequest) -> list[Seat]:
    """Who took which of the return's separate steps so far."""
    # staff filing for a customer or a consumer take after-sales' seat, not the buyer's
    filed = "filed" if request.channel == "chat" else "keyed_in"
    seats: list[Seat] = [
        (filed, request.filed_by_id),
        ("finance_review", request.finance_reviewed_by_id),
        ("booked_in", request.booked_in_by_id),
    ]
    seats += [(SEAT_OF_SLOT[Slot(s.slot)], s.signed_by_id) for s in request.signatures]
    return seats


def require_other_return_person(request: ReturnRequest, seat: str, actor: User) -> None:
    """Refuse `seat` to whoever already took another department's step on this return."""
    require_other_person(
        request.number, seat, actor.id, return_seats(request), RETURN_SEATS_APART[seat]
    )


async def tell_warehouse_when_signed(
    session: AsyncSession, request: ReturnRequest, now: dt.datetime
) -> None:
    """A signature given after QC's (the head's countersignature, the business head's on a
    special case) completes the three the warehouse books in against (4.2.7): the warehouse,
    told at the inspection what was still missing, is told it may book the goods in now."""
    if request.status != ReturnStatus.INSPECTED or missing_signatures(signed_slots(request)):
        return
    # the booking in's day has run since the inspection: the notice names its due time
    due = await session.scalar(
        select(Deadline.due_at).where(
            Deadline.subject_type == SUBJECT,
            Deadline.subject_id == request.id,
            Deadline.kind == ReturnDeadline.BOOKING_IN,
            Deadline.met_at.is_(None),
        )
    )
    await notify_roles(
        session,
        [roles.WAREHOUSE],
        "return.ready_to_book_in",
        {**subject_params(request), "due_at": as_deadline(due or BOOKING_IN.due(now))},
        now=now,
        buttons=[[button("return.button.book_in", BookIn(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:signed-for-warehouse",
    )


async def load_return(session: AsyncSession, return_id: int, *, lock: bool = True) -> ReturnRequest:
    query = select(ReturnRequest).where(ReturnRequest.id == return_id)
    if lock:
        query = query.with_for_update()
    request = await session.scalar(query)
    if request is None:
        raise NotFound("return.not_found")
    return request


def status_key(request: ReturnRequest) -> str:
    return f"return.status.{request.status}"


def totals(request: ReturnRequest) -> tuple[int, Decimal]:
    return (
        sum(line.quantity for line in request.lines),
        sum((line.amount for line in request.lines), Decimal("0.00")),
    )


def open_step(
    session: AsyncSession,
    request: ReturnRequest,
    rule: DeadlineRule,
    now: dt.datetime,
    *,
    due: dt.datetime | None = None,
    responsible_role: str | None = None,
) -> Deadline:
    """Open the request's deadline of `rule`: due after its window unless `due` says when. The
    notice that starts the step names its due time, so a reminder is never the first word of it."""
    return open_deadline(
        session,
        rule=rule,
        subject_type=SUBJECT,
        subject_id=request.id,
        subject_label=request.number,
        opened_at=now,
        due_at=due,
        responsible_role=responsible_role,
    )


async def step_done(
    session: AsyncSession,
    request: ReturnRequest,
    kind: ReturnDeadline,
    now: dt.datetime,
    by: User | None = None,
) -> None:
    """The request's open deadline of `kind`, if any, is met, by `by` (whose monthly record
    counts it)."""
    await meet_deadline(
        session, subject_type=SUBJECT, subject_id=request.id, kind=kind, now=now, by=by
    )
    settles = SETTLED_BY_STEP.get(kind)
    if settles is not None and by is not None:
        step, notices = settles
        await settle_return_notices(session, request, by, step, now, notices)


# the notices a step settles, by the deadline it meets: (what the step is called on them, the
# notices' keys); the others' copies say who took it and when, and lose their buttons
SETTLED_BY_STEP: dict[ReturnDeadline, tuple[str, tuple[str, ...]]] = {
    ReturnDeadline.RECEIPT: ("receive", ("receipt",)),
    ReturnDeadline.TRANSPORT_ORDER: ("order", ("at-station",)),
    ReturnDeadline.INSPECTION: ("inspect", ("inspect",)),
    ReturnDeadline.BOOKING_IN: ("book_in", ("delivered", "inspected", "signed-for-warehouse")),
    ReturnDeadline.TALLY: ("tally", ("to-tally",)),
    ReturnDeadline.RETURN_SLIP: ("slip", ("slip-to-send",)),
}


async def settle_return_notices(
    session: AsyncSession,
    request: ReturnRequest,
    actor: User,
    step: str,
    now: dt.datetime,
    notices: Sequence[str] = (),
) -> None:
    """The return's `notices` (all its notices, when none is named) were acted on by `actor`:
    their copies still carrying buttons say so and lose them."""
    prefix = f"return:{request.id}"
    await settle_notice(
        session,
        [f"{prefix}:{notice}" for notice in notices] or [prefix],
        "notice.done",
        {"by": actor.full_name, "at": as_time(now), "step": as_text(f"notice.step.{step}")},
        now=now,
    )


def quantity_shown(request: ReturnRequest) -> Any:
    """The return's total quantity, in its unit when every line is counted in the same one
    (a total of 盒 and 箱 has none)."""
    quantity, _ = totals(request)
    units = {line.product.unit or None for line in request.lines}
    return as_quantity(quantity, units.pop()) if len(units) == 1 else quantity


def subject_params(request: ReturnRequest) -> dict[str, Any]:
    _, amount = totals(request)
    quantity = quantity_shown(request)
    return {
        "number": request.number,
        "organisation": request.organisation.name,
        "reason": {"$text": f"return.reason.{request.reason}"},
        "lines": len(request.lines),
        "quantity": quantity,
        "amount": as_money(amount),
    }


async def tell_customer(
    session: AsyncSession,
    request: ReturnRequest,
    key: str,
    params: dict[str, Any],
    now: dt.datetime,
    *,
    attachment: dict[str, Any] | None = None,
    besides: int | None = None,
    buttons: Sequence[Sequence[dict[str, Any]]] | None = None,
) -> int:
    """A message to the organisation's contacts (but the user `besides`, told otherwise), kept
    on the return's timeline; how many got it."""
    customers = [
        customer
        for customer in await users_with_roles(
            session, [roles.CUSTOMER], organisation_ids=[request.organisation_id]
        )
        if customer.id != besides
    ]
    await notify_users(
        session,
        customers,
        key,
        {**subject_params(request), **params},
        now=now,
        attachment=attachment,
        buttons=buttons,
        dedupe_prefix=f"return:{request.id}:{key}",
    )
    record_change(
        session,
        request,
        "reply_to_customer",
        now,
        after={"text_key": key, "recipients": len(customers)},
    )
    await tell_territory(
        session, request, "return.territory_update", {"what": as_text(f"{key}_name")}, now, key
    )
    return len(customers)


# --- the customer's territory (片區) and its market-sales staff (3.4, 4.2.10) -------------------


def only_territory(viewer: User) -> bool:
    """Whether `viewer` sees returns only as market sales do: their own territory's."""
    return bool(viewer.role_names & TERRITORY_STAFF) and not viewer.role_names & (
        STAFF_VIEWERS | (FILING_STAFF - TERRITORY_STAFF)
    )


def require_territory(viewer: User, organisation: Organisation) -> None:
    """Refuse (naming the viewer's territory) a market-sales person the organisation of another
    territory; anyone else passes."""
    if only_territory(viewer) and (
        viewer.territory is None or organisation.territory != viewer.territory
    ):
        raise NotAllowed(
            "return.other_territory",
            organisation=organisation.name,
            territory=viewer.territory or "—",
        )


async def territory_staff(session: AsyncSession, territory: str | None) -> list[User]:
    """The active market-sales staff of `territory` (none without one)."""
    if not territory:
        return []
    staff = await users_with_roles(session, sorted(TERRITORY_STAFF))
    return [user for user in staff if user.territory == territory]


async def tell_territory(
    session: AsyncSession,
    request: ReturnRequest,
    key: str,
    params: dict[str, Any],
    now: dt.datetime,
    step: str | None = None,
) -> None:
    """The market-sales staff of the customer's territory hear of the return (4.2.10: they help
    after-sales with it): when it is filed and whenever the customer is told something."""
    territory = request.organisation.territory
    await notify_users(
        session,
        await territory_staff(session, territory),
        key,
        {**subject_params(request), "territory": territory, **params},
        now=now,
        dedupe_prefix=f"return:{request.id}:territory:{step or key}",
    )


async def territory_filed(
    session: AsyncSession, request: ReturnRequest, filer: User, now: dt.datetime
) -> None:
    """A return is filed: a market-sales filer must be of the customer's territory (nothing is
    stored otherwise), and the territory's market-sales staff are told."""
    organisation = await session.get(Organisation, request.organisation_id)
    if request.channel != "chat" and organisation is not None:
        require_territory(filer, organisation)
    await tell_territory(session, request, "return.territory_filed", {}, now)
