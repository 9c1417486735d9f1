"""Reviewing a return: after-sales confirm receipt of a keyed request, finance reviews an
exchange's figures, after-sales signs, the business head approves, an unsalable exchange
outside the ratio (or one finance did not agree with) goes to the company leader as a special
case, whose decision is final."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel import roles
from procedures.kernel.errors import InvalidInput, NotAllowed, NotFound, WrongState
from procedures.kernel.outbox import as_deadline, as_text, button, notify_roles
from procedures.kernel.text_input import MAX_TEXT, check_text
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.returns import rules
from procedures.returns.actions import (
    ApproveReturn,
    AskSpecialCase,
    CountersignReturn,
    DecideSpecialCase,
    ForwardToLeader,
    GoodsArrived,
    RefuseReturn,
    SignReturn,
)
from procedures.returns.common import (
    SUBJECT,
    add_signature,
    load_return,
    open_step,
    require_other_return_person,
    signed_slots,
    step_done,
    subject_params,
    tell_customer,
    tell_warehouse_when_signed,
)
from procedures.returns.intake import (
    ReturnDraft,
    received_params,
    returnable_quantity,
    returned_quantity,
    start_review,
)
from procedures.returns.ratio import check_ratio, ratio_params
from procedures.returns.rules import (
    BEFORE_BOOKING_IN,
    FINANCE_REVIEWERS,
    KEYED_CHANNELS,
    LIFECYCLE,
    RECEIVERS,
    ReturnDeadline,
    ReturnReason,
    ReturnStatus,
    Slot,
)
from storage.models import Organisation, ReturnRequest, TimelineEvent, User

LEADER_DECISIONS: tuple[Literal["approve", "refuse"], ...] = ("approve", "refuse")


def waits_for_receipt(request: ReturnRequest) -> bool:
    """A request keyed in by staff whose receipt after-sales have not confirmed yet (4.2.2)."""
    return request.channel in KEYED_CHANNELS and request.receipt_confirmed_at is None


def waits_for_finance(request: ReturnRequest) -> bool:
    """An unsalable exchange inside its ratio, received, that finance has not reviewed (4.2.3)."""
    return (
        request.status == ReturnStatus.AWAITING_AFTER_SALES
        and request.reason == ReturnReason.UNSALABLE
        and request.ratio_inside is True
        and request.finance_review is None
        and not waits_for_receipt(request)
    )


async def confirm_receipt(uow: UnitOfWork, actor: User, return_id: int) -> ReturnRequest:
    """After-sales staff confirm receipt (確認簽收) of a request keyed in for a customer, which
    the computer room registered (4.2.2): who and when are kept, and its review begins. The
    person who keyed it in stands for the computer room and may not sign for its receipt."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, RECEIVERS)
    request = await load_return(session, return_id)
    if request.channel not in KEYED_CHANNELS:
        raise WrongState("return.no_receipt_needed", number=request.number)
    if request.receipt_confirmed_at is not None:
        raise WrongState("return.already_received", number=request.number)
    if request.filed_by_id == actor.id:
        raise NotAllowed("return.receipt_by_filer", number=request.number)
    request.receipt_confirmed_at, request.receipt_confirmed_by_id = now, actor.id
    record_change(session, request, "receipt_confirmed", now, actor=actor)
    await step_done(session, request, ReturnDeadline.RECEIPT, now, actor)
    await start_review(session, request, now)
    await uow.commit()
    return request


