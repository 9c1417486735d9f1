"""The goods' way back and what becomes of them: the freight station's arrival notice and the
transport order (退貨運輸單), pick-up and delivery, QC's inspection, the booking in against
three signatures with its booking-in slip (退貨入庫單), the exchange or refund. The tally and
the return slip (退貨單) that follow are in `slips`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel import roles
from procedures.kernel.calendar import local_day
from procedures.kernel.errors import InvalidInput, WrongState
from procedures.kernel.outbox import as_deadline, as_text, as_time, button, notify_roles
from procedures.kernel.quantities import as_money, check_amount, check_quantity
from procedures.kernel.text_input import MAX_TEXT, check_text, column_length
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.masterdata.outbound import check_outbound, lots_that_may_leave
from procedures.returns import rules
from procedures.returns.actions import (
    BeginCredit,
    BeginReturnInspection,
    BookIn,
    ChooseSettlement,
    ConfirmPickUp,
    IssueTransportOrder,
    TallyReturn,
)
from procedures.returns.common import (
    add_signature,
    load_return,
    missing_signatures,
    open_step,
    require_other_return_person,
    settle_return_notices,
    signed_slots,
    step_done,
    subject_params,
    tell_customer,
)
from procedures.returns.corrective import Responsibility, open_actions
from procedures.returns.policy import ReturnPolicy
from procedures.returns.rules import (
    LIFECYCLE,
    QC_STAFF,
    STATION_NOTICE_TAKERS,
    ReturnDeadline,
    ReturnReason,
    ReturnStatus,
    Slot,
)
from storage.models import Batch, Deadline, ReturnRequest, User

# QC's findings, by the reason of the return (4.2.6): the first of each pair signs, the
# second refuses the return with a written explanation that goes back to the customer.
RESULTS: dict[
    ReturnReason, tuple[Literal["undamaged", "damaged", "company_fault", "customer_damage"], ...]
] = {
    ReturnReason.UNSALABLE: ("undamaged", "damaged"),
    ReturnReason.QUALITY: ("company_fault", "customer_damage"),
}
REFUSING_RESULTS = frozenset({"damaged", "customer_damage"})
SETTLEMENTS: dict[ReturnReason, tuple[Literal["exchange", "refund"], ...]] = {
    ReturnReason.UNSALABLE: ("exchange",),  # 按原品種予以調換
    ReturnReason.QUALITY: ("exchange", "refund"),
}
STATION_LENGTH = column_length(ReturnRequest.transport_station)


# --- the way back -------------------------------------------------------------------------------


async def record_station_notice(uow: UnitOfWork, actor: User, return_id: int) -> ReturnRequest:
    """貨已到站: the freight station reported the customer's goods (4.2.5). The after-sales head
    is to issue the transport order in time (及時): a day's deadline opens, and a head told by
    after-sales staff gets the button."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, STATION_NOTICE_TAKERS)
    request = await load_return(session, return_id)
    LIFECYCLE.require(request, ReturnStatus.APPROVED)
    if request.station_notice_at is not None:
        raise WrongState("return.notice_already_recorded", number=request.number)
    order = _station_notice(session, request, actor, now)
    if roles.AFTER_SALES_HEAD not in actor.role_names:
        await notify_roles(
            session,
            [roles.AFTER_SALES_HEAD],
            "return.goods_at_station",
            {
                **subject_params(request),
                "noted_by": actor.full_name,
                "due_at": as_deadline(order.due_at),
            },
            now=now,
            buttons=[[button("return.button.order", IssueTransportOrder(return_id=request.id))]],
            dedupe_prefix=f"return:{request.id}:at-station",
        )
    await uow.commit()
    return request


def _station_notice(
    session: AsyncSession, request: ReturnRequest, actor: User, now: dt.datetime
) -> Deadline:
    request.station_notice_at, request.station_notice_by_id = now, actor.id
    record_change(session, request, "station_notice", now, actor=actor)
    return open_step(session, request, rules.TRANSPORT_ORDER, now)


async def return_for_transport_order(
    session: AsyncSession, actor: User, return_id: int, *, lock: bool = False
) -> ReturnRequest:
    """The return, if `actor` may issue its transport order now (asked before the station is
    typed and again at commit)."""
    roles.require_role(actor.role_names, frozenset({roles.AFTER_SALES_HEAD}))
    request = await load_return(session, return_id, lock=lock)
    LIFECYCLE.require(request, ReturnStatus.APPROVED)
    return request


