"""Recording a consumer complaint (顧客投訴記錄表): products to choose, filing it, its first
deadline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.consumer_complaints import rules
from procedures.consumer_complaints.actions import (
    JudgeConsumerComplaint,
)
from procedures.consumer_complaints.common import (
    NAME_LENGTH,
    PRODUCT_BUTTONS,
    PRODUCT_TEXT_LENGTH,
    SUBJECT,
    ConsumerComplaintDraft,
    _params,
    check_contact,
    check_description,
)
from procedures.consumer_complaints.policy import ConsumerComplaintPolicy
from procedures.consumer_complaints.rules import FILING_STAFF, ConsumerComplaintStatus
from procedures.kernel import roles
from procedures.kernel.deadlines import open_deadline
from procedures.kernel.errors import InvalidInput
from procedures.kernel.numbering import next_number
from procedures.kernel.outbox import as_deadline, button, notify_roles
from procedures.kernel.photos import add_photos, keep_label
from procedures.kernel.rules import DeadlineRule
from procedures.kernel.text_input import check_text, cut_text
from procedures.kernel.timeline import record_change
from procedures.kernel.unit_of_work import UnitOfWork
from procedures.masterdata.queries import find_product
from storage.models import Batch, ConsumerComplaint, Product, User


async def products_to_choose(session: AsyncSession) -> list[Product]:
    """The products offered as buttons; any other is typed (and kept as typed if unknown)."""
    rows = await session.scalars(select(Product).order_by(Product.code).limit(PRODUCT_BUTTONS))
    return list(rows)


async def product_of(session: AsyncSession, text: str) -> tuple[int | None, str | None]:
    """(product id, None) for a product of the master data, else (None, the text as typed)."""
    product = await find_product(session, text)
    if product is not None:
        return product.id, None
    return None, check_text(text, empty="consumer.empty_product", limit=PRODUCT_TEXT_LENGTH)


# --- filing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilingOutcome:
    complaint: ConsumerComplaint
    answer_due: dt.datetime


async def file_consumer_complaint(
    uow: UnitOfWork,
    actor: User,
    draft: ConsumerComplaintDraft,
) -> FilingOutcome:
    """Record the complaint (a consumer's own in the chat, or a call after-sales took), start
    the first answer's deadline and give after-sales the button to judge it."""
    session, now = uow.session, uow.clock.now()
    if draft.channel == "chat":
        roles.require_role(actor.role_names, frozenset({roles.CONSUMER}))
    elif draft.channel == "phone":
        roles.require_role(actor.role_names, FILING_STAFF)
    else:
        raise InvalidInput("consumer.incomplete")
    if draft.product_id is None and draft.product_text is None:
        raise InvalidInput("consumer.incomplete")
    product = await session.get(Product, draft.product_id) if draft.product_id else None
    if draft.product_id is not None and product is None:
        raise InvalidInput("consumer.incomplete")
    batch = await session.get(Batch, draft.batch_id) if draft.batch_id else None
    if draft.batch_id is not None and (
        batch is None or product is None or batch.product_id != product.id
    ):
        raise InvalidInput("consumer.incomplete")
    by_consumer = draft.channel == "chat"
    consumer_complaint = ConsumerComplaint(
        number=await next_number(session, "CC", now.year),
        status=ConsumerComplaintStatus.OPEN,
        channel=draft.channel,
        consumer_id=actor.id if by_consumer else None,
        consumer_name=cut_text(draft.consumer_name or actor.full_name, NAME_LENGTH)
        if by_consumer
        else cut_text(draft.consumer_name, NAME_LENGTH),
        contact=check_contact(draft.contact),
        product_id=product.id if product else None,
        batch_id=batch.id if batch else None,
        product_text=None
        if product
        else check_text(
            draft.product_text or "", empty="consumer.empty_product", limit=PRODUCT_TEXT_LENGTH
        ),
        description=check_description(draft.description or ""),
        filed_by_id=actor.id,
        received_at=now,
    )
    if not consumer_complaint.consumer_name:
        raise InvalidInput("consumer.empty_consumer")
    session.add(consumer_complaint)
    await session.flush()
    await session.refresh(consumer_complaint, ["product", "batch"])
    add_photos(session, SUBJECT, consumer_complaint.id, "intake", draft.photo_file_ids, actor, now)
    record_change(
        session,
        consumer_complaint,
        "filed",
        now,
        actor=actor,
        after={
            "number": consumer_complaint.number,
            "channel": consumer_complaint.channel,
            "product": consumer_complaint.product_label,
            "lot": batch.lot_number if batch else None,
            "photos": len(draft.photo_file_ids),
        },
    )
    keep_label(session, consumer_complaint, draft.label, actor, now, batch_id=draft.batch_id)
    due = now + uow.policy(ConsumerComplaintPolicy).answer_within
    _open(session, consumer_complaint, rules.FIRST_ANSWER, now, due)
    await notify_roles(
        session,
        [roles.AFTER_SALES],
        "consumer.new_for_after_sales",
        {
            **_params(consumer_complaint),
            "description": consumer_complaint.description,
            "photos": len(draft.photo_file_ids),
            "due_at": as_deadline(due),
        },
        now=now,
        buttons=[[button("consumer.button.judge", JudgeConsumerComplaint(consumer_complaint.id))]],
        dedupe_prefix=f"cc:{consumer_complaint.id}:new",
    )
    await uow.commit()
    return FilingOutcome(consumer_complaint, due)


def _open(
    session: AsyncSession,
    consumer_complaint: ConsumerComplaint,
    rule: DeadlineRule,
    now: dt.datetime,
    due: dt.datetime,
) -> None:
    open_deadline(
        session,
        rule=rule,
        subject_type=SUBJECT,
        subject_id=consumer_complaint.id,
        subject_label=consumer_complaint.number,
        opened_at=now,
        due_at=due,
    )
