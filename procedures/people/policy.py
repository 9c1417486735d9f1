"""The settings that change how people join: how long an invitation stays valid."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, field_validator

from procedures.kernel.policy import PolicySection, whole
from procedures.people.users import DEFAULT_INVITATION_VALIDITY


class PeoplePolicy(PolicySection):
    # days an invitation link stays valid
    invitation_validity: dt.timedelta = Field(
        default=DEFAULT_INVITATION_VALIDITY, validation_alias="INVITATION_VALID_DAYS"
    )

    @field_validator("invitation_validity", mode="before")
    @classmethod
    def _days(cls, days: Any) -> Any:
        return dt.timedelta(days=whole(days, 1, 365)) if isinstance(days, str | int) else days
