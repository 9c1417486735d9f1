"""Which of the procedures' forms a reader may have for a record, by the record's number.

Each record type's own reader rules decide: staff who may read the record, a customer their own
organisation's complaints and returns (a return's slip once it was sent), a consumer their own
complaint, the equipment side the rectification notices. A number the reader may not read is
answered as one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from procedures.complaints.queries import complaint_for_viewer
from procedures.consumer_complaints.queries import consumer_complaint_for_viewer
from procedures.kernel.errors import NotFound
from procedures.kernel.text_input import record_number
from procedures.returns.queries import documents_issued, return_for_viewer
from procedures.returns.rules import STAFF_VIEWERS as RETURN_STAFF
from procedures.vendors.queries import rectification_for_viewer
from storage.models import User

from .rules import FORM_READERS

__all__ = ["FORM_KIND", "FORM_READERS", "FORM_TITLES", "FormRef", "forms_for_viewer"]

FORM_KIND = "form"  # the document kind every form is rendered under
# the forms' names: the text ids of the procedure's names for them
FORM_TITLES = {
    "complaint_record": "form.name.complaint_record",
    "return_details": "form.name.return_details",
    "transport_order": "document.transport_order.title",
    "booking_in": "document.booking_in.title",
    "return_slip": "document.return_slip.title",
    "consumer_record": "form.name.consumer_record",
    "rectification_notice": "document.notice.title",
    "evaluation": "document.evaluation.title",
    "vendor_score": "document.score.title",
}
# a return's documents, as the returns' rules name them, and their forms
RETURN_FORMS = {
    "transport_order": "transport_order",
    "return_booking_in": "booking_in",
    "return_slip": "return_slip",
}


@dataclass(frozen=True)
class FormRef:
    """One form of one record: which form, of which row, under which number."""

    form: str
    record_id: int
    number: str

    @property
    def title_key(self) -> str:
        return FORM_TITLES[self.form]

    @property
    def attachment(self) -> dict[str, Any]:
        return {"kind": FORM_KIND, "params": {"form": self.form, "id": self.record_id}}


def forms_of_record(subject_type: str, record: Any) -> list[FormRef]:
    """Every form a record has so far, as an inspector reads them (the inspector's export):
    `record` is the stored row of `subject_type` (a timeline subject type)."""
    number = getattr(record, "number", None) or ""
    if subject_type == "complaint":
        return [FormRef("complaint_record", record.id, number)]
    if subject_type == "return":
        return [FormRef("return_details", record.id, number)] + [
            FormRef(RETURN_FORMS[kind], record.id, number)
            for kind in documents_issued(record, staff=True)
        ]
    if subject_type == "consumer_complaint":
        return [FormRef("consumer_record", record.id, number)]
    if subject_type == "rectification" and record.number is not None:
        forms = [FormRef("rectification_notice", record.id, number)]
        if record.evaluated_at is not None:
            forms.append(FormRef("evaluation", record.id, number))
        return forms
    if subject_type == "vendor_score":
        return [FormRef("vendor_score", record.id, number)]
    return []


async def forms_for_viewer(session: AsyncSession, viewer: User, number: str) -> list[FormRef]:
    """The forms of the record numbered `number` that `viewer` may have, in the order the
    procedure issues them; NotFound for a number they may not read or that does not exist."""
    number = record_number(number)
    prefix = number.split("-", 1)[0]
    if prefix == "QC":
        complaint = await complaint_for_viewer(session, viewer, number)
        return [FormRef("complaint_record", complaint.id, complaint.number)]
    if prefix == "RT":
        request = await return_for_viewer(session, viewer, number)
        staff = bool(viewer.role_names & RETURN_STAFF)
        # the detail sheet is the customer's own request: theirs and the staff's to print
        forms = [FormRef("return_details", request.id, request.number)]
        forms += [
            FormRef(RETURN_FORMS[kind], request.id, request.number)
            for kind in documents_issued(request, staff=staff)
        ]
        return forms
    if prefix == "CC":
        found = await consumer_complaint_for_viewer(session, viewer, number)
        return [FormRef("consumer_record", found.id, found.number)]
    if prefix == "RN":
        rectification = await rectification_for_viewer(session, viewer, number)
        forms = [FormRef("rectification_notice", rectification.id, number)]
        if rectification.evaluated_at is not None:
            forms.append(FormRef("evaluation", rectification.id, number))
        return forms
    raise NotFound("form.not_found")
