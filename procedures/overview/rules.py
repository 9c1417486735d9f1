"""Who opens the overview: every role that reads across records in the chat (the record types'
staff reader sets). Customers, consumers, vendors, drivers, suppliers and the client's
department keep to their own records in the chat."""

from __future__ import annotations

from typing import Final

from procedures.complaints.rules import STAFF_VIEWERS as COMPLAINT_READERS
from procedures.consumer_complaints.rules import STAFF_VIEWERS as CONSUMER_COMPLAINT_READERS
from procedures.equipment.rules import DEFECT_OVERSEERS
from procedures.kernel import roles
from procedures.returns.rules import STAFF_VIEWERS as RETURN_READERS
from procedures.vendors.rules import RECTIFICATION_READERS

# the roles whose records live in the chat only, whatever reader set admits them
OWN_RECORDS_ONLY: Final = frozenset(
    {
        roles.CUSTOMER,
        roles.CONSUMER,
        roles.VENDOR,
        roles.DRIVER,
        roles.SUPPLIER,
        roles.CLIENT_AUTHORITY,
    }
)

MINI_APP_ROLES: Final = (
    COMPLAINT_READERS
    | RETURN_READERS
    | CONSUMER_COMPLAINT_READERS
    | DEFECT_OVERSEERS
    | RECTIFICATION_READERS
) - OWN_RECORDS_ONLY


def opens_mini_app(role_names: frozenset[str]) -> bool:
    """Whether a person holding these roles gets the Mini App."""
    return bool(role_names & MINI_APP_ROLES)
