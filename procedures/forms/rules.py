"""Who may ask for the procedures' forms: whoever reads a record type that has forms."""

from __future__ import annotations

from procedures.complaints.rules import STAFF_VIEWERS as COMPLAINT_STAFF
from procedures.consumer_complaints.rules import STAFF_VIEWERS as CONSUMER_STAFF
from procedures.kernel import roles
from procedures.returns.rules import STAFF_VIEWERS as RETURN_STAFF
from procedures.returns.rules import TERRITORY_STAFF
from procedures.vendors.rules import RECTIFICATION_READERS

# who may ask for a record's forms at all: whoever reads a record type that has forms (each
# record is checked again against its own type's readers)
FORM_READERS = frozenset(
    {roles.CUSTOMER, roles.CONSUMER}
    | COMPLAINT_STAFF
    | RETURN_STAFF
    | TERRITORY_STAFF
    | CONSUMER_STAFF
    | RECTIFICATION_READERS
)
