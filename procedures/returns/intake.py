"""Filing a return (調退貨明細表): the dialogue's look-ups and checks, and the submission; a
request keyed in by staff is registered with its channel and the time it was received, and waits
for after-sales' receipt (4.2.1–4.2.2); and the quality return a nonconforming complaint starts,
which enters at the same step."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.consumer_complaints.handling import link_return
from procedures.kernel import roles
from procedures.kernel.errors import InvalidInput, NotAllowed, NotFound
from procedures.kernel.numbering import next_number
from procedures.kernel.outbox import as_deadline, as_text, button, notify_roles
from procedures.kernel.photos import keep_label
from procedures.kernel.quantities import check_quantity
from procedures.kernel.received import ReceivedTexts, check_received_at
from procedures.kernel.text_input import lookup_key
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.masterdata.queries import find_shipped_product, product_unit, shipped_batches
from procedures.returns import rules
from procedures.returns.actions import (
    AskSpecialCase,
    ConfirmReturnReceipt,
    FinanceAgrees,
    FinanceDisagrees,
    ForwardToLeader,
    SignReturn,
)
from procedures.returns.common import (
    NOT_COUNTED,
    open_step,
    subject_params,
    tell_customer,
    territory_filed,
    totals,
)
from procedures.returns.ratio import RatioCheck, check_ratio, ratio_params
from procedures.returns.rules import (
    CONSUMER_CHANNEL,
    FILING_STAFF,
    KEYED_CHANNELS,
    LIFECYCLE,
    RECEIVERS,
    ReturnReason,
    ReturnStatus,
)
from storage.models import (
    Batch,
    Complaint,
    Organisation,
    Product,
    ReturnLine,
    ReturnRequest,
    Shipment,
    User,
)

MAX_LINES = 20
RECEIVED_TEXTS = ReceivedTexts(
    unreadable="return.bad_received_at",
    in_future="return.received_in_future",
    too_early="return.received_too_early",
)
CENT = Decimal("0.01")


@dataclass
class ReturnDraft:
    """What the dialogue has gathered (kept as JSON between steps)."""

    organisation_id: int
    reason: str | None = None
    channel: str = "chat"
    # when a keyed request was received (ISO, UTC); a chat request is received when filed
    received_at: str | None = None
    # each {"batch_id", "quantity"} and the "label" scanned for it, if any; the product is the
    # lot's, the amount the shipment's price
    lines: list[dict[str, Any]] = field(default_factory=list)
    # the consumer complaint whose goods this return takes back (4.3.3), filed by after-sales
    consumer_complaint_id: int | None = None
    # the UDI label scanned at the line being filled in (labels.LabelMatch.evidence): it goes
    # with that line, as evidence and as the source of its lot
    label: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReturnDraft:
        return cls(**data)


async def unit_price(session: AsyncSession, organisation_id: int, batch_id: int) -> Decimal:
    """What the organisation paid a unit of the lot, over all its shipments of it."""
    amount, quantity = (
        await session.execute(
            select(func.sum(Shipment.amount), func.sum(Shipment.quantity)).where(
                Shipment.organisation_id == organisation_id, Shipment.batch_id == batch_id
            )
        )
    ).one()
    return Decimal(amount) / quantity if quantity else Decimal(0)


async def line_amount(
    session: AsyncSession, organisation_id: int, batch_id: int, quantity: int
) -> Decimal:
    price = await unit_price(session, organisation_id, batch_id)
    return (price * quantity).quantize(CENT, ROUND_HALF_UP)


async def returned_quantity(session: AsyncSession, organisation_id: int, batch_id: int) -> int:
    """What the organisation has already sent back, or asked to, of the lot (refused and
    rejected requests do not count)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(ReturnLine.quantity), 0))
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(
            ReturnRequest.organisation_id == organisation_id,
            ReturnLine.batch_id == batch_id,
            ReturnRequest.status.not_in(list(NOT_COUNTED)),
        )
    )
    return int(total or 0)


async def returnable_quantity(session: AsyncSession, draft: ReturnDraft, batch_id: int) -> int:
    shipped = await session.scalar(
        select(func.coalesce(func.sum(Shipment.quantity), 0)).where(
            Shipment.organisation_id == draft.organisation_id, Shipment.batch_id == batch_id
        )
    )
    drafted: int = sum(line["quantity"] for line in draft.lines if line["batch_id"] == batch_id)
    returned = await returned_quantity(session, draft.organisation_id, batch_id)
    return int(shipped or 0) - returned - drafted


