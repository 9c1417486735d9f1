"""The six record types the overview lists: for each, its table, its statuses (and which are
done), who lists it (the reader sets /find and the view commands use), and the columns each
filter of the list reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import aliased

from procedures.complaints.rules import STAFF_VIEWERS as COMPLAINT_READERS
from procedures.complaints.rules import ComplaintStatus
from procedures.consumer_complaints.rules import STAFF_VIEWERS as CONSUMER_COMPLAINT_READERS
from procedures.consumer_complaints.rules import ConsumerComplaintStatus
from procedures.equipment.rules import DEFECT_OVERSEERS, DefectStatus
from procedures.returns.rules import STAFF_VIEWERS as RETURN_READERS
from procedures.returns.rules import ReturnStatus
from procedures.vendors.rules import (
    MANAGERS,
    RECTIFICATION_READERS,
    AssessmentStatus,
    RectificationStatus,
)
from storage.models import (
    Assessment,
    Batch,
    Complaint,
    ConsumerComplaint,
    Defect,
    EquipmentAsset,
    Organisation,
    Product,
    Rectification,
    ReturnLine,
    ReturnRequest,
    Vendor,
)

# a condition on a list's rows from one word (already a LIKE pattern, see `like`)
Condition = Callable[[str], ColumnElement[bool]]


def like(word: str) -> str:
    """A word as a LIKE pattern that finds it anywhere, its wildcards matched as characters
    (as /find matches them)."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _any_of(*columns: Any) -> Condition:
    def condition(pattern: str) -> ColumnElement[bool]:
        return or_(*(column.ilike(pattern, escape="\\") for column in columns))

    return condition


@dataclass(frozen=True)
class RecordKind:
    """One record type as the overview lists it."""

    type: str  # the timeline's subject type: complaint, return, ...
    model: Any
    status_prefix: str  # the text id of a status is status_prefix + status
    statuses: tuple[str, ...]
    done: frozenset[str]  # the statuses of a record nothing is left to do on
    readers: frozenset[str]
    received: Any  # the column the list is ordered and filtered by month on
    # the list's statement (the record with the rows its title needs) and, for each text
    # filter, the condition a word puts on it
    statement: Callable[[], Select[*tuple[Any, ...]]]
    searches: dict[str, Condition] = field(default_factory=dict)

    @property
    def open_statuses(self) -> tuple[str, ...]:
        return tuple(status for status in self.statuses if status not in self.done)

    @property
    def filters(self) -> list[str]:
        names = ["status", "late"]
        names += [
            name for name in ("customer", "product", "vendor", "asset") if name in self.searches
        ]
        if self.type != "assessment":
            names.append("month")
        if "q" in self.searches:
            names.append("q")
        return names


def _complaints() -> RecordKind:
    def statement() -> Select[*tuple[Any, ...]]:
        return (
            select(Complaint, Organisation, Product, Batch)
            .join(Organisation, Complaint.organisation_id == Organisation.id)
            .outerjoin(Product, Complaint.product_id == Product.id)
            .outerjoin(Batch, Complaint.batch_id == Batch.id)
        )

    customer = _any_of(Organisation.code, Organisation.name)
    product = _any_of(
        Product.code, Product.name, Complaint.product_text, Batch.lot_number, Complaint.lot_text
    )
    return RecordKind(
        type="complaint",
        model=Complaint,
        status_prefix="complaint.status.",
        statuses=tuple(ComplaintStatus),
        done=frozenset({ComplaintStatus.CLOSED, ComplaintStatus.ANSWERED}),
        readers=COMPLAINT_READERS,
        received=Complaint.received_at,
        statement=statement,
        # /find's fields for a complaint: number, lot, product, customer
        searches={
            "customer": customer,
            "product": product,
            "q": lambda p: or_(_any_of(Complaint.number)(p), customer(p), product(p)),
        },
    )


