"""What a deadline's messages say its record is: the number, and who and what it is about (the
customer and product, the asset and vendor, the return's customer), with the button that opens
it. Read in one query per record type for a whole sweep's deadlines; importing this module (as
procedures.rules does) tells the deadline engine how to describe every record type."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from procedures.equipment.defects import Severity
from procedures.kernel.deadlines import Subject, describe_subjects
from procedures.kernel.outbox import as_text
from procedures.kernel.timeline import SUBJECT_TYPES
from procedures.search import OpenFound
from storage.models import (
    Assessment,
    Complaint,
    ConsumerComplaint,
    ConsumerMonthlyReview,
    Defect,
    EquipmentAsset,
    Inspection,
    Organisation,
    Product,
    Rectification,
    ReturnRequest,
    Vendor,
)

MONTHLY_REVIEW = "consumer_monthly_review"


def _product(name: str | None, typed: str | None) -> str:
    return name or typed or "—"


@describe_subjects(SUBJECT_TYPES[Complaint])
async def complaints(session: AsyncSession, ids: Sequence[int]) -> dict[int, Subject]:
    rows = await session.execute(
        select(
            Complaint.id, Complaint.number, Organisation.name, Product.name, Complaint.product_text
        )
        .join(Organisation, Organisation.id == Complaint.organisation_id)
        .outerjoin(Product, Product.id == Complaint.product_id)
        .where(Complaint.id.in_(ids))
    )
    return {
        id_: Subject(
            number,
            as_text("deadline.about.complaint", customer=customer, product=_product(name, typed)),
            OpenFound(number=number),
        )
        for id_, number, customer, name, typed in rows
    }


@describe_subjects(SUBJECT_TYPES[ReturnRequest])
async def returns(session: AsyncSession, ids: Sequence[int]) -> dict[int, Subject]:
    rows = await session.execute(
        select(ReturnRequest.id, ReturnRequest.number, Organisation.name)
        .join(Organisation, Organisation.id == ReturnRequest.organisation_id)
        .where(ReturnRequest.id.in_(ids))
    )
    return {
        id_: Subject(
            number, as_text("deadline.about.return", customer=customer), OpenFound(number=number)
        )
        for id_, number, customer in rows
    }


@describe_subjects(SUBJECT_TYPES[ConsumerComplaint])
async def consumer_complaints(session: AsyncSession, ids: Sequence[int]) -> dict[int, Subject]:
    rows = await session.execute(
        select(
            ConsumerComplaint.id,
            ConsumerComplaint.number,
            ConsumerComplaint.consumer_name,
            Product.name,
            ConsumerComplaint.product_text,
        )
        .outerjoin(Product, Product.id == ConsumerComplaint.product_id)
        .where(ConsumerComplaint.id.in_(ids))
    )
    return {
        id_: Subject(
            number,
            as_text(
                "deadline.about.consumer_complaint",
                consumer=consumer,
                product=_product(name, typed),
            ),
        )
        for id_, number, consumer, name, typed in rows
    }


def _asset(code: str, name: str) -> str:
    return f"{code} {name}"


@describe_subjects(SUBJECT_TYPES[Defect])
async def defects(session: AsyncSession, ids: Sequence[int]) -> dict[int, Subject]:
    rows = await session.execute(
        select(
            Defect.id,
            Defect.number,
            EquipmentAsset.code,
            EquipmentAsset.name,
            Vendor.name,
            Defect.severity,
        )
        .join(EquipmentAsset, EquipmentAsset.id == Defect.asset_id)
        .outerjoin(Vendor, Vendor.id == Defect.vendor_id)
        .where(Defect.id.in_(ids))
    )
    return {
        id_: Subject(
            number,
            as_text(
                "deadline.about.defect",
                asset=_asset(code, name),
                vendor=vendor or as_text("deadline.about.no_vendor"),
            ),
            OpenFound(number=number),
            # an urgent repair's reminder cannot wait for working hours
            urgent=severity == Severity.URGENT,
        )
        for id_, number, code, name, vendor, severity in rows
    }


@describe_subjects(SUBJECT_TYPES[Inspection])
async def inspections(session: AsyncSession, ids: Sequence[int]) -> dict[int, Subject]:
    rows = await session.execute(
        select(Inspection.id, Inspection.period, EquipmentAsset.code, EquipmentAsset.name)
        .join(EquipmentAsset, EquipmentAsset.id == Inspection.asset_id)
        .where(Inspection.id.in_(ids))
    )
    return {
        id_: Subject(
            f"{code} {period}", as_text("deadline.about.inspection", asset=_asset(code, name))
        )
        for id_, period, code, name in rows
    }


@describe_subjects(SUBJECT_TYPES[Rectification])
async def rectifications(session: AsyncSession, ids: Sequence[int]) -> dict[int, Subject]:
    asset = aliased(EquipmentAsset)
    rows = await session.execute(
        select(Rectification.id, Rectification.number, Vendor.name, asset.code, asset.name)
        .join(Vendor, Vendor.id == Rectification.vendor_id)
        .outerjoin(Defect, Defect.id == Rectification.defect_id)
        .outerjoin(asset, asset.id == Defect.asset_id)
        .where(Rectification.id.in_(ids))
    )
    described = {}
    for id_, number, vendor, code, name in rows:
        about = (
            as_text(
                "deadline.about.rectification_of_asset", vendor=vendor, asset=_asset(code, name)
            )
            if code is not None
            else as_text("deadline.about.vendor", vendor=vendor)
        )
        described[id_] = Subject(number or f"#{id_}", about)
    return described


@describe_subjects(SUBJECT_TYPES[Vendor])
async def vendors(session: AsyncSession, ids: Sequence[int]) -> dict[int, Subject]:
    # a score's number is its deadline's label: the vendor's code and the month
    rows = await session.execute(select(Vendor.id, Vendor.name).where(Vendor.id.in_(ids)))
    return {id_: Subject(None, as_text("deadline.about.vendor", vendor=name)) for id_, name in rows}


@describe_subjects(SUBJECT_TYPES[Assessment])
async def assessments(session: AsyncSession, ids: Sequence[int]) -> dict[int, Subject]:
    rows = await session.execute(
        select(Assessment.id, Assessment.year, Assessment.half).where(Assessment.id.in_(ids))
    )
    return {
        id_: Subject(
            f"{year}-H{half}",
            as_text("deadline.about.assessment", year=year, half=as_text(f"deadline.half.{half}")),
        )
        for id_, year, half in rows
    }


@describe_subjects(MONTHLY_REVIEW)
async def monthly_reviews(session: AsyncSession, ids: Sequence[int]) -> dict[int, Subject]:
    rows = await session.execute(
        select(ConsumerMonthlyReview.id, ConsumerMonthlyReview.period).where(
            ConsumerMonthlyReview.id.in_(ids)
        )
    )
    return {
        id_: Subject(period, as_text("deadline.about.monthly_review", period=period))
        for id_, period in rows
    }
