"""Reading returns: one for a viewer, what waits for a role (with its buttons), the deadlines,
and the month's return and exchange statistics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel import roles
from procedures.kernel.calendar import local_day, month_bounds, previous_month
from procedures.kernel.errors import NotAllowed, NotFound
from procedures.kernel.outbox import button, notify_roles
from procedures.kernel.text_input import record_number
from procedures.people import queries as people
from procedures.returns import rules
from procedures.returns.actions import (
    ApproveReturn,
    AskSpecialCase,
    BeginCredit,
    BeginReturnInspection,
    BookIn,
    ConfirmDelivery,
    ConfirmPickUp,
    ConfirmReturnReceipt,
    CountersignReturn,
    FinanceAgrees,
    FinanceDisagrees,
    ForwardToLeader,
    GoodsArrived,
    IssueTransportOrder,
    RefuseReturn,
    SendReturnSlip,
    SignReturn,
    TallyReturn,
)
from procedures.returns.common import SUBJECT, only_territory, require_territory, signed_slots
from procedures.returns.goods import settlement_buttons, transport_order_params
from procedures.returns.ratio import (
    RatioCheck,
    exchanged_amount,
    purchased_amount,
    window_start,
)
from procedures.returns.review import special_case_possible, waits_for_finance, waits_for_receipt
from procedures.returns.rules import (
    BEFORE_BOOKING_IN,
    STAFF_VIEWERS,
    STATISTICS_READERS,
    WAITING,
    ReturnReason,
    ReturnStatus,
    Slot,
)
from procedures.returns.slips import SLIP_CHANNELS
from storage.models import Batch, Deadline, Organisation, Product, User

# the row these queries return, named here for the reports that format it
from storage.models import ReturnRequest as ReturnRequest

S = ReturnStatus

# Steps after-sales staff see on the record that a customer does not (4.2.6's responsible
# people, the leader's and finance's business, overdue alerts).
INTERNAL_ACTIONS = frozenset(
    {"corrective_action_opened", "corrective_action_done", "ratio_passed", "deadline_overdue"}
)
# company-internal steps, never on the customer's view of their return
INTERNAL_DEADLINES = frozenset(kind for kind, rule in rules.DEADLINES.items() if rule.internal)


def buttons_for(request: ReturnRequest, role_names: frozenset[str]) -> list[list[dict[str, Any]]]:
    """The buttons of the steps `role_names` may take on the return now."""
    rows: list[list[dict[str, Any]]] = []
    status, rid = request.status, request.id
    signed = signed_slots(request)

    def offer(role: str, when: bool, key: str, action: Any) -> None:
        if role in role_names and when:
            rows.append([button(key, action)])

    unsalable = request.reason == ReturnReason.UNSALABLE
    # a refused exchange's customer may ask for a special case (4.2.3)
    offer(
        roles.CUSTOMER,
        special_case_possible(request),
        "return.button.ask_special",
        AskSpecialCase(return_id=rid),
    )
    # a keyed request is received (4.2.2), and an exchange's figures reviewed by finance
    # (4.2.3), before after-sales sign
    unreceived = waits_for_receipt(request)
    for receiver in (roles.AFTER_SALES, roles.AFTER_SALES_HEAD):
        offer(receiver, unreceived, "return.button.receive", ConfirmReturnReceipt(return_id=rid))
    finance_due = waits_for_finance(request)
    if roles.FINANCE in role_names and finance_due:
        rows.append(
            [
                button("return.button.finance_agree", FinanceAgrees(return_id=rid)),
                button("return.button.finance_disagree", FinanceDisagrees(return_id=rid)),
            ]
        )
    signable = (
        status == S.AWAITING_AFTER_SALES
        and not unreceived
        and (not unsalable or request.finance_review == "agreed")
    )
    offer(
        roles.AFTER_SALES,
        signable and unsalable,
        "return.button.sign",
        SignReturn(return_id=rid),
    )
    offer(
        roles.AFTER_SALES_HEAD,
        signable,
        "return.button.sign",
        SignReturn(return_id=rid),
    )
    offer(
        roles.AFTER_SALES,
        status == S.REFUSED
        and (request.ratio_inside is False or request.finance_review == "disagreed"),
        "return.button.to_leader",
        ForwardToLeader(return_id=rid),
    )
    offer(
        roles.BUSINESS_HEAD,
        status == S.AWAITING_BUSINESS
        or (status in WAITING[roles.BUSINESS_HEAD] and Slot.BUSINESS not in signed),
        "return.button.approve",
        ApproveReturn(return_id=rid),
    )
    offer(
        roles.BUSINESS_HEAD,
        status == S.AWAITING_BUSINESS and unsalable,
        "return.button.refuse",
        RefuseReturn(return_id=rid),
    )
    for taker in rules.STATION_NOTICE_TAKERS:
        offer(
            taker,
            status == S.APPROVED and request.station_notice_at is None,
            "return.button.arrived",
            GoodsArrived(return_id=rid),
        )
    offer(
        roles.AFTER_SALES_HEAD,
        status == S.APPROVED and request.station_notice_at is not None,
        "return.button.order",
        IssueTransportOrder(return_id=rid),
    )
    offer(
        roles.AFTER_SALES_HEAD,
        status in (S.AWAITING_BUSINESS, *BEFORE_BOOKING_IN) and Slot.AFTER_SALES not in signed,
        "return.button.countersign",
        CountersignReturn(return_id=rid),
    )
    offer(
        roles.DRIVER,
        status == S.ORDER_ISSUED,
        "return.button.picked_up",
        ConfirmPickUp(return_id=rid),
    )
    offer(
        roles.DRIVER,
        status == S.PICKED_UP,
        "return.button.delivered",
        ConfirmDelivery(return_id=rid),
    )
    for qc in (roles.QUALITY, roles.QUALITY_HEAD):
        offer(
            qc, status == S.DELIVERED, "return.button.inspect", BeginReturnInspection(return_id=rid)
        )
    offer(
        roles.WAREHOUSE,
        status in (S.DELIVERED, S.INSPECTED),
        "return.button.book_in",
        BookIn(return_id=rid),
    )
    if roles.WAREHOUSE in role_names and status in (S.BOOKED_IN, S.SETTLED):
        rows += settlement_buttons(request)
    after_booking_in = status in (S.BOOKED_IN, S.SETTLED)
    offer(
        roles.MARKETING_STATISTICIAN,
        after_booking_in and request.tallied_at is None,
        "return.button.tally",
        TallyReturn(return_id=rid),
    )
    if roles.MARKETING_CLERK in role_names and after_booking_in and request.tallied_at:
        if request.slip_sent_at is None:
            rows.append(
                [
                    button(
                        f"return.button.slip_{channel}",
                        SendReturnSlip(return_id=rid, channel=channel),
                    )
                    for channel in SLIP_CHANNELS
                ]
            )
    offer(
        roles.FINANCE,
        request.settlement == "refund" and request.settled_at is None,
        "return.button.credit",
        BeginCredit(return_id=rid),
    )
    unique: dict[str, list[dict[str, Any]]] = {row[0]["data"]: row for row in rows}
    return list(unique.values())


async def waiting_for(
    session: AsyncSession, role_names: frozenset[str], limit: int = 30
) -> list[ReturnRequest]:
    """Returns with a step the roles may take now, oldest first."""
    statuses = {status for role in role_names for status in WAITING.get(role, ())}
    if not statuses:
        return []
    rows = await session.scalars(
        select(ReturnRequest)
        .where(ReturnRequest.status.in_(sorted(statuses)))
        .order_by(ReturnRequest.id)
        .limit(limit * 3)
    )
    return [r for r in rows if buttons_for(r, role_names)][:limit]


async def returns_of(session: AsyncSession, organisation_id: int) -> list[ReturnRequest]:
    rows = await session.scalars(
        select(ReturnRequest)
        .where(ReturnRequest.organisation_id == organisation_id)
        .order_by(ReturnRequest.id.desc())
        .limit(30)
    )
    return list(rows)


async def returns_of_territory(session: AsyncSession, viewer: User) -> list[ReturnRequest]:
    """The newest returns of the customers of a market-sales person's territory."""
    if not viewer.territory:
        return []
    rows = await session.scalars(
        select(ReturnRequest)
        .join(Organisation, Organisation.id == ReturnRequest.organisation_id)
        .where(Organisation.territory == viewer.territory)
        .order_by(ReturnRequest.id.desc())
        .limit(30)
    )
    return list(rows)


