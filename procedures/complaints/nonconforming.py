"""What a nonconforming finding sets in motion besides the return, each a tracked step.

The warehouse confirms the stop of outbound and the clear label (明顯標志), the business head
the stop of sales; every other buyer of the product is told to suspend sales, and one without a
chat contact becomes a task for after-sales; the supplier's quality query is recorded as sent
only when a supplier contact received it, and its answer is recorded and chased; quality notes
its contacts with the manufacturer for technical support; the goods are handed over to the
nonconforming-goods procedure (不合格品管理工作程序). Each step has a deadline where the seed
implies one, and the complaint closes when the steps are done (closing.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints import rules
from procedures.complaints.actions import (
    AcknowledgeSuspension,
    BeginHandoff,
    BeginSupplierAnswer,
    ConfirmBuyerTold,
    ConfirmGoodsLabelled,
    ConfirmOutboundStopped,
    ConfirmSalesStopped,
)
from procedures.complaints.closing import close_if_done
from procedures.complaints.common import (
    SUBJECT,
    load_complaint,
    open_complaint_deadline,
    subject_params,
)
from procedures.complaints.rules import (
    HANDOFF_STAFF,
    QUALITY_STAFF,
    ComplaintDeadline,
    ComplaintStatus,
)
from procedures.kernel import roles
from procedures.kernel.deadlines import ClosedAs, close_deadline, meet_deadline
from procedures.kernel.errors import InvalidInput, NotFound, WrongState
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
from procedures.kernel.rules import DeadlineRule
from procedures.kernel.text_input import MAX_TEXT, check_text
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from storage.models import (
    Batch,
    BatchHold,
    BuyerNoticeTask,
    Complaint,
    Deadline,
    Organisation,
    Shipment,
    User,
)

HANDOFF_OUTCOMES: tuple[
    Literal["quarantined", "returned_to_supplier", "destroyed", "other"], ...
] = ("quarantined", "returned_to_supplier", "destroyed", "other")
TOLD_HOW: tuple[Literal["phone", "email", "visit"], ...] = ("phone", "email", "visit")
# how a buyer with a chat contact was told: it confirmed, with the notice's button
ACKNOWLEDGED = "chat"


@dataclass(frozen=True)
class HoldStep:
    """A confirmation of the hold: the columns that keep it, and its deadline rule (whose owner
    gives it)."""

    column: str
    deadline: DeadlineRule


HOLD_STEPS = {
    "outbound_stopped": HoldStep("outbound_stopped", rules.OUTBOUND_STOP),
    "labelled": HoldStep("labelled", rules.GOODS_LABELLED),
    "sales_stopped": HoldStep("sales_stopped", rules.SALES_STOP),
}


async def start_nonconforming_steps(
    session: AsyncSession, complaint: Complaint, hold: BatchHold | None, now: dt.datetime
) -> None:
    """Tell the warehouse and the business head what to stop, each with the buttons that
    confirm it and a deadline; the goods' hand-off is due too."""
    # each notice names the deadlines of the steps it starts: no reminder is the first word
    params = {
        **subject_params(complaint),
        "due_at": as_deadline(now + rules.CONFIRM_WINDOW),
        "handoff_due": as_deadline(rules.NONCONFORMING_HANDOFF.due(now)),
    }
    warehouse_buttons = [
        [button("complaint.button.handoff", BeginHandoff(complaint_id=complaint.id))]
    ]
    business_buttons = None
    if hold is not None:
        for step in HOLD_STEPS.values():
            open_complaint_deadline(session, complaint, step.deadline, now)
        warehouse_buttons = [
            [
                button(
                    "complaint.button.outbound_stopped",
                    ConfirmOutboundStopped(complaint_id=complaint.id),
                )
            ],
            [button("complaint.button.labelled", ConfirmGoodsLabelled(complaint_id=complaint.id))],
            *warehouse_buttons,
        ]
        business_buttons = [
            [
                button(
                    "complaint.button.sales_stopped", ConfirmSalesStopped(complaint_id=complaint.id)
                )
            ]
        ]
    open_complaint_deadline(
        session,
        complaint,
        rules.NONCONFORMING_HANDOFF,
        now,
    )
    await notify_roles(
        session,
        [roles.WAREHOUSE],
        "complaint.nonconforming_warehouse",
        params,
        now=now,
        buttons=warehouse_buttons,
        dedupe_prefix=f"complaint:{complaint.id}:nc-warehouse",
    )
    await notify_roles(
        session,
        [roles.BUSINESS_HEAD],
        "complaint.nonconforming_business",
        params,
        now=now,
        buttons=business_buttons,
        dedupe_prefix=f"complaint:{complaint.id}:nc-business",
    )