def order_lines(request: ReturnRequest) -> list[dict[str, Any]]:
    """The transport order's goods: each line's product, lot and quantity in its unit."""
    return [
        as_text(
            "return.order_line",
            product=line.product.name,
            lot=line.batch.lot_number if line.batch else "—",
            quantity=line.quantity,
            unit=line.product.unit or "",
        )
        for line in request.lines
    ]


def transport_order_params(request: ReturnRequest, issued_by: str) -> dict[str, Any]:
    """What the transport order (退貨運輸單) says: the station, the customer, the goods, who
    issued it and when, and by when the driver collects them (the pick-up's day)."""
    assert request.order_issued_at is not None, "only an issued order is shown"
    return {
        **subject_params(request),
        "due_at": as_deadline(rules.PICK_UP.due(request.order_issued_at)),
        "station": request.transport_station or "—",
        "goods": order_lines(request),
        "issued_by": issued_by,
        "issued_at": as_time(request.order_issued_at),
    }


async def issue_transport_order(
    uow: UnitOfWork, actor: User, return_id: int, station: str
) -> ReturnRequest:
    """The after-sales head issues the transport order for the goods at `station` (4.2.5); the
    drivers get it, as a message and a printable document. A head who took the station's call
    himself records its notice with the order."""
    session, now = uow.session, uow.clock.now()
    request = await return_for_transport_order(session, actor, return_id, lock=True)
    station = check_text(station, empty="return.empty_station", limit=STATION_LENGTH)
    if request.station_notice_at is None:
        _station_notice(session, request, actor, now)
    LIFECYCLE.move(request, ReturnStatus.ORDER_ISSUED)
    await step_done(session, request, ReturnDeadline.TRANSPORT_ORDER, now, actor)
    open_step(session, request, rules.PICK_UP, now)
    request.order_issued_at, request.order_issued_by_id = now, actor.id
    request.transport_station = station
    record_change(
        session, request, "transport_order_issued", now, actor=actor, after={"station": station}
    )
    # the order in the chat, with its button, and as a document to print (a message with a
    # document is a caption, which a pressed button could not turn into its confirmation)
    await notify_roles(
        session,
        [roles.DRIVER],
        "return.transport_order",
        transport_order_params(request, actor.full_name),
        now=now,
        buttons=[[button("return.button.picked_up", ConfirmPickUp(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:order",
    )
    await notify_roles(
        session,
        [roles.DRIVER],
        "return.transport_order_document",
        {"number": request.number},
        now=now,
        attachment={"kind": "transport_order", "params": {"id": request.id}},
        dedupe_prefix=f"return:{request.id}:order-document",
    )
    await uow.commit()
    return request


async def confirm_pick_up(uow: UnitOfWork, actor: User, return_id: int) -> ReturnRequest:
    """The driver collected the goods at the station: only against a transport order."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, frozenset({roles.DRIVER}))
    request = await load_return(session, return_id)
    if request.order_issued_at is None:
        raise WrongState("return.no_transport_order", number=request.number)
    LIFECYCLE.require(request, ReturnStatus.ORDER_ISSUED)
    LIFECYCLE.move(request, ReturnStatus.PICKED_UP)
    await step_done(session, request, ReturnDeadline.PICK_UP, now, actor)
    request.picked_up_at, request.picked_up_by_id = now, actor.id
    record_change(session, request, "picked_up", now, actor=actor)
    await uow.commit()
    return request


async def confirm_delivery(uow: UnitOfWork, actor: User, return_id: int) -> ReturnRequest:
    """The driver delivered the goods to the warehouse: only after picking them up. QC is
    asked to inspect; the warehouse hears the goods are in."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, frozenset({roles.DRIVER}))
    request = await load_return(session, return_id)
    if request.picked_up_at is None:
        raise WrongState("return.not_picked_up", number=request.number)
    LIFECYCLE.require(request, ReturnStatus.PICKED_UP)
    LIFECYCLE.move(request, ReturnStatus.DELIVERED)
    request.delivered_at, request.delivered_by_id = now, actor.id
    record_change(session, request, "delivered", now, actor=actor)
    inspect_by = now + uow.policy(ReturnPolicy).inspection_within
    open_step(session, request, rules.INSPECTION, now, due=inspect_by)
    params = subject_params(request)
    await notify_roles(
        session,
        [roles.QUALITY],
        "return.inspect",
        {**params, "due_at": as_deadline(inspect_by)},
        now=now,
        buttons=[[button("return.button.inspect", BeginReturnInspection(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:inspect",
    )
    await notify_roles(
        session,
        [roles.WAREHOUSE],
        "return.delivered_to_warehouse",
        params,
        now=now,
        buttons=[[button("return.button.book_in", BookIn(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:delivered",
    )
    await uow.commit()
    return request


# --- QC's inspection ------------------------------------------------------------------------


async def _inspection_done(
    session: AsyncSession, request: ReturnRequest, now: dt.datetime, actor: User | None
) -> None:
    """The goods leave the delivered state (inspected, refused or booked in): QC's inspection
    deadline is met."""
    await step_done(session, request, ReturnDeadline.INSPECTION, now, actor)


async def return_for_inspection(
    session: AsyncSession, actor: User, return_id: int, *, lock: bool = False
) -> ReturnRequest:
    """The return, if `actor` may inspect it now (asked before the dialogue and at commit)."""
    roles.require_role(actor.role_names, QC_STAFF)
    request = await load_return(session, return_id, lock=lock)
    LIFECYCLE.require(request, ReturnStatus.DELIVERED)
    return request


@dataclass(frozen=True)
class Inspection:
    result: str
    notes: str = ""
    # a company fault's responsible department and person, and the measures (4.2.6)
    responsibility: Responsibility | None = None


def check_inspection_notes(text: str) -> str:
    """The cause of a company fault, or the explanation of a refusal: checked at its own step
    of the dialogue, and again when the inspection is recorded."""
    return check_text(text, empty="return.empty_notes", limit=MAX_TEXT)


def check_inspection(reason: str, inspection: Inspection) -> Inspection:
    """The finding fits the return's reason; a refusal has its written explanation and a
    company fault its cause and who answers for correcting and preventing it."""
    if inspection.result not in RESULTS[ReturnReason(reason)]:
        raise InvalidInput("return.bad_result")
    notes = inspection.notes
    if inspection.result != "undamaged":
        notes = check_inspection_notes(notes)
    if inspection.result != "company_fault":
        return Inspection(inspection.result, notes.strip())
    if inspection.responsibility is None:
        raise InvalidInput("return.bad_department")
    return Inspection(inspection.result, notes, inspection.responsibility)


async def record_inspection(
    uow: UnitOfWork,
    actor: User,
    return_id: int,
    inspection: Inspection,
) -> ReturnRequest:
    """QC's inspection (4.2.6). Undamaged goods, or a company fault, are signed; a company
    fault opens its corrective and preventive actions, owned by the responsible department's
    person (procedures.returns.corrective). Damaged goods, or customer damage, are refused:
    not signed, and the written explanation goes to the customer."""
    session, now = uow.session, uow.clock.now()
    request = await return_for_inspection(session, actor, return_id, lock=True)
    inspection = check_inspection(request.reason, inspection)
    request.inspection_result, request.inspection_notes = inspection.result, inspection.notes
    request.inspected_at, request.inspected_by_id = now, actor.id
    await _inspection_done(session, request, now, actor)
    record_change(
        session,
        request,
        "inspected",
        now,
        actor=actor,
        after={"result": inspection.result, "notes": inspection.notes},
    )
    params = subject_params(request)
    if inspection.result in REFUSING_RESULTS:
        LIFECYCLE.move(request, ReturnStatus.REJECTED)
        request.refused_at = now
        request.refusal = inspection.result
        await tell_customer(
            session, request, "return.refused_after_inspection", {"notes": inspection.notes}, now
        )
        await notify_roles(
            session,
            [roles.AFTER_SALES, roles.AFTER_SALES_HEAD],
            "return.refused_after_inspection_staff",
            {**params, "notes": inspection.notes},
            now=now,
            dedupe_prefix=f"return:{request.id}:qc-refused",
        )
        await uow.commit()
        return request
    add_signature(session, request, Slot.QUALITY, actor, now)
    LIFECYCLE.move(request, ReturnStatus.INSPECTED)
    params["due_at"] = as_deadline(open_step(session, request, rules.BOOKING_IN, now).due_at)
    if inspection.responsibility is not None:
        within = uow.policy(ReturnPolicy).corrective_action_within
        await open_actions(
            session, request, actor, inspection.responsibility, inspection.notes, now, within
        )
    missing = missing_signatures(signed_slots(request))
    await notify_roles(
        session,
        [roles.WAREHOUSE],
        "return.ready_to_book_in" if not missing else "return.inspected_missing",
        {**params, "missing": [{"$text": f"return.slot.{slot}"} for slot in missing]},
        now=now,
        buttons=[[button("return.button.book_in", BookIn(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:inspected",
    )
    await uow.commit()
    return request


# --- booking in, exchange or refund, the slip ------------------------------------------------


async def return_for_booking_in(
    session: AsyncSession, actor: User, return_id: int, *, lock: bool = False
) -> ReturnRequest:
    """The return `actor` may book in now: delivered or inspected, with all three signatures
    (one missing is named), by a warehouse head who took no other department's step on it.
    Asked before the booking in is confirmed, and again under the row lock when it is."""
    roles.require_role(actor.role_names, frozenset({roles.WAREHOUSE}))
    request = await load_return(session, return_id, lock=lock)
    LIFECYCLE.require(request, ReturnStatus.DELIVERED, ReturnStatus.INSPECTED)
    missing = missing_signatures(signed_slots(request))
    if missing:
        raise WrongState(
            "return.signatures_missing",
            number=request.number,
            missing=[{"$text": f"return.slot.{slot}"} for slot in missing],
        )
    require_other_return_person(request, "booked_in", actor)
    return request


async def book_in(
    uow: UnitOfWork, actor: User, return_id: int, *, timezone: ZoneInfo
) -> ReturnRequest:
    """The warehouse head (倉庫主管) books the goods in, only against all three signatures
    (4.2.7): one missing is named and nothing changes. Booking in issues the booking-in slip
    (退貨入庫單), rendered from the record whenever asked; it goes to the warehouse and to the
    marketing statisticians, who tally it in time (4.2.8)."""
    session, now = uow.session, uow.clock.now()
    request = await return_for_booking_in(session, actor, return_id, lock=True)
    await _inspection_done(session, request, now, None)  # QC's step, not the warehouse's
    await step_done(session, request, ReturnDeadline.BOOKING_IN, now, actor)
    LIFECYCLE.move(request, ReturnStatus.BOOKED_IN)
    request.booked_in_at, request.booked_in_by_id = now, actor.id
    record_change(
        session,
        request,
        "booked_in",
        now,
        actor=actor,
        after={"held": bool(request.goods_on_hold)},
    )
    tally = open_step(session, request, rules.TALLY, now)
    record_change(session, request, "booking_in_slip_issued", now, actor=actor)
    booking_in_slip = {"kind": "return_booking_in", "params": {"id": request.id}}
    params = {**subject_params(request), "booked_by": actor.full_name}
    await notify_roles(
        session,
        [roles.WAREHOUSE, roles.MARKETING_STATISTICIAN],
        "return.booking_in_slip",
        params,
        now=now,
        attachment=booking_in_slip,
        dedupe_prefix=f"return:{request.id}:booking-in-slip",
    )
    await notify_roles(
        session,
        [roles.MARKETING_STATISTICIAN],
        "return.to_tally",
        {**params, "due_at": as_deadline(tally.due_at)},
        now=now,
        buttons=[[button("return.button.tally", TallyReturn(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:to-tally",
    )
    await uow.commit()
    return request


def settlement_buttons(request: ReturnRequest) -> list[list[dict[str, Any]]]:
    """What the warehouse may do once the goods are in: exchange (or, for quality, refund)."""
    rows = []
    if request.settlement is None:
        rows.append(
            [
                button(
                    f"return.button.{kind}", ChooseSettlement(return_id=request.id, settlement=kind)
                )
                for kind in SETTLEMENTS[ReturnReason(request.reason)]
            ]
        )
    return rows


async def return_for_settlement(
    session: AsyncSession, actor: User, return_id: int, settlement: str, *, lock: bool = False
) -> ReturnRequest:
    roles.require_role(actor.role_names, frozenset({roles.WAREHOUSE}))
    request = await load_return(session, return_id, lock=lock)
    LIFECYCLE.require(request, ReturnStatus.BOOKED_IN)
    if request.settlement is not None:
        raise WrongState("return.already_settled", number=request.number)
    if settlement not in SETTLEMENTS[ReturnReason(request.reason)]:
        raise InvalidInput("return.bad_settlement")
    return request


async def replacement_batches(
    session: AsyncSession, product_id: int, *, timezone: ZoneInfo, now: dt.datetime
) -> list[Batch]:
    """Lots of the same product (like for like) that may leave today: not held, not expired,
    not nonconforming."""
    return await lots_that_may_leave(session, product_id, today=local_day(now, timezone))


async def check_replacement(
    session: AsyncSession,
    request: ReturnRequest,
    line_index: int,
    batch_id: int,
    quantity: int | None,
    *,
    timezone: ZoneInfo,
    now: dt.datetime,
) -> None:
    """Refuses, naming why, a replacement for the request's line that may not leave: another
    product, a held, expired or nonconforming lot, or more than the line returned."""
    if not 0 <= line_index < len(request.lines):
        raise InvalidInput("return.incomplete")
    line = request.lines[line_index]
    await check_outbound(
        session,
        batch_id,
        quantity,
        like_product_id=line.product_id,
        at_most=line.quantity,
        today=local_day(now, timezone),
    )


async def record_exchange(
    uow: UnitOfWork,
    actor: User,
    return_id: int,
    replacements: list[tuple[int, int]],
    *,
    timezone: ZoneInfo,
) -> ReturnRequest:
    """The exchange like for like: for each line, in order, the replacement lot and quantity.
    Every replacement passes the outbound check, under the request's lock."""
    session, now = uow.session, uow.clock.now()
    request = await return_for_settlement(session, actor, return_id, "exchange", lock=True)
    if len(replacements) != len(request.lines):
        raise InvalidInput("return.incomplete")
    for index, (line, (batch_id, quantity)) in enumerate(
        zip(request.lines, replacements, strict=True)
    ):
        quantity = check_quantity(str(quantity))
        await check_replacement(
            session, request, index, batch_id, quantity, timezone=timezone, now=now
        )
        line.replacement_batch_id = batch_id
        line.replacement_quantity = quantity
    request.settlement = "exchange"
    await _settled(session, request, actor, now)
    record_change(
        session,
        request,
        "exchanged",
        now,
        actor=actor,
        after={"quantity": sum(q for _, q in replacements)},
    )
    await tell_customer(session, request, "return.exchanged", {}, now)
    await uow.commit()
    return request


async def choose_refund(uow: UnitOfWork, actor: User, return_id: int) -> ReturnRequest:
    """A quality return refunded: finance is asked to record the credit."""
    session, now = uow.session, uow.clock.now()
    request = await return_for_settlement(session, actor, return_id, "refund", lock=True)
    request.settlement = "refund"
    record_change(session, request, "refund_chosen", now, actor=actor)
    await notify_roles(
        session,
        [roles.FINANCE],
        "return.credit_to_record",
        subject_params(request),
        now=now,
        buttons=[[button("return.button.credit", BeginCredit(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:credit",
    )
    await uow.commit()
    return request


async def return_for_credit(
    session: AsyncSession, actor: User, return_id: int, *, lock: bool = False
) -> ReturnRequest:
    roles.require_role(actor.role_names, frozenset({roles.FINANCE}))
    request = await load_return(session, return_id, lock=lock)
    if request.settlement != "refund" or request.settled_at is not None:
        raise WrongState("return.no_credit_due", number=request.number)
    require_other_return_person(request, "credited", actor)
    return request


def check_credit(text: str, limit: Decimal) -> Decimal:
    """A positive amount with at most two decimals, no more than the return's amount."""
    amount = check_amount(text, invalid="return.bad_credit")
    if amount > limit:
        raise InvalidInput("return.credit_over_amount", amount=as_money(limit))
    return amount


async def record_credit(uow: UnitOfWork, actor: User, return_id: int, text: str) -> ReturnRequest:
    """Finance records the credit amount of a refund; the customer is told."""
    session, now = uow.session, uow.clock.now()
    request = await return_for_credit(session, actor, return_id, lock=True)
    request.credit_amount = check_credit(text, request.total_amount or Decimal(0))
    await _settled(session, request, actor, now)
    record_change(
        session, request, "credited", now, actor=actor, after={"amount": str(request.credit_amount)}
    )
    await tell_customer(
        session, request, "return.credited", {"credit": as_money(request.credit_amount)}, now
    )
    await uow.commit()
    return request


async def _settled(
    session: AsyncSession, request: ReturnRequest, actor: User, now: dt.datetime
) -> None:
    request.settled_at, request.settled_by_id = now, actor.id
    LIFECYCLE.move(request, ReturnStatus.CLOSED if request.slip_sent_at else ReturnStatus.SETTLED)
    # closed: none of the return's buttons is of use any more; else finance's credit is asked
    closed = request.status == ReturnStatus.CLOSED
    step = request.settlement or "exchange"
    await settle_return_notices(session, request, actor, step, now, () if closed else ("credit",))