async def return_for_viewer(session: AsyncSession, viewer: User, number: str) -> ReturnRequest:
    """The return numbered `number`, if the viewer may see it: staff any, market sales their
    territory's, a customer their own organisation's."""
    request = await session.scalar(
        select(ReturnRequest).where(ReturnRequest.number == record_number(number))
    )
    if request is None:
        raise NotFound("return.not_found")
    if only_territory(viewer):
        require_territory(viewer, request.organisation)
    elif not viewer.role_names & STAFF_VIEWERS:
        if roles.CUSTOMER not in viewer.role_names:
            raise NotAllowed()
        if viewer.organisation_id != request.organisation_id:
            raise NotFound("return.not_found")
    return request


async def deadlines_of(session: AsyncSession, return_id: int) -> list[Deadline]:
    rows = await session.scalars(
        select(Deadline)
        .where(Deadline.subject_type == SUBJECT, Deadline.subject_id == return_id)
        .order_by(Deadline.id)
    )
    return list(rows)


# --- the month's statistics ------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationFigures:
    code: str
    name: str
    returns: int
    quantity: int
    amount: Decimal
    exchanged: Decimal  # counted unsalable exchanges within the contract window, at month end
    purchased: Decimal
    ratio: Decimal | None
    limit: Decimal | None

    @property
    def over_limit(self) -> bool:
        return self.ratio is not None and self.limit is not None and self.ratio > self.limit


