"""Everyone's and the inviters' buttons: the language, and an invitation's role and party."""

from __future__ import annotations

from typing import Annotated, Literal

from procedures.kernel.actions import CallbackAction, Matches

# --- everyone --------------------------------------------------------------------------------


class ChooseLanguage(CallbackAction, prefix="lang"):
    language: Literal["zh-Hant", "zh-Hans", "en"]


# --- invitations -----------------------------------------------------------------------------

# a role's id, checked against the roles the pressing user may invite when pressed
RoleId = Annotated[str, Matches(r"[a-z_]+")]


class InviteRole(CallbackAction, prefix="inv:role"):
    role: RoleId


class InviteParty(CallbackAction, prefix="inv:party"):
    """The organisation (customer, supplier) or vendor the invitation names."""

    role: RoleId
    party_id: int


class InvitePartyPage(CallbackAction, prefix="inv:page"):
    role: RoleId
    page: int


class InviteForSystem(CallbackAction, prefix="inv:sys"):
    """The equipment system an engineer or supervisor is named for ("none": no system)."""

    role: RoleId
    system: Literal[
        "elevator", "water_supply", "hvac", "fire_protection", "power", "lighting", "none"
    ]