async def finance_agrees(uow: UnitOfWork, actor: User, return_id: int) -> ReturnRequest:
    """Finance agrees with the exchange's figures; after-sales staff are asked to sign (4.2.3)."""
    session, now = uow.session, uow.clock.now()
    request = await return_for_finance(session, actor, return_id)
    request.finance_review = "agreed"
    request.finance_reviewed_at, request.finance_reviewed_by_id = now, actor.id
    record_change(session, request, "finance_agreed", now, actor=actor)
    await step_done(session, request, ReturnDeadline.FINANCE_REVIEW, now, actor)
    review = open_step(session, request, rules.REVIEW, now)
    await notify_roles(
        session,
        [roles.AFTER_SALES],
        "return.ratio_inside",
        {
            **received_params(request),
            **ratio_params(request),
            "finance": actor.full_name,
            "due_at": as_deadline(review.due_at),
        },
        now=now,
        buttons=[[button("return.button.sign", SignReturn(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:review",
    )
    await uow.commit()
    return request


async def return_for_finance(session: AsyncSession, actor: User, return_id: int) -> ReturnRequest:
    """The return, if `actor` may review its figures now as finance: checked when a button is
    pressed and again, the row locked, when the review is recorded."""
    roles.require_role(actor.role_names, FINANCE_REVIEWERS)
    request = await load_return(session, return_id)
    LIFECYCLE.require(request, ReturnStatus.AWAITING_AFTER_SALES)
    if request.finance_review is not None:
        raise WrongState("return.already_reviewed", number=request.number)
    if waits_for_receipt(request):
        raise WrongState("return.awaiting_receipt", number=request.number)
    if not waits_for_finance(request):
        raise WrongState("return.no_finance_review", number=request.number)
    require_other_return_person(request, "finance_review", actor)
    return request


async def finance_disagrees(
    uow: UnitOfWork, actor: User, return_id: int, note: str
) -> ReturnRequest:
    """Finance does not agree with the figures, with its reason: the exchange is refused
    (一律不予批準), the customer told why, and after-sales may take it to the company leader as
    a special case (4.2.3)."""
    session, now = uow.session, uow.clock.now()
    request = await return_for_finance(session, actor, return_id)
    note = check_text(note, empty="return.empty_finance_note", limit=MAX_TEXT)
    request.finance_review, request.finance_review_note = "disagreed", note
    request.finance_reviewed_at, request.finance_reviewed_by_id = now, actor.id
    record_change(session, request, "finance_disagreed", now, actor=actor, after={"note": note})
    await step_done(session, request, ReturnDeadline.FINANCE_REVIEW, now, actor)
    LIFECYCLE.move(request, ReturnStatus.REFUSED)
    request.refused_at, request.refusal = now, "finance_disagreed"
    figures = {**ratio_params(request), "note": note}
    record_change(session, request, "refused", now, after={"refusal": request.refusal, **figures})
    reason = as_text("return.refusal.finance_disagreed", **figures)
    await tell_customer(
        session,
        request,
        "return.refused_to_customer",
        {"refusal": reason},
        now,
        buttons=[[button("return.button.ask_special", AskSpecialCase(return_id=request.id))]],
    )
    await notify_roles(
        session,
        [roles.AFTER_SALES],
        "return.finance_disagreed_staff",
        {**subject_params(request), "finance": actor.full_name, "note": note},
        now=now,
        buttons=[[button("return.button.to_leader", ForwardToLeader(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:review",
    )
    await uow.commit()
    return request


async def sign_return(uow: UnitOfWork, actor: User, return_id: int) -> ReturnRequest:
    """After-sales signs: an unsalable exchange inside the ratio is reviewed by after-sales staff
    once finance agreed with its figures (4.2.3), and the head's signature the warehouse needs
    comes with it when the head reviews; a quality return is signed by the after-sales head
    (4.2.4). A keyed request is signed only once its receipt is confirmed (4.2.2). The business
    head is asked next."""
    session, now = uow.session, uow.clock.now()
    request = await load_return(session, return_id)
    LIFECYCLE.require(request, ReturnStatus.AWAITING_AFTER_SALES)
    if waits_for_receipt(request):
        raise WrongState("return.awaiting_receipt", number=request.number)
    unsalable = request.reason == ReturnReason.UNSALABLE
    if unsalable and request.finance_review != "agreed":
        raise WrongState("return.awaiting_finance", number=request.number)
    if unsalable and request.finance_reviewed_by_id == actor.id:
        # one person, one seat: finance's review and after-sales' are two departments' steps
        raise NotAllowed("return.finance_cannot_sign", number=request.number)
    if unsalable:
        add_signature(session, request, Slot.REVIEW, actor, now)
        if roles.AFTER_SALES_HEAD in actor.role_names:
            add_signature(session, request, Slot.AFTER_SALES, actor, now)
    else:
        add_signature(session, request, Slot.AFTER_SALES, actor, now)
    LIFECYCLE.move(request, ReturnStatus.AWAITING_BUSINESS)
    await step_done(session, request, ReturnDeadline.REVIEW, now, actor)
    approval = open_step(session, request, rules.APPROVAL, now)
    decisions = [button("return.button.approve", ApproveReturn(return_id=request.id))]
    if unsalable:  # 4.2.3: the business head approves, or does not
        decisions.append(button("return.button.refuse", RefuseReturn(return_id=request.id)))
    await notify_roles(
        session,
        [roles.BUSINESS_HEAD],
        "return.unsalable_to_approve" if unsalable else "return.quality_to_business",
        {**subject_params(request), **_figures(request), "due_at": as_deadline(approval.due_at)},
        now=now,
        buttons=[decisions],
        dedupe_prefix=f"return:{request.id}:business",
    )
    await uow.commit()
    return request


async def approve_return(
    uow: UnitOfWork, actor: User, return_id: int, *, timezone: ZoneInfo
) -> ReturnRequest:
    """The business head approves and signs: the customer is told to send the goods back
    (for a quality return the business department tells them, 4.2.4). On a special case the
    leader approved, the same button countersigns for the warehouse."""
    session, now = uow.session, uow.clock.now()
    request = await load_return(session, return_id)
    if request.status in BEFORE_BOOKING_IN and Slot.BUSINESS not in signed_slots(request):
        add_signature(session, request, Slot.BUSINESS, actor, now)
        await tell_warehouse_when_signed(session, request, now)
        await uow.commit()
        return request
    LIFECYCLE.require(request, ReturnStatus.AWAITING_BUSINESS)
    add_signature(session, request, Slot.BUSINESS, actor, now)
    await step_done(session, request, ReturnDeadline.APPROVAL, now, actor)
    await _approved(session, request, now, timezone, actor)
    await uow.commit()
    return request


async def countersign_return(uow: UnitOfWork, actor: User, return_id: int) -> ReturnRequest:
    """The after-sales head countersigns an unsalable exchange (or the leader's special case)
    for the warehouse, which books goods in only against the head's signature (4.2.7); any
    time from after-sales' review to booking in."""
    session, now = uow.session, uow.clock.now()
    request = await load_return(session, return_id)
    LIFECYCLE.require(request, ReturnStatus.AWAITING_BUSINESS, *BEFORE_BOOKING_IN)
    add_signature(session, request, Slot.AFTER_SALES, actor, now)
    await tell_warehouse_when_signed(session, request, now)
    await uow.commit()
    return request


async def return_for_refusal(session: AsyncSession, actor: User, return_id: int) -> ReturnRequest:
    """The return, if `actor` may refuse it now: the business head, on an unsalable exchange
    waiting for his approval (4.2.3). Checked when the button is pressed and again, the row
    locked, when the refusal is recorded."""
    roles.require_role(actor.role_names, frozenset({roles.BUSINESS_HEAD}))
    request = await load_return(session, return_id)
    LIFECYCLE.require(request, ReturnStatus.AWAITING_BUSINESS)
    if request.reason != ReturnReason.UNSALABLE:
        raise WrongState("return.not_refusable", number=request.number)
    return request


def check_refusal(reason: str) -> str:
    """The business head's reason for refusing, as the customer will read it."""
    return check_text(reason, empty="return.empty_refusal", limit=MAX_TEXT)


async def refuse_return(uow: UnitOfWork, actor: User, return_id: int, reason: str) -> ReturnRequest:
    """The business head does not approve (不批準) an unsalable exchange: final, with the reason,
    which goes to the customer (耐心向客戶說明) and to after-sales, who signed it."""
    session, now = uow.session, uow.clock.now()
    request = await return_for_refusal(session, actor, return_id)
    reason = check_refusal(reason)
    LIFECYCLE.move(request, ReturnStatus.REJECTED)
    await step_done(session, request, ReturnDeadline.APPROVAL, now, actor)
    request.business_refusal = reason
    request.business_refused_by_id, request.business_refused_at = actor.id, now
    record_change(session, request, "business_refused", now, actor=actor, after={"note": reason})
    await tell_customer(session, request, "return.business_refused", {"refusal": reason}, now)
    await notify_roles(
        session,
        [roles.AFTER_SALES],
        "return.business_refused_staff",
        {**subject_params(request), "refusal": reason, "head": actor.full_name},
        now=now,
        dedupe_prefix=f"return:{request.id}:business-refused",
    )
    await uow.commit()
    return request


async def _approved(
    session: AsyncSession,
    request: ReturnRequest,
    now: dt.datetime,
    timezone: ZoneInfo,
    actor: User,
) -> None:
    LIFECYCLE.move(request, ReturnStatus.APPROVED)
    record_change(session, request, "approved", now, actor=actor)
    await tell_customer(session, request, "return.send_goods", {}, now)
    await notify_roles(
        session,
        [roles.AFTER_SALES_HEAD],
        "return.await_goods",
        subject_params(request),
        now=now,
        buttons=[[button("return.button.arrived", GoodsArrived(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:await-goods",
    )
    if Slot.AFTER_SALES not in signed_slots(request):
        await notify_roles(
            session,
            [roles.AFTER_SALES_HEAD],
            "return.to_countersign",
            subject_params(request),
            now=now,
            buttons=[
                [button("return.button.countersign", CountersignReturn(return_id=request.id))]
            ],
            dedupe_prefix=f"return:{request.id}:countersign",
        )
    if request.reason == ReturnReason.UNSALABLE:
        await _watch_ratio(session, request, now, timezone)


async def _require_still_returnable(session: AsyncSession, request: ReturnRequest) -> None:
    """A special case does not count while it waits for the leader, so other returns may have
    taken its lots meanwhile: approving it counts it again, so each line is checked against
    what is left now, under the organisation's lock (as filing is)."""
    await session.get(Organisation, request.organisation_id, with_for_update=True)
    counted = ReturnDraft(request.organisation_id, request.reason)
    for line in request.lines:
        if line.batch_id is None:
            continue
        left = await returnable_quantity(session, counted, line.batch_id)
        if line.quantity > left:
            returned = await returned_quantity(session, request.organisation_id, line.batch_id)
            raise WrongState(
                "return.special_case_over_left",
                number=request.number,
                lot=line.batch.lot_number if line.batch else "",
                quantity=line.quantity,
                returned=returned,
                left=max(left, 0),
            )
        counted.lines.append({"batch_id": line.batch_id, "quantity": line.quantity})


async def _watch_ratio(
    session: AsyncSession, request: ReturnRequest, now: dt.datetime, timezone: ZoneInfo
) -> None:
    """When this exchange takes the organisation's ratio past its limit, finance, the business
    head and the company leader hear of it once, with the figures (3.8: finance watches the
    ratios, 發現問題即刻知會經營部負責人和上報公司領導人)."""
    organisation = request.organisation
    amount = request.total_amount or Decimal(0)
    after = await check_ratio(session, organisation, amount, now, timezone, excluding=request.id)
    if after.limit is None or after.ratio is None or after.inside:
        return
    before = await check_ratio(
        session, organisation, Decimal(0), now, timezone, excluding=request.id
    )
    if before.ratio is not None and not before.inside:
        return  # it was past the limit already: finance heard then
    record_change(session, request, "ratio_passed", now, after=after.as_params())
    await notify_roles(
        session,
        [roles.FINANCE, roles.BUSINESS_HEAD, roles.COMPANY_LEADER],
        "return.ratio_passed",
        {**subject_params(request), **after.as_params(), "code": organisation.code},
        now=now,
        dedupe_prefix=f"return:{request.id}:ratio-passed",
    )


def _figures(request: ReturnRequest) -> dict[str, Any]:
    """The ratio check kept on the record, as message parameters."""
    if request.ratio_inside is None:
        return {"check": ""}
    return {"check": as_text("return.check_line", **ratio_params(request))}


def special_case_possible(request: ReturnRequest) -> bool:
    """An unsalable exchange refused on its ratio or time limit, or by finance's review: the
    company leader may still approve it as a special case (4.2.3)."""
    return (
        request.status == ReturnStatus.REFUSED
        and request.reason == ReturnReason.UNSALABLE
        and (request.ratio_inside is False or request.finance_review == "disagreed")
    )


async def return_for_special_request(
    session: AsyncSession, actor: User, return_id: int, *, lock: bool = False
) -> ReturnRequest:
    """The refused exchange of the customer's own organisation it may ask a special case for,
    once."""
    roles.require_role(actor.role_names, frozenset({roles.CUSTOMER}))
    request = await load_return(session, return_id, lock=lock)
    if actor.organisation_id != request.organisation_id:
        raise NotFound("return.not_found")
    if not special_case_possible(request):
        raise WrongState("return.not_special_case", number=request.number)
    asked = await session.scalar(
        select(TimelineEvent.id).where(
            TimelineEvent.subject_type == SUBJECT,
            TimelineEvent.subject_id == request.id,
            TimelineEvent.action == "special_case_asked",
        )
    )
    if asked is not None:
        raise WrongState("return.special_case_already_asked", number=request.number)
    return request


async def ask_special_case(
    uow: UnitOfWork, actor: User, return_id: int, circumstance: str
) -> ReturnRequest:
    """The customer states its special circumstance: kept on the record, and after-sales is
    asked whether to report it to the company leader (如客戶屬特殊情況…報經公司領導人批準)."""
    session, now = uow.session, uow.clock.now()
    request = await return_for_special_request(session, actor, return_id, lock=True)
    circumstance = check_text(circumstance, empty="return.empty_circumstance", limit=MAX_TEXT)
    record_change(
        session, request, "special_case_asked", now, actor=actor, after={"note": circumstance}
    )
    await notify_roles(
        session,
        [roles.AFTER_SALES],
        "return.special_case_asked",
        {**subject_params(request), "customer": actor.full_name, "note": circumstance},
        now=now,
        buttons=[[button("return.button.to_leader", ForwardToLeader(return_id=request.id))]],
        dedupe_prefix=f"return:{request.id}:special-asked",
    )
    await uow.commit()
    return request


async def forward_to_leader(uow: UnitOfWork, actor: User, return_id: int) -> ReturnRequest:
    """After-sales takes a refused exchange to the company leader as a special case (特殊情況).
    It signs nothing: the after-sales head countersigns once the leader has approved."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, frozenset({roles.AFTER_SALES, roles.AFTER_SALES_HEAD}))
    request = await load_return(session, return_id)
    LIFECYCLE.require(request, ReturnStatus.REFUSED)
    if not special_case_possible(request):
        raise WrongState("return.not_special_case", number=request.number)
    LIFECYCLE.move(request, ReturnStatus.SPECIAL_CASE)
    record_change(session, request, "sent_to_leader", now, actor=actor)
    await notify_roles(
        session,
        [roles.COMPANY_LEADER],
        "return.special_case",
        {
            **subject_params(request),
            **_figures(request),
            "refusal": as_text(
                f"return.refusal.{request.refusal}",
                **ratio_params(request),
                note=request.finance_review_note or "",
            ),
        },
        now=now,
        buttons=[
            [
                button(
                    f"return.button.leader_{decision}",
                    DecideSpecialCase(return_id=request.id, decision=decision),
                )
                for decision in LEADER_DECISIONS
            ]
        ],
        dedupe_prefix=f"return:{request.id}:leader",
    )
    await uow.commit()
    return request


async def return_for_decision(
    session: AsyncSession, actor: User, return_id: int, *, lock: bool = False
) -> ReturnRequest:
    """The special case the company leader may decide now (asked before the decision is
    confirmed, and again under the row lock when it is)."""
    roles.require_role(actor.role_names, frozenset({roles.COMPANY_LEADER}))
    request = await load_return(session, return_id, lock=lock)
    LIFECYCLE.require(request, ReturnStatus.SPECIAL_CASE)
    return request


async def decide_special_case(
    uow: UnitOfWork, actor: User, return_id: int, decision: str, *, timezone: ZoneInfo
) -> ReturnRequest:
    """The company leader's decision on a special case: final, and recorded. Approved, it goes
    on as any approved exchange; the business head still signs for the warehouse."""
    session, now = uow.session, uow.clock.now()
    if decision not in LEADER_DECISIONS:
        raise InvalidInput("return.bad_decision")
    request = await return_for_decision(session, actor, return_id, lock=True)
    if decision == "approve":
        await _require_still_returnable(session, request)
    request.leader_decision = "approved" if decision == "approve" else "refused"
    request.leader_by_id, request.leader_at = actor.id, now
    record_change(
        session,
        request,
        "leader_decided",
        now,
        actor=actor,
        after={"decision": request.leader_decision},
    )
    if decision == "approve":
        await _approved(session, request, now, timezone, actor)
        await notify_roles(
            session,
            [roles.BUSINESS_HEAD],
            "return.countersign",
            subject_params(request),
            now=now,
            buttons=[[button("return.button.approve", ApproveReturn(return_id=request.id))]],
            dedupe_prefix=f"return:{request.id}:countersign",
        )
    else:
        LIFECYCLE.move(request, ReturnStatus.REJECTED)
        await tell_customer(session, request, "return.leader_refused", {}, now)
    await notify_roles(
        session,
        [roles.AFTER_SALES],
        "return.leader_approved_staff" if decision == "approve" else "return.leader_refused_staff",
        subject_params(request),
        now=now,
        dedupe_prefix=f"return:{request.id}:leader-decided",
    )
    await uow.commit()
    return request
