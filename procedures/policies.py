"""Every record type's policy section in one place, beside `procedures.rules`: what the wiring
loads from the environment and hands to the units of work."""

from __future__ import annotations

from typing import Final

from procedures.complaints.policy import ComplaintPolicy
from procedures.consumer_complaints.policy import ConsumerComplaintPolicy
from procedures.equipment.policy import EquipmentPolicy
from procedures.kernel.policy import PolicySection
from procedures.people.policy import PeoplePolicy
from procedures.returns.policy import ReturnPolicy
from procedures.vendors.policy import VendorPolicy

SECTIONS: Final[tuple[type[PolicySection], ...]] = (
    ComplaintPolicy,
    ReturnPolicy,
    ConsumerComplaintPolicy,
    EquipmentPolicy,
    VendorPolicy,
    PeoplePolicy,
)