async def _confirm_hold_step(
    uow: UnitOfWork, actor: User, complaint_id: int, step: HoldStep
) -> Complaint:
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, frozenset({step.deadline.owner}))
    complaint = await load_complaint(session, complaint_id)
    hold = await session.scalar(
        select(BatchHold).where(BatchHold.complaint_id == complaint.id).with_for_update()
    )
    if complaint.verification_result != ComplaintStatus.NONCONFORMING or hold is None:
        raise WrongState("complaint.not_nonconforming", number=complaint.number)
    if getattr(hold, f"{step.column}_at") is not None:
        raise WrongState("complaint.already_confirmed", number=complaint.number)
    setattr(hold, f"{step.column}_at", now)
    setattr(hold, f"{step.column}_by_id", actor.id)
    record_change(
        session, complaint, "hold_confirmed", now, actor=actor, after={"step": step.column}
    )
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        kind=step.deadline.kind,
        now=now,
        by=actor,
    )
    await close_if_done(session, complaint, now)
    await uow.commit()
    return complaint


async def confirm_outbound_stopped(uow: UnitOfWork, actor: User, complaint_id: int) -> Complaint:
    """The warehouse confirms it stopped all outbound of the held goods (暫停該產品的出庫)."""
    return await _confirm_hold_step(uow, actor, complaint_id, HOLD_STEPS["outbound_stopped"])


async def confirm_goods_labelled(uow: UnitOfWork, actor: User, complaint_id: int) -> Complaint:
    """The warehouse confirms the held goods are clearly labelled (明顯標志)."""
    return await _confirm_hold_step(uow, actor, complaint_id, HOLD_STEPS["labelled"])


async def confirm_sales_stopped(uow: UnitOfWork, actor: User, complaint_id: int) -> Complaint:
    """The business head confirms the product is no longer sold (停止該醫療器械的銷售)."""
    return await _confirm_hold_step(uow, actor, complaint_id, HOLD_STEPS["sales_stopped"])


# --- other buyers ------------------------------------------------------------------------------