async def check_line(session: AsyncSession, draft: ReturnDraft, batch_id: int, text: str) -> int:
    """A positive whole number no more than was shipped of the lot less what is already
    returned (or in this request): refused with the figures otherwise. A unit after the number
    must be the product's (`2台`)."""
    quantity = check_quantity(text, await product_unit(session, batch_id=batch_id))
    if batch_id not in {b.id for b in await _shipped(session, draft.organisation_id)}:
        raise InvalidInput("return.lot_not_shipped")
    shipped = await session.scalar(
        select(func.coalesce(func.sum(Shipment.quantity), 0)).where(
            Shipment.organisation_id == draft.organisation_id, Shipment.batch_id == batch_id
        )
    )
    left = await returnable_quantity(session, draft, batch_id)
    if quantity > left:
        raise InvalidInput(
            "return.quantity_over_left",
            quantity=quantity,
            shipped=int(shipped or 0),
            returned=int(shipped or 0) - left,
            left=max(left, 0),
        )
    return quantity


async def _shipped(session: AsyncSession, organisation_id: int) -> list[Batch]:
    rows = await session.scalars(
        select(Batch)
        .join(Shipment, Shipment.batch_id == Batch.id)
        .where(Shipment.organisation_id == organisation_id)
        .distinct()
    )
    return list(rows)


async def typed_goods(
    session: AsyncSession, organisation_id: int, text: str, *, product_id: int | None = None
) -> tuple[Product | None, Batch | None]:
    """What a line's product (or, with `product_id`, lot) step was typed: a lot shipped to the
    organisation (of that product), else a product shipped to it, by code or name."""
    wanted = lookup_key(text)
    for batch in await _shipped(session, organisation_id):
        if lookup_key(batch.lot_number) == wanted and product_id in (None, batch.product_id):
            return None, batch
    if product_id is not None:
        raise InvalidInput("return.typed_lot_not_shipped", lot=text.strip()[:40])
    try:
        return await find_shipped_product(session, organisation_id, text), None
    except NotFound:
        raise InvalidInput("return.typed_not_shipped", text=text.strip()[:40]) from None


async def returnable_batches(
    session: AsyncSession, organisation_id: int, product_id: int
) -> list[Batch]:
    return await shipped_batches(session, organisation_id, product_id)


def one_working_day_after(moment: dt.datetime, timezone: ZoneInfo) -> dt.datetime:
    """The same local time on the next working day (Monday to Friday) after `moment`'s day:
    及時 for a receipt (4.2.2). Public holidays are not known here."""
    local = moment.astimezone(timezone) + dt.timedelta(days=1)
    while local.weekday() >= 5:
        local += dt.timedelta(days=1)
    return local.astimezone(dt.UTC)


async def _store(session: AsyncSession, request: ReturnRequest) -> None:
    """A new return with its lines, totalled on the record (統計數量和金額)."""
    request.total_quantity, request.total_amount = totals(request)
    session.add(request)
    await session.flush()
    await session.refresh(request, ["organisation", "signatures"])


@dataclass(frozen=True)
class FilingOutcome:
    request: ReturnRequest
    check: RatioCheck | None
    consumer_complaint: str | None = None  # the number of the one the return was linked to


