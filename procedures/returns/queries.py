"""Reading returns: one for a viewer, what waits for a role (with its buttons), the deadlines,
and the month's return and exchange statistics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel import roles
from procedures.kernel.calendar import month_bounds, previous_month
from procedures.kernel.errors import NotAllowed, NotFound
from procedures.kernel.outbox import button, notify_roles
from procedures.returns import rules
from procedures.returns.actions import (
    ApproveReturn,
    BeginCredit,
    BeginReturnInspection,
    BookIn,
    CloseCorrectiveAction,
    ConfirmDelivery,
    ConfirmPickUp,
    ConfirmReturnReceipt,
    CountersignReturn,
    FinanceAgrees,
    FinanceDisagrees,
    ForwardToLeader,
    GoodsArrived,
    RefuseReturn,
    SignReturn,
)
from procedures.returns.common import SUBJECT, signed_slots
from procedures.returns.goods import settlement_buttons
from procedures.returns.ratio import check_ratio
from procedures.returns.review import waits_for_finance, waits_for_receipt
from procedures.returns.rules import (
    BEFORE_BOOKING_IN,
    STAFF_VIEWERS,
    STATISTICS_READERS,
    WAITING,
    ReturnReason,
    ReturnStatus,
    Slot,
)
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
    offer(
        roles.AFTER_SALES_HEAD,
        status == S.APPROVED,
        "return.button.arrived",
        GoodsArrived(return_id=rid),
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
            qc,
            request.inspection_result == "company_fault" and request.corrective_done_at is None,
            "return.button.corrected",
            CloseCorrectiveAction(return_id=rid),
        )
    offer(
        roles.WAREHOUSE,
        status in (S.DELIVERED, S.INSPECTED),
        "return.button.book_in",
        BookIn(return_id=rid),
    )
    if roles.WAREHOUSE in role_names and status in (S.BOOKED_IN, S.SETTLED):
        rows += settlement_buttons(request)
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


async def return_for_viewer(session: AsyncSession, viewer: User, number: str) -> ReturnRequest:
    """The return numbered `number`, if the viewer may see it: staff any, a customer their
    own organisation's."""
    request = await session.scalar(
        select(ReturnRequest).where(ReturnRequest.number == number.strip().upper())
    )
    if request is None:
        raise NotFound("return.not_found")
    if not viewer.role_names & STAFF_VIEWERS:
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


async def monthly_statistics(
    session: AsyncSession, period: str, timezone: ZoneInfo
) -> MonthlyStatistics:
    """The month's returns and exchanges: the goods booked in during the month, by booking date
    (quantities and amounts by reason, and by customer, from the same requests, so the two
    tables agree); the requests of the month refused or rejected, counted apart; and each
    customer's exchange ratio against its limit as it stood at the month's end (4.2.11, 4.4,
    3.8)."""
    start, end = month_bounds(period, timezone)
    month = list(
        await session.scalars(
            select(ReturnRequest)
            .where(ReturnRequest.booked_in_at >= start, ReturnRequest.booked_in_at < end)
            .order_by(ReturnRequest.id)
        )
    )
    refused = await session.scalar(
        select(func.count())
        .select_from(ReturnRequest)
        .where(
            ReturnRequest.created_at >= start,
            ReturnRequest.created_at < end,
            ReturnRequest.status.in_([S.REFUSED, S.REJECTED, S.SPECIAL_CASE]),
        )
    )
    by_reason: dict[str, tuple[int, int, Decimal]] = {}
    for request in month:
        count, quantity, amount = by_reason.get(request.reason, (0, 0, Decimal("0.00")))
        lines = request.lines
        by_reason[request.reason] = (
            count + 1,
            quantity + sum(line.quantity for line in lines),
            amount + sum((line.amount for line in lines), Decimal("0.00")),
        )
    figures = []
    at_end = end - dt.timedelta(microseconds=1)
    for organisation in await session.scalars(
        select(Organisation).where(Organisation.kind == "customer").order_by(Organisation.code)
    ):
        own = [r for r in month if r.organisation_id == organisation.id]
        check = await check_ratio(session, organisation, Decimal(0), at_end, timezone)
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
    """A return line's goods as the form shows them: the product's name and the lot's number."""

    product: str
    lot: str


async def line_goods(session: AsyncSession, batch_id: int) -> LineGoods:
    """The product and lot of a return line's batch."""
    batch = await session.get(Batch, batch_id)
    product = await session.get(Product, batch.product_id) if batch else None
    if batch is None or product is None:
        raise NotFound("error.not_found")
    return LineGoods(product=product.name, lot=batch.lot_number)


async def organisation_name(session: AsyncSession, organisation_id: int) -> str:
    """The name of the organisation a return is for."""
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("error.not_found")
    return organisation.name


async def return_request(session: AsyncSession, return_id: int) -> ReturnRequest | None:
    """One return with its lines and customer, or None."""
    return await session.get(ReturnRequest, return_id)