async def other_buyers(
    session: AsyncSession, complaint: Complaint
) -> list[tuple[Organisation, list[User]]]:
    """Every other buyer of the complaint's product, with its chat contacts (maybe none)."""
    if complaint.product_id is None:  # nobody is known to have bought an unknown product
        return []
    organisations = await session.scalars(
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
    return [
        (
            organisation,
            await users_with_roles(session, [roles.CUSTOMER], organisation_ids=[organisation.id]),
        )
        for organisation in list(organisations)
    ]


async def supplier_of(
    session: AsyncSession, complaint: Complaint
) -> tuple[Organisation | None, list[User]]:
    """The product's supplier and its chat contacts (none for an unknown product)."""
    supplier_id = complaint.product.supplier_id if complaint.product is not None else None
    if supplier_id is None:
        return None, []
    supplier = await session.get(Organisation, supplier_id)
    return supplier, await users_with_roles(
        session, [roles.SUPPLIER], organisation_ids=[supplier_id]
    )


async def suspend_sales_elsewhere(
    session: AsyncSession, complaint: Complaint, now: dt.datetime
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Tell every other buyer of the product to suspend its sales, one message per contact; a
    buyer with no chat contact becomes a task for after-sales with a deadline."""
    params = subject_params(complaint)
    reached, unreachable = [], []
    for organisation, contacts in await other_buyers(session, complaint):
        if contacts:
            # the buyer confirms it suspended sales; not confirmed in time, after-sales is
            # reminded, then alerted, to tell it another way (the task's deadline)
            task = await _buyer_task(session, complaint, organisation, now, reached=True)
            await notify_users(
                session,
                contacts,
                "complaint.suspend_sales",
                params,
                now=now,
                buttons=[
                    [
                        button(
                            "complaint.button.sales_suspended",
                            AcknowledgeSuspension(task_id=task.id),
                        )
                    ]
                ],
                dedupe_prefix=f"complaint:{complaint.id}:suspend:o{organisation.id}",
            )
            reached.append(organisation.code)
        else:
            unreachable.append(organisation.code)
            await _buyer_task(session, complaint, organisation, now)
    record_change(
        session,
        complaint,
        "sales_suspension_sent",
        now,
        after={"organisations": reached, "without_contact": unreachable},
    )
    return tuple(reached), tuple(unreachable)


async def _buyer_task(
    session: AsyncSession,
    complaint: Complaint,
    organisation: Organisation,
    now: dt.datetime,
    *,
    reached: bool = False,
) -> BuyerNoticeTask:
    """The buyer's notice as a task with its deadline; one without a chat contact (not
    `reached`) is at once after-sales', to tell another way."""
    due = rules.BUYER_NOTICE.due(now)
    deadline = open_complaint_deadline(
        session,
        complaint,
        rules.BUYER_NOTICE,
        now,
        due,
        label=f"{complaint.number} {organisation.code}",
    )
    await session.flush()
    task = BuyerNoticeTask(
        complaint_id=complaint.id,
        organisation_id=organisation.id,
        deadline_id=deadline.id,
        created_at=now,
    )
    session.add(task)
    await session.flush()
    if reached:
        return task
    await notify_roles(
        session,
        [roles.AFTER_SALES],
        "complaint.buyer_task",
        {
            **subject_params(complaint),
            "buyer": organisation.name,
            "code": organisation.code,
            "contact": " ".join(
                filter(None, [organisation.contact_name, organisation.contact_phone])
            ),
            "due_at": as_deadline(due),
        },
        now=now,
        buttons=[
            [
                button(f"complaint.told_how.{how}", ConfirmBuyerTold(task_id=task.id, how=how))
                for how in TOLD_HOW
            ]
        ],
        dedupe_prefix=f"complaint:{complaint.id}:task:o{organisation.id}",
    )
    return task


@dataclass(frozen=True)
class BuyerTold:
    complaint: Complaint
    task: BuyerNoticeTask


async def confirm_buyer_told(uow: UnitOfWork, actor: User, task_id: int, how: str) -> BuyerTold:
    """After-sales confirms how (phone, e-mail, visit) a buyer without a chat contact was told
    to suspend sales; the moment of the confirmation is when."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, frozenset({roles.AFTER_SALES, roles.AFTER_SALES_HEAD}))
    if how not in TOLD_HOW:
        raise InvalidInput("complaint.bad_told_how")
    task = await session.scalar(
        select(BuyerNoticeTask).where(BuyerNoticeTask.id == task_id).with_for_update()
    )
    if task is None:
        raise NotFound("complaint.not_found")
    complaint = await load_complaint(session, task.complaint_id)
    await session.refresh(task, ["organisation"])
    if task.told_at is not None:
        raise WrongState("complaint.buyer_already_told", code=task.organisation.code)
    await _record_told(session, complaint, task, actor, how, now)
    await close_if_done(session, complaint, now)
    await uow.commit()
    return BuyerTold(complaint, task)


async def acknowledge_suspension(uow: UnitOfWork, actor: User, task_id: int) -> BuyerTold:
    """A contact of another buyer confirms its sales of the product are suspended: who and
    when are recorded, the buyer's notice deadline is met, and every copy of the notice its
    colleagues got says so."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, frozenset({roles.CUSTOMER}))
    task = await session.scalar(
        select(BuyerNoticeTask).where(BuyerNoticeTask.id == task_id).with_for_update()
    )
    if task is None or task.organisation_id != actor.organisation_id:
        raise NotFound("complaint.not_found")
    complaint = await load_complaint(session, task.complaint_id)
    await session.refresh(task, ["organisation"])
    if task.told_at is not None:
        raise WrongState("complaint.buyer_already_told", code=task.organisation.code)
    await _record_told(session, complaint, task, actor, ACKNOWLEDGED, now)
    await settle_notice(
        session,
        [f"complaint:{complaint.id}:suspend:o{task.organisation_id}"],
        "notice.done",
        {"by": actor.full_name, "at": as_time(now), "step": as_text("notice.step.suspended")},
        now=now,
    )
    await close_if_done(session, complaint, now)
    await uow.commit()
    return BuyerTold(complaint, task)


async def buyer_tasks_of(session: AsyncSession, complaint_id: int) -> list[BuyerNoticeTask]:
    rows = await session.scalars(
        select(BuyerNoticeTask)
        .where(BuyerNoticeTask.complaint_id == complaint_id)
        .order_by(BuyerNoticeTask.id)
    )
    tasks = list(rows)
    for task in tasks:
        await session.refresh(task, ["organisation"])
    return tasks


# --- the supplier's quality query and the manufacturer's technical support ------------------


async def query_supplier(
    session: AsyncSession, complaint: Complaint, now: dt.datetime, answer_within: dt.timedelta
) -> int:
    """Send the supplier the quality query (質量查詢). It counts as sent only when a supplier
    contact received it; otherwise quality is told to send it another way. Either way its
    answer is due and chased. Returns how many supplier contacts received it."""
    params = subject_params(complaint)
    supplier, suppliers = await supplier_of(session, complaint)
    supplier_id = supplier.id if supplier is not None else None
    due = now + answer_within
    open_complaint_deadline(session, complaint, rules.SUPPLIER_ANSWER, now, due)
    if suppliers:
        complaint.supplier_query_at = now
        await notify_users(
            session,
            suppliers,
            "complaint.supplier_query",
            {**params, "due_at": as_deadline(due)},
            now=now,
            buttons=[
                [button("complaint.button.answer", BeginSupplierAnswer(complaint_id=complaint.id))]
            ],
            dedupe_prefix=f"complaint:{complaint.id}:supplier",
        )
    else:
        await notify_roles(
            session,
            [roles.QUALITY],
            "complaint.supplier_unreachable",
            {**params, "due_at": as_deadline(due), "supplier": supplier.code if supplier else "—"},
            now=now,
            dedupe_prefix=f"complaint:{complaint.id}:supplier-unreachable",
        )
    record_change(
        session,
        complaint,
        "supplier_queried" if suppliers else "supplier_query_unsent",
        now,
        after={"supplier_id": supplier_id, "recipients": len(suppliers)},
    )
    return len(suppliers)


def check_answer(text: str) -> str:
    return check_text(text, empty="complaint.empty_answer", limit=MAX_TEXT)


async def complaint_for_supplier_answer(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> Complaint:
    """The complaint, if `actor` may record the supplier's answer now: a contact of the
    product's supplier, or quality on its behalf; asked before the dialogue and at commit."""
    complaint = await load_complaint(session, complaint_id, lock=lock)
    supplier_id = complaint.product.supplier_id if complaint.product is not None else None
    speaks_for_supplier = (
        roles.SUPPLIER in actor.role_names
        and supplier_id is not None
        and actor.organisation_id == supplier_id
    )
    if not speaks_for_supplier:
        roles.require_role(actor.role_names, QUALITY_STAFF)
    if complaint.verification_result != ComplaintStatus.NONCONFORMING:
        raise WrongState("complaint.not_nonconforming", number=complaint.number)
    if complaint.supplier_answer is not None:
        raise WrongState("complaint.already_answered", number=complaint.number)
    return complaint


async def record_supplier_answer(
    uow: UnitOfWork, actor: User, complaint_id: int, answer: str
) -> Complaint:
    """The supplier's answer to the quality query, given by the supplier or recorded by quality
    on its behalf; quality is told."""
    session, now = uow.session, uow.clock.now()
    complaint = await complaint_for_supplier_answer(session, actor, complaint_id, lock=True)
    answer = check_answer(answer)
    complaint.supplier_answer, complaint.supplier_answer_at = answer, now
    complaint.supplier_answer_by_id = actor.id
    record_change(
        session, complaint, "supplier_answered", now, actor=actor, after={"answer": answer}
    )
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        kind=ComplaintDeadline.SUPPLIER_ANSWER,
        now=now,
        by=actor,
    )
    await notify_roles(
        session,
        sorted(QUALITY_STAFF),
        "complaint.supplier_answered",
        {**subject_params(complaint), "answer": answer},
        now=now,
        dedupe_prefix=f"complaint:{complaint.id}:supplier-answer",
    )
    await uow.commit()
    return complaint


async def record_technical_support(
    uow: UnitOfWork, actor: User, complaint_id: int, notes: str
) -> Complaint:
    """Quality contacted the manufacturer (生產單位) for technical support: when (now) and what,
    on the complaint's timeline; as often as it happens."""
    session, now = uow.session, uow.clock.now()
    roles.require_role(actor.role_names, QUALITY_STAFF)
    complaint = await load_complaint(session, complaint_id)
    notes = check_text(notes, empty="complaint.empty_support_notes", limit=MAX_TEXT)
    record_change(session, complaint, "technical_support", now, actor=actor, after={"notes": notes})
    await uow.commit()
    return complaint


# --- the hand-off to the nonconforming-goods procedure --------------------------------------


async def complaint_for_handoff(
    session: AsyncSession, actor: User, complaint_id: int, *, lock: bool = False
) -> Complaint:
    """The complaint, if `actor` may record its goods' hand-off now (before the dialogue, and
    again, locking the row, when it is recorded)."""
    roles.require_role(actor.role_names, HANDOFF_STAFF)
    complaint = await load_complaint(session, complaint_id, lock=lock)
    if complaint.verification_result != ComplaintStatus.NONCONFORMING:
        raise WrongState("complaint.not_nonconforming", number=complaint.number)
    if complaint.handoff_at is not None:
        raise WrongState("complaint.already_handed_off", number=complaint.number)
    return complaint


async def record_handoff(
    uow: UnitOfWork, actor: User, complaint_id: int, outcome: str, notes: str
) -> Complaint:
    """The nonconforming goods were handed over to the nonconforming-goods procedure
    (按《不合格品管理工作程序》處理): who took them, when, with what outcome and notes."""
    session, now = uow.session, uow.clock.now()
    complaint = await complaint_for_handoff(session, actor, complaint_id, lock=True)
    if outcome not in HANDOFF_OUTCOMES:
        raise InvalidInput("complaint.bad_handoff_outcome")
    notes = check_text(notes, empty="complaint.empty_handoff_notes", limit=MAX_TEXT)
    complaint.handoff_at, complaint.handoff_by_id = now, actor.id
    complaint.handoff_outcome, complaint.handoff_notes = outcome, notes
    record_change(
        session,
        complaint,
        "handed_off",
        now,
        actor=actor,
        after={"outcome": outcome, "notes": notes},
    )
    await meet_deadline(
        session,
        subject_type=SUBJECT,
        subject_id=complaint.id,
        kind=ComplaintDeadline.NONCONFORMING_HANDOFF,
        now=now,
        by=actor,
    )
    await close_if_done(session, complaint, now)
    await uow.commit()
    return complaint


async def _record_told(
    session: AsyncSession,
    complaint: Complaint,
    task: BuyerNoticeTask,
    actor: User,
    how: str,
    now: dt.datetime,
) -> None:
    """The buyer was told (or confirmed itself): who, how and when, on the record and its
    deadline met."""
    task.told_at, task.told_by_id, task.told_how = now, actor.id, how
    record_change(
        session,
        complaint,
        "buyer_told",
        now,
        actor=actor,
        after={"code": task.organisation.code, "how": how},
    )
    deadline = await session.get(Deadline, task.deadline_id)
    if deadline is not None and deadline.met_at is None:
        close_deadline(deadline, now, ClosedAs.MET, by=actor)