async def file_return(
    uow: UnitOfWork, actor: User, draft: ReturnDraft, *, timezone: ZoneInfo
) -> FilingOutcome:
    """Record the request with its lines priced from the shipments. Unsalable: the exchange
    ratio is checked; inside, finance reviews the figures, then after-sales signs; outside, it
    is refused with the figures and after-sales may take it to the company leader. Quality: the
    after-sales head is asked to sign. A request keyed in by staff is registered with its
    channel and the time it was received, which starts its clocks; after-sales confirm its
    receipt before it is reviewed (4.2.2)."""
    session, now = uow.session, uow.clock.now()
    received = now
    if draft.channel == "chat":
        roles.require_role(actor.role_names, frozenset({roles.CUSTOMER}))
        if actor.organisation_id != draft.organisation_id:
            raise NotAllowed()
    else:
        roles.require_role(actor.role_names, FILING_STAFF)
        consumer = draft.channel == CONSUMER_CHANNEL and draft.consumer_complaint_id is not None
        if draft.channel not in KEYED_CHANNELS and not consumer:
            raise InvalidInput("return.incomplete")
        if draft.received_at is not None:  # none given: received as it is keyed in
            received = check_received_at(
                dt.datetime.fromisoformat(draft.received_at), now, RECEIVED_TEXTS
            )
    if draft.consumer_complaint_id is not None and draft.channel == "chat":
        raise NotAllowed()  # after-sales files a consumer's goods back
    if draft.reason not in tuple(ReturnReason) or not draft.lines:
        raise InvalidInput("return.incomplete")
    if len(draft.lines) > MAX_LINES:
        raise InvalidInput("return.too_many_lines", limit=MAX_LINES)
    # the organisation's row locked until commit: what is left to return of each lot and its
    # exchange ratio are counted over its requests, so two of its buyers filing at once are
    # counted one after the other (on PostgreSQL; SQLite's writers already take turns)
    organisation = await session.get(Organisation, draft.organisation_id, with_for_update=True)
    if organisation is None or organisation.kind != "customer":
        raise NotFound("return.not_found")
    # every line again, as at commit: the shipments or other returns may have changed
    lines, checked = [], ReturnDraft(draft.organisation_id, draft.reason)
    for line in draft.lines:
        quantity = await check_line(session, checked, line["batch_id"], str(line["quantity"]))
        checked.lines.append(line)
        batch = await session.get(Batch, line["batch_id"])
        assert batch is not None
        lines.append(
            ReturnLine(
                # the product itself, not only its id: the notices name its unit before a reload
                product=await session.get(Product, batch.product_id),
                batch_id=batch.id,
                quantity=quantity,
                amount=await line_amount(session, organisation.id, batch.id, quantity),
            )
        )
    request = ReturnRequest(
        number=await next_number(session, "RT", now.year),
        organisation_id=organisation.id,
        reason=draft.reason,
        status=ReturnStatus.AWAITING_AFTER_SALES,
        channel=draft.channel,
        filed_by_id=actor.id,
        created_at=now,
        received_at=received,
        lines=lines,
    )
    await _store(session, request)
    await territory_filed(session, request, actor, now)
    record_change(
        session,
        request,
        "filed",
        now,
        actor=actor,
        after={
            "channel": draft.channel,
            "reason": draft.reason,
            "lines": len(lines),
            "quantity": request.total_quantity,
            "amount": str(request.total_amount),
        },
    )
    for number, line in enumerate(draft.lines, start=1):
        keep_label(
            session, request, line.get("label"), actor, now, batch_id=line["batch_id"], line=number
        )
    linked = None
    if draft.consumer_complaint_id is not None:
        linked = await link_return(
            session,
            draft.consumer_complaint_id,
            request.number,
            now,
            quality_return=request.reason == ReturnReason.QUALITY,
        )
        record_change(session, request, "consumer_complaint", now, after={"number": linked.number})
    check = None
    if request.reason == ReturnReason.UNSALABLE:
        check = await check_ratio(
            session,
            organisation,
            request.total_amount or Decimal(0),
            now,
            timezone,
            excluding=request.id,
            lots=[line.batch_id for line in lines if line.batch_id is not None],
        )
        await _after_ratio_check(session, request, check, now)
    if request.channel in KEYED_CHANNELS:
        await _ask_receipt(session, request, now, timezone, actor)
    else:
        await start_review(session, request, now)
    await uow.commit()
    return FilingOutcome(request, check, linked.number if linked else None)


