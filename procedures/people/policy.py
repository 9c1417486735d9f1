"""The settings that change how people join: how long an invitation stays valid."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, field_validator

from procedures.kernel.policy import PolicySection, whole


class PeoplePolicy(PolicySection):
    # days an invitation link stays valid
    invitation_validity: dt.timedelta = Field(
        default=dt.timedelta(days=7), validation_alias="INVITATION_VALID_DAYS"
    )

    @field_validator("invitation_validity", mode="before")
    @classmethod
    def _days(cls, days: Any) -> Any:
        return dt.timedelta(days=whole(days, 1, 365)) if isinstance(days, str | int) else days