@dataclass(frozen=True)
class MonthlyStatistics:
    period: str
    by_reason: dict[str, tuple[int, int, Decimal]]  # reason -> returns, quantity, amount
    refused: int
    organisations: list[OrganisationFigures]


async def _booked_in(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[ReturnRequest]:
    """The returns whose goods were booked in during [start, end)."""
    return list(
        await session.scalars(
            select(ReturnRequest)
            .where(ReturnRequest.booked_in_at >= start, ReturnRequest.booked_in_at < end)
            .order_by(ReturnRequest.id)
        )
    )


def _by_reason(requests: list[ReturnRequest]) -> dict[str, tuple[int, int, Decimal]]:
    by_reason: dict[str, tuple[int, int, Decimal]] = {}
    for request in requests:
        count, quantity, amount = by_reason.get(request.reason, (0, 0, Decimal("0.00")))
        lines = request.lines
        by_reason[request.reason] = (
            count + 1,
            quantity + sum(line.quantity for line in lines),
            amount + sum((line.amount for line in lines), Decimal("0.00")),
        )
    return by_reason


async def returns_by_reason(
    session: AsyncSession, period: str, timezone: ZoneInfo
) -> dict[str, tuple[int, int, Decimal]]:
    """The month's returns by reason as its statistics count them (`monthly_statistics`'s
    `by_reason`: the goods booked in during the month): reason -> returns, quantity, amount.
    Without the customers' ratios, for a chart of many months."""
    start, end = month_bounds(period, timezone)
    return _by_reason(await _booked_in(session, start, end))


async def monthly_statistics(
    session: AsyncSession, period: str, timezone: ZoneInfo, *, now: dt.datetime | None = None
) -> MonthlyStatistics:
    """The month's returns and exchanges: the goods booked in during the month, by booking date
    (quantities and amounts by reason, and by customer, from the same requests, so the two
    tables agree); the requests of the month refused or rejected, counted apart; and each
    customer's exchange ratio against its limit as it stood at the month's end (4.2.11, 4.4,
    3.8). With `now` inside the month (a month still running), the figures so far: the ratio
    as it stands at `now`."""
    start, end = month_bounds(period, timezone)
    month = await _booked_in(session, start, end)
    refused = await session.scalar(
        select(func.count())
        .select_from(ReturnRequest)
        .where(
            ReturnRequest.created_at >= start,
            ReturnRequest.created_at < end,
            ReturnRequest.status.in_([S.REFUSED, S.REJECTED, S.SPECIAL_CASE]),
        )
    )
    by_reason = _by_reason(month)
    figures = []
    # the ratio's window ends with the month (or today, while it runs): exchanges asked for
    # after that belong to a later month's report
    until = end if now is None else min(end, now + dt.timedelta(microseconds=1))
    for organisation in await session.scalars(
        select(Organisation).where(Organisation.kind == "customer").order_by(Organisation.code)
    ):
        own = [r for r in month if r.organisation_id == organisation.id]
        check = await _ratio_until(session, organisation, until, timezone)
        figures.append(
            OrganisationFigures(
                code=organisation.code,
                name=organisation.name,
                returns=len(own),
                quantity=sum(line.quantity for r in own for line in r.lines),
                amount=sum((line.amount for r in own for line in r.lines), Decimal("0.00")),
                exchanged=check.exchanged,
                purchased=check.purchased,
                ratio=check.ratio,
                limit=check.limit,
            )
        )
    return MonthlyStatistics(period, by_reason, refused or 0, figures)


async def _ratio_until(
    session: AsyncSession, organisation: Organisation, until: dt.datetime, timezone: ZoneInfo
) -> RatioCheck:
    """The organisation's exchange ratio over the window that ends at `until`: the exchanges
    asked for in it (none after it) over what was shipped to it in it."""
    days = organisation.exchange_window_days
    if days is None:
        return RatioCheck(Decimal("0.00"), Decimal("0.00"), organisation.exchange_ratio_limit, None)
    last_moment = until - dt.timedelta(microseconds=1)
    first_day = window_start(last_moment, days, timezone)
    since = dt.datetime.combine(first_day, dt.time(), timezone).astimezone(dt.UTC)
    purchased = await purchased_amount(
        session, organisation.id, first_day, local_day(last_moment, timezone)
    )
    exchanged = await exchanged_amount(session, organisation.id, since, until=until)
    return RatioCheck(exchanged, purchased, organisation.exchange_ratio_limit, days)


async def queue_monthly_statistics(
    session: AsyncSession, *, now: dt.datetime, timezone: ZoneInfo
) -> int:
    """On the 1st: last month's return and exchange statistics to the business head (4.4) and
    finance (3.8), as a workbook in each reader's language; once per month."""
    period = previous_month(now, timezone)
    queued = await notify_roles(
        session,
        STATISTICS_READERS,
        "return.statistics_ready",
        {"period": period},
        now=now,
        attachment={"kind": "return_statistics", "params": {"period": period}},
        dedupe_prefix=f"report:returns:{period}",
    )
    return len(queued)


@dataclass(frozen=True)
class LineGoods:
    """A return line's goods as the form shows them: the product's name, the lot's number and
    what the product is counted in."""

    product: str
    lot: str
    unit: str | None = None


async def line_goods(session: AsyncSession, batch_id: int) -> LineGoods:
    """The product and lot of a return line's batch."""
    batch = await session.get(Batch, batch_id)
    product = await session.get(Product, batch.product_id) if batch else None
    if batch is None or product is None:
        raise NotFound("error.not_found")
    return LineGoods(product=product.name, lot=batch.lot_number, unit=product.unit or None)


async def organisation_name(session: AsyncSession, organisation_id: int) -> str:
    """The name of the organisation a return is for."""
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("error.not_found")
    return organisation.name


async def return_request(session: AsyncSession, return_id: int) -> ReturnRequest | None:
    """One return with its lines and customer, or None."""
    return await session.get(ReturnRequest, return_id)


async def transport_order(session: AsyncSession, return_id: int) -> dict[str, Any]:
    """The issued transport order of a return, as its message parameters (the driver's copy)."""
    request = await session.get(ReturnRequest, return_id)
    if request is None or request.order_issued_at is None:
        raise NotFound("return.not_found")
    issuer = await people.user(session, request.order_issued_by_id or 0)
    return transport_order_params(request, issuer.full_name if issuer else "")


async def document_for_viewer(
    session: AsyncSession, viewer: User, return_id: int, kind: str
) -> ReturnRequest:
    """The return whose document `kind` the viewer asks for, if it exists and they may read
    it: staff each document issued, a customer their own organisation's slip once sent."""
    request = await session.get(ReturnRequest, return_id)
    if request is None:
        raise NotFound("return.not_found")
    request = await return_for_viewer(session, viewer, request.number)
    if kind not in documents_issued(request, staff=bool(viewer.role_names & STAFF_VIEWERS)):
        raise NotFound("return.no_document")
    return request


DocumentKind = Literal["transport_order", "return_booking_in", "return_slip"]


def documents_issued(request: ReturnRequest, *, staff: bool) -> list[DocumentKind]:
    """The documents the return has so far, in the order they were issued: the transport
    order, the booking-in slip, the return slip (staff from the tally, when the clerk has it;
    the customer once sent)."""
    issued: list[DocumentKind] = []
    if staff and request.order_issued_at is not None:
        issued.append("transport_order")
    if staff and request.booked_in_at is not None:
        issued.append("return_booking_in")
    if request.slip_sent_at is not None or (staff and request.tallied_at is not None):
        issued.append("return_slip")
    return issued