async def _after_ratio_check(
    session: AsyncSession, request: ReturnRequest, check: RatioCheck, now: dt.datetime
) -> None:
    """Keep the figures on the record; refuse one outside, telling the customer, after-sales
    and finance why. One inside is reviewed by finance once received (start_review)."""
    request.exchanged_amount, request.purchased_amount = check.exchanged, check.purchased
    request.ratio_limit, request.window_days = check.limit, check.window_days
    request.ratio_inside = check.inside
    record_change(
        session,
        request,
        "ratio_checked",
        now,
        after={**check.as_params(), "inside": check.inside},
    )
    params = {**subject_params(request), **check.as_params()}
    if check.inside:
        return
    refusal = check.refusal
    LIFECYCLE.move(request, ReturnStatus.REFUSED)
    request.refused_at, request.refusal = now, refusal
    # the figures go with the entry: the timeline renders them as they were
    record_change(session, request, "refused", now, after={"refusal": refusal, **check.as_params()})
    reason = as_text(f"return.refusal.{refusal}", **check.as_params())
    await notify_roles(
        session,
        [roles.AFTER_SALES],
        "return.ratio_outside",
        {**params, "refusal": reason},
        now=now,
        buttons=[[button("return.button.to_leader", ForwardToLeader(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:review",
    )
    # the customer who filed it reads the refusal in the filing's answer; its colleagues are
    # told here, each with the way to ask for a special case
    await tell_customer(
        session,
        request,
        "return.refused_to_customer",
        {"refusal": reason},
        now,
        besides=request.filed_by_id,
        buttons=[[button("return.button.ask_special", AskSpecialCase(return_id=request.id))]],
    )
    await notify_roles(
        session,
        [roles.FINANCE],
        "return.ratio_for_finance",
        {**params, "inside": as_text("return.inside.no")},
        now=now,
        dedupe_prefix=f"return:{request.id}:finance",
    )


async def _ask_receipt(
    session: AsyncSession,
    request: ReturnRequest,
    now: dt.datetime,
    timezone: ZoneInfo,
    actor: User,
) -> None:
    """A keyed request: its registration on the timeline, and after-sales asked to confirm its
    receipt by the next working day after it was received (4.2.2)."""
    received = request.received_at or now
    record_change(
        session,
        request,
        "registered",
        now,
        actor=actor,
        after={
            "channel": request.channel,
            "received_at": {"$time": received.isoformat()},
        },
    )
    receipt = open_step(
        session, request, rules.RECEIPT, received, due=one_working_day_after(received, timezone)
    )
    await notify_roles(
        session,
        RECEIVERS,
        "return.to_receive",
        {**received_params(request), "due_at": as_deadline(receipt.due_at)},
        now=now,
        buttons=[[button("return.button.receive", ConfirmReturnReceipt(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:receipt",
    )


def received_params(request: ReturnRequest) -> dict[str, Any]:
    """The request's subject with how and when it was received, as its texts name them."""
    received = request.received_at or request.created_at
    return {
        **subject_params(request),
        "channel": {"$text": f"return.channel.{request.channel}"},
        "received_at": {"$time": received.isoformat()},
    }


async def start_review(session: AsyncSession, request: ReturnRequest, now: dt.datetime) -> None:
    """The request's review begins (once received): an unsalable exchange inside its ratio is
    reviewed by finance first (4.2.3); a quality return by the after-sales head (4.2.4). One
    already refused waits for nobody."""
    if request.status != ReturnStatus.AWAITING_AFTER_SALES:
        return
    if request.reason == ReturnReason.UNSALABLE:
        await ask_finance(session, request, now)
    else:
        await ask_after_sales_head(session, request, now)


async def ask_finance(session: AsyncSession, request: ReturnRequest, now: dt.datetime) -> None:
    """Finance reviews the figures of an exchange inside its ratio and time limit: agree, or
    disagree with a reason (協調財務部評審, 4.2.3)."""
    review = open_step(session, request, rules.FINANCE_REVIEW, now)
    await notify_roles(
        session,
        [roles.FINANCE],
        "return.finance_to_review",
        {
            **received_params(request),
            **ratio_params(request),
            "due_at": as_deadline(review.due_at),
        },
        now=now,
        buttons=[
            [
                button("return.button.finance_agree", FinanceAgrees(return_id=request.id)),
                button("return.button.finance_disagree", FinanceDisagrees(return_id=request.id)),
            ]
        ],
        dedupe_prefix=f"return:{request.id}:finance",
    )


async def ask_after_sales_head(
    session: AsyncSession, request: ReturnRequest, now: dt.datetime
) -> None:
    """A quality return waits for the after-sales head's signature (4.2.4)."""
    review = open_step(session, request, rules.REVIEW, now, responsible_role=roles.AFTER_SALES_HEAD)
    await notify_roles(
        session,
        [roles.AFTER_SALES_HEAD],
        "return.quality_to_sign",
        {**subject_params(request), "due_at": as_deadline(review.due_at)},
        now=now,
        buttons=[[button("return.button.sign", SignReturn(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:review",
    )


async def start_quality_return(
    session: AsyncSession, complaint: Complaint, now: dt.datetime, *, goods_on_hold: bool
) -> ReturnRequest:
    """A return for the complained quantity, priced at what the buyer paid for the batch; it
    enters the quality path, waiting for the after-sales head. `goods_on_hold` (the caller
    asked the hold) is kept on the return: goods coming back under a shipment hold are
    booked in as held, never as stock to ship."""
    if complaint.product_id is None:
        raise ValueError("a return needs a product of the master data")
    amount = (
        await line_amount(
            session, complaint.organisation_id, complaint.batch_id, complaint.quantity
        )
        if complaint.batch_id is not None
        else Decimal("0.00")
    )
    request = ReturnRequest(
        number=await next_number(session, "RT", now.year),
        organisation_id=complaint.organisation_id,
        reason=ReturnReason.QUALITY,
        status=ReturnStatus.AWAITING_AFTER_SALES,
        complaint_id=complaint.id,
        channel="complaint",
        goods_on_hold=goods_on_hold,
        created_at=now,
        lines=[
            ReturnLine(
                product=complaint.product,
                batch_id=complaint.batch_id,
                quantity=complaint.quantity,
                amount=amount,
            )
        ],
    )
    await _store(session, request)
    record_change(
        session,
        request,
        "created",
        now,
        after={
            "number": request.number,
            "complaint": complaint.number,
            "quantity": complaint.quantity,
            "amount": str(amount),
            "goods_on_hold": goods_on_hold,
        },
    )
    await ask_after_sales_head(session, request, now)
    return request