def _returns() -> RecordKind:
    def statement() -> Select[*tuple[Any, ...]]:
        return select(ReturnRequest, Organisation).join(
            Organisation, ReturnRequest.organisation_id == Organisation.id
        )

    def product(pattern: str) -> ColumnElement[bool]:
        line_product, line_batch = aliased(Product), aliased(Batch)
        return (
            select(ReturnLine.id)
            .join(line_product, ReturnLine.product_id == line_product.id)
            .outerjoin(line_batch, ReturnLine.batch_id == line_batch.id)
            .where(
                ReturnLine.return_id == ReturnRequest.id,
                _any_of(line_product.code, line_product.name, line_batch.lot_number)(pattern),
            )
            .exists()
        )

    customer = _any_of(Organisation.code, Organisation.name)
    return RecordKind(
        type="return",
        model=ReturnRequest,
        status_prefix="return.status.",
        statuses=tuple(ReturnStatus),
        done=frozenset({ReturnStatus.CLOSED, ReturnStatus.REJECTED}),
        readers=RETURN_READERS,
        received=ReturnRequest.created_at,
        statement=statement,
        searches={
            "customer": customer,
            "product": product,
            "q": lambda p: or_(_any_of(ReturnRequest.number)(p), customer(p), product(p)),
        },
    )


def _consumer_complaints() -> RecordKind:
    def statement() -> Select[*tuple[Any, ...]]:
        return select(ConsumerComplaint, Product).outerjoin(
            Product, ConsumerComplaint.product_id == Product.id
        )

    product = _any_of(Product.code, Product.name, ConsumerComplaint.product_text)
    return RecordKind(
        type="consumer_complaint",
        model=ConsumerComplaint,
        status_prefix="consumer.status.",
        statuses=tuple(ConsumerComplaintStatus),
        done=frozenset({ConsumerComplaintStatus.CLOSED}),
        readers=CONSUMER_COMPLAINT_READERS,
        received=ConsumerComplaint.received_at,
        statement=statement,
        searches={
            "product": product,
            "q": lambda p: or_(
                _any_of(ConsumerComplaint.number, ConsumerComplaint.consumer_name)(p), product(p)
            ),
        },
    )


def _defects() -> RecordKind:
    def statement() -> Select[*tuple[Any, ...]]:
        return (
            select(Defect, EquipmentAsset, Vendor)
            .join(EquipmentAsset, Defect.asset_id == EquipmentAsset.id)
            .outerjoin(Vendor, Defect.vendor_id == Vendor.id)
        )

    asset = _any_of(EquipmentAsset.code, EquipmentAsset.name, EquipmentAsset.location)
    vendor = _any_of(Vendor.code, Vendor.name)
    return RecordKind(
        type="defect",
        model=Defect,
        status_prefix="defect.status.",
        statuses=tuple(DefectStatus),
        done=frozenset({DefectStatus.CLOSED}),
        readers=DEFECT_OVERSEERS,
        received=Defect.reported_at,
        statement=statement,
        # /find's fields for a defect: number, asset, vendor
        searches={
            "asset": asset,
            "vendor": vendor,
            "q": lambda p: or_(_any_of(Defect.number)(p), asset(p), vendor(p)),
        },
    )


def _rectifications() -> RecordKind:
    def statement() -> Select[*tuple[Any, ...]]:
        return select(Rectification, Vendor).join(Vendor, Rectification.vendor_id == Vendor.id)

    vendor = _any_of(Vendor.code, Vendor.name)
    return RecordKind(
        type="rectification",
        model=Rectification,
        status_prefix="rectification.status.",
        statuses=tuple(RectificationStatus),
        done=frozenset({RectificationStatus.CONFORMING, RectificationStatus.APPROVED}),
        readers=RECTIFICATION_READERS,
        received=Rectification.raised_at,
        statement=statement,
        searches={
            "vendor": vendor,
            "q": lambda p: or_(
                _any_of(Rectification.number, Rectification.description)(p), vendor(p)
            ),
        },
    )


def _assessments() -> RecordKind:
    return RecordKind(
        type="assessment",
        model=Assessment,
        status_prefix="assessment.status.",
        statuses=tuple(AssessmentStatus),
        done=frozenset({AssessmentStatus.SIGNED}),
        # who keeps the half-yearly assessment (/assessment)
        readers=MANAGERS,
        received=Assessment.opened_at,
        statement=lambda: select(Assessment),
    )


KINDS: dict[str, RecordKind] = {
    kind.type: kind
    for kind in (
        _complaints(),
        _returns(),
        _consumer_complaints(),
        _defects(),
        _rectifications(),
        _assessments(),
    )
}


def kinds_for(role_names: frozenset[str]) -> list[RecordKind]:
    """The record types these roles list, in the overview's order."""
    return [kind for kind in KINDS.values() if role_names & kind.readers]
