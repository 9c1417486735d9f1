"""What the consumer complaint modules share: statuses, constants, checks, loading, message
parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel.errors import InvalidInput, NotFound
from procedures.kernel.outbox import as_text
from procedures.kernel.text_input import MAX_TEXT, check_text, column_length, cut_text
from procedures.kernel.timeline import SUBJECT_TYPES
from storage.models import ConsumerComplaint

SUBJECT = SUBJECT_TYPES[ConsumerComplaint]


class Verdict(StrEnum):
    STANDING = "standing"
    NOT_STANDING = "not_standing"
    UNRESOLVED = "unresolved"


CHANNELS = ("chat", "phone")
# what the complaint turned out to be about, for the monthly analysis (分析)
CAUSES: tuple[Literal["quality", "usage", "expectation", "service", "other"], ...] = (
    "quality",
    "usage",
    "expectation",
    "service",
    "other",
)
# 退貨、換貨、讓步折價、直接寄回公司予以調換
REMEDIES: tuple[Literal["return", "exchange", "discount", "mail_back"], ...] = (
    "return",
    "exchange",
    "discount",
    "mail_back",
)
# remedies whose goods come back to the company, and so through QC (4.3.3)
GOODS_BACK = frozenset({"return", "exchange", "mail_back"})
DECISION_VERDICTS = (Verdict.STANDING, Verdict.NOT_STANDING)

PRODUCT_BUTTONS = 10

NAME_LENGTH = column_length(ConsumerComplaint.consumer_name)
CONTACT_LENGTH = column_length(ConsumerComplaint.contact)
PRODUCT_TEXT_LENGTH = column_length(ConsumerComplaint.product_text)


@dataclass
class ConsumerComplaintDraft:
    """What the intake dialogue has gathered so far (kept as JSON between steps)."""

    channel: str = "chat"
    consumer_name: str = ""
    contact: str | None = None
    product_id: int | None = None
    product_text: str | None = None
    # the lot a scanned label named, and that label (labels.LabelMatch.evidence), kept as evidence
    batch_id: int | None = None
    label: dict[str, Any] | None = None
    description: str | None = None
    photo_file_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConsumerComplaintDraft:
        return cls(**data)


# --- input ---------------------------------------------------------------------------------


def check_description(text: str) -> str:
    return check_text(text, empty="consumer.empty_description", limit=MAX_TEXT)


def check_contact(text: str | None) -> str:
    """A phone number or e-mail: required, since an answer may have to go back by phone."""
    return check_text(text or "", empty="consumer.empty_contact", limit=CONTACT_LENGTH)


def check_consumer(text: str) -> tuple[str, str]:
    """After-sales type "name contact" for a call: both are needed."""
    cleaned = check_text(text, empty="consumer.empty_consumer", limit=MAX_TEXT)
    name, _, contact = cleaned.partition(" ")
    if not contact.strip():
        raise InvalidInput("consumer.empty_consumer")
    return cut_text(name, NAME_LENGTH), check_contact(contact)


def check_answer(text: str) -> str:
    return check_text(text, empty="consumer.empty_answer", limit=MAX_TEXT)


def product_param(consumer_complaint: ConsumerComplaint) -> Any:
    """The product as messages name it: with its lot when a label named one."""
    if consumer_complaint.batch is None:
        return consumer_complaint.product_label
    return as_text(
        "consumer.product_lot",
        product=consumer_complaint.product_label,
        lot=consumer_complaint.batch.lot_number,
    )


def _params(consumer_complaint: ConsumerComplaint) -> dict[str, Any]:
    return {
        "number": consumer_complaint.number,
        "name": consumer_complaint.consumer_name,
        "contact": consumer_complaint.contact,
        "product": product_param(consumer_complaint),
    }


async def load_consumer_complaint(
    session: AsyncSession, complaint_id: int, *, lock: bool = False
) -> ConsumerComplaint:
    query = select(ConsumerComplaint).where(ConsumerComplaint.id == complaint_id)
    if lock:
        query = query.with_for_update()
    consumer_complaint = await session.scalar(query)
    if consumer_complaint is None:
        raise NotFound("consumer.not_found")
    await session.refresh(consumer_complaint, ["product", "batch"])
    return consumer_complaint


# --- after-sales' judgement ----------------------------------------------------------------
